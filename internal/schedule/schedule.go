// Package schedule runs what time does to troth's data: it materializes
// recurring occurrences ahead, scores occurrences missed once their grace
// has passed, accepts follow-through left unanswered past the dispute
// window, and purges expired idempotency records.
//
// Every instance runs the same loop. Each transition is a compare-and-set
// on the row's state inside a transaction, so two instances racing over
// the same row change it once: the loser finds the state already moved.
// That makes leader election unnecessary, and a crashed instance costs
// nothing but the work the others then do.
package schedule

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/scoring"
)

// Purger deletes records older than a time.
type Purger interface {
	Purge(ctx context.Context, before time.Time) (int64, error)
}

// Scheduler runs the periodic transitions.
type Scheduler struct {
	Promises *promise.Service
	Purger   Purger
	// KeepIdempotency is how long idempotency records are kept.
	KeepIdempotency time.Duration
	// Events are purged after KeepEvents.
	Events     Purger
	KeepEvents time.Duration
	// Scores and Milestones record milestones reached.
	Scores     *scoring.Service
	Milestones scoring.MilestoneStore
	Now        func() time.Time
	Log        *slog.Logger
	// Every is the pause between runs (with up to 20% jitter).
	Every time.Duration
	// Optimize refreshes planner statistics where tables have grown or
	// shrunk manyfold, at most every optimizeEvery (a few tens of µs when
	// none has).
	Optimize     func(ctx context.Context) error
	lastOptimize atomic.Int64 // unix nanos
}

// optimizeEvery is the least time between two calls of Optimize: a
// table that grows fast from nothing (the events of a new installation)
// is planned for with statistics from when it was a few rows for at most
// this long.
const optimizeEvery = 5 * time.Minute

// Report counts what one run changed.
type Report struct {
	Materialized int
	Missed       int
	Accepted     int
	Reminded     int
	Milestones   int
	Purged       int64
}

// RunOnce applies every transition that is due now.
func (s *Scheduler) RunOnce(ctx context.Context) (Report, error) {
	var r Report
	var err error
	if r.Materialized, err = s.Promises.Materialize(ctx); err != nil {
		return r, err
	}
	if r.Missed, err = s.Promises.MissOverdue(ctx); err != nil {
		return r, err
	}
	if r.Accepted, err = s.Promises.AcceptUnanswered(ctx); err != nil {
		return r, err
	}
	if r.Reminded, err = s.Promises.Remind(ctx); err != nil {
		return r, err
	}
	if s.Scores != nil {
		if r.Milestones, err = s.Scores.RecordMilestones(ctx, s.Milestones); err != nil {
			return r, err
		}
	}
	if s.Events != nil {
		n, err := s.Events.Purge(ctx, s.Now().Add(-s.KeepEvents))
		if err != nil {
			return r, err
		}
		r.Purged += n
	}
	if last := s.lastOptimize.Load(); s.Optimize != nil && s.Now().UnixNano()-last >= int64(optimizeEvery) &&
		s.lastOptimize.CompareAndSwap(last, s.Now().UnixNano()) {
		if err := s.Optimize(ctx); err != nil {
			return r, err
		}
	}
	if s.Purger != nil {
		if r.Purged, err = s.Purger.Purge(ctx, s.Now().Add(-s.KeepIdempotency)); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Run calls RunOnce until ctx is done.
func (s *Scheduler) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = 15 * time.Second
	}
	for {
		start := time.Now()
		r, err := s.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.Log.ErrorContext(ctx, "scheduler run failed", "error", err.Error())
		case r != (Report{}):
			s.Log.InfoContext(ctx, "scheduler run", "materialized", r.Materialized, "missed", r.Missed,
				"accepted", r.Accepted, "reminded", r.Reminded, "milestones", r.Milestones, "purged", r.Purged, "duration", time.Since(start))
		}
		jitter := time.Duration(rand.Int64N(int64(every) / 5))
		select {
		case <-ctx.Done():
			return
		case <-time.After(every + jitter):
		}
	}
}
