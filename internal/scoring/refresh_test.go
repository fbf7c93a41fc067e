package scoring

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/score"
)

// memStore is a Store over a slice of items and a map of rollup rows.
type memStore struct {
	items []score.Item
	felt  []Felt
	days  map[string]Day
	slow  int // reads that took the day before and today's items
	reads int // reads of a member's day (MemberContent)
}

func (m *memStore) Relationship(context.Context, string) (relationship.Relationship, error) {
	return testRel, nil
}

func (m *memStore) Content(_ context.Context, _ relationship.Relationship, _ string, from, to time.Time) (Content, error) {
	var c Content
	for _, it := range m.items {
		if !it.T.Before(from) && it.T.Before(to) {
			c.Items = append(c.Items, it)
		}
	}
	for _, f := range m.felt {
		if !f.At.Before(from) && f.At.Before(to) {
			c.Felt = append(c.Felt, f)
		}
	}
	return c, nil
}

func (m *memStore) Today(ctx context.Context, rel relationship.Relationship, subject string, from, to time.Time) (Content, int, error) {
	m.slow++
	c, err := m.Content(ctx, rel, subject, from, to)
	return c, 0, err
}

func (m *memStore) Latest(_ context.Context, _, _, day string, _ time.Time) (Day, bool, int, error) {
	var last Day
	ok := false
	for _, d := range m.sorted() {
		if d.Day <= day {
			last, ok = d, true
		}
	}
	return last, ok, 0, nil
}

func (m *memStore) sorted() []Day {
	out := make([]Day, 0, len(m.days))
	for _, d := range m.days {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day < out[j].Day })
	return out
}

func (m *memStore) DayBefore(_ context.Context, _, _, day string) (Day, bool, error) {
	var last Day
	ok := false
	for _, d := range m.sorted() {
		if d.Day < day {
			last, ok = d, true
		}
	}
	return last, ok, nil
}

// MemberContent gives the member's content; memStore knows no promises.
func (m *memStore) MemberContent(ctx context.Context, rel relationship.Relationship, member, _ string, from, to time.Time) (Content, Content, error) {
	m.reads++
	c, err := m.Content(ctx, rel, member, from, to)
	return c, Content{}, err
}

func (m *memStore) DaysAroundAll(ctx context.Context, relID string, subjects []string, day string) ([]Around, error) {
	out := make([]Around, len(subjects))
	for i, s := range subjects {
		a := &out[i]
		a.Prev, a.HasPrev, _ = m.DayBefore(ctx, relID, s, day)
		a.From, _ = m.DaysFrom(ctx, relID, s, day)
	}
	return out, nil
}

