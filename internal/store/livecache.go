package store

import (
	"sync"
	"sync/atomic"
)

// liveAccounts remembers which accounts were found active, so that the
// check every request with an access token makes (Accounts.Active) is a
// map lookup instead of a statement: about a tenth of a score read's CPU.
//
// It is on only where this process is the database's one writer: SQLite
// held to itself (not TROTH_SQLITE_SHARED), where every deletion goes
// through EraseUser here and is forgotten as soon as it commits. On
// PostgreSQL another instance may delete an account, so every check reads
// the row.
type liveAccounts struct {
	on   bool
	file *openFile     // off while set and its file is open twice in the process
	gen  atomic.Uint64 // moves on every forget: a check that saw another value keeps nothing
	mu   sync.RWMutex
	ids  map[string]struct{}
}

// maxLive bounds the memory kept (about 100 bytes an account); past it the
// set starts again empty.
const maxLive = 100_000

func (c *liveAccounts) has(id string) bool {
	if !c.on || c.file != nil && c.file.shared.Load() {
		return false
	}
	c.mu.RLock()
	_, ok := c.ids[id]
	c.mu.RUnlock()
	return ok
}

// keep records id as active, as read from the database when the
// generation was gen: unless an account was forgotten since, that read may
// have preceded its deletion.
func (c *liveAccounts) keep(id string, gen uint64) {
	if !c.on {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if c.ids == nil || len(c.ids) >= maxLive {
		c.ids = make(map[string]struct{})
	}
	c.ids[id] = struct{}{}
}

// forget drops accounts once their deletion has committed.
func (c *liveAccounts) forget(ids ...string) {
	if !c.on || len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	for _, id := range ids {
		delete(c.ids, id)
	}
}

// afterActiveRead, when set (by tests), runs between an active check's
// read and what it keeps of it.
var afterActiveRead func(id string)
