package scoring

import (
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/troth-app/troth/internal/lru"
	"github.com/troth-app/troth/internal/score"
)

// A timeline's buckets before the one holding `to` are finished: each
// point is the rollups up to the bucket's end, the open occurrences due in
// it, and the sums decayed to its end, none of which moves with the clock.
// Apps ask for the same year of daily points again and again, and walking
// 365 finished days (and writing them out) cost more than the rest of the
// request. So the finished points are kept with what they were built from:
// the version of the member's rollup rows (which every write to them,
// the row before the range included, replaces: DayRange.Version) and the
// open due times before the last bucket. A request reads those as it
// always does and uses the kept points only when both are the same as what
// it just read; it then walks the last bucket alone. Nothing is trusted that was
// not compared, so a write by another instance, or one this process did
// not see, is no different from one it did. Rows read without a version
// (in a transaction, or written before versions existed) are not kept.

// finishedBytes bounds the memory the kept points take (a year of daily
// points and what was derived from them is about 100 kB).
const finishedBytes = 16 << 20

// Finished is the part of a timeline's points that a later request with the
// same inputs shares: all but the last. What a caller derives from those
// points alone (their JSON) may be kept with them by Derived.
type Finished struct {
	Points  []Point // read only
	derived sync.Map
}

// Derived returns what derive makes of the finished points, made once for
// each key and kept as long as the points are (two requests racing may
// both make it; one result is kept). key must be comparable.
func (f *Finished) Derived(key any, derive func() any) any {
	if v, ok := f.derived.Load(key); ok {
		return v
	}
	v, _ := f.derived.LoadOrStore(key, derive())
	return v
}

type finishedKey struct {
	rel, member, bucket, zone string
	from                      int64 // µs
	halfLife                  float64
}

// finishedEntry is the finished points of a timeline and what they were
// built from. Shared: read only.
type finishedEntry struct {
	key     finishedKey
	through time.Time // the start of the last bucket: the points end there
	version int64     // of the member's rows
	open    []time.Time
	w       walk // the walk's state after the last finished bucket
	fin     *Finished
}

// matches reports whether the entry was built from the inputs a request
// read: days and open are the request's, and the last bucket starts at
// the entry's through. The same version means the same rows, hence the
// same row before the range (the key holds from) and the same rows before
// the last bucket; the open due times carry no version and are compared.
func (e *finishedEntry) matches(days DayRange, open []time.Time) bool {
	if !days.Versioned || days.Version != e.version {
		return false
	}
	j := 0
	for j < len(open) && open[j].Before(e.through) {
		j++
	}
	return slices.EqualFunc(open[:j], e.open, time.Time.Equal)
}

// finishedCache is a least-recently-used map of finishedEntry, bounded by
// size.
type finishedCache struct {
	*lru.Cache[finishedKey, *finishedEntry]
}

func newFinishedCache() finishedCache {
	return finishedCache{lru.New[finishedKey, *finishedEntry](finishedBytes)}
}

// get returns the entry of key whose points end at through, if any.
func (c finishedCache) get(key finishedKey, through time.Time) *finishedEntry {
	if e, ok := c.Get(key); ok && e.through.Equal(through) {
		return e
	}
	return nil
}

var pointSize = int(unsafe.Sizeof(Point{}))

// put keeps e, sized by its points, the JSON derived from them (about 110
// bytes a point) and its open times: it holds nothing else.
func (c finishedCache) put(e *finishedEntry) {
	c.Put(e.key, e, 256+len(e.fin.Points)*(pointSize+128)+len(e.open)*24)
}

// walk goes through a timeline's buckets in order, taking the rows and
// open due times of each.
type walk struct {
	i, j   int // rows and open times taken
	cum    score.Summary
	hasCum bool
}

// point builds bucket b's point from rows and open (both sorted), all but
// its score, which is left to the caller.
func (w *walk) point(b bucketEnd, rows []Day, open []time.Time) Point {
	p := Point{Date: b.date, End: b.end}
	var feltSum, feltN int
	for w.i < len(rows) && rows[w.i].Day <= b.lastDay {
		r := &rows[w.i]
		c := r.Own.Counts
		p.Kept += c.Kept
		p.Late += c.KeptLate
		p.Partial += c.Partial
		p.Missed += c.Missed + c.Disputed // a disputed account scores as a miss
		feltSum += r.FeltSum
		feltN += r.FeltN
		w.cum, w.hasCum = r.Cum, true
		w.i++
	}
	for w.j < len(open) && open[w.j].Before(b.start) {
		w.j++
	}
	for ; w.j < len(open) && open[w.j].Before(b.end); w.j++ {
		p.Open++
	}
	if feltN > 0 {
		avg := round2(float64(feltSum) / float64(feltN))
		p.FeltTrust = &avg
	}
	return p
}

// setScore sets p's score and level from s, the exact score.
func setScore(p *Point, s float64) {
	p.Level = score.Level(s) // from the exact score, as scores report it
	p.Score = score.Round4(s)
}
