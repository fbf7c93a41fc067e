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
	PurgedThrough(ctx context.Context) (int64, error)
}

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
		purged, err := f.log.PurgedThrough(ctx)
		if err != nil {
			return Page{}, err
		}
		if after < purged {
			return Page{}, fault.New(fault.KindGone, "cursor_expired", "events after this cursor are past retention; sync from scratch (no cursor)")
		}
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
	p.Next = page.Cursor(strconv.FormatInt(last, 10))
	return p, nil
}
