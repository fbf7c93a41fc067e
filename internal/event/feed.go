package event

import (
	"context"
	"strconv"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/page"
)

// Log is what the feed reads.
type Log interface {
	Visible(ctx context.Context, userID string, after int64, types []string, limit int) ([]Event, error)
	// Extent returns the highest seq retention has deleted and the highest
	// seq written (or purged), the log's end: every event up to it has
	// committed, since event writes commit in seq order.
	Extent(ctx context.Context) (purged, end int64, err error)
}

// cursorStep is how far apart the positions are that a cursor moves to
// past events the caller may not see.
const cursorStep = 1024

// Feed serves a user's events in commit order, for delta sync.
type Feed struct{ log Log }

// NewFeed returns a feed over the log.
func NewFeed(log Log) *Feed { return &Feed{log: log} }

// Page is one page of the feed. Next is the cursor to continue from; it is
// set even on the last page (the client keeps it and asks again later).
type Page struct {
	Events []Event
	Next   string
	More   bool
}

// List returns the events after the cursor ("" for the oldest retained).
func (f *Feed) List(ctx context.Context, userID, cursor string, types []string, limit int) (Page, error) {
	var v fault.Validation
	for _, t := range types {
		if !Known(t) {
			v.Add("types", "unknown_type", "unknown event type "+strconv.Quote(t))
		}
	}
	if err := v.Err(); err != nil {
		return Page{}, err
	}
	var after int64
	if cursor != "" {
		key, err := page.ParseParam(cursor, 1, "after")
		if err != nil {
			return Page{}, err
		}
		if after, err = strconv.ParseInt(key[0], 10, 64); err != nil || after < 0 {
			return Page{}, page.BadCursor("after")
		}
	}
	// The log's end is read before the page: every event up to it has
	// committed, so a page that is not full has seen all of them, and the
	// cursor may move past the ones the caller may not see.
	purged, end, err := f.log.Extent(ctx)
	if err != nil {
		return Page{}, err
	}
	switch {
	case cursor != "" && after < purged:
		return Page{}, fault.New(fault.KindGone, "cursor_expired", "events after this cursor are past retention; sync from scratch (no cursor)")
	case after > end:
		// Not a position the log has reached: made up, or kept from
		// before the data was restored from an earlier state. What the
		// client holds past the end is unknown here either way.
		return Page{}, fault.New(fault.KindGone, "cursor_expired", "this cursor lies beyond the end of the event log (was the data restored from an earlier state?); sync from scratch (no cursor)")
	}
	es, err := f.log.Visible(ctx, userID, after, types, limit+1)
	if err != nil {
		return Page{}, err
	}
	p := Page{Events: es}
	if len(es) > limit {
		p.Events, p.More = es[:limit], true
	}
	last := after
	if n := len(p.Events); n > 0 {
		last = p.Events[n-1].Seq
	}
	if !p.More {
		// Nothing more the caller may see up to the end: the cursor may
		// move on past events of others, so that it does not fall behind
		// what retention purges and expire (a new or quiet user's would
		// otherwise stay at 0). It moves in steps of cursorStep events,
		// not to the end itself, so that on a busy server an idle
		// client's cursor still comes back unchanged: a loop that pages
		// until it repeats ends.
		last = max(last, purged, end/cursorStep*cursorStep)
	}
	p.Next = page.Cursor(strconv.FormatInt(last, 10))
	return p, nil
}
