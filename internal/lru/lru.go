// Package lru is a map that forgets its least recently used entries once
// their sizes add up to more than a bound. The store keeps rollup rows in
// one and the scoring service a timeline's finished points in another;
// both give each entry its size in bytes, as near as they can tell.
package lru

import (
	"container/list"
	"sync"
)

// Cache is safe for concurrent use. Values are shared with every Get:
// what a caller keeps in one must not change.
type Cache[K comparable, V any] struct {
	max     int
	mu      sync.Mutex
	entries map[K]*list.Element
	order   list.List // of *entry[K, V]; front: most recently used
	bytes   int
}

type entry[K comparable, V any] struct {
	key   K
	value V
	size  int
}

// New returns a cache holding entries of at most maxBytes in all.
func New[K comparable, V any](maxBytes int) *Cache[K, V] {
	return &Cache[K, V]{max: maxBytes, entries: make(map[K]*list.Element)}
}

// Get returns key's value, and marks it used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry[K, V]).value, true
}

// Put keeps value under key in place of what was there, then forgets the
// least recently used entries until the sizes are within the bound. A
// value larger than an eighth of the bound is not kept: it would push out
// too many others.
func (c *Cache[K, V]) Put(key K, value V, size int) {
	if size > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.bytes -= el.Value.(*entry[K, V]).size
		c.order.Remove(el)
	}
	c.entries[key] = c.order.PushFront(&entry[K, V]{key: key, value: value, size: size})
	c.bytes += size
	for c.bytes > c.max {
		el := c.order.Back()
		old := el.Value.(*entry[K, V])
		c.order.Remove(el)
		delete(c.entries, old.key)
		c.bytes -= old.size
	}
}

// Len is how many entries are kept.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
