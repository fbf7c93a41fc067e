package scoring

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/score"
)

// MaxPoints bounds a timeline.
const MaxPoints = 1000

// Point is one bucket of a timeline.
type Point struct {
	Date                              string // first local date of the bucket
	End                               time.Time
	Score                             float64
	Level                             string
	Kept, Late, Partial, Missed, Open int
	FeltTrust                         *float64
}

// Milestone is a step of the rebuilding reached since the period began.
type Milestone struct {
	Name      string
	ReachedAt time.Time
}

// Patience is the window of patience after the latest breach.
type Patience struct {
	StartedAt     time.Time
	EndsAt        time.Time
	ElapsedDays   float64
	RemainingDays float64
	// Breach is false when no breach happened: the window then starts with
	// the relationship.
	Breach bool
}

// Projection says when trust is back if every promise is kept from now on.
type Projection struct {
	Cadence           float64 // occurrences a day
	EstimatedDate     *string
	OccurrencesNeeded *int
	WithinPatience    *bool
	Reason            string
	Target            float64
}

// Timeline is the patience timeline of a member.
type Timeline struct {
	RelationshipID string
	MemberID       string
	TimeZone       string
	Bucket         string
	From, To       time.Time
	Points         []Point
	Milestones     []Milestone
	Patience       Patience
	Projection     Projection
	Breaches       []time.Time
	Current        Result
}

// TimelineParts is a timeline with its points in two parts: the finished
// ones, shared with other requests that read the same inputs (read only;
// finished.go), and the last.
type TimelineParts struct {
	Timeline // without Points
	Finished *Finished
	Last     Point
}

// Whole is the timeline with all its points.
func (p TimelineParts) Whole() Timeline {
	t := p.Timeline
	t.Points = append(append(make([]Point, 0, len(p.Finished.Points)+1), p.Finished.Points...), p.Last)
	return t
}

// TimelineQuery selects a timeline.
type TimelineQuery struct {
	MemberID string // default: the member of the latest breach, else the caller
	From, To *time.Time
	Bucket   string // day (default) or week
}

func invalid(field, code, msg string) error {
	var v fault.Validation
	v.Add(field, code, msg)
	return v.Err()
}

// Timeline builds the patience timeline: points from the rollups (one row
// per point), the milestones of the current rebuilding period, the patience
// window and the projection.
func (s *Service) Timeline(ctx context.Context, userID, relID string, q TimelineQuery) (Timeline, error) {
	p, err := s.TimelineParts(ctx, userID, relID, q)
	if err != nil {
		return Timeline{}, err
	}
	return p.Whole(), nil
}

