// Package scoring keeps the consistency score's aggregates and reads scores
// and timelines from them. Every change that moves a score refreshes the
// daily rollup of its day, in the same transaction, and carries the change
// forward through the cumulative sums of the days after it; reading a score
// then takes one rollup row and the items of the day being read, whatever
// the length of the history, and a timeline one row per point.
package scoring

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/tz"
)

// Day is one rollup row: a subject's items of one local day, and the same
// cumulated over every day up to and including it. Subjects are members
// (their user id: the promises they make, and breaches by them) and
// promises (their promise id).
type Day struct {
	RelationshipID string
	Subject        string
	Day            string    // YYYY-MM-DD in the relationship's zone
	End            time.Time // the instant the local day ends
	Last           time.Time // the latest item or skip of the day (zero: none)
	Own            score.Summary
	Skipped        int
	FeltSum        int
	FeltN          int
	Cum            score.Summary
	CumSkipped     int
}

// Empty reports whether a day has nothing to keep.
func (d Day) Empty() bool { return d.Own.Run.N == 0 && d.Skipped == 0 && d.FeltN == 0 }

// Content is what happened to a subject over a stretch of time.
type Content struct {
	Items   []score.Item
	Skipped []time.Time // due times of skipped occurrences
	Felt    []Felt      // check-ins about a member
}

// Felt is one check-in's felt trust.
type Felt struct {
	At    time.Time
	Value int
}

// Store is what scoring needs from storage, inside the caller's transaction.
type Store interface {
	Relationship(ctx context.Context, relID string) (relationship.Relationship, error)
	// Content loads a subject's scored items with t in [from, to), the
	// occurrences skipped then, and the check-ins about a member then.
	Content(ctx context.Context, rel relationship.Relationship, subject string, from, to time.Time) (Content, error)
	// Today loads what a score at to−1µs adds to the rollup of the day
	// before: the subject's scored items and skipped occurrences in
	// [from, to) (no check-ins), and how many of its occurrences due
	// before to are still open.
	Today(ctx context.Context, rel relationship.Relationship, subject string, from, to time.Time) (Content, int, error)
	// DayBefore returns the latest row before day, if any: its day, end and
	// cumulative part (the rest is left zero).
	DayBefore(ctx context.Context, relID, subject, day string) (Day, bool, error)
	// Latest returns, in one read, the latest row on or before day, if
	// any (its day, end, last and cumulative part; the rest left zero),
	// and how many of the subject's occurrences due before openBefore are
	// still open.
	Latest(ctx context.Context, relID, subject, day string, openBefore time.Time) (Day, bool, int, error)
	// MemberContent is Content for a member and, from the same read, for
	// one of their promises (promiseID; empty: none).
	MemberContent(ctx context.Context, rel relationship.Relationship, member, promiseID string, from, to time.Time) (Content, Content, error)
	// DaysAroundAll returns, for each subject in order and in one read, the
	// latest row before day, if any, and the rows from day on, in order
	// (complete rows).
	DaysAroundAll(ctx context.Context, relID string, subjects []string, day string) ([]Around, error)
	// DayOf returns a subject's row of day, if any (a complete row).
	DayOf(ctx context.Context, relID, subject, day string) (Day, bool, error)
	// DaysBetween returns the rows with from ≤ day ≤ to, in order, for
	// reading: their own counts (not unverified), run and felt trust, and
	// their cumulative sums; the cumulative counts, runs and skips are
	// left zero (a timeline reads hundreds of rows, and each column costs).
	DaysBetween(ctx context.Context, relID, subject, from, to string) ([]Day, error)
	PutDays(ctx context.Context, days []Day) error
	DeleteDay(ctx context.Context, relID, subject, day string) error
	// DeleteDays deletes every row of a subject.
	DeleteDays(ctx context.Context, relID, subject string) error
}

// IsMember reports whether a subject is a member (else a promise).
func IsMember(subject string) bool { return strings.HasPrefix(subject, "usr_") }

