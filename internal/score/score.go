// Package score is the arithmetic of trust, as pure functions with no
// database and no clock of their own: the value and evidence of what
// happened, the decayed consistency score and its level, streaks, the
// summaries that let a day's worth of items be combined with the days
// before it, the projection of when trust is back, and milestones.
//
// The score at time T over items i (resolved occurrences and breaches with
// t_i ≤ T) is
//
//	S(T) = (α·μ + Σ c_i·d_i·v_i) / (α + Σ c_i·d_i),  d_i = 2^(-(T - t_i)/H)
//
// with prior α = 2, μ = 0.5, and H the half-life in days.
package score

import (
	"math"
	"time"
)

// The prior: a new relationship starts at μ with the weight of α items.
const (
	Alpha = 2.0
	Mu    = 0.5
)

// Levels, from the bottom.
const (
	Broken     = "broken"
	Fragile    = "fragile"
	Rebuilding = "rebuilding"
	Steady     = "steady"
	Strong     = "strong"
)

// Level names the band a score falls in.
func Level(s float64) string {
	switch {
	case s < 0.40:
		return Broken
	case s < 0.60:
		return Fragile
	case s < 0.75:
		return Rebuilding
	case s < 0.85:
		return Steady
	}
	return Strong
}

// LevelFloor is the lowest score of a level.
func LevelFloor(level string) float64 {
	switch level {
	case Fragile:
		return 0.40
	case Rebuilding:
		return 0.60
	case Steady:
		return 0.75
	case Strong:
		return 0.85
	}
	return 0
}

// Kind classifies an item for counting.
type Kind uint8

// Kinds of item.
const (
	KindKept Kind = iota + 1
	KindKeptLate
	KindPartial
	KindMissed
	KindBreach
)

// Item is one scored thing: a resolved occurrence or a breach.
type Item struct {
	T time.Time // due time (breach: when it occurred)
	V float64   // value, 0..1
	C float64   // evidence weight
	// For counts: what it was, and how its account stands.
	Kind       Kind
	Disputed   bool
	Unverified bool
}

// Outcomes and verification states, as the promise package names them.
const (
	outcomeKept    = "kept"
	outcomePartial = "partial"
	outcomeMissed  = "missed"
)

// OccurrenceItem scores a resolved occurrence: kept on time (occurred by
// due + grace) 1.0, kept late 0.5, partial 0.5, missed 0; evidence by
// verification: confirmed 1, accepted 0.75, unverified 0.5, disputed 1 with
// the value forced to 0 (the promisee's account prevails), a system miss 1.
func OccurrenceItem(due, occurred time.Time, grace time.Duration, outcome, verification string, system bool) Item {
	it := Item{T: due}
	switch outcome {
	case outcomeKept:
		if occurred.After(due.Add(grace)) {
			it.V, it.Kind = 0.5, KindKeptLate
		} else {
			it.V, it.Kind = 1, KindKept
		}
	case outcomePartial:
		it.V, it.Kind = 0.5, KindPartial
	default:
		it.V, it.Kind = 0, KindMissed
	}
	switch {
	case system:
		it.C = 1
	case verification == "confirmed":
		it.C = 1
	case verification == "accepted":
		it.C = 0.75
	case verification == "disputed":
		it.C, it.V, it.Disputed = 1, 0, true
	default: // unverified
		it.C, it.Unverified = 0.5, true
	}
	return it
}

// BreachItem scores a breach: a missed item whose weight grows with severity.
func BreachItem(at time.Time, severity string) Item {
	c := 1.0
	switch severity {
	case "major":
		c = 3
	case "severe":
		c = 5
	}
	return Item{T: at, V: 0, C: c, Kind: KindBreach}
}

// Decay is 2^(-Δ/H) for Δ = to - from in (fractional) days.
func Decay(from, to time.Time, halfLifeDays float64) float64 {
	if to.Equal(from) {
		return 1 // 2^0, as Exp2 gives it: a rollup row read at its own end
	}
	days := to.Sub(from).Hours() / 24
	return math.Exp2(-days / halfLifeDays)
}

// Sums are Σ c·v·d (A) and Σ c·d (B) at a reference time.
type Sums struct {
	A, B float64
}

// Add adds an item's contribution as seen from ref.
func (s Sums) Add(it Item, ref time.Time, halfLifeDays float64) Sums {
	d := Decay(it.T, ref, halfLifeDays)
	return Sums{A: s.A + it.C*it.V*d, B: s.B + it.C*d}
}

// Scaled returns the sums seen from a time later (or earlier) by factor f = Decay(ref, newRef, H).
func (s Sums) Scaled(f float64) Sums { return Sums{A: s.A * f, B: s.B * f} }

// Plus adds sums with the same reference.
func (s Sums) Plus(o Sums) Sums { return Sums{A: s.A + o.A, B: s.B + o.B} }

// Score is S for sums taken at the evaluation time.
func (s Sums) Score() float64 { return (Alpha*Mu + s.A) / (Alpha + s.B) }

// Evidence is α + Σ c·d.
func (s Sums) Evidence() float64 { return Alpha + s.B }

// Round4 rounds a score to four decimals for display.
func Round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