func (m *memStore) DaysFrom(_ context.Context, _, _, day string) ([]Day, error) {
	var out []Day
	for _, d := range m.sorted() {
		if d.Day >= day {
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memStore) DayOf(_ context.Context, _, _, day string) (Day, bool, error) {
	d, ok := m.days[day]
	return d, ok, nil
}

func (m *memStore) DaysBetween(_ context.Context, _, _, from, to string) ([]Day, error) {
	var out []Day
	for _, d := range m.sorted() {
		if d.Day >= from && d.Day <= to {
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memStore) PutDays(_ context.Context, days []Day) error {
	for _, d := range days {
		m.days[d.Day] = d
	}
	return nil
}

func (m *memStore) DeleteDay(_ context.Context, _, _, day string) error {
	delete(m.days, day)
	return nil
}

func (m *memStore) DeleteDays(context.Context, string, string) error {
	clear(m.days)
	return nil
}

var testRel = relationship.Relationship{ID: "rel_x", TimeZone: "UTC", Settings: relationship.Settings{HalfLifeDays: 30}}

// Refresh keeps the rollups equal to a rebuild from scratch as items come
// and go, removes a day its last item leaves, and reports the level before
// and after the change as the rollups give it.
func TestRefreshFollowsItemsInAndOut(t *testing.T) {
	ctx := context.Background()
	day := func(n int) time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
	kept := func(n int) score.Item { return score.Item{T: day(n), V: 1, C: 1, Kind: score.KindKept} }
	missed := func(n int) score.Item { return score.Item{T: day(n), V: 0, C: 1, Kind: score.KindMissed} }
	m := &memStore{days: map[string]Day{}}
	const subject = "usr_a"
	rebuilt := func() []Day {
		all, _ := m.Content(ctx, testRel, subject, time.Unix(0, 0), day(1000))
		return Cumulate(Day{}, false, Days(testRel, subject, all), HalfLife(testRel))
	}
	check := func(step string) {
		t.Helper()
		got, want := m.sorted(), rebuilt()
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, a rebuild has %d", step, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Day != w.Day || g.Own.Counts != w.Own.Counts || g.Cum.Counts != w.Cum.Counts || g.Cum.Run != w.Cum.Run ||
				math.Abs(g.Cum.Sums.A-w.Cum.Sums.A) > 1e-12 || math.Abs(g.Cum.Sums.B-w.Cum.Sums.B) > 1e-12 {
				t.Fatalf("%s: row %s is %+v, a rebuild gives %+v", step, g.Day, g, w)
			}
		}
	}
	refresh := func(n int) Change {
		t.Helper()
		ch, err := Refresh(ctx, m, testRel, subject, day(n))
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}

	for _, n := range []int{0, 1, 2, 5} {
		m.items = append(m.items, kept(n))
		refresh(n)
	}
	check("kept on days 0, 1, 2, 5")

	// A miss on an earlier day carries through the days after it.
	m.items = append(m.items, missed(1), missed(1), missed(1))
	ch := refresh(1)
	check("three misses on day 1")
	before, after := ch.LevelsAt(testRel, day(6))
	if !(after.Score < before.Score) || before.Subject != subject || after.Subject != subject {
		t.Fatalf("misses moved the score from %v to %v (subjects %q, %q)", before.Score, after.Score, before.Subject, after.Subject)
	}

	// Day 2's only item goes (a renegotiation moved it): its row goes too.
	m.items = append(m.items[:2], m.items[3:]...)
	refresh(2)
	check("day 2 emptied")
	if _, ok := m.days[day(2).Format(time.DateOnly)]; ok {
		t.Fatal("the emptied day kept its row")
	}

	// A change after now's day leaves the level now where it was.
	m.items = append(m.items, missed(9))
	ch = refresh(9)
	check("a miss on day 9")
	if before, after := ch.LevelsAt(testRel, day(6)); before.Score != after.Score {
		t.Fatalf("a change on day 9 moved the score on day 6 from %v to %v", before.Score, after.Score)
	}
}

// At gives the score a recomputation from the raw items gives, whether it
// reads one rollup row (t after everything of its day) or the day before
// and today's items (something of t's day is later than t).
func TestAtMatchesEvaluate(t *testing.T) {
	ctx := context.Background()
	at := func(d, h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
	m := &memStore{days: map[string]Day{}}
	const subject = "usr_a"
	add := func(it score.Item) {
		m.items = append(m.items, it)
		if _, err := Refresh(ctx, m, testRel, subject, it.T); err != nil {
			t.Fatal(err)
		}
	}
	add(score.Item{T: at(0, 9), V: 1, C: 1, Kind: score.KindKept})
	add(score.Item{T: at(0, 18), V: 0, C: 1, Kind: score.KindMissed})
	add(score.Item{T: at(2, 8), V: 0.5, C: 0.75, Kind: score.KindPartial})
	add(score.Item{T: at(2, 20), V: 1, C: 1, Kind: score.KindKept})
	add(score.Item{T: at(2, 20), V: 0, C: 3, Kind: score.KindBreach})

	for _, c := range []struct {
		t    time.Time
		slow bool
	}{
		{at(-1, 12), false}, // before anything: no row
		{at(0, 8), true},    // before the day's first item
		{at(0, 12), true},   // between the day's items
		{at(0, 18), false},  // at the day's last item
		{at(1, 12), false},  // a day with no row: the day before's
		{at(2, 19), true},
		{at(2, 23), false},
		{at(40, 0), false},
	} {
		m.slow = 0
		got, sum, err := At(ctx, m, testRel, subject, c.t)
		if err != nil {
			t.Fatal(err)
		}
		want := score.Evaluate(m.items, c.t, HalfLife(testRel))
		if math.Abs(got.Score-want.Score) > 1e-12 || math.Abs(got.Evidence-want.Evidence) > 1e-12 ||
			got.Counts != want.Counts || got.CurrentStreak != want.CurrentStreak || got.LongestStreak != want.LongestStreak ||
			!got.EvaluatedAt.Equal(c.t) {
			t.Errorf("At(%v) = %+v, a recomputation gives %+v", c.t, got.Result, want)
		}
		if s := sum.At(c.t, HalfLife(testRel)).Score(); math.Abs(s-want.Score) > 1e-12 {
			t.Errorf("At(%v): its summary seen from t scores %v, want %v", c.t, s, want.Score)
		}
		if (m.slow > 0) != c.slow {
			t.Errorf("At(%v) read today's items: %v, want %v", c.t, m.slow > 0, c.slow)
		}
	}
}

// civilDate is time.Format's YYYY-MM-DD.
func TestCivilDate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	for _, tm := range []time.Time{
		time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 12, 31, 23, 59, 0, 0, time.UTC), time.Date(9999, 10, 5, 0, 0, 0, 0, berlin),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 6, 7, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := civilDate(tm.Date()), tm.Format(time.DateOnly); got != want {
			t.Errorf("civilDate(%v) = %q, want %q", tm, got, want)
		}
	}
}

// bucketEnds gives, for every local date from from's to to's (or every
// week), the bucket from its first instant (found by brute force), across
// zones whose clocks change at midnight, by half an hour, or skipped a
// whole day.
func TestBucketEnds(t *testing.T) {
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "Pacific/Apia", "America/Havana", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Skip(err)
		}
		for _, r := range []struct{ from, to time.Time }{
			{time.Date(2011, 12, 1, 15, 0, 0, 0, time.UTC), time.Date(2012, 2, 1, 3, 0, 0, 0, time.UTC)},
			{time.Date(2018, 10, 1, 2, 0, 0, 0, time.UTC), time.Date(2019, 11, 20, 23, 0, 0, 0, time.UTC)},
			{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 22, 30, 0, 0, time.UTC)},
			{time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		} {
			for _, bucket := range []string{"day", "week"} {
				got := bucketEnds(r.from, r.to, loc, bucket)
				// The reference: each date's first instant from time.Date.
				var want []bucketEnd
				l := r.from.In(loc)
				day := time.Date(l.Year(), l.Month(), l.Day(), 12, 0, 0, 0, time.UTC) // a civil date
				step := 1
				if bucket == "week" {
					step = 7
					day = day.AddDate(0, 0, -(int(day.Weekday())+6)%7)
				}
				first := func(c time.Time) time.Time {
					return firstInstant(loc, c.Year(), c.Month(), c.Day(), time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, loc).Add(-4*time.Hour))
				}
				for first(day).Compare(r.to) <= 0 {
					next := day.AddDate(0, 0, step)
					b := bucketEnd{date: day.Format(time.DateOnly), lastDay: next.AddDate(0, 0, -1).Format(time.DateOnly),
						start: first(day).UTC(), end: first(next).UTC()}
					if b.end.After(r.to) {
						b.end = r.to
					}
					if first(next).After(first(day)) {
						want = append(want, b)
					}
					day = next
				}
				if len(got) != len(want) {
					t.Fatalf("%s %s %v: %d buckets, want %d", zone, bucket, r.from, len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s %s: bucket %d = %+v, want %+v", zone, bucket, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// Bounds names the local date holding t and spans exactly the instants of
// that date: found by brute force, minute by minute, around every clock
// change from 2000 to 2030 in zones whose changes skip or repeat midnight,
// skip a whole day, move by half an hour, go back three hours across
// midnight (Casey 2010), or go back at 00:01 (St John's until 2010).
func TestBoundsAroundClockChanges(t *testing.T) {
	for _, zone := range []string{"America/Havana", "America/Santiago", "Atlantic/Azores", "America/Asuncion",
		"America/Sao_Paulo", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Gaza", "UTC",
		"Antarctica/Casey", "America/St_Johns"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Skip(err)
		}
		first := func(y int, m time.Month, d int, from time.Time) time.Time { return firstInstant(loc, y, m, d, from) }
		for at := time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC); at.Year() < 2031; {
			_, end := at.In(loc).ZoneBounds()
			if end.IsZero() {
				break
			}
			// The days around the change.
			for probe := end.Add(-50 * time.Hour); probe.Before(end.Add(50 * time.Hour)); probe = probe.Add(5 * time.Hour) {
				name, start, stop := Bounds(probe, loc)
				y, m, d := probe.In(loc).Date()
				if name != civilDate(y, m, d) {
					// Only where the clock went back across midnight: the
					// hour that came again belongs to the next date's day.
					y, m, d = civil(y, m, d+1)
					if name != civilDate(y, m, d) {
						t.Fatalf("%s %v: day %s", zone, probe, name)
					}
				}
				ny, nm, nd := civil(y, m, d+1)
				if want := first(y, m, d, start.Add(-3*time.Hour)); !start.Equal(want) {
					t.Fatalf("%s %s: starts %v, want %v", zone, name, start.In(loc), want.In(loc))
				}
				if want := first(ny, nm, nd, stop.Add(-3*time.Hour)); !stop.Equal(want) {
					t.Fatalf("%s %s: ends %v, want %v", zone, name, stop.In(loc), want.In(loc))
				}
				if probe.Before(start) || !probe.Before(stop) {
					t.Fatalf("%s %s: [%v, %v) does not hold %v", zone, name, start, stop, probe)
				}
			}
			at = end.Add(time.Hour)
		}
	}
}

// firstInstant is the first minute at or after from whose local date is
// y-m-d or later.
func firstInstant(loc *time.Location, y int, m time.Month, d int, from time.Time) time.Time {
	for at := from.Truncate(time.Minute); ; at = at.Add(time.Minute) {
		if ay, am, ad := at.In(loc).Date(); ay > y || ay == y && (am > m || am == m && ad >= d) {
			return at
		}
	}
}

// The day starts kept a year at a time are the ones worked out each time,
// for every date, in zones whose clocks change around midnight.
func TestCalendarKeepsDayStarts(t *testing.T) {
	for _, zone := range []string{"America/Havana", "America/Santiago", "Pacific/Apia", "Antarctica/Casey",
		"America/St_Johns", "Asia/Gaza", "Europe/Berlin", "UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Skip(err)
		}
		for y := 2000; y <= 2035; y++ {
			for d := time.Date(y, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
				yy, mm, dd := d.Date()
				if got, want := DayStart(yy, mm, dd, loc), dayStart(yy, mm, dd, loc); !got.Equal(want) || got.Location() != loc {
					t.Fatalf("%s %s: %v, want %v", zone, d.Format(time.DateOnly), got, want)
				}
			}
		}
	}
}

// Dates' names kept a year at a time are the ones written each time.
func TestCalendarKeepsDateNames(t *testing.T) {
	w := dayWalk{loc: time.UTC}
	for d := time.Date(1999, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() < 2041; d = d.AddDate(0, 0, 1) {
		y, m, dd := d.Date()
		if got, want := w.name(y, m, dd), d.Format(time.DateOnly); got != want {
			t.Fatalf("%s: %s", want, got)
		}
	}
	if got := w.name(2026, time.February, 30); got != "2026-03-02" {
		t.Fatalf("a date out of its month: %s", got)
	}
}

// RefreshMemberAdding stores, change after change, the very rows that
// RefreshMember does (bit for bit: the rows are compared with ==), whether
// it folds the item in or reads the day: items later than the rest of
// their day, earlier ones, items beside a breach, and days with none yet.
func TestRefreshMemberAddingStoresWhatRefreshDoes(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	outcomes := []string{"kept", "partial", "missed"}
	verifs := []string{"confirmed", "accepted", "unverified", "disputed"}
	for round := range 40 {
		rel := testRel
		rel.Settings.HalfLifeDays = 7 + rng.IntN(300)
		fast, full := &memStore{days: map[string]Day{}}, &memStore{days: map[string]Day{}}
		for step := range 60 {
			var it score.Item
			// A few days, hours apart: most items come later than the
			// rest of their day, some earlier, some are breaches.
			at := base.Add(time.Duration(rng.IntN(4*24)) * time.Hour)
			if step%5 != 0 || rng.IntN(3) > 0 {
				at = base.Add(time.Duration(step) * 90 * time.Minute)
			}
			breach := rng.IntN(15) == 0
			if breach {
				it = score.BreachItem(at, "major")
			} else {
				it = score.OccurrenceItem(at, at.Add(time.Duration(rng.IntN(120))*time.Minute), time.Hour,
					outcomes[rng.IntN(3)], verifs[rng.IntN(4)], rng.IntN(8) == 0)
			}
			for _, m := range []*memStore{fast, full} {
				// A day's content as the database gives it: occurrences
				// in time order, then breaches.
				m.items = append(m.items, it)
				slices.SortStableFunc(m.items, func(a, b score.Item) int {
					if ab, bb := a.Kind == score.KindBreach, b.Kind == score.KindBreach; ab != bb {
						if ab {
							return 1
						}
						return -1
					}
					return a.T.Compare(b.T)
				})
			}
			var err error
			if breach {
				_, err = RefreshMember(ctx, fast, rel, "usr_a", "", at)
			} else {
				_, err = RefreshMemberAdding(ctx, fast, rel, "usr_a", "", it)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := RefreshMember(ctx, full, rel, "usr_a", "", at); err != nil {
				t.Fatal(err)
			}
			sameRows(t, fast, full, round, step)
		}
		if fast.reads >= full.reads || fast.reads == 0 {
			t.Fatalf("round %d: %d reads of a day adding, %d refreshing: the test should see both folds and reads", round, fast.reads, full.reads)
		}
	}
}

// A check-in folded into its day's row (RefreshMemberFelt) leaves the
// rows RefreshMember makes by reading the day again, to the last bit:
// on days with items and without, before other rows and after, with
// items added later in between.
func TestRefreshMemberFeltStoresWhatRefreshDoes(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 10))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for round := range 40 {
		rel := testRel
		rel.Settings.HalfLifeDays = 7 + rng.IntN(300)
		fast, full := &memStore{days: map[string]Day{}}, &memStore{days: map[string]Day{}}
		felts := 0
		for step := range 60 {
			// A week, hours apart: check-ins on days with items and on
			// days with none, and items now and then.
			at := base.Add(time.Duration(rng.IntN(7*24*60)) * time.Minute)
			if rng.IntN(3) == 0 {
				it := score.OccurrenceItem(at, at, time.Hour, "kept", "confirmed", false)
				for _, m := range []*memStore{fast, full} {
					m.items = append(m.items, it)
					slices.SortStableFunc(m.items, func(a, b score.Item) int { return a.T.Compare(b.T) })
					if _, err := RefreshMember(ctx, m, rel, "usr_a", "", at); err != nil {
						t.Fatal(err)
					}
				}
				continue
			}
			f := Felt{At: at, Value: rng.IntN(11)}
			felts++
			for _, m := range []*memStore{fast, full} {
				m.felt = append(m.felt, f)
			}
			reads := fast.reads
			if _, err := RefreshMemberFelt(ctx, fast, rel, "usr_a", f); err != nil {
				t.Fatal(err)
			}
			if fast.reads != reads {
				t.Fatalf("round %d step %d: the check-in read its day", round, step)
			}
			if _, err := RefreshMember(ctx, full, rel, "usr_a", "", at); err != nil {
				t.Fatal(err)
			}
			sameRows(t, fast, full, round, step)
		}
		if felts == 0 {
			t.Fatalf("round %d: no check-in", round)
		}
	}
}

// sameRows fails the test unless fast holds the very rows full does.
func sameRows(t *testing.T, fast, full *memStore, round, step int) {
	t.Helper()
	got, want := fast.sorted(), full.sorted()
	if len(got) != len(want) {
		t.Fatalf("round %d step %d: %d rows, RefreshMember made %d", round, step, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("round %d step %d: row %s is\n%+v\nRefreshMember made\n%+v", round, step, got[i].Day, got[i], want[i])
		}
	}
}
