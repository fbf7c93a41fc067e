package scoring

import (
	"testing"
	"time"

	"github.com/troth-app/troth/internal/score"
)

// ExactBefore gives the score before a change as At would have read it,
// from the old rows, and declines where At would have read the day's
// items (a row of today holding an item later than now) or the row in
// force now was not read (the change is on a later day).
func TestExactBefore(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	row := func(day string, last time.Time, a float64) Day {
		end, _ := time.Parse(time.DateOnly, day)
		end = end.Add(24 * time.Hour)
		return Day{Day: day, End: end, Last: last, Cum: score.Summary{Ref: end, Sums: score.Sums{A: a, B: a + 1}}}
	}
	h := HalfLife(testRel)
	for _, c := range []struct {
		name string
		ch   Change
		ok   bool
		want float64
	}{
		{"no rows", Change{}, true, score.Summary{Ref: now}.Result(now, h).Score},
		{"an earlier day", Change{Prev: row("2026-05-08", now.Add(-49*time.Hour), 3), HasPrev: true,
			Old: []Day{row("2026-05-11", now.Add(30*time.Hour), 9)}}, true,
			row("2026-05-08", time.Time{}, 3).Cum.Result(now, h).Score},
		{"today, nothing later than now", Change{Old: []Day{row("2026-05-10", now.Add(-time.Hour), 4)}}, true,
			row("2026-05-10", time.Time{}, 4).Cum.Result(now, h).Score},
		{"today, an item later than now", Change{Old: []Day{row("2026-05-10", now.Add(time.Hour), 4)}}, false, 0},
		{"the change on a later day, past rows not read", Change{Prev: row("2026-05-11", now.Add(20*time.Hour), 2), HasPrev: true}, false, 0},
	} {
		got, ok := c.ch.ExactBefore(testRel, now)
		if ok != c.ok || (ok && got.Score != c.want) {
			t.Errorf("%s: %v %v, want %v %v", c.name, got.Score, ok, c.want, c.ok)
		}
	}
}