// TimelineParts is Timeline without copying the finished points.
func (s *Service) TimelineParts(ctx context.Context, userID, relID string, q TimelineQuery) (TimelineParts, error) {
	rel, err := s.visible(ctx, userID, relID)
	if err != nil {
		return TimelineParts{}, err
	}
	now := s.now()
	loc, h := location(rel), HalfLife(rel)
	member := q.MemberID
	if member == "" {
		if _, who, ok, err := s.store.LatestBreach(ctx, rel.ID, "", now); err != nil {
			return TimelineParts{}, err
		} else if ok && rel.HasMember(who) {
			member = who
		} else {
			member = userID
		}
	}
	if !rel.HasMember(member) {
		return TimelineParts{}, invalid("member", "not_a_member", "must be a current member of the relationship")
	}
	breachAt, _, hasBreach, err := s.store.LatestBreach(ctx, rel.ID, member, now)
	if err != nil {
		return TimelineParts{}, err
	}
	periodStart := rel.CreatedAt
	if hasBreach {
		periodStart = breachAt
	}
	bucket := q.Bucket
	if bucket == "" {
		bucket = "day"
	}
	if bucket != "day" && bucket != "week" {
		return TimelineParts{}, invalid("bucket", "invalid_bucket", "must be day or week")
	}
	to := now
	if q.To != nil {
		to = q.To.UTC().Truncate(time.Microsecond)
		if to.After(now) {
			return TimelineParts{}, invalid("to", "in_future", "must not lie in the future; the projection covers what lies ahead")
		}
	}
	from := periodStart
	if q.From != nil {
		from = q.From.UTC().Truncate(time.Microsecond)
		if !from.Before(to) {
			return TimelineParts{}, invalid("from", "after_to", "must lie before to")
		}
	} else if from.After(to) {
		// `to` lies before the current period: the timeline starts where
		// the period in force at `to` did.
		from = rel.CreatedAt
		if at, _, ok, err := s.store.LatestBreach(ctx, rel.ID, member, to); err != nil {
			return TimelineParts{}, err
		} else if ok {
			from = at
		}
		if from.After(to) {
			from = to // nothing begun by `to`: a timeline of one point
		}
	}
	// The last bucket, the one holding `to`; the ones before it are
	// finished (finished.go). Walked from `to` itself, the calendar may
	// yield two buckets: where a clock goes back across midnight, `to`'s
	// wall-clock date can be the one before the date its instant is filed
	// under.
	tail := bucketEnds(to, to, loc, bucket)
	last := tail[len(tail)-1]
	key := finishedKey{rel: rel.ID, member: member, bucket: bucket, zone: rel.TimeZone, from: from.UnixMicro(), halfLife: h}
	kept := s.finished.get(key, last.start)
	var ends []bucketEnd
	if kept == nil {
		if ends = bucketEnds(from, to, loc, bucket); len(ends) > MaxPoints {
			return TimelineParts{}, &fault.Error{Kind: fault.KindBadRequest, Code: "too_many_points",
				Message: "the range holds more than 1000 points: narrow it or use bucket=week",
				Fields:  []fault.FieldError{{Field: "from", Code: "too_many_points", Message: "at most 1000 points"}}}
		}
	} // else the kept points end at the same bucket: as many points as before

	tl := Timeline{RelationshipID: rel.ID, MemberID: member, TimeZone: rel.TimeZone, Bucket: bucket, From: from, To: to}
	// The first bucket counts all of itself, as every other does: its
	// whole day, or its whole week from Monday, whatever time of it
	// `from` names.
	head := from
	if b := bucketEnds(from, from, loc, bucket); len(b) > 0 && b[0].start.Before(from) {
		head = b[0].start
	}
	firstDay, _, _ := Bounds(head, loc)
	lastDay, _, _ := Bounds(to, loc)
	rng, err := s.store.DaysWithBefore(ctx, rel.ID, member, firstDay, lastDay)
	if err != nil {
		return TimelineParts{}, err
	}
	rows := rng.Rows
	open, err := s.store.OpenDue(ctx, rel.ID, member, head, to)
	if err != nil {
		return TimelineParts{}, err
	}
	current, currentSum, partial, err := at(ctx, s.store, rel, member, to)
	if err != nil {
		return TimelineParts{}, err
	}
	tl.Current = current

	slices.SortFunc(open, time.Time.Compare) // walked once, bucket by bucket
	if kept == nil || !kept.matches(rng, open) {
		if ends == nil {
			ends = bucketEnds(from, to, loc, bucket)
		}
		kept = s.finish(key, ends[:len(ends)-1], last.start, rng, open, h)
	}
	w := kept.w
	p := w.point(last, rows, open)
	setScore(&p, current.Score) // exact at `to`, today's items included
	if n := len(rows); partial != nil && n > 0 && rows[n-1].Day == lastDay {
		// `to`'s day holds items after `to`: its counts are those up to
		// `to`, as the score is.
		c := rows[n-1].Own.Counts
		p.Kept += partial.Kept - c.Kept
		p.Late += partial.KeptLate - c.KeptLate
		p.Partial += partial.Partial - c.Partial
		p.Missed += partial.Missed + partial.Disputed - c.Missed - c.Disputed
	}

	tl.Patience = patience(periodStart, rel.Settings.PatienceDays, now, hasBreach)
	days := within(rows, firstDay, lastDay, s.daysOf(rel.ID, member))
	var version *int64 // of the member's rows as read above
	if rng.Versioned {
		version = &rng.Version
	}
	if tl.Milestones, err = s.milestones(ctx, rel, member, periodStart, now, hasBreach, days, version); err != nil {
		return TimelineParts{}, err
	}
	nowSum := currentSum
	if !to.Equal(now) {
		if _, nowSum, err = At(ctx, s.store, rel, member, now); err != nil {
			return TimelineParts{}, err
		}
	}
	if tl.Projection, err = s.project(ctx, rel, member, nowSum, now, tl.Patience); err != nil {
		return TimelineParts{}, err
	}
	if hasBreach {
		tl.Breaches = []time.Time{breachAt}
	}
	return TimelineParts{Timeline: tl, Finished: kept.fin, Last: p}, nil
}

