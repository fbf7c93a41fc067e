package httpapi

import (
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
	after, err := page.Parse(c.QueryParam("cursor"), keyParts)
	if err != nil {
		return p, err
	}
	p.After = after
	return p, nil
}

// queryTime reads an optional RFC 3339 time from the query.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	s := c.QueryParam(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
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

func nextCursor(s string) *string {
	if s == "" {
		return nil
	}
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
