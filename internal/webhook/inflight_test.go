package webhook

import (
	"context"
	"testing"
	"time"
)

func TestInFlightCapsPerEndpoint(t *testing.T) {
	var f inFlight
	ctx := context.Background()
	var held []func()
	for i := range 4 {
		release, ok := f.acquire(ctx, "whk_a", 4, 0)
		if !ok {
			t.Fatalf("slot %d of 4 refused", i+1)
		}
		held = append(held, release)
	}
	if _, ok := f.acquire(ctx, "whk_a", 4, time.Millisecond); ok {
		t.Fatal("a fifth attempt at once was let through")
	}
	// Another endpoint is not held behind this one.
	other, ok := f.acquire(ctx, "whk_b", 4, 0)
	if !ok {
		t.Fatal("another endpoint refused")
	}
	other()
	// A slot given back while waiting is taken.
	freed := make(chan struct{})
	go func() { defer close(freed); time.Sleep(10 * time.Millisecond); held[0]() }()
	release, ok := f.acquire(ctx, "whk_a", 4, 5*time.Second)
	if !ok {
		t.Fatal("a freed slot was not taken")
	}
	release()
	<-freed
	for _, r := range held[1:] {
		r()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.eps) != 0 {
		t.Fatalf("%d endpoints still tracked with nothing in flight", len(f.eps))
	}
}
