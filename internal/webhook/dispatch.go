package webhook

import (
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
type Dispatcher struct {
	Store   Store
	Enqueue Enqueue
	Now     func() time.Time
	Log     *slog.Logger
	// Every is the pause between polls (default 200 ms).
	Every time.Duration
	// Batch is the most events handled in one transaction (default 200).
	Batch int
}

// RunOnce dispatches every event committed so far and reports how many.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	batch := d.Batch
	if batch <= 0 {
		batch = 200
	}
	total := 0
	for {
		n, err := d.Store.Dispatch(ctx, batch, d.Now().UTC(), d.Enqueue)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// Run polls until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	every := d.Every
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil && d.Log != nil {
			d.Log.ErrorContext(ctx, "webhook dispatch failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
