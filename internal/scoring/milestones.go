package scoring

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/score"
)

// Milestone names.
const (
	FirstKept      = "first_kept"
	Streak7        = "streak_7"
	Streak30       = "streak_30"
	Kept25         = "kept_25"
	Kept100        = "kept_100"
	FirstRebuild   = "first_rebuilding"
	FirstSteady    = "first_steady"
	FirstStrong    = "first_strong"
	MissFree30     = "miss_free_30d"
	MissFree90     = "miss_free_90d"
	TargetReached  = "target_reached"
	cadenceWindow  = 28 * 24 * time.Hour
	projectionDays = score.MaxProjectionDays
)

// milestones walks the rebuilding period (since the latest breach) day by
// day through the rollups and notes the first day each milestone held. It
// reads one row per active day of the period, never the items themselves,
// so its cost does not grow with how many promises a day holds; reached_at
// is the time of that day's last item (its due time; a breach's time), or
// the end of the day where it has none, and never after now.
//
// days reads the rows (s.store.DaysBetween, or rows already read). When
// the period began at a breach (sinceBreach), the first day's row is
// replaced by one of what lies at or after the breach: what came before it
// that day belongs to the period before, and earns nothing in this one.
// version, when not nil, is the version the member's rows were read under
// (DayRange): the first day's row made anew is kept under it.
func (s *Service) milestones(ctx context.Context, rel relationship.Relationship, member string, start, now time.Time, sinceBreach bool, days daysBetween, version *int64) ([]Milestone, error) {
	h := HalfLife(rel)
	loc := location(rel)
	firstDay, _, _ := Bounds(start, loc)
	lastDay, _, _ := Bounds(now, loc)
	rows, err := days(ctx, firstDay, lastDay)
	if err != nil {
		return nil, err
	}
	var head *Day // in place of rows[0] (rows may be shared: not written to)
	if sinceBreach && len(rows) > 0 && rows[0].Day == firstDay && !onlyOneBreach(rows[0]) {
		d, err := s.periodHead(ctx, rel, member, start, rows[0], version)
		if err != nil {
			return nil, err
		}
		head = &d
	}
	// reached[k] is when milestone k (of milestoneNames) first held.
	var reached [len(milestoneNames)]time.Time
	var has [len(milestoneNames)]bool
	mark := func(k int, at time.Time) {
		if !has[k] {
			reached[k], has[k] = at, true
		}
	}
	var run score.Run // streak structure since the period began
	kept, keptSinceMiss := 0, 0
	lastMiss := start
	var firstKeptSinceMiss time.Time
	missFree := func(until time.Time) {
		// A stretch without a miss from lastMiss up to until, in which at
		// least one promise was kept (an empty calendar earns nothing): it
		// is reached once it is long enough and a promise has been kept.
		if keptSinceMiss == 0 {
			return
		}
		for _, m := range missFreeSpans {
			if until.Sub(lastMiss) >= m.span {
				mark(m.k, maxTime(lastMiss.Add(m.span), firstKeptSinceMiss))
			}
		}
	}
	floors := [...]struct {
		k     int
		floor float64
	}{
		{mFirstRebuild, score.LevelFloor(score.Rebuilding)},
		{mFirstSteady, score.LevelFloor(score.Steady)},
		{mFirstStrong, score.LevelFloor(score.Strong)},
		{mTargetReached, rel.Settings.TargetScore},
	}
	for i, d := range rows {
		if i == 0 && head != nil {
			d = *head
		}
		// A day is judged as its last item left it: at that item (its
		// due time, or a breach's), which stays put as time goes on,
		// rather than at the day's end or, today, at now.
		at := d.End
		if !d.Last.IsZero() && d.Last.Before(at) {
			at = d.Last
		}
		if at.After(now) {
			at = now
		}
		if at.Before(start) {
			// The period's first day, judged by an item due before the
			// period began (a promise dated before the breach, or before the
			// relationship was created): nothing in a period is reached
			// before it starts.
			at = start
		}
		c := d.Own.Counts
		misses := c.Missed + c.Disputed + c.Breaches
		if misses > 0 {
			missFree(d.End.Add(-24 * time.Hour)) // the stretch before this day
			lastMiss, keptSinceMiss = at, 0
		}
		run = run.Then(d.Own.Run)
		kept += c.Kept + c.KeptLate
		if keptSinceMiss == 0 && c.Kept > 0 {
			firstKeptSinceMiss = at
		}
		keptSinceMiss += c.Kept
		if misses == 0 {
			missFree(at)
		}
		if kept >= 1 {
			mark(mFirstKept, at)
		}
		if run.Max >= 7 {
			mark(mStreak7, at)
		}
		if run.Max >= 30 {
			mark(mStreak30, at)
		}
		if kept >= 25 {
			mark(mKept25, at)
		}
		if kept >= 100 {
			mark(mKept100, at)
		}
		sc := d.Cum.At(at, h).Score()
		for _, l := range floors {
			if sc >= l.floor {
				mark(l.k, at)
			}
		}
	}
	missFree(now)
	out := make([]Milestone, 0, len(milestoneNames))
	for k, name := range milestoneNames {
		if has[k] {
			out = append(out, Milestone{Name: name, ReachedAt: reached[k]})
		}
	}
	slices.SortFunc(out, func(a, b Milestone) int {
		if c := a.ReachedAt.Compare(b.ReachedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// onlyOneBreach reports whether a day's row holds one breach and nothing
// else: the period's first day, when nothing else happened on it.
func onlyOneBreach(d Day) bool {
	return d.Own.Counts == score.Counts{Breaches: 1} && d.Skipped == 0
}

// periodHead is the row of a period's first day made of what lies at or
// after start (the breach that began it), with the day's cumulative part
// as stored: the score at the day's items is the score whatever period
// they count in. Made from the items of that day (a read that would add
// half again to a timeline's cost), it is kept under the version of the
// member's rows when there is one: any change to the day's items rewrites
// its row, and with it the version.
func (s *Service) periodHead(ctx context.Context, rel relationship.Relationship, member string, start time.Time, row Day, version *int64) (Day, error) {
	key := headKey{rel: rel.ID, member: member, start: start.UnixMicro(), day: row.Day, halfLife: HalfLife(rel), zone: rel.TimeZone}
	if version != nil {
		if e, ok := s.heads.Get(key); ok && e.version == *version {
			return e.day, nil
		}
	}
	c, err := s.store.Content(ctx, rel, member, start, row.End)
	if err != nil {
		return Day{}, err
	}
	head := row
	head.Own, head.Skipped, head.Last = score.Summary{}, 0, time.Time{}
	for _, d := range Days(rel, member, c) {
		if d.Day == row.Day {
			head.Own, head.Skipped, head.Last = d.Own, d.Skipped, d.Last
		}
	}
	if version != nil {
		s.heads.Put(key, headEntry{version: *version, day: head}, headSize)
	}
	return head, nil
}

// headKey names a period's first day as periodHead makes it: the rows'
// version alone does not tell settings apart.
type headKey struct {
	rel, member, day, zone string
	start                  int64
	halfLife               float64
}

type headEntry struct {
	version int64
	day     Day
}

var headSize = int(unsafe.Sizeof(headKey{}) + unsafe.Sizeof(headEntry{}) + 128)

// headBytes bounds the memory kept first days take: about 5,000 of them.
const headBytes = 2 << 20

// The milestones, by index.
const (
	mFirstKept = iota
	mStreak7
	mStreak30
	mKept25
	mKept100
	mFirstRebuild
	mFirstSteady
	mFirstStrong
	mMissFree30
	mMissFree90
	mTargetReached
)

var milestoneNames = [...]string{
	mFirstKept: FirstKept, mStreak7: Streak7, mStreak30: Streak30, mKept25: Kept25, mKept100: Kept100,
	mFirstRebuild: FirstRebuild, mFirstSteady: FirstSteady, mFirstStrong: FirstStrong,
	mMissFree30: MissFree30, mMissFree90: MissFree90, mTargetReached: TargetReached,
}

var missFreeSpans = [...]struct {
	k    int
	span time.Duration
}{{mMissFree30, 30 * 24 * time.Hour}, {mMissFree90, 90 * 24 * time.Hour}}

// daysBetween reads a subject's rollup rows with from ≤ day ≤ to.
type daysBetween func(ctx context.Context, from, to string) ([]Day, error)

func (s *Service) daysOf(relID, subject string) daysBetween {
	return func(ctx context.Context, from, to string) ([]Day, error) {
		return s.store.DaysBetween(ctx, relID, subject, from, to)
	}
}

// within reads from rows, which hold every row from first to last, when
// the range asked lies inside them, and from the store otherwise.
func within(rows []Day, first, last string, store daysBetween) daysBetween {
	return func(ctx context.Context, from, to string) ([]Day, error) {
		if from < first || to > last {
			return store(ctx, from, to)
		}
		i := sort.Search(len(rows), func(i int) bool { return rows[i].Day >= from })
		j := sort.Search(len(rows), func(i int) bool { return rows[i].Day > to })
		return rows[i:j], nil
	}
}

// project estimates when the score reaches the target if every promise is
// kept from now on, at the member's cadence: occurrences due in the last 28
// days a day, or else those scheduled in the next 28 days.
func (s *Service) project(ctx context.Context, rel relationship.Relationship, member string, now score.Summary, t time.Time, pat Patience) (Projection, error) {
	target := rel.Settings.TargetScore
	n, err := s.store.DueCount(ctx, rel.ID, member, t.Add(-cadenceWindow), t.Add(time.Microsecond))
	if err != nil {
		return Projection{}, err
	}
	if n == 0 {
		if n, err = s.store.DueCount(ctx, rel.ID, member, t.Add(time.Microsecond), t.Add(cadenceWindow)); err != nil {
			return Projection{}, err
		}
	}
	r := float64(n) / 28
	pr := Projection{Cadence: math.Round(r*1e4) / 1e4, Target: target}
	p := score.Project(now.At(t, HalfLife(rel)), r, HalfLife(rel), target)
	pr.Reason = p.Reason
	if p.Reason != "" {
		return pr, nil
	}
	loc := location(rel)
	date := t.In(loc).AddDate(0, 0, p.Days).Format(time.DateOnly)
	within := !t.Add(time.Duration(p.Days) * 24 * time.Hour).After(pat.EndsAt)
	pr.EstimatedDate, pr.OccurrencesNeeded, pr.WithinPatience = &date, &p.OccurrencesNeeded, &within
	return pr, nil
}

// Dirty is a member whose score changed since milestones were last checked.
type Dirty struct {
	RelationshipID string
	MemberID       string
}

// MilestoneStore is what recording milestones needs.
type MilestoneStore interface {
	// DirtyMembers lists members whose score changed since they were cleared.
	DirtyMembers(ctx context.Context, limit int) ([]Dirty, error)
	// ClearDirty clears a member's mark and reports whether this call did.
	ClearDirty(ctx context.Context, d Dirty) (bool, error)
	// RecordMilestones stores milestones of a rebuilding period that are
	// not stored yet and records a milestone.reached event for each, in one
	// transaction, returning how many were new.
	RecordMilestones(ctx context.Context, d Dirty, periodStart time.Time, ms []Milestone, now time.Time) (int, error)
}

// RecordMilestones looks for new milestones of every member whose score
// changed, and records each once per rebuilding period (with a
// milestone.reached event). Racing instances record each once: the
// milestone's key decides.
func (s *Service) RecordMilestones(ctx context.Context, st MilestoneStore) (int, error) {
	now := s.now()
	total := 0
	ds, err := st.DirtyMembers(ctx, 200)
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		cleared, err := st.ClearDirty(ctx, d)
		if err != nil || !cleared {
			if err != nil {
				return total, err
			}
			continue
		}
		rel, err := s.store.Relationship(ctx, d.RelationshipID)
		if err != nil {
			return total, err
		}
		start := rel.CreatedAt
		at, _, sinceBreach, err := s.store.LatestBreach(ctx, rel.ID, d.MemberID, now)
		if err != nil {
			return total, err
		} else if sinceBreach {
			start = at
		}
		ms, err := s.milestones(ctx, rel, d.MemberID, start, now, sinceBreach, s.daysOf(rel.ID, d.MemberID), nil)
		if err != nil {
			return total, err
		}
		n, err := st.RecordMilestones(ctx, d, start, ms, now)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