// finish builds the finished points of buckets (all but the last, which
// starts at through), and keeps them when the rows have a version.
func (s *Service) finish(key finishedKey, buckets []bucketEnd, through time.Time, days DayRange, open []time.Time, h float64) *finishedEntry {
	w := walk{cum: days.Before.Cum, hasCum: days.HasBefore}
	points := make([]Point, 0, len(buckets))
	for _, b := range buckets {
		p := w.point(b, days.Rows, open)
		sc := score.Mu
		if w.hasCum {
			sc = w.cum.At(b.end, h).Score()
		}
		setScore(&p, sc)
		points = append(points, p)
	}
	e := &finishedEntry{key: key, through: through, version: days.Version, open: slices.Clone(open[:w.j]),
		w: w, fin: &Finished{Points: points}}
	if days.Versioned {
		s.finished.put(e)
	}
	return e
}

type bucketEnd struct {
	date    string
	lastDay string
	start   time.Time
	end     time.Time // the bucket's end, or `to` for the last one
}

// bucketEnds lists the buckets covering [from, to] in the zone: local days,
// or ISO weeks starting on Monday. It walks the calendar in integers and
// asks the zone only for each bucket's first instant (a year of days is
// 366 of these). A bucket starts at the first instant of its first date
// (DayStart, as Bounds, which names a rollup's day); a date the zone
// skipped whole has no bucket.
func bucketEnds(from, to time.Time, loc *time.Location, bucket string) []bucketEnd {
	y, m, d := from.In(loc).Date()
	step := 1
	if bucket == "week" {
		step = 7
		y, m, d = civil(y, m, d-(int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday())+6)%7)
	}
	w := dayWalk{loc: loc}
	start := w.start(y, m, d)
	out := make([]bucketEnd, 0, min(MaxPoints+1, int(to.Sub(start).Hours()/24)/step+2))
	for !start.After(to) && len(out) <= MaxPoints {
		ny, nm, nd := civil(y, m, d+step)
		next := w.start(ny, nm, nd)
		if next.After(start) {
			date, last := w.name(y, m, d), ""
			if step == 1 {
				last = date
			} else {
				last = w.name(civil(ny, nm, nd-1))
			}
			b := bucketEnd{date: date, lastDay: last, start: start.UTC(), end: next.UTC()}
			if next.After(to) {
				b.end = to
			}
			out = append(out, b)
		}
		start, y, m, d = next, ny, nm, nd
	}
	return out
}

// civil normalizes a date whose day may lie outside its month.
func civil(y int, m time.Month, d int) (int, time.Month, int) {
	if d >= 1 && d <= 28 {
		return y, m, d
	}
	return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date()
}

// civilDate writes a date as YYYY-MM-DD, as time.Format does.
func civilDate(y int, m time.Month, d int) string {
	if y < 0 || y > 9999 {
		return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	const digits = "0123456789"
	b := [10]byte{digits[y/1000], digits[y/100%10], digits[y/10%10], digits[y%10], '-',
		digits[m/10], digits[m%10], '-', digits[d/10], digits[d%10]}
	return string(b[:])
}

func patience(start time.Time, patienceDays int, now time.Time, breach bool) Patience {
	end := start.Add(time.Duration(patienceDays) * 24 * time.Hour)
	elapsed := math.Max(0, days(now.Sub(start)))
	return Patience{
		StartedAt: start, EndsAt: end, Breach: breach,
		ElapsedDays:   round2(elapsed),
		RemainingDays: round2(math.Max(0, float64(patienceDays)-elapsed)),
	}
}
