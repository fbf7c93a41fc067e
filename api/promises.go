package api

import "time"

// Recurrence repeats a promise: an RFC 5545 RRULE at a local time in an IANA zone.
type Recurrence struct {
	// An RRULE without DTSTART, FREQ DAILY, WEEKLY, MONTHLY or YEARLY, e.g. FREQ=WEEKLY;BYDAY=SU. The time of day comes from local_time.
	RRule string `json:"rrule" validate:"required" example:"FREQ=WEEKLY;BYDAY=SU"`
	// The zone the local time is in; defaults to the relationship's.
	TimeZone string `json:"time_zone" validate:"required" example:"Europe/Berlin"`
	// HH:MM, kept across clock changes.
	LocalTime string `json:"local_time" validate:"required" example:"20:00"`
	// The first local date instances may fall on (YYYY-MM-DD); defaults to today.
	StartsOn string `json:"starts_on" validate:"required" format:"date" example:"2027-03-07"`
} // @name Recurrence

// RecurrenceInput is a recurrence in a request; time_zone and starts_on are optional.
type RecurrenceInput struct {
	RRule     string `json:"rrule" validate:"required" maxLength:"500" example:"FREQ=WEEKLY;BYDAY=SU"`
	TimeZone  string `json:"time_zone,omitempty" example:"Europe/Berlin"`
	LocalTime string `json:"local_time" validate:"required" example:"20:00"`
	StartsOn  string `json:"starts_on,omitempty" format:"date" example:"2027-03-07"`
} // @name RecurrenceInput

