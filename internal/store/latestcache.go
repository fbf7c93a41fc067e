package store

import (
	"sync"

	"github.com/troth-app/troth/internal/scoring"
)

// kept is a map of results read from tables a tableWatch group covers,
// each stamped with the group's generation noted before its read: an entry
// is used only while the tables are settled at that generation, and while
// the caller's own test of it holds. It is used only on SQLite held to
// itself, and is off once the file is open twice in the process.
type kept[K comparable, V any] struct {
	watch *tableWatch
	group int
	file  *openFile
	mu    sync.RWMutex
	m     map[K]keptEntry[V]
}

type keptEntry[V any] struct {
	v   V
	gen uint64
}

// maxKept bounds the memory a map keeps (a few hundred bytes an entry);
// past it the map starts again empty.
const maxKept = 20_000

func newKept[K comparable, V any](w *tableWatch, group int, f *openFile) *kept[K, V] {
	return &kept[K, V]{watch: w, group: group, file: f, m: make(map[K]keptEntry[V])}
}

// get returns the value kept for k if it is still current and holds says
// it answers the read at hand, and the snapshot a read from the database
// would be kept under.
func (c *kept[K, V]) get(k K, holds func(V) bool) (V, snapshot, bool) {
	var zero V
	s := c.watch.snapshot(c.group)
	if c.file.shared.Load() {
		s.ok = false
	}
	if !s.ok {
		return zero, s, false
	}
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || e.gen != s.gen || !holds(e.v) {
		return zero, s, false
	}
	return e.v, s, true
}

// put keeps v, read from the database after snapshot s was taken, stamped
// with the snapshot's generation: if the tables moved meanwhile, get will
// not use it.
func (c *kept[K, V]) put(k K, v V, s snapshot) {
	if !s.ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxKept {
		c.m = make(map[K]keptEntry[V])
	}
	c.m[k] = keptEntry[V]{v: v, gen: s.gen}
}

// The latest row a score read starts from (Scores.Latest): a subject's
// latest rollup row on or before a day, and how many of its occurrences
// are open and due before an instant; a quarter of a score read's CPU. It
// holds while score_days and occurrences stay unchanged (tableWatch's
// scores group) and, since the open count grows as occurrences fall due
// without any write, only for instants before the next open occurrence
// falls due: read at from, with no open occurrence due in [from, until),
// the count is the same for every instant there.
type (
	latestCache = kept[latestKey, latestEntry]
	latestKey   struct{ rel, subject, day string }
	latestEntry struct {
		row         scoring.Day
		found       bool
		open        int
		from, until int64 // micros: the instants the open count holds for
	}
)

func newLatestCache(w *tableWatch, f *openFile) *latestCache {
	return newKept[latestKey, latestEntry](w, watchScores, f)
}

// afterLatestRead, when set (by tests), runs between a read of Latest from
// the database and what the cache keeps of it.
var afterLatestRead func()

// The projection's count of a member's occurrences due in a window
// (Scores.DueCount): the timeline's costliest statement, as it counts
// every occurrence of the last 28 days. It holds while the occurrences stay
// unchanged and, as the window slides with time, for as long as no
// occurrence enters it at its end or leaves it at its start: read over
// [from, to), the count is the same over [from+Δ, to+Δ) for every Δ up to
// maxShift, the distance to the next occurrence due at or after to, or at
// or after from.
type (
	dueCache = kept[dueKey, dueEntry]
	dueKey   struct {
		rel, member string
		window      int64 // micros: to − from
	}
	dueEntry struct {
		n                  int
		from, to, maxShift int64 // micros
	}
)

func newDueCache(w *tableWatch, f *openFile) *dueCache {
	return newKept[dueKey, dueEntry](w, watchScores, f)
}
