package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/page"
)

// pageRequest reads limit (1–100, default 20) and cursor (with keyParts
// parts) from the query.
func pageRequest(c echo.Context, keyParts int) (page.Request, error) {
	p := page.Request{Limit: page.DefaultLimit}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > page.MaxLimit {
			return p, badQuery("limit", "invalid_limit", "must be a whole number from 1 to 100")
		}
		p.Limit = n
	}
	cursor := c.QueryParam("cursor")
	if cursor != "" {
		tag, inner, ok := strings.Cut(cursor, ".")
		if !ok || tag != listTag(c) {
			return p, page.BadCursor("cursor") // another list's, or none of ours
		}
		cursor = inner
	}
	after, err := page.Parse(cursor, keyParts)
	if err != nil {
		return p, err
	}
	p.After = after
	return p, nil
}

// listTag names the list a cursor belongs to, so that a cursor from one
// list given to another is refused rather than read as a position there:
// the path (the relationship or promise whose list it is) and the filters
// (every query parameter but the cursor, the page size and ?pretty).
func listTag(c echo.Context) string {
	h := sha256.New()
	h.Write([]byte(c.Request().URL.Path))
	q := c.QueryParams()
	names := make([]string, 0, len(q))
	for name := range q {
		if name != "cursor" && name != "limit" && name != "pretty" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range q[name] {
			h.Write([]byte("\x00" + name + "=" + v))
		}
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:6])
}

// queryTime reads an optional RFC 3339 time from the query.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	s := c.QueryParam(name)
	if s == "" {
		return nil, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, badQuery(name, "invalid_time", "must be an RFC 3339 time such as 2026-03-01T18:00:00Z")
	}
	t = t.UTC()
	return &t, nil
}

func badQuery(field, code, msg string) error {
	return &fault.Error{Kind: fault.KindBadRequest, Code: code, Message: field + " " + msg,
		Fields: []fault.FieldError{{Field: field, Code: code, Message: msg}}}
}

// nextCursor is a page's next_cursor: the position s, tagged with the list.
func nextCursor(c echo.Context, s string) *string {
	if s == "" {
		return nil
	}
	s = listTag(c) + "." + s
	return &s
}

// oneOf checks an optional enumerated query parameter.
func oneOf(field, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return badQuery(field, "invalid_value", "must be one of "+strings.Join(allowed, ", "))
}
