package client

import (
	"context"
	"fmt"
	"iter"
)

// All iterates over every item of a paged list, fetching pages as the loop
// needs them. fetch gets the cursor of the page to fetch (nil for the first)
// and returns its items and the next page's cursor, nil (or empty) after the
// last page. An error ends the iteration after being yielded; so does a
// cancelled ctx, checked between pages.
//
//	for p, err := range client.All(ctx, func(cursor *string) ([]client.Promise, *string, error) {
//		res, err := c.ListPromisesWithResponse(ctx, relID, &client.ListPromisesParams{Cursor: cursor})
//		if err != nil {
//			return nil, nil, err
//		}
//		if res.JSON200 == nil {
//			return nil, nil, client.Check(res.HTTPResponse, res.Body)
//		}
//		return res.JSON200.Data, res.JSON200.NextCursor, nil
//	}) { … }
//
// The event feed's cursor is always set: return nil as next when has_more
// is false, or use Sync, which keeps the cursor to store.
func All[T any](ctx context.Context, fetch func(cursor *string) (items []T, next *string, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var cursor *string
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			items, next, err := fetch(cursor)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == nil || *next == "" {
				return
			}
			if cursor != nil && *next == *cursor {
				yield(zero, fmt.Errorf("list pages: cursor %q does not advance", *next))
				return
			}
			cursor = next
		}
	}
}

// Sync reads the event feed from the cursor after ("" for the oldest
// retained event) up to now, a page at a time, handing each page's events
// to apply in order, and returns the cursor to keep for the next sync: the
// loop of docs/sync.md. params may narrow the feed (Types, Limit); its
// After is ignored. When apply or a read fails, Sync stops and returns the
// cursor after the last page applied, with the error: store that cursor
// and try again later. An expired cursor comes back as a *ProblemError
// with Code "cursor_expired" (410): fetch everything again, then Sync from
// "".
func Sync(ctx context.Context, c ClientWithResponsesInterface, after string, params *ListEventsParams, apply func([]Event) error) (string, error) {
	p := ListEventsParams{}
	if params != nil {
		p = *params
	}
	for {
		if err := ctx.Err(); err != nil {
			return after, err
		}
		p.After = nil
		if after != "" {
			p.After = &after
		}
		res, err := c.ListEventsWithResponse(ctx, &p)
		if err != nil {
			return after, err
		}
		if res.JSON200 == nil {
			if err := Check(res.HTTPResponse, res.Body); err != nil {
				return after, err
			}
			return after, fmt.Errorf("troth: event feed answered %d without a page", res.StatusCode())
		}
		page := res.JSON200
		if len(page.Data) > 0 {
			if err := apply(page.Data); err != nil {
				return after, err
			}
		}
		if !page.HasMore || page.NextCursor == after {
			return page.NextCursor, nil
		}
		after = page.NextCursor
	}
}
