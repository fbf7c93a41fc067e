package httpapi

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
)

// A score is the API's most frequent read, and encoding/json's reflection
// was 8% of its CPU in a full-load profile. scoreJSON writes it by hand,
// byte for byte as encoding/json would (TestScoreJSON compares them), with
// the helpers the timeline's points use.

// scoreJSON appends json.Marshal(s) to b.
func scoreJSON(b []byte, s api.Score) ([]byte, error) {
	b = append(b, `{"member_id":`...)
	b = appendNullableString(b, s.MemberID)
	b = append(b, `,"promise_id":`...)
	b = appendNullableString(b, s.PromiseID)
	b = append(b, `,"score":`...)
	b, err := appendFloat(b, s.Score)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"level":`...)
	b = appendString(b, s.Level)
	b = append(b, `,"evidence":`...)
	if b, err = appendFloat(b, s.Evidence); err != nil {
		return nil, err
	}
	c := s.Counts
	for _, f := range [...]struct {
		name string
		n    int
	}{
		{`,"counts":{"kept":`, c.Kept}, {`,"kept_late":`, c.KeptLate}, {`,"partial":`, c.Partial},
		{`,"missed":`, c.Missed}, {`,"disputed":`, c.Disputed}, {`,"unverified":`, c.Unverified},
		{`,"skipped":`, c.Skipped}, {`,"open":`, c.Open}, {`,"breaches":`, c.Breaches},
		{`},"current_streak":`, s.CurrentStreak}, {`,"longest_streak":`, s.LongestStreak},
	} {
		b = append(b, f.name...)
		b = strconv.AppendInt(b, int64(f.n), 10)
	}
	b = append(b, `,"evaluated_at":`...)
	at, err := s.EvaluatedAt.MarshalJSON() // as encoding/json calls it, refusals included
	if err != nil {
		return nil, err
	}
	b = append(b, at...)
	return append(b, '}'), nil
}

func appendNullableString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

var scoreBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeScore answers 200 with s as c.JSON would: the same bytes, with the
// newline its encoder ends a body with (indented for ?pretty, by c.JSON).
func writeScore(c echo.Context, s api.Score) error {
	if c.QueryParams().Has("pretty") {
		return c.JSON(http.StatusOK, s)
	}
	buf := scoreBufs.Get().(*[]byte)
	defer scoreBufs.Put(buf)
	body, err := scoreJSON((*buf)[:0], s)
	if err != nil {
		return err
	}
	body = append(body, '\n')
	*buf = body
	return c.JSONBlob(http.StatusOK, body)
}
