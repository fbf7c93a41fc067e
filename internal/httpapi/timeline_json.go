package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/troth-app/troth/api"
)

// A year of daily points is most of a timeline's JSON, and encoding/json
// spends about 0.6 µs a point on it through reflection: more than reading
// the rows they come from (docs/performance.md). timelineJSON writes the
// points by hand, byte for byte as encoding/json would (TestTimelineJSON
// compares them), and the rest through encoding/json.

// pointsNull is how encoding/json writes a Timeline without points. It
// cannot appear inside a string value (a quote there is escaped), so its
// one match is the field.
var pointsNull = []byte(`"points":null`)

// timelineJSON appends json.Marshal(t) to dst.
func timelineJSON(dst []byte, t api.Timeline) ([]byte, error) {
	points := t.Points
	t.Points = nil
	return timelineWithPoints(dst, t, points != nil, nil, 0, len(points), func(i int) api.TimelinePoint { return points[i] })
}

// timelineWithPoints appends json.Marshal(t) to dst for t with its n
// points given one at a time by point (t.Points is nil; has says whether
// the points are a list at all): no slice of them is built. The first
// done points are already written, comma-separated, in encoded.
func timelineWithPoints(dst []byte, t api.Timeline, has bool, encoded []byte, done, n int, point func(int) api.TimelinePoint) ([]byte, error) {
	rest, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	at := bytes.Index(rest, pointsNull)
	if !has {
		return append(dst, rest...), nil
	}
	if at < 0 {
		t.Points = make([]api.TimelinePoint, n)
		for i := range n {
			t.Points[i] = point(i)
		}
		all, err := json.Marshal(t)
		return append(dst, all...), err
	}
	out := slices.Grow(dst, len(rest)+len(encoded)+(n-done)*112)
	out = append(out, rest[:at]...)
	out = append(out, `"points":[`...)
	out = append(out, encoded...)
	if out, err = appendPoints(out, done, n, point); err != nil {
		return nil, err
	}
	out = append(out, ']')
	return append(out, rest[at+len(pointsNull):]...), nil
}

// appendPoints appends points from to n-1, each after a comma but the
// first of all (from 0).
func appendPoints(out []byte, from, n int, point func(int) api.TimelinePoint) ([]byte, error) {
	var err error
	for i := from; i < n; i++ {
		if i > 0 {
			out = append(out, ',')
		}
		if out, err = appendPoint(out, point(i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// timelineBufs holds the buffers timelines are written into (about 40 kB
// for a year of daily points).
var timelineBufs = sync.Pool{New: func() any { return new([]byte) }}

func appendPoint(b []byte, p api.TimelinePoint) ([]byte, error) {
	b = append(b, `{"date":`...)
	b = appendString(b, p.Date)
	b = append(b, `,"score":`...)
	b, err := appendFloat(b, p.Score)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"level":`...)
	b = appendString(b, p.Level)
	b = append(b, `,"kept":`...)
	b = strconv.AppendInt(b, int64(p.Kept), 10)
	b = append(b, `,"late":`...)
	b = strconv.AppendInt(b, int64(p.Late), 10)
	b = append(b, `,"partial":`...)
	b = strconv.AppendInt(b, int64(p.Partial), 10)
	b = append(b, `,"missed":`...)
	b = strconv.AppendInt(b, int64(p.Missed), 10)
	b = append(b, `,"open":`...)
	b = strconv.AppendInt(b, int64(p.Open), 10)
	b = append(b, `,"felt_trust":`...)
	if p.FeltTrust == nil {
		b = append(b, "null"...)
	} else if b, err = appendFloat(b, *p.FeltTrust); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendFloat writes f as encoding/json does: the shortest decimal that
// reads back as f, in exponent form below 1e-6 and from 1e21.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if f >= 0 && f <= 1 && !math.Signbit(f) {
		// Scores and averages, rounded to four decimals: the decimal of
		// the ten-thousandths is the shortest that reads back as f.
		if k := math.Round(f * 1e4); k/1e4 == f {
			return appendTenThousandths(b, int(k)), nil
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("json: unsupported value: %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendTenThousandths writes k/10000 for 0 <= k <= 10000 with no
// trailing zeros: 0, 0.25, 0.7333, 1.
func appendTenThousandths(b []byte, k int) []byte {
	if k == 10000 {
		return append(b, '1')
	}
	if k == 0 {
		return append(b, '0')
	}
	const digits = "0123456789"
	d := [6]byte{'0', '.', digits[k/1000], digits[k/100%10], digits[k/10%10], digits[k%10]}
	n := len(d)
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}

// appendString writes s as a JSON string; anything but plain printable
// ASCII goes through encoding/json (dates and levels never do).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
