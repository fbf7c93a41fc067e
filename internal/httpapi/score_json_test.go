package httpapi

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/troth-app/troth/api"
)

// scoreJSON writes what encoding/json writes, byte for byte, whatever the
// score holds, and refuses what it refuses.
func TestScoreJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	v := jsonValues{rng}
	f := v.float
	str := func() *string {
		if rng.IntN(3) == 0 {
			return nil
		}
		s := v.str()
		return &s
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+1800), time.FixedZone("X", -7*3600)}
	for range 500 {
		s := api.Score{MemberID: str(), PromiseID: str(), Score: f(), Level: v.str(), Evidence: f(),
			Counts: api.ScoreCounts{Kept: rng.IntN(1 << 20), KeptLate: rng.IntN(5), Partial: -rng.IntN(3), Missed: rng.IntN(100),
				Disputed: rng.IntN(3), Unverified: rng.IntN(3), Skipped: rng.IntN(9), Open: rng.IntN(4), Breaches: rng.IntN(2)},
			CurrentStreak: rng.IntN(400), LongestStreak: math.MaxInt32 + rng.IntN(2),
			EvaluatedAt: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])}
		matchesEncodingJSON(t, s, func(b []byte) ([]byte, error) { return scoreJSON(b, s) })
	}
	for _, bad := range []api.Score{{Score: math.NaN()}, {Evidence: math.Inf(1)}, {EvaluatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if _, err := json.Marshal(bad); err == nil {
			t.Fatalf("encoding/json took %+v", bad)
		}
		if _, err := scoreJSON(nil, bad); err == nil {
			t.Fatalf("scoreJSON took %+v, which encoding/json refuses", bad)
		}
	}
}
