package store

import (
	"slices"

	"github.com/troth-app/troth/internal/relationship"
)

// relCache keeps relationships as scores read them (Scores.Relationship:
// settings and current members, no names), by id, for as long as the
// tables they come from stay settled (tableWatch's rels group). Every
// score and timeline read, and every write to an occurrence, starts with
// one; it is a tenth of a score read's CPU. Like every kept map, it is
// used only on SQLite held to itself: on PostgreSQL another instance may
// change them.
type relCache = kept[string, relationship.Relationship]

func newRelCache(w *tableWatch, f *openFile) *relCache {
	return newKept[string, relationship.Relationship](w, watchRels, f)
}

// cloneRel copies what a caller could change: a relationship goes into
// relCache and comes out of it as a copy.
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