// HalfLife of a relationship, in days.
func HalfLife(rel relationship.Relationship) float64 { return float64(rel.Settings.HalfLifeDays) }

// Grace of a relationship.
func Grace(rel relationship.Relationship) time.Duration {
	return time.Duration(rel.Settings.GraceMinutes) * time.Minute
}

// Bounds returns the local day containing t: its name, start and end. A
// day runs from its DayStart to the next date's, and t belongs to the span
// that holds it: where a clock goes back across midnight and a late hour of
// a date comes again after the next date began, that hour counts in the
// next date's day (so that every instant lies in the day it is filed in).
func Bounds(t time.Time, loc *time.Location) (string, time.Time, time.Time) {
	y, m, d := t.In(loc).Date()
	w := dayWalk{loc: loc}
	start := w.start(y, m, d)
	for t.Before(start) { // not seen in tzdata; kept for safety
		y, m, d = civil(y, m, d-1)
		start = w.start(y, m, d)
	}
	ny, nm, nd := civil(y, m, d+1)
	end := w.start(ny, nm, nd)
	for !t.Before(end) {
		y, m, d, start = ny, nm, nd, end
		ny, nm, nd = civil(y, m, d+1)
		end = w.start(ny, nm, nd)
	}
	return w.name(y, m, d), start.UTC(), end.UTC()
}

// DayStart is the first instant of a local date: its midnight, or where a
// clock change skips or repeats midnight, the earliest instant that bears
// the date (time.Date may give a skipped midnight on the day before, and a
// repeated one the second time). A date a zone skipped whole starts where
// the next one does.
func DayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	w := dayWalk{loc: loc}
	return w.start(y, m, d)
}

// dayStart is DayStart worked out (calendarOf keeps what it gives).
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if !dateBefore(t, y, m, d) {
		if zs, _ := t.ZoneBounds(); zs.IsZero() || zs.Before(t.Add(-clockChangeWindow)) {
			return t // no clock change in the hours before: the common case
		}
	}
	// A clock change near midnight: the first second bearing the date, by
	// bisection over the hours around it (no change moves a clock further).
	lo, hi := t.Add(-clockChangeWindow).Unix(), t.Add(clockChangeWindow).Unix()
	for w := 2 * clockChangeWindow; !dateBefore(time.Unix(lo, 0).In(loc), y, m, d) && w <= 48*time.Hour; w *= 2 {
		lo = t.Add(-w).Unix() // a change as large as the window (Casey, 2010): look further back
	}
	if dateBefore(time.Unix(hi, 0).In(loc), y, m, d) {
		// Further still (Apia skipped 2011-12-30 whole): the next zone's
		// first instant.
		if _, end := t.ZoneBounds(); end.After(t) {
			return end.In(loc)
		}
		return time.Unix(hi, 0).In(loc)
	}
	for lo+1 < hi {
		if mid := lo + (hi-lo)/2; dateBefore(time.Unix(mid, 0).In(loc), y, m, d) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return time.Unix(hi, 0).In(loc)
}

const clockChangeWindow = 3 * time.Hour

// dateBefore reports whether t's date (in its location) comes before y-m-d.
func dateBefore(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty < y || ty == y && (tm < m || tm == m && td < d)
}

func location(rel relationship.Relationship) *time.Location {
	loc, ok := tz.Load(rel.TimeZone)
	if !ok {
		return time.UTC
	}
	return loc
}

