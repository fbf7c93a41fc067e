package token

import "sync"

// claimsCache remembers verified tokens. It is bounded: when full, an
// arbitrary half is dropped (map iteration order), which keeps it cheap and
// lets a flood of distinct tokens cost at most a re-verification.
type claimsCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]Claims
}

func newClaimsCache(max int) *claimsCache {
	return &claimsCache{max: max, m: make(map[string]Claims)}
}

func (c *claimsCache) get(k string) (Claims, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *claimsCache) put(k string, v Claims) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		n := 0
		for key := range c.m {
			delete(c.m, key)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.m[k] = v
	c.mu.Unlock()
}

func (c *claimsCache) remove(k string) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}
