package store

import (
	"sync"

	"github.com/troth-app/troth/internal/scoring"
)

// latestCache keeps what every score read starts from (Scores.Latest): a
// subject's latest rollup row on or before a day, and how many of its
// occurrences are open and due before an instant. It is a quarter of a
// score read's CPU.
//
// A copy holds while the tables it comes from stay settled (tableWatch's
// scores group: score_days and occurrences) and, since the open count grows
// as occurrences fall due without any write, only for instants before the
// next open occurrence falls due: read at `from`, with no open occurrence
// due in [from, until), the count is the same for every instant there.
// Like relCache it is used only on SQLite held to itself, and is off once
// the file is open twice in the process.
type latestCache struct {
	watch *tableWatch
	file  *openFile
	mu    sync.RWMutex
	m     map[latestKey]latestEntry
}

type latestKey struct{ rel, subject, day string }

type latestEntry struct {
	row         scoring.Day
	found       bool
	open        int
	from, until int64 // micros: the instants the open count holds for
	gen         uint64
}

// maxLatest bounds the memory kept (about 500 bytes an entry); past it the
// cache starts again empty.
const maxLatest = 20_000

func newLatestCache(w *tableWatch, f *openFile) *latestCache {
	return &latestCache{watch: w, file: f, m: make(map[latestKey]latestEntry)}
}

// get returns the entry kept for k if it holds at the instant before (in
// micros), and the snapshot a read from the database would be kept under.
func (c *latestCache) get(k latestKey, before int64) (latestEntry, snapshot, bool) {
	s := c.watch.snapshot(watchScores)
	if c.file.shared.Load() {
		s.ok = false
	}
	if !s.ok {
		return latestEntry{}, s, false
	}
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || e.gen != s.gen || before < e.from || before >= e.until {
		return latestEntry{}, s, false
	}
	return e, s, true
}

// put keeps e, read from the database after snapshot s was taken, stamped
// with the snapshot's generation: if the tables moved meanwhile, get will
// not use it.
func (c *latestCache) put(k latestKey, e latestEntry, s snapshot) {
	if !s.ok {
		return
	}
	e.gen = s.gen
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxLatest {
		c.m = make(map[latestKey]latestEntry)
	}
	c.m[k] = e
}

// afterLatestRead, when set (by tests), runs between a read of Latest from
// the database and what the cache keeps of it.
var afterLatestRead func()

// dueCache keeps the projection's count of a member's occurrences due in a
// window (Scores.DueCount): the timeline's costliest statement, as it
// counts every occurrence of the last 28 days. Like latestCache it holds
// while the occurrences stay unchanged; and as the window slides with
// time, for as long as no occurrence enters it at its end or leaves it at
// its start: read over [from, to), the count is the same over
// [from+Δ, to+Δ) for every Δ up to maxShift, the distance to the next
// occurrence due at or after to, or at or after from.
type dueCache struct {
	latest *latestCache // its watch, file and bound
	mu     sync.RWMutex
	m      map[dueKey]dueEntry
}

type dueKey struct {
	rel, member string
	window      int64 // micros: to − from
}

type dueEntry struct {
	n                  int
	from, to, maxShift int64 // micros
	gen                uint64
}

func newDueCache(l *latestCache) *dueCache {
	return &dueCache{latest: l, m: make(map[dueKey]dueEntry)}
}

func (c *dueCache) get(k dueKey, to int64) (dueEntry, snapshot, bool) {
	s := c.latest.watch.snapshot(watchScores)
	if c.latest.file.shared.Load() {
		s.ok = false
	}
	if !s.ok {
		return dueEntry{}, s, false
	}
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || e.gen != s.gen || to < e.to || to-e.to > e.maxShift {
		return dueEntry{}, s, false
	}
	return e, s, true
}

func (c *dueCache) put(k dueKey, e dueEntry, s snapshot) {
	if !s.ok {
		return
	}
	e.gen = s.gen
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxLatest {
		c.m = make(map[dueKey]dueEntry)
	}
	c.m[k] = e
}