// Days groups content by local day into rollup rows (cumulative parts unset).
func Days(rel relationship.Relationship, subject string, c Content) []Day {
	loc, h := location(rel), HalfLife(rel)
	byDay := map[string]*Day{}
	items := map[string][]score.Item{}
	get := func(t time.Time) *Day {
		day, _, end := Bounds(t, loc)
		d, ok := byDay[day]
		if !ok {
			d = &Day{RelationshipID: rel.ID, Subject: subject, Day: day, End: end}
			byDay[day] = d
		}
		return d
	}
	for _, it := range c.Items {
		d := get(it.T)
		items[d.Day] = append(items[d.Day], it)
		d.Last = maxTime(d.Last, it.T)
	}
	for _, t := range c.Skipped {
		d := get(t)
		d.Skipped++
		d.Last = maxTime(d.Last, t)
	}
	for _, f := range c.Felt {
		d := get(f.At)
		d.FeltSum += f.Value
		d.FeltN++
	}
	out := make([]Day, 0, len(byDay))
	for _, d := range byDay {
		d.Own = score.Summarize(items[d.Day], d.End, h)
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day < out[j].Day })
	return out
}

// Change is what Refresh did to a subject's rollups: the row before the
// refreshed day, and the rows from that day on before and after.
type Change struct {
	Subject  string
	Prev     Day
	HasPrev  bool
	Old, New []Day
}

// LevelsAt evaluates the subject's score at now from the rollups alone,
// before and after the change: from the latest row on or before now's day,
// decayed to now. Unlike At it counts all of that day's items, even those
// due later than now; it serves to compare a level before and after.
func (c Change) LevelsAt(rel relationship.Relationship, now time.Time) (before, after Result) {
	day, _, _ := Bounds(now, location(rel))
	return c.levelAt(rel, c.Old, day, now), c.levelAt(rel, c.New, day, now)
}

// ExactBefore is the subject's score at now before the change, exactly as
// At would have read it, when the rows alone give it: the latest row on or
// before now's day holds nothing later than now (or there is none). It
// reports false otherwise (that day's items would have to be read).
func (c Change) ExactBefore(rel relationship.Relationship, now time.Time) (Result, bool) {
	day, _, _ := Bounds(now, location(rel))
	h := HalfLife(rel)
	last, ok := c.inForce(c.Old, day)
	switch {
	case ok && last.Day > day:
		return Result{}, false // the change is on a later day: the row in force now is not here
	case !ok:
		return Result{Subject: c.Subject, Result: score.Summary{Ref: now}.Result(now, h)}, true
	case last.Day == day && last.Last.After(now):
		return Result{}, false
	}
	return Result{Subject: c.Subject, Result: last.Cum.Result(now, h)}, true
}

// inForce is the latest of c.Prev and rows (in order) on or before day.
func (c Change) inForce(rows []Day, day string) (Day, bool) {
	last, ok := c.Prev, c.HasPrev
	for _, r := range rows {
		if r.Day > day {
			break
		}
		last, ok = r, true
	}
	return last, ok
}

func (c Change) levelAt(rel relationship.Relationship, rows []Day, day string, now time.Time) Result {
	h := HalfLife(rel)
	last, ok := c.inForce(rows, day)
	if !ok {
		return Result{Subject: c.Subject, Result: score.Summary{Ref: now}.Result(now, h)}
	}
	sums := last.Cum.At(maxTime(now, last.Cum.Ref), h)
	sc := sums.Score()
	return Result{Subject: c.Subject, Result: score.Result{Score: sc, Level: score.Level(sc), Evidence: sums.Evidence(), EvaluatedAt: now}}
}

// Around is a subject's latest row before a day, if any, and its rows from
// that day on.
type Around struct {
	Prev    Day
	HasPrev bool
	From    []Day
}

// Refresh recomputes the rollup of the day containing t for a subject and
// carries it through the cumulative sums of the days after. Call it in the
// transaction of any change to an item, breach, skip or check-in at t.
func Refresh(ctx context.Context, st Store, rel relationship.Relationship, subject string, t time.Time) (Change, error) {
	ch := Change{Subject: subject}
	day, start, end := Bounds(t, location(rel))
	content, err := st.Content(ctx, rel, subject, start, end)
	if err != nil {
		return ch, err
	}
	around, err := st.DaysAroundAll(ctx, rel.ID, []string{subject}, day)
	if err != nil {
		return ch, err
	}
	ch.Prev, ch.HasPrev, ch.Old = around[0].Prev, around[0].HasPrev, around[0].From
	if ch.renew(rel, day, content) {
		if err := st.DeleteDay(ctx, rel.ID, subject, day); err != nil {
			return ch, err
		}
	}
	return ch, st.PutDays(ctx, ch.New)
}

