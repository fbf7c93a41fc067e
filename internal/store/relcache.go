package store

import (
	"slices"
	"sync"

	"github.com/troth-app/troth/internal/relationship"
)

// relCache keeps relationships as scores read them (Scores.Relationship:
// settings and current members, no names), for as long as the tables they
// come from stay settled (tableWatch). Every score and timeline read
// starts with one; it is a tenth of a score read's CPU. Only on SQLite
// held to itself: on PostgreSQL another instance may change them. It sees
// the writes of its own DB, so it is off once the file is open twice in
// the process (openFile).
type relCache struct {
	watch *tableWatch
	file  *openFile
	mu    sync.RWMutex
	m     map[string]relEntry
}

type relEntry struct {
	rel relationship.Relationship
	gen uint64
}

// maxRels bounds the memory kept (a few hundred bytes a relationship);
// past it the cache starts again empty.
const maxRels = 10_000

func newRelCache(w *tableWatch, f *openFile) *relCache {
	return &relCache{watch: w, file: f, m: make(map[string]relEntry)}
}

// get returns the relationship kept for id, if it still holds, and the
// snapshot a read from the database would be kept under.
func (c *relCache) get(id string) (relationship.Relationship, snapshot, bool) {
	s := c.watch.snapshot(watchRels)
	if c.file.shared.Load() {
		s.ok = false // the file is open twice in this process
	}
	if !s.ok {
		return relationship.Relationship{}, s, false
	}
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || e.gen != s.gen {
		return relationship.Relationship{}, s, false
	}
	return cloneRel(e.rel), s, true
}

// put keeps rel, read from the database after snapshot s was taken,
// stamped with the snapshot's generation: if the tables moved meanwhile,
// get will not use it.
func (c *relCache) put(rel relationship.Relationship, s snapshot) {
	if !s.ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxRels {
		c.m = make(map[string]relEntry)
	}
	c.m[rel.ID] = relEntry{rel: cloneRel(rel), gen: s.gen}
}

// cloneRel copies what a caller could change.
func cloneRel(r relationship.Relationship) relationship.Relationship {
	r.Members = slices.Clone(r.Members)
	if r.ArchivedAt != nil {
		at := *r.ArchivedAt
		r.ArchivedAt = &at
	}
	return r
}

// afterRelationshipRead, when set (by tests), runs between a read of a
// relationship from the database and what the cache keeps of it.
var afterRelationshipRead func(relID string)
