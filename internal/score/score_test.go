package score

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

func days(n float64) time.Duration { return time.Duration(n * 24 * float64(time.Hour)) }

func kept(at time.Time) Item {
	return OccurrenceItem(at, at, time.Hour, "kept", "confirmed", false)
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// The worked examples of the specification (H = 30).
func TestWorkedExamples(t *testing.T) {
	items := []Item{kept(t0), kept(t0.Add(-days(30))), kept(t0.Add(-days(60)))}
	r := Evaluate(items, t0, 30)
	if !near(r.Score, 2.75/3.75, 1e-12) || Round4(r.Score) != 0.7333 || r.Level != Rebuilding || !near(r.Evidence, 3.75, 1e-12) {
		t.Fatalf("three kept: %+v, want 0.733333 rebuilding, evidence 3.75", r)
	}
	missed := OccurrenceItem(t0.Add(-days(10)), t0.Add(-days(10)), time.Hour, "missed", "unverified", false)
	r = Evaluate(append(items, missed), t0, 30)
	if !near(r.Evidence, 4.146850, 1e-6) || !near(r.Score, 0.663154, 1e-6) || Round4(r.Score) != 0.6632 {
		t.Fatalf("with an unverified miss: %+v, want 0.663154 over 4.146850", r)
	}
	if r.CurrentStreak != 1 || r.LongestStreak != 2 {
		t.Fatalf("streaks %d/%d, want 1/2", r.CurrentStreak, r.LongestStreak)
	}
}

func TestValuesAndEvidence(t *testing.T) {
	due := t0
	grace := time.Hour
	cases := []struct {
		name                  string
		occurred              time.Time
		outcome, verification string
		system                bool
		v, c                  float64
		kind                  Kind
	}{
		{"kept on time, confirmed", due.Add(grace), "kept", "confirmed", false, 1, 1, KindKept},
		{"kept late", due.Add(grace + time.Second), "kept", "confirmed", false, 0.5, 1, KindKeptLate},
		{"kept early, accepted", due.Add(-days(1)), "kept", "accepted", false, 1, 0.75, KindKept},
		{"partial, unverified", due, "partial", "unverified", false, 0.5, 0.5, KindPartial},
		{"kept but disputed", due, "kept", "disputed", false, 0, 1, KindKept},
		{"system miss", due.Add(2 * grace), "missed", "confirmed", true, 0, 1, KindMissed},
	}
	for _, tc := range cases {
		it := OccurrenceItem(due, tc.occurred, grace, tc.outcome, tc.verification, tc.system)
		if it.V != tc.v || it.C != tc.c || it.Kind != tc.kind {
			t.Errorf("%s: v=%v c=%v kind=%v, want %v %v %v", tc.name, it.V, it.C, it.Kind, tc.v, tc.c, tc.kind)
		}
	}
	for sev, c := range map[string]float64{"minor": 1, "major": 3, "severe": 5} {
		if b := BreachItem(t0, sev); b.C != c || b.V != 0 {
			t.Errorf("breach %s: %+v", sev, b)
		}
	}
	for s, want := range map[float64]string{0: Broken, 0.3999: Broken, 0.4: Fragile, 0.5999: Fragile, 0.6: Rebuilding, 0.7499: Rebuilding, 0.75: Steady, 0.8499: Steady, 0.85: Strong, 1: Strong} {
		if got := Level(s); got != want {
			t.Errorf("Level(%v) = %s, want %s", s, got, want)
		}
	}
}

func TestBreachEndsStreak(t *testing.T) {
	items := []Item{kept(t0.Add(-days(3))), kept(t0.Add(-days(2))), BreachItem(t0.Add(-days(1)), "minor"), kept(t0)}
	r := Evaluate(items, t0, 30)
	if r.CurrentStreak != 1 || r.LongestStreak != 2 || r.Counts.Breaches != 1 {
		t.Fatalf("%+v", r)
	}
	if Evaluate(nil, t0, 30).Score != 0.5 {
		t.Fatal("no history must score the prior 0.5")
	}
}

func randomItems(rng *rand.Rand, n int, span float64) []Item {
	items := make([]Item, n)
	outcomes := []string{"kept", "partial", "missed"}
	verifs := []string{"confirmed", "accepted", "unverified", "disputed"}
	sev := []string{"minor", "major", "severe"}
	for i := range items {
		at := t0.Add(-days(rng.Float64() * span))
		if rng.IntN(12) == 0 {
			items[i] = BreachItem(at, sev[rng.IntN(3)])
			continue
		}
		occurred := at.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
		items[i] = OccurrenceItem(at, occurred, time.Hour, outcomes[rng.IntN(3)], verifs[rng.IntN(4)], rng.IntN(10) == 0)
	}
	return items
}

// Summaries built day by day and joined equal a full recomputation: the
// invariant the stored daily rollups rely on.
func TestSummariesJoinLikeFullRecomputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		h := 7 + rng.Float64()*358
		items := randomItems(rng, rng.IntN(200), 400)
		want := Evaluate(items, t0, h)

		// Bucket by UTC day, summarize each day at its end, join in order.
		byDay := map[time.Time][]Item{}
		for _, it := range items {
			d := it.T.Truncate(24 * time.Hour)
			byDay[d] = append(byDay[d], it)
		}
		var acc Summary
		first := true
		for d := t0.Add(-days(401)).Truncate(24 * time.Hour); !d.After(t0); d = d.Add(24 * time.Hour) {
			its, ok := byDay[d]
			if !ok {
				continue
			}
			day := Summarize(its, d.Add(24*time.Hour), h)
			if first {
				acc, first = day, false
			} else {
				acc = acc.Then(day, h)
			}
		}
		var got Result
		if first {
			got = Summary{Ref: t0}.Result(t0, h)
		} else {
			// The last day ends after t0 only if an item falls on t0's day;
			// evaluate from the later of the two.
			end := t0
			if acc.Ref.After(t0) {
				end = acc.Ref
				want = Evaluate(items, end, h)
			}
			got = acc.Result(end, h)
		}
		if !near(got.Score, want.Score, 1e-9) || !near(got.Evidence, want.Evidence, 1e-9) || got.Counts != want.Counts ||
			got.CurrentStreak != want.CurrentStreak || got.LongestStreak != want.LongestStreak {
			t.Fatalf("round %d: joined %+v, full %+v", round, got, want)
		}
	}
}

func TestScoreProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		h := 7 + rng.Float64()*358
		items := randomItems(rng, rng.IntN(60), 200)
		base := Evaluate(items, t0, h)
		if base.Score < 0 || base.Score > 1 || base.Evidence < Alpha {
			t.Fatalf("score %v evidence %v out of bounds", base.Score, base.Evidence)
		}
		at := t0.Add(-days(rng.Float64() * 200))
		withKept := Evaluate(append(items, kept(at)), t0, h)
		if withKept.Score < base.Score-1e-12 {
			t.Fatalf("adding a kept item lowered the score: %v → %v", base.Score, withKept.Score)
		}
		miss := OccurrenceItem(at, at, time.Hour, "missed", []string{"confirmed", "accepted", "unverified"}[rng.IntN(3)], false)
		withMiss := Evaluate(append(items, miss), t0, h)
		if withMiss.Score > base.Score+1e-12 {
			t.Fatalf("adding a missed item raised the score: %v → %v", base.Score, withMiss.Score)
		}
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add(uint64(1), uint8(10), 30.0)
	f.Add(uint64(99), uint8(200), 7.0)
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, h float64) {
		if math.IsNaN(h) || h < 7 || h > 365 {
			return
		}
		rng := rand.New(rand.NewPCG(seed, seed>>1))
		items := randomItems(rng, int(n), 800)
		r := Evaluate(items, t0, h)
		if math.IsNaN(r.Score) || r.Score < 0 || r.Score > 1 || r.CurrentStreak > r.LongestStreak {
			t.Fatalf("bad result %+v", r)
		}
		if Level(r.Score) != r.Level {
			t.Fatal("level does not match score")
		}
	})
}

func TestProjection(t *testing.T) {
	// From the prior (0.5) with one kept item a day, H = 30, target 0.75:
	// S_k = (1 + r·g_k)/(2 + r·g_k), g_k = Σ_{j<k} f^j; S ≥ 0.75 when r·g ≥ 2,
	// so with r = 1 on day 2 (g_2 = 1 + f ≈ 1.977 < 2) no, day 3 yes.
	p := Project(Sums{}, 1, 30, 0.75)
	if p.Reason != "" || p.Days != 3 || p.OccurrencesNeeded != 3 {
		t.Fatalf("%+v, want 3 days", p)
	}
	if p := Project(Sums{A: 10, B: 10}, 1, 30, 0.75); p.Reason != ReasonReached {
		t.Fatalf("already there: %+v", p)
	}
	if p := Project(Sums{}, 0, 30, 0.75); p.Reason != ReasonNoCadence {
		t.Fatalf("no cadence: %+v", p)
	}
	// Equilibrium with r = 1/28 a day and H = 7: w = (1/28)/(1-2^(-1/7)) ≈ 0.3785,
	// (1 + w)/(2 + w) ≈ 0.5796 < 0.75.
	if e := Equilibrium(1.0/28, 7); !near(e, 0.5796, 1e-3) {
		t.Fatalf("equilibrium %v", e)
	}
	if p := Project(Sums{}, 1.0/28, 7, 0.75); p.Reason != ReasonUnreachable {
		t.Fatalf("unreachable: %+v", p)
	}
	// Brute force agrees with the loop for a bad history.
	bad := Sums{A: 0, B: 8} // score 1/10
	p = Project(bad, 0.5, 30, 0.75)
	s, f := bad, math.Exp2(-1.0/30)
	day := 0
	for s.Score() < 0.75 {
		s, day = Sums{A: s.A*f + 0.5, B: s.B*f + 0.5}, day+1
	}
	if p.Days != day || p.OccurrencesNeeded != int(math.Ceil(0.5*float64(day))) {
		t.Fatalf("%+v, want %d days", p, day)
	}
}

// Appending items one at a time, in time order, gives what Summarize gives
// of them all, to the last bit: the rollups fold a new follow-through into
// a stored day this way, and must store the row a full refresh would.
func TestAppendEqualsSummarize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 500 {
		h := 7 + rng.Float64()*358
		items := randomItems(rng, 1+rng.IntN(12), 2)
		slices.SortStableFunc(items, func(a, b Item) int { return a.T.Compare(b.T) })
		ref := t0.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
		got := Summary{Ref: ref}
		for i, it := range items {
			got = got.Append(it, h)
			if want := Summarize(items[:i+1], ref, h); got != want {
				t.Fatalf("round %d, %d items: appended %+v, summarized %+v", round, i+1, got, want)
			}
		}
	}
}
