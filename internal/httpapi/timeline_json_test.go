package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/troth-app/troth/api"
)

// timelineJSON writes exactly what encoding/json writes, for points of
// every shape: scores and felt trust across the ranges that change how a
// float is written, counts, absent felt trust, strings that need escaping.
func TestTimelineJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	v := jsonValues{rng}
	f := v.float
	for range 300 {
		n := rng.IntN(5)
		tl := api.Timeline{RelationshipID: "rel_x", MemberID: "usr_<y>", TimeZone: "Europe/Berlin", Bucket: "day",
			From: time.Unix(1700000000, 123000).UTC(), To: time.Unix(1700086400, 0).UTC(),
			Milestones: []api.Milestone{{Name: "first_kept", ReachedAt: time.Unix(1700000500, 0).UTC()}}}
		if rng.IntN(10) > 0 {
			tl.Points = make([]api.TimelinePoint, n)
		}
		for i := range tl.Points {
			p := api.TimelinePoint{Date: v.str(), Score: f(), Level: v.str(),
				Kept: rng.IntN(1000), Late: rng.IntN(3), Partial: -rng.IntN(2), Missed: rng.IntN(1 << 20), Open: rng.IntN(5)}
			if rng.IntN(2) == 0 {
				v := f()
				p.FeltTrust = &v
			}
			tl.Points[i] = p
		}
		matchesEncodingJSON(t, tl, func(b []byte) ([]byte, error) { return timelineJSON(b, tl) })
	}
	nan := math.NaN()
	if _, err := timelineJSON(nil, api.Timeline{Points: []api.TimelinePoint{{FeltTrust: &nan}}}); err == nil {
		t.Fatal("NaN encoded")
	}
}

// Every four-decimal value a score or an average takes, and floats near
// them, are written as encoding/json writes them.
func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := appendFloat(nil, f); err != nil || string(got) != string(want) {
			t.Fatalf("%v: %s (%v), want %s", f, got, err, want)
		}
	}
	for k := 0; k <= 10000; k++ {
		f := float64(k) / 1e4
		check(f)
		check(math.Nextafter(f, 2))
		check(math.Nextafter(f, -1))
	}
	for _, f := range []float64{math.Copysign(0, -1), 1.00005, 3.25, 1e-7, 5e-5, 123456.5, 1e21, -0.25} {
		check(f)
	}
}

// jsonValues draws the values that decide how encoding/json writes a
// float or a string: scores of four decimals mostly, and the edges (the
// exponent form's bounds, values that are not four decimals, strings to
// escape).
type jsonValues struct{ rng *rand.Rand }

var (
	jsonFloats = []float64{0, 1, 0.5, 0.1, 0.6123, 2, 3.75, 1e-6, 9.99e-7, 1.5e-7, 1e-9, 1e20, 1e21, 1.2345e22, -0.25, 0.1 + 0.2,
		math.SmallestNonzeroFloat64, math.MaxFloat64, 10, 6.5, 12345.678}
	jsonStrings = []string{"2027-03-01", "rebuilding", "usr_01abc", "", `a"b`, `back\slash`, "<&>", "caf\u00e9", "tab\there", "\u2028"}
)

func (v jsonValues) float() float64 {
	if v.rng.IntN(3) == 0 {
		return jsonFloats[v.rng.IntN(len(jsonFloats))]
	}
	return math.Round(v.rng.Float64()*1e4) / 1e4
}

func (v jsonValues) str() string { return jsonStrings[v.rng.IntN(len(jsonStrings))] }

// matchesEncodingJSON fails the test unless write appends exactly
// json.Marshal(v) to what it is given.
func matchesEncodingJSON(t *testing.T, v any, write func([]byte) ([]byte, error)) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := write([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append([]byte("x"), want...)) {
		t.Fatalf("written by hand:\n%s\nencoding/json:\n%s", got, want)
	}
}