// RefreshMember is Refresh for a member and, unless promiseID is empty,
// one of their promises, in three statements rather than six: a promise's
// occurrences are all its promisor's, so one read of the member's day
// holds the promise's items too, one read gives both subjects' rows
// around the day, and one upsert writes both. It returns the member's
// change.
func RefreshMember(ctx context.Context, st Store, rel relationship.Relationship, member, promiseID string, t time.Time) (Change, error) {
	return refreshMember(ctx, st, rel, member, promiseID, t, nil)
}

// RefreshMemberAdding is RefreshMember for a change that adds one item to
// the member's day and their promise's, and changes nothing else there:
// an occurrence resolved from open, whose item it is. Where the item is
// later than everything in both subjects' rows of its day, and the
// member's row holds no breach, the item is folded into the rows rather
// than the day read again (two statements rather than three): Summarize
// would make the very same rows of the day's items, since it adds the
// item last (a member's breaches come after their occurrences in a day's
// content, hence the second condition). Otherwise it is RefreshMember.
func RefreshMemberAdding(ctx context.Context, st Store, rel relationship.Relationship, member, promiseID string, it score.Item) (Change, error) {
	return refreshMember(ctx, st, rel, member, promiseID, it.T, &it)
}

func refreshMember(ctx context.Context, st Store, rel relationship.Relationship, member, promiseID string, t time.Time, added *score.Item) (Change, error) {
	day, start, end := Bounds(t, location(rel))
	subjects := []string{member}
	if promiseID != "" {
		subjects = append(subjects, promiseID)
	}
	around, err := st.DaysAroundAll(ctx, rel.ID, subjects, day)
	if err != nil {
		return Change{Subject: member}, err
	}
	fold := added != nil && foldable(around, day, *added)
	var mc, pc Content
	if !fold {
		if mc, pc, err = st.MemberContent(ctx, rel, member, promiseID, start, end); err != nil {
			return Change{Subject: member}, err
		}
	}
	var memberChange Change
	var put []Day
	for i, subject := range subjects {
		ch := Change{Subject: subject, Prev: around[i].Prev, HasPrev: around[i].HasPrev, Old: around[i].From}
		content := mc
		if i == 1 {
			content = pc
		}
		if fold {
			ch.add(rel, day, end, *added)
		} else if ch.renew(rel, day, content) {
			if err := st.DeleteDay(ctx, rel.ID, subject, day); err != nil {
				return memberChange, err
			}
		}
		put = append(put, ch.New...)
		if i == 0 {
			memberChange = ch
		}
	}
	return memberChange, st.PutDays(ctx, put)
}

// RefreshMemberFelt is RefreshMember, without a promise, for a change
// that adds one check-in (f) about the member and nothing else: the day's
// items are the same, so its row keeps its own summary and takes the
// check-in's felt trust into its sums (made anew, as Days makes a day with
// check-ins alone, if there is none), and the day is not read again. The
// rows are the ones RefreshMember stores: a day's felt trust is a sum and
// a count, the same whatever the order.
//
// Where the day has a row, that row alone changes: its own summary is the
// same, so is every cumulative sum from it on, and the rows after it are
// neither read nor written (a member whose occurrences due weeks ahead
// were resolved early has a row for each of those days). The Change then
// holds that row alone, before and after: the level it gives is the same.
func RefreshMemberFelt(ctx context.Context, st Store, rel relationship.Relationship, member string, f Felt) (Change, error) {
	day, _, end := Bounds(f.At, location(rel))
	row, ok, err := st.DayOf(ctx, rel.ID, member, day)
	if err != nil {
		return Change{Subject: member}, err
	}
	if ok {
		changed := row
		changed.FeltSum += f.Value
		changed.FeltN++
		ch := Change{Subject: member, Old: []Day{row}, New: []Day{changed}}
		return ch, st.PutDays(ctx, ch.New)
	}
	// A new row: the cumulative sums after it are carried through it.
	around, err := st.DaysAroundAll(ctx, rel.ID, []string{member}, day)
	if err != nil {
		return Change{Subject: member}, err
	}
	ch := Change{Subject: member, Prev: around[0].Prev, HasPrev: around[0].HasPrev, Old: around[0].From}
	ch.changeDay(rel, day, end, func(d *Day) {
		d.FeltSum += f.Value
		d.FeltN++
	})
	return ch, st.PutDays(ctx, ch.New)
}

