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
// is false.
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
