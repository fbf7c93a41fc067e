package score

import (
	"sort"
	"time"
)

// Counts tally items by kind.
type Counts struct {
	Kept, KeptLate, Partial, Missed, Disputed, Unverified, Breaches int
}

// Add counts one item. A disputed item counts as disputed only: the
// promisee's account prevails over the outcome the promisor recorded.
func (c *Counts) Add(it Item) {
	if it.Disputed {
		c.Disputed++
		return
	}
	switch it.Kind {
	case KindKept:
		c.Kept++
	case KindKeptLate:
		c.KeptLate++
	case KindPartial:
		c.Partial++
	case KindMissed:
		c.Missed++
	case KindBreach:
		c.Breaches++
	}
	if it.Unverified {
		c.Unverified++
	}
}

// Plus adds two tallies.
func (c Counts) Plus(o Counts) Counts {
	return Counts{
		Kept: c.Kept + o.Kept, KeptLate: c.KeptLate + o.KeptLate, Partial: c.Partial + o.Partial, Missed: c.Missed + o.Missed,
		Disputed: c.Disputed + o.Disputed, Unverified: c.Unverified + o.Unverified, Breaches: c.Breaches + o.Breaches,
	}
}

// Run summarizes the streak structure of a sequence of items in time
// order: how many there are, the run of perfect items (v = 1) at its start
// and at its end, and the longest run inside it. Summaries of consecutive
// stretches combine, so a day's summary can be joined to the days before.
type Run struct {
	N      int // items
	Prefix int // perfect items at the start
	Suffix int // perfect items at the end (the current streak)
	Max    int // longest run of perfect items
}

// RunOf summarizes items (which it sorts by time, then by input order).
func RunOf(items []Item) Run {
	sorted := append([]Item(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].T.Before(sorted[j].T) })
	var r Run
	for _, it := range sorted {
		r = r.Then(runOf1(it))
	}
	return r
}

// runOf1 is the run of a single item.
func runOf1(it Item) Run {
	p := b2i(perfect(it))
	return Run{N: 1, Prefix: p, Suffix: p, Max: p}
}

func perfect(it Item) bool { return it.V == 1 && it.Kind != KindBreach }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Then joins r with the run that follows it.
func (r Run) Then(next Run) Run {
	if r.N == 0 {
		return next
	}
	if next.N == 0 {
		return r
	}
	out := Run{N: r.N + next.N, Prefix: r.Prefix, Suffix: next.Suffix}
	if r.Prefix == r.N { // r is all perfect
		out.Prefix = r.N + next.Prefix
	}
	if next.Suffix == next.N { // next is all perfect
		out.Suffix = r.Suffix + next.N
	}
	out.Max = max(r.Max, next.Max, r.Suffix+next.Prefix)
	return out
}

// Summary is everything known about a stretch of items, as seen from the
// end of the stretch (Ref).
type Summary struct {
	Ref    time.Time
	Sums   Sums
	Counts Counts
	Run    Run
}

// Summarize builds the summary of items as seen from ref.
func Summarize(items []Item, ref time.Time, halfLifeDays float64) Summary {
	s := Summary{Ref: ref, Run: RunOf(items)}
	for _, it := range items {
		s.Sums = s.Sums.Add(it, ref, halfLifeDays)
		s.Counts.Add(it)
	}
	return s
}

// Append is the summary of s's items followed by it, an item later than
// all of them: exactly what Summarize gives of them and it, to the last
// bit (the sums add it last, as Summarize does when it comes last in the
// items, and the run folds it in last, as RunOf does when it is latest).
func (s Summary) Append(it Item, halfLifeDays float64) Summary {
	s.Sums = s.Sums.Add(it, s.Ref, halfLifeDays)
	s.Counts.Add(it)
	s.Run = s.Run.Then(runOf1(it))
	return s
}

// Then joins the summary of the stretch before (s) with the one after (next).
func (s Summary) Then(next Summary, halfLifeDays float64) Summary {
	return Summary{
		Ref:    next.Ref,
		Sums:   s.Sums.Scaled(Decay(s.Ref, next.Ref, halfLifeDays)).Plus(next.Sums),
		Counts: s.Counts.Plus(next.Counts),
		Run:    s.Run.Then(next.Run),
	}
}

// At is the summary's score as seen from t ≥ Ref (no items in between).
func (s Summary) At(t time.Time, halfLifeDays float64) Sums {
	return s.Sums.Scaled(Decay(s.Ref, t, halfLifeDays))
}

// Result is a score as the API reports it.
type Result struct {
	Score         float64
	Level         string
	Evidence      float64
	Counts        Counts
	CurrentStreak int
	LongestStreak int
	EvaluatedAt   time.Time
}

// Evaluate scores items at t from scratch: every item due at or before t.
// It is the reference the incremental aggregates are checked against.
func Evaluate(items []Item, t time.Time, halfLifeDays float64) Result {
	var in []Item
	for _, it := range items {
		if !it.T.After(t) {
			in = append(in, it)
		}
	}
	return Summarize(in, t, halfLifeDays).Result(t, halfLifeDays)
}

// Result turns a summary into the reported score at t ≥ Ref.
func (s Summary) Result(t time.Time, halfLifeDays float64) Result {
	sums := s.At(t, halfLifeDays)
	sc := sums.Score()
	return Result{
		Score: sc, Level: Level(sc), Evidence: sums.Evidence(), Counts: s.Counts,
		CurrentStreak: s.Run.Suffix, LongestStreak: s.Run.Max, EvaluatedAt: t,
	}
}