// foldable reports whether it may be folded into each subject's row of
// day (see RefreshMemberAdding). A subject without a row that day has
// nothing there, and takes it as the day's only item.
func foldable(around []Around, day string, it score.Item) bool {
	for _, a := range around {
		if len(a.From) == 0 || a.From[0].Day != day {
			continue
		}
		if r := a.From[0]; !it.T.After(r.Last) || r.Own.Counts.Breaches > 0 {
			return false
		}
	}
	return true
}

// add sets ch.New from ch.Prev and ch.Old with it folded into day's row.
func (ch *Change) add(rel relationship.Relationship, day string, end time.Time, it score.Item) {
	ch.changeDay(rel, day, end, func(d *Day) {
		d.Own = d.Own.Append(it, HalfLife(rel))
		d.Last = maxTime(d.Last, it.T)
	})
}

// changeDay sets ch.New from ch.Prev and ch.Old with day's row changed by
// change (the row made anew, empty, if there is none; day ends at end),
// and the cumulative sums carried from it through the rows after.
func (ch *Change) changeDay(rel relationship.Relationship, day string, end time.Time, change func(*Day)) {
	later := ch.Old
	today := Day{RelationshipID: rel.ID, Subject: ch.Subject, Day: day, End: end, Own: score.Summary{Ref: end}}
	if len(later) > 0 && later[0].Day == day {
		today, later = later[0], later[1:]
	}
	change(&today)
	chain := append([]Day{today}, later...) // ch.Old stays as it was
	ch.New = Cumulate(ch.Prev, ch.HasPrev, chain, HalfLife(rel))
}

// renew sets ch.New from ch.Prev and ch.Old with day's rows made anew from
// its content, and reports whether day's row must go (the day is left
// empty, and an upsert cannot say so).
func (ch *Change) renew(rel relationship.Relationship, day string, content Content) bool {
	later := ch.Old
	if len(later) > 0 && later[0].Day == day {
		later = later[1:]
	}
	own := Days(rel, ch.Subject, content)
	chain := append(append([]Day(nil), own...), later...) // ch.Old stays as it was
	ch.New = Cumulate(ch.Prev, ch.HasPrev, chain, HalfLife(rel))
	return len(own) == 0 && len(later) < len(ch.Old)
}

// Cumulate recomputes the cumulative part of days (in order) following prev.
func Cumulate(prev Day, hasPrev bool, days []Day, h float64) []Day {
	cum, skipped, ok := prev.Cum, prev.CumSkipped, hasPrev
	for i := range days {
		d := &days[i]
		if ok {
			cum = cum.Then(d.Own, h)
		} else {
			cum, ok = d.Own, true
		}
		skipped += d.Skipped
		d.Cum, d.CumSkipped = cum, skipped
	}
	return days
}

// Rebuild recomputes every rollup of a subject from its whole history, for
// changes that touch all of it (a new half-life, grace or time zone).
func Rebuild(ctx context.Context, st Store, relID, subject string) error {
	rel, err := st.Relationship(ctx, relID)
	if err != nil {
		return err
	}
	if err := st.DeleteDays(ctx, relID, subject); err != nil {
		return err
	}
	all, err := st.Content(ctx, rel, subject, time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	return st.PutDays(ctx, Cumulate(Day{}, false, Days(rel, subject, all), HalfLife(rel)))
}
