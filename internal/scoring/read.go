package scoring

import (
	"context"
	"math"
	"time"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/lru"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/score"
)

// ReadStore is what reading scores needs beyond Store.
type ReadStore interface {
	Store
	// PromiseRelationship returns the relationship a promise belongs to.
	PromiseRelationship(ctx context.Context, promiseID string) (string, error)
	// LatestBreach returns when the latest breach by a member (any member
	// when memberID is "") occurred at or before t, and by whom.
	LatestBreach(ctx context.Context, relID, memberID string, t time.Time) (at time.Time, member string, ok bool, err error)
	// DueCount counts a member's occurrences due in [from, to), skipped and
	// cancelled ones left out.
	DueCount(ctx context.Context, relID, memberID string, from, to time.Time) (int, error)
	// DaysWithBefore is DayBefore(from) and DaysBetween(from, to), with
	// the version of the subject's rows they were read under.
	DaysWithBefore(ctx context.Context, relID, subject, from, to string) (DayRange, error)
	// OpenDue returns the due times of a subject's open occurrences in [from, to].
	OpenDue(ctx context.Context, relID, subject string, from, to time.Time) ([]time.Time, error)
}

// DayRange is a subject's rollup rows over a range of days and the latest row
// before the range.
type DayRange struct {
	Before    Day
	HasBefore bool
	Rows      []Day // shared: read only
	// Version identifies every row of the subject: two reads with the same
	// version read the same rows. Versioned is false when the store cannot
	// tell (inside a transaction, or rows written before versions were).
	Version   int64
	Versioned bool
}

// Service reads scores and timelines.
type Service struct {
	store    ReadStore
	now      func() time.Time
	finished finishedCache
	heads    *lru.Cache[headKey, headEntry] // periodHead's rows
}

// NewService returns a scoring service; now is the clock.
func NewService(store ReadStore, now func() time.Time) *Service {
	return &Service{store: store, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) },
		finished: newFinishedCache(), heads: lru.New[headKey, headEntry](headBytes)}
}

// Result is a subject's score with the counts kept outside the items.
type Result struct {
	Subject string
	score.Result
	Skipped int
	Open    int
}

// At evaluates a subject's score at t. Most reads take one row: the latest
// rollup on or before t's day is exact at t when it is of an earlier day,
// or of t's day with nothing in it later than t (its sums are seen from the
// day's end, and decay runs backwards as well as forwards). Otherwise the
// score joins the rollup of the day before with the items of t's own day
// up to t.
func At(ctx context.Context, st Store, rel relationship.Relationship, subject string, t time.Time) (Result, score.Summary, error) {
	r, sum, _, err := at(ctx, st, rel, subject, t)
	return r, sum, err
}

// at is At, with the counts of t's own day up to t when it read that
// day's items (nil when the day's rollup row held nothing later than t).
func at(ctx context.Context, st Store, rel relationship.Relationship, subject string, t time.Time) (Result, score.Summary, *score.Counts, error) {
	h := HalfLife(rel)
	day, start, _ := Bounds(t, location(rel))
	to := t.Add(time.Microsecond)
	last, found, open, err := st.Latest(ctx, rel.ID, subject, day, to)
	if err != nil {
		return Result{}, score.Summary{}, nil, err
	}
	if !found {
		sum := score.Summary{Ref: t}
		return Result{Subject: subject, Result: sum.Result(t, h), Open: open}, sum, nil, nil
	}
	if last.Day < day || !last.Last.After(t) {
		return Result{Subject: subject, Result: last.Cum.Result(t, h), Skipped: last.CumSkipped, Open: open}, last.Cum, nil, nil
	}
	prev, hasPrev, err := st.DayBefore(ctx, rel.ID, subject, day)
	if err != nil {
		return Result{}, score.Summary{}, nil, err
	}
	today, open, err := st.Today(ctx, rel, subject, start, to)
	if err != nil {
		return Result{}, score.Summary{}, nil, err
	}
	sum := score.Summarize(today.Items, t, h)
	partial := sum.Counts
	skipped := len(today.Skipped)
	if hasPrev {
		sum = prev.Cum.Then(sum, h)
		skipped += prev.CumSkipped
	}
	return Result{Subject: subject, Result: sum.Result(t, h), Skipped: skipped, Open: open}, sum, &partial, nil
}

var errRelNotFound = fault.NotFound("relationship")

func (s *Service) visible(ctx context.Context, userID, relID string) (relationship.Relationship, error) {
	if !id.Valid(relID, id.Relationship) {
		return relationship.Relationship{}, errRelNotFound
	}
	// The relationship comes with its current members: one read answers both.
	rel, err := s.store.Relationship(ctx, relID)
	if fault.Is(err, "not_found") || (err == nil && !rel.HasMember(userID)) {
		return relationship.Relationship{}, errRelNotFound
	}
	return rel, err
}

// checkAt validates an evaluation time: not in the future.
func (s *Service) checkAt(at *time.Time) (time.Time, error) {
	now := s.now()
	if at == nil {
		return now, nil
	}
	t := at.UTC().Truncate(time.Microsecond)
	if t.After(now) {
		var v fault.Validation
		v.Add("at", "in_future", "must not lie in the future")
		return t, v.Err()
	}
	return t, nil
}

// MemberScore is how consistently a member keeps the promises they make in a relationship.
func (s *Service) MemberScore(ctx context.Context, userID, relID, memberID string, at *time.Time) (Result, error) {
	rel, err := s.visible(ctx, userID, relID)
	if err != nil {
		return Result{}, err
	}
	if !rel.HasMember(memberID) {
		return Result{}, fault.NotFound("member")
	}
	t, err := s.checkAt(at)
	if err != nil {
		return Result{}, err
	}
	r, _, err := At(ctx, s.store, rel, memberID, t)
	return r, err
}

// Scores are every current member's scores now.
func (s *Service) Scores(ctx context.Context, userID, relID string) ([]Result, error) {
	rel, err := s.visible(ctx, userID, relID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Result, 0, len(rel.Members))
	for _, m := range rel.Members {
		r, _, err := At(ctx, s.store, rel, m.UserID, now)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// PromiseScore is how consistently one promise has been kept.
func (s *Service) PromiseScore(ctx context.Context, userID, promiseID string, at *time.Time) (Result, error) {
	notFound := fault.NotFound("promise")
	if !id.Valid(promiseID, id.Promise) {
		return Result{}, notFound
	}
	relID, err := s.store.PromiseRelationship(ctx, promiseID)
	if fault.Is(err, "not_found") {
		return Result{}, notFound
	}
	if err != nil {
		return Result{}, err
	}
	rel, err := s.visible(ctx, userID, relID)
	if fault.Is(err, "not_found") {
		return Result{}, notFound
	}
	if err != nil {
		return Result{}, err
	}
	t, err := s.checkAt(at)
	if err != nil {
		return Result{}, err
	}
	r, _, err := At(ctx, s.store, rel, promiseID, t)
	return r, err
}

func days(d time.Duration) float64 { return d.Hours() / 24 }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
