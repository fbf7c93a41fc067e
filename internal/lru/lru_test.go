package lru

import (
	"strconv"
	"testing"
)

func TestForgetsTheLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](80)
	for i := range 8 { // 80 bytes: the bound
		c.Put("k"+strconv.Itoa(i), i, 10)
	}
	if v, ok := c.Get("k0"); !ok || v != 0 { // k0 is now the most recent
		t.Fatalf("k0: %v %v", v, ok)
	}
	c.Put("k8", 8, 10) // 90 bytes: k1, the least recently used, goes
	if _, ok := c.Get("k1"); ok || c.Len() != 8 {
		t.Fatalf("k1 kept past the bound (%d entries)", c.Len())
	}
	for _, k := range []string{"k0", "k2", "k8"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s forgotten", k)
		}
	}
	c.Put("k3", 30, 5) // replaced, its size counted once: 75 bytes
	c.Put("k9", 9, 5)  // 80
	if v, _ := c.Get("k3"); v != 30 || c.Len() != 9 {
		t.Fatalf("k3 %v, %d entries", v, c.Len())
	}
	c.Put("big", 6, 11) // more than an eighth of the bound
	if _, ok := c.Get("big"); ok {
		t.Fatal("a value larger than an eighth of the bound was kept")
	}
}
