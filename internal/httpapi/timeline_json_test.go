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
	floats := []float64{0, 1, 0.5, 0.1, 0.6123, 1e-6, 9.99e-7, 1.5e-7, 1e-9, 1e20, 1e21, 1.2345e22, -0.25, 0.1 + 0.2, math.SmallestNonzeroFloat64, math.MaxFloat64, 10, 6.5}
	strs := []string{"2027-03-01", "rebuilding", "", `a"b`, `back\slash`, "<&>", "caf\u00e9", "tab\there", "\u2028"}
	f := func() float64 {
		if rng.IntN(3) == 0 {
			return floats[rng.IntN(len(floats))]
		}
		return math.Round(rng.Float64()*1e4) / 1e4
	}
	for range 300 {
		n := rng.IntN(5)
		tl := api.Timeline{RelationshipID: "rel_x", MemberID: "usr_<y>", TimeZone: "Europe/Berlin", Bucket: "day",
			From: time.Unix(1700000000, 123000).UTC(), To: time.Unix(1700086400, 0).UTC(),
			Milestones: []api.Milestone{{Name: "first_kept", ReachedAt: time.Unix(1700000500, 0).UTC()}}}
		if rng.IntN(10) > 0 {
			tl.Points = make([]api.TimelinePoint, n)
		}
		for i := range tl.Points {
			p := api.TimelinePoint{Date: strs[rng.IntN(len(strs))], Score: f(), Level: strs[rng.IntN(len(strs))],
				Kept: rng.IntN(1000), Late: rng.IntN(3), Partial: -rng.IntN(2), Missed: rng.IntN(1 << 20), Open: rng.IntN(5)}
			if rng.IntN(2) == 0 {
				v := f()
				p.FeltTrust = &v
			}
			tl.Points[i] = p
		}
		want, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := timelineJSON([]byte("x"), tl)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("timelineJSON:\n%s\nencoding/json:\n%s", got, want)
		}
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
