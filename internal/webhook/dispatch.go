package webhook

import (
	"cmp"
	"context"
	"log/slog"
	"time"
)

// Dispatcher turns committed events into deliveries, in batches, off the
// request path. Every instance runs one: the store advances a shared
// cursor with a compare-and-set in the transaction that writes the
// deliveries and their jobs, so each event is dispatched once however
// many instances race, and a crash loses nothing (the events stay until
// the cursor moves past them).
//
// An event written in this process wakes the dispatcher at once (the
// store's Written); polling finds the rest (events of other instances,
// or of one that stopped before dispatching them).
type Dispatcher struct {
	Store   Store
	Enqueue Enqueue
	Now     func() time.Time
	Log     *slog.Logger
	// Every is the pause between polls (default 200 ms).
	Every time.Duration
	// Gap is the shortest time between the starts of two dispatches
	// woken by writes (default 100 ms), so that a stream of writes makes
	// batches rather than a dispatch each. A dispatch is a write
	// transaction: on SQLite one every 20 ms took a fifth of the
	// follow-throughs a second the writer served.
	Gap time.Duration
	// Batch is the most events handled in one transaction (default 200).
	Batch int
}

// RunOnce dispatches every event committed so far and reports how many.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) { return d.runOnce(ctx, false) }

func (d *Dispatcher) runOnce(ctx context.Context, afterWrite bool) (int, error) {
	batch := d.Batch
	if batch <= 0 {
		batch = 200
	}
	total := 0
	for {
		n, err := d.Store.Dispatch(ctx, batch, d.Now().UTC(), d.Enqueue, afterWrite)
		total += n
		if err != nil || n < batch {
			return total, err
		}
		afterWrite = false
	}
}

// Run dispatches when an event is written here and at every poll, until
// ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	every := cmp.Or(d.Every, 200*time.Millisecond)
	gap := cmp.Or(d.Gap, 100*time.Millisecond)
	written, stop := d.Store.Written()
	defer stop()
	poll := time.NewTicker(every)
	defer poll.Stop()
	wait := time.NewTimer(gap)
	wait.Stop()
	afterWrite := false
	for {
		start := time.Now()
		if _, err := d.runOnce(ctx, afterWrite); err != nil && ctx.Err() == nil && d.Log != nil {
			d.Log.ErrorContext(ctx, "webhook dispatch failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			afterWrite = false
		case <-written:
			afterWrite = true
			if rest := gap - time.Since(start); rest > 0 {
				wait.Reset(rest)
				select {
				case <-ctx.Done():
					return
				case <-wait.C:
				}
			}
		}
	}
}
