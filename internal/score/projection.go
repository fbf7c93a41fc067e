package score

import "math"

// Reasons a projection gives no date, or needs none.
const (
	ReasonReached     = "reached"
	ReasonNoCadence   = "no_cadence"
	ReasonUnreachable = "unreachable_at_cadence"
	ReasonBeyond      = "beyond_horizon"
)

// MaxProjectionDays bounds the simulation.
const MaxProjectionDays = 3650

// Projection answers "if every promise from now on is kept, when is trust back?".
type Projection struct {
	// Days from now until the score first reaches the target; valid when Reason is "".
	Days int
	// OccurrencesNeeded is ceil(r × Days).
	OccurrencesNeeded int
	Reason            string
}

// Equilibrium is where the score settles when r confirmed kept items a day
// go on for ever: (α·μ + r/(1-2^(-1/H))) / (α + r/(1-2^(-1/H))).
func Equilibrium(r, halfLifeDays float64) float64 {
	w := r / (1 - math.Exp2(-1/halfLifeDays))
	return (Alpha*Mu + w) / (Alpha + w)
}

// Project simulates day by day from now (sums seen from now), each day
// decaying the sums by 2^(-1/H) and adding r confirmed kept items, until the
// score reaches target.
func Project(now Sums, r, halfLifeDays, target float64) Projection {
	switch {
	case now.Score() >= target:
		return Projection{Reason: ReasonReached}
	case r <= 0:
		return Projection{Reason: ReasonNoCadence}
	case Equilibrium(r, halfLifeDays) < target:
		return Projection{Reason: ReasonUnreachable}
	}
	f := math.Exp2(-1 / halfLifeDays)
	s := now
	for day := 1; day <= MaxProjectionDays; day++ {
		s = Sums{A: s.A*f + r, B: s.B*f + r}
		if s.Score() >= target {
			return Projection{Days: day, OccurrencesNeeded: int(math.Ceil(r * float64(day)))}
		}
	}
	return Projection{Reason: ReasonBeyond}
}
