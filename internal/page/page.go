// Package page implements keyset pagination: a page size within bounds and
// an opaque cursor that carries the sort key of the last item returned.
package page

import (
	"encoding/base64"
	"encoding/json"

	"github.com/troth-app/troth/internal/fault"
)

// Limits of a page.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Request asks for one page: at most Limit items after the key in After
// (empty for the first page).
type Request struct {
	Limit int
	After []string
}

// Cursor encodes a sort key as an opaque string.
func Cursor(key ...string) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// BadCursor is the problem of a cursor the list did not return, sent in
// the query parameter param.
func BadCursor(param string) *fault.Error {
	return &fault.Error{Kind: fault.KindBadRequest, Code: "invalid_cursor", Message: "the cursor is not one this list returned",
		Fields: []fault.FieldError{{Field: param, Code: "invalid_cursor", Message: "use next_cursor from the previous page"}}}
}

// Parse reads a cursor of n key parts sent as ?cursor=; the empty string
// is the first page.
func Parse(cursor string, n int) ([]string, error) {
	return ParseParam(cursor, n, "cursor")
}

// ParseParam is Parse for a cursor sent in the query parameter param.
func ParseParam(cursor string, n int, param string) ([]string, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := BadCursor(param)
	if len(cursor) > 512 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	var key []string
	if err := json.Unmarshal(b, &key); err != nil || len(key) != n {
		return nil, bad
	}
	return key, nil
}

// Result is one page of items and the cursor of the next page, if any.
type Result[T any] struct {
	Items []T
	Next  string
}

// Cut trims items fetched with Limit+1 to Limit and sets Next from the key
// of the last item kept when there are more.
func Cut[T any](items []T, limit int, key func(T) []string) Result[T] {
	if len(items) <= limit {
		return Result[T]{Items: items}
	}
	items = items[:limit]
	return Result[T]{Items: items, Next: Cursor(key(items[limit-1])...)}
}
