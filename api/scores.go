package api

import "time"

// ScoreCounts tally what a score is made of, up to the evaluation time.
type ScoreCounts struct {
	// Kept by the due time plus grace.
	Kept     int `json:"kept" validate:"required"`
	KeptLate int `json:"kept_late" validate:"required"`
	Partial  int `json:"partial" validate:"required"`
	Missed   int `json:"missed" validate:"required"`
	// Follow-throughs the promisee disputed (scored as not kept).
	Disputed int `json:"disputed" validate:"required"`
	// Follow-throughs awaiting the promisee's verdict.
	Unverified int `json:"unverified" validate:"required"`
	// Occurrences paused, left out of the score.
	Skipped int `json:"skipped" validate:"required"`
	// Occurrences due but not yet resolved (within their grace).
	Open int `json:"open" validate:"required"`
	// Breaches of trust by the member (member scores only).
	Breaches int `json:"breaches" validate:"required"`
} // @name ScoreCounts

// Score is a consistency score: how consistently promises are kept, from 0 to 1.
type Score struct {
	// The member whose promises are scored; null on a promise's score.
	MemberID *string `json:"member_id" validate:"required" extensions:"x-nullable"`
	// The promise scored; null on a member's score.
	PromiseID *string `json:"promise_id" validate:"required" extensions:"x-nullable"`
	// The score, rounded to 4 decimals.
	Score float64 `json:"score" format:"double" validate:"required" example:"0.7333"`
	Level string  `json:"level" validate:"required" enums:"broken,fragile,rebuilding,steady,strong" example:"rebuilding"`
	// α + Σ c·d: how much decayed evidence the score stands on (2 is none).
	Evidence      float64     `json:"evidence" format:"double" validate:"required" example:"3.75"`
	Counts        ScoreCounts `json:"counts" validate:"required"`
	CurrentStreak int         `json:"current_streak" validate:"required"`
	LongestStreak int         `json:"longest_streak" validate:"required"`
	EvaluatedAt   time.Time   `json:"evaluated_at" validate:"required" format:"date-time"`
} // @name Score

// ScoreList holds every current member's score.
type ScoreList struct {
	Data []Score `json:"data" validate:"required"`
} // @name ScoreList

// TimelinePoint is one day or week of the timeline.
type TimelinePoint struct {
	// The first local date of the bucket.
	Date string `json:"date" validate:"required" format:"date" example:"2027-03-01"`
	// The score at the end of the bucket (now, for the current one).
	Score   float64 `json:"score" format:"double" validate:"required" example:"0.6123"`
	Level   string  `json:"level" validate:"required" enums:"broken,fragile,rebuilding,steady,strong"`
	Kept    int     `json:"kept" validate:"required"`
	Late    int     `json:"late" validate:"required"`
	Partial int     `json:"partial" validate:"required"`
	Missed  int     `json:"missed" validate:"required"`
	Open    int     `json:"open" validate:"required"`
	// Average felt trust (0–10) of check-ins about the member in the bucket; null when none.
	FeltTrust *float64 `json:"felt_trust" format:"double" validate:"required" extensions:"x-nullable" example:"6.5"`
} // @name TimelinePoint

// Milestone is a step of rebuilding, reached since the latest breach.
type Milestone struct {
	Name      string    `json:"name" validate:"required" enums:"first_kept,streak_7,streak_30,kept_25,kept_100,first_rebuilding,first_steady,first_strong,miss_free_30d,miss_free_90d,target_reached"`
	ReachedAt time.Time `json:"reached_at" validate:"required" format:"date-time"`
} // @name Milestone

// Patience is the window of patience that follows the latest breach.
type Patience struct {
	// The latest breach by the member; the relationship's creation when there was none.
	StartedAt     time.Time `json:"started_at" validate:"required" format:"date-time"`
	EndsAt        time.Time `json:"ends_at" validate:"required" format:"date-time"`
	ElapsedDays   float64   `json:"elapsed_days" format:"double" validate:"required" example:"12.5"`
	RemainingDays float64   `json:"remaining_days" format:"double" validate:"required" example:"77.5"`
} // @name Patience

// Projection answers: if every promise from now on is kept, when is trust back?
type Projection struct {
	// Occurrences a day: those due in the last 28 days, or else scheduled in the next 28.
	Cadence     float64 `json:"cadence" format:"double" validate:"required" example:"0.25"`
	TargetScore float64 `json:"target_score" format:"double" validate:"required" example:"0.75"`
	// The local date the score first reaches the target; null with a reason otherwise.
	EstimatedDate     *string `json:"estimated_date" validate:"required" format:"date" extensions:"x-nullable" example:"2027-05-02"`
	OccurrencesNeeded *int    `json:"occurrences_needed" validate:"required" extensions:"x-nullable" example:"14"`
	WithinPatience    *bool   `json:"within_patience" validate:"required" extensions:"x-nullable"`
	// Why there is no date: reached (already at the target), no_cadence, unreachable_at_cadence, beyond_horizon.
	Reason *string `json:"reason" validate:"required" enums:"reached,no_cadence,unreachable_at_cadence,beyond_horizon" extensions:"x-nullable"`
} // @name Projection

// Timeline is the patience timeline of a member: how trust recovers over time.
type Timeline struct {
	RelationshipID string          `json:"relationship_id" validate:"required"`
	MemberID       string          `json:"member_id" validate:"required"`
	TimeZone       string          `json:"time_zone" validate:"required"`
	Bucket         string          `json:"bucket" validate:"required" enums:"day,week"`
	From           time.Time       `json:"from" validate:"required" format:"date-time"`
	To             time.Time       `json:"to" validate:"required" format:"date-time"`
	Points         []TimelinePoint `json:"points" validate:"required"`
	Milestones     []Milestone     `json:"milestones" validate:"required"`
	Patience       Patience        `json:"patience" validate:"required"`
	Projection     Projection      `json:"projection" validate:"required"`
	// The score at `to`.
	Current Score `json:"current" validate:"required"`
} // @name Timeline