// Promise is a commitment from a promisor to a promisee.
type Promise struct {
	ID             string `json:"id" validate:"required" example:"prm_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	RelationshipID string `json:"relationship_id" validate:"required"`
	PromisorID     string `json:"promisor_id" validate:"required"`
	// null while the promise is to the partner who has not joined yet.
	PromiseeID *string `json:"promisee_id" validate:"required" extensions:"x-nullable"`
	Title      string  `json:"title" validate:"required" example:"Home by 19:00 on Friday"`
	Details    string  `json:"details" validate:"required"`
	Kind       string  `json:"kind" validate:"required" enums:"one_off,recurring"`
	// The due time of a one-off promise; null for a recurring one.
	DueAt *time.Time `json:"due_at" validate:"required" format:"date-time" extensions:"x-nullable"`
	// The recurrence of a recurring promise; null for a one-off.
	Recurrence *Recurrence `json:"recurrence" validate:"required" extensions:"x-nullable"`
	Status     string      `json:"status" validate:"required" enums:"active,completed,cancelled,archived"`
	CreatedAt  time.Time   `json:"created_at" validate:"required" format:"date-time"`
	UpdatedAt  time.Time   `json:"updated_at" validate:"required" format:"date-time"`
} // @name Promise

// CreatePromiseRequest makes a promise from the caller; give due_at or recurrence.
type CreatePromiseRequest struct {
	// Defaults to the other member, or to the partner before they join.
	PromiseeID *string          `json:"promisee_id,omitempty"`
	Title      string           `json:"title" validate:"required" maxLength:"200" example:"Home by 19:00 on Friday"`
	Details    string           `json:"details,omitempty" maxLength:"2000"`
	DueAt      *time.Time       `json:"due_at,omitempty" format:"date-time"`
	Recurrence *RecurrenceInput `json:"recurrence,omitempty"`
} // @name CreatePromiseRequest

// UpdatePromiseRequest edits a promise; absent fields stay as they are.
type UpdatePromiseRequest struct {
	Title   *string `json:"title,omitempty" maxLength:"200"`
	Details *string `json:"details,omitempty" maxLength:"2000"`
	// A new recurrence replaces the open occurrences from now on.
	Recurrence *RecurrenceInput `json:"recurrence,omitempty"`
	// Only "archived".
	Status *string `json:"status,omitempty" enums:"archived"`
} // @name UpdatePromiseRequest

// PromisePage is one page of promises.
type PromisePage struct {
	Data       []Promise `json:"data" validate:"required"`
	NextCursor *string   `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name PromisePage

// Occurrence is one due instance of a promise.
type Occurrence struct {
	ID             string    `json:"id" validate:"required" example:"occ_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	RelationshipID string    `json:"relationship_id" validate:"required"`
	PromiseID      string    `json:"promise_id" validate:"required"`
	PromisorID     string    `json:"promisor_id" validate:"required"`
	PromiseeID     *string   `json:"promisee_id" validate:"required" extensions:"x-nullable"`
	DueAt          time.Time `json:"due_at" validate:"required" format:"date-time"`
	// The due time before any accepted renegotiation.
	OriginalDueAt time.Time `json:"original_due_at" validate:"required" format:"date-time"`
	Status        string    `json:"status" validate:"required" enums:"open,resolved,skipped,cancelled"`
	// The outcome of the current follow-through, once resolved.
	Outcome         *string   `json:"outcome" validate:"required" enums:"kept,partial,missed" extensions:"x-nullable"`
	FollowThroughID *string   `json:"follow_through_id" validate:"required" extensions:"x-nullable"`
	ReplacesID      *string   `json:"replaces_id" validate:"required" extensions:"x-nullable"`
	CreatedAt       time.Time `json:"created_at" validate:"required" format:"date-time"`
	UpdatedAt       time.Time `json:"updated_at" validate:"required" format:"date-time"`
} // @name Occurrence

// OccurrencePage is one page of occurrences, by due time.
type OccurrencePage struct {
	Data       []Occurrence `json:"data" validate:"required"`
	NextCursor *string      `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name OccurrencePage

// FollowThrough is what happened for an occurrence.
type FollowThrough struct {
	ID             string    `json:"id" validate:"required" example:"fth_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	RelationshipID string    `json:"relationship_id" validate:"required"`
	OccurrenceID   string    `json:"occurrence_id" validate:"required"`
	PromiseID      string    `json:"promise_id" validate:"required"`
	Outcome        string    `json:"outcome" validate:"required" enums:"kept,partial,missed"`
	OccurredAt     time.Time `json:"occurred_at" validate:"required" format:"date-time"`
	Note           string    `json:"note" validate:"required"`
	// A user id, or "system" for a miss troth recorded.
	RecordedBy   string `json:"recorded_by" validate:"required"`
	Verification string `json:"verification" validate:"required" enums:"confirmed,unverified,accepted,disputed"`
	// The promisee's reason, when disputed.
	DisputeReason *string `json:"dispute_reason" validate:"required" extensions:"x-nullable"`
	// When an unverified follow-through becomes accepted if the promisee stays silent.
	AcceptAfter *time.Time `json:"accept_after" validate:"required" format:"date-time" extensions:"x-nullable"`
	VerifiedAt  *time.Time `json:"verified_at" validate:"required" format:"date-time" extensions:"x-nullable"`
	// Set when a member's follow-through replaced this system miss.
	SupersededAt *time.Time `json:"superseded_at" validate:"required" format:"date-time" extensions:"x-nullable"`
	CreatedAt    time.Time  `json:"created_at" validate:"required" format:"date-time"`
	UpdatedAt    time.Time  `json:"updated_at" validate:"required" format:"date-time"`
} // @name FollowThrough

// RecordFollowThroughRequest records what happened.
type RecordFollowThroughRequest struct {
	Outcome string `json:"outcome" validate:"required" enums:"kept,partial,missed"`
	// When it happened; defaults to now. Not in the future, at most 365 days back.
	OccurredAt *time.Time `json:"occurred_at,omitempty" format:"date-time"`
	Note       string     `json:"note,omitempty" maxLength:"2000"`
} // @name RecordFollowThroughRequest

// DisputeRequest contradicts a follow-through.
type DisputeRequest struct {
	Reason string `json:"reason" validate:"required" maxLength:"1000" example:"I waited until 20:30"`
} // @name DisputeRequest

// FollowThroughPage is one page of follow-throughs.
type FollowThroughPage struct {
	Data       []FollowThrough `json:"data" validate:"required"`
	NextCursor *string         `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name FollowThroughPage

// Renegotiation proposes a new due time for an occurrence.
type Renegotiation struct {
	ID             string    `json:"id" validate:"required" example:"rng_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	RelationshipID string    `json:"relationship_id" validate:"required"`
	OccurrenceID   string    `json:"occurrence_id" validate:"required"`
	PromiseID      string    `json:"promise_id" validate:"required"`
	ProposedBy     string    `json:"proposed_by" validate:"required"`
	ProposedDueAt  time.Time `json:"proposed_due_at" validate:"required" format:"date-time"`
	Reason         string    `json:"reason" validate:"required"`
	Status         string    `json:"status" validate:"required" enums:"pending,accepted,declined"`
	// The occurrence created when a missed occurrence was renegotiated.
	NewOccurrenceID *string    `json:"new_occurrence_id" validate:"required" extensions:"x-nullable"`
	CreatedAt       time.Time  `json:"created_at" validate:"required" format:"date-time"`
	ResolvedAt      *time.Time `json:"resolved_at" validate:"required" format:"date-time" extensions:"x-nullable"`
} // @name Renegotiation

// ProposeRenegotiationRequest proposes a new due time.
type ProposeRenegotiationRequest struct {
	ProposedDueAt *time.Time `json:"proposed_due_at" validate:"required" format:"date-time"`
	Reason        string     `json:"reason,omitempty" maxLength:"1000"`
} // @name ProposeRenegotiationRequest

// RenegotiationPage is one page of renegotiations.
type RenegotiationPage struct {
	Data       []Renegotiation `json:"data" validate:"required"`
	NextCursor *string         `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name RenegotiationPage

// Pause suspends a recurring promise over local dates.
type Pause struct {
	ID             string    `json:"id" validate:"required" example:"pau_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	RelationshipID string    `json:"relationship_id" validate:"required"`
	PromiseID      string    `json:"promise_id" validate:"required"`
	StartsOn       string    `json:"starts_on" validate:"required" format:"date" example:"2027-07-01"`
	EndsOn         string    `json:"ends_on" validate:"required" format:"date" example:"2027-07-14"`
	Reason         string    `json:"reason" validate:"required" example:"holiday"`
	CreatedBy      string    `json:"created_by" validate:"required"`
	CreatedAt      time.Time `json:"created_at" validate:"required" format:"date-time"`
} // @name Pause

// CreatePauseRequest pauses a recurring promise; the dates are local to its zone, both included.
type CreatePauseRequest struct {
	StartsOn string `json:"starts_on" validate:"required" format:"date" example:"2027-07-01"`
	EndsOn   string `json:"ends_on" validate:"required" format:"date" example:"2027-07-14"`
	Reason   string `json:"reason,omitempty" maxLength:"1000" example:"holiday"`
} // @name CreatePauseRequest

// PausePage is one page of pauses.
type PausePage struct {
	Data       []Pause `json:"data" validate:"required"`
	NextCursor *string `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name PausePage
