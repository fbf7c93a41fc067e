// Package promise holds what people promise each other and what happened:
// promises (one-off or recurring), their occurrences, follow-through with
// the promisee's verdict, renegotiation of due times, and pauses. It also
// holds the rules the scheduler applies as time passes: materializing
// recurrences, scoring missed occurrences, and accepting follow-through the
// promisee left unanswered.
package promise

import (
	"context"
	"time"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/relationship"
)

// Kinds of promise.
const (
	KindOneOff    = "one_off"
	KindRecurring = "recurring"
)

// Promise statuses.
const (
	StatusActive    = "active"
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
	StatusArchived  = "archived"
)

// Occurrence statuses.
const (
	OccOpen      = "open"
	OccResolved  = "resolved"
	OccSkipped   = "skipped"
	OccCancelled = "cancelled"
)

// Outcomes of a follow-through.
const (
	Kept    = "kept"
	Partial = "partial"
	Missed  = "missed"
)

// Verification states of a follow-through.
const (
	Confirmed  = "confirmed"
	Unverified = "unverified"
	Accepted   = "accepted"
	Disputed   = "disputed"
)

// System is the recorder of follow-throughs troth writes itself.
const System = "system"

// Renegotiation statuses.
const (
	RenegPending  = "pending"
	RenegAccepted = "accepted"
	RenegDeclined = "declined"
)

// Horizon is how far ahead recurring occurrences are materialized.
const Horizon = 60 * 24 * time.Hour

// MaxBackdate is how far in the past a due time or start may lie.
const MaxBackdate = 365 * 24 * time.Hour

// Recurrence describes a recurring promise.
type Recurrence struct {
	RRule     string
	TimeZone  string
	LocalTime string // HH:MM
	StartsOn  string // YYYY-MM-DD
}

// Promise is a commitment from a promisor to a promisee.
type Promise struct {
	ID             string
	RelationshipID string
	PromisorID     string
	// PromiseeID is nil for a promise to the partner who has not joined yet.
	PromiseeID        *string
	Title             string
	Details           string
	Kind              string
	DueAt             *time.Time
	Recurrence        *Recurrence
	Status            string
	MaterializedUntil *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Occurrence is one due instance of a promise.
type Occurrence struct {
	ID              string
	RelationshipID  string
	PromiseID       string
	PromisorID      string
	PromiseeID      *string
	DueAt           time.Time
	OriginalDueAt   time.Time
	Status          string
	Outcome         *string
	FollowThroughID *string
	ReplacesID      *string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// FollowThrough is what happened for an occurrence.
type FollowThrough struct {
	ID             string
	RelationshipID string
	OccurrenceID   string
	PromiseID      string
	Outcome        string
	OccurredAt     time.Time
	Note           string
	RecordedBy     string
	Verification   string
	DisputeReason  *string
	AcceptAfter    *time.Time
	VerifiedAt     *time.Time
	SupersededAt   *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Renegotiation is a proposal to move an occurrence's due time.
type Renegotiation struct {
	ID              string
	RelationshipID  string
	OccurrenceID    string
	PromiseID       string
	ProposedBy      string
	ProposedDueAt   time.Time
	Reason          string
	Status          string
	NewOccurrenceID *string
	CreatedAt       time.Time
	ResolvedAt      *time.Time
}

// Pause suspends a recurring promise over a range of local dates.
type Pause struct {
	ID             string
	RelationshipID string
	PromiseID      string
	StartsOn       string
	EndsOn         string
	Reason         string
	CreatedBy      string
	CreatedAt      time.Time
}

// PromiseFilter narrows a promise list.
type PromiseFilter struct {
	Status       string
	PromisorID   string
	PromiseeID   string
	UpdatedSince *time.Time
}

// OccurrenceFilter narrows an occurrence list.
type OccurrenceFilter struct {
	PromiseID string
	Status    string
	DueAfter  *time.Time
	DueBefore *time.Time
}

// Store is what the promise service needs from storage. Every method that
// reads inside a relationship takes its id and filters by it.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error

	Relationship(ctx context.Context, relID string) (relationship.Relationship, error)

	CreatePromise(ctx context.Context, p Promise) error
	Promise(ctx context.Context, id string) (Promise, error)
	UpdatePromise(ctx context.Context, p Promise) error
	// CompleteOneOff marks the promise completed at now if it is an
	// active one-off promise, and does nothing otherwise; it reports
	// whether it did.
	CompleteOneOff(ctx context.Context, promiseID string, now time.Time) (bool, error)
	ListPromises(ctx context.Context, relID string, f PromiseFilter, pr page.Request) ([]Promise, error)
	// PromisesToMaterialize returns active recurring promises materialized
	// less far than until.
	PromisesToMaterialize(ctx context.Context, until time.Time, limit int) ([]Promise, error)

	// InsertOccurrences adds occurrences, ignoring instances that exist.
	InsertOccurrences(ctx context.Context, os []Occurrence) error
	Occurrence(ctx context.Context, id string) (Occurrence, error)
	// UpdateOccurrence writes o's state (status, outcome, follow-through,
	// update time) if its status is still fromStatus, and reports whether
	// it did (compare-and-set). Nothing else of an occurrence is written.
	UpdateOccurrence(ctx context.Context, o Occurrence, fromStatus string) (bool, error)
	// MoveOccurrence writes o's due time and update time, likewise.
	MoveOccurrence(ctx context.Context, o Occurrence, fromStatus string) (bool, error)
	ListOccurrences(ctx context.Context, relID string, f OccurrenceFilter, pr page.Request) ([]Occurrence, error)
	// CancelOpenOccurrences cancels a promise's open occurrences due at or
	// after from.
	CancelOpenOccurrences(ctx context.Context, relID, promiseID string, from, at time.Time) error
	// OpenOccurrencesOf lists a promise's open occurrences due at or after from.
	OpenOccurrencesOf(ctx context.Context, relID, promiseID string, from time.Time) ([]Occurrence, error)
	// LiveOccurrencesOf lists a promise's occurrences due at or after
	// from that are not cancelled, by due time.
	LiveOccurrencesOf(ctx context.Context, relID, promiseID string, from time.Time) ([]Occurrence, error)
	// InstantHeld reports whether an occurrence of the promise other than
	// except, and not cancelled, is due at due.
	InstantHeld(ctx context.Context, relID, promiseID string, due time.Time, except string) (bool, error)
	// ToRemind lists open occurrences not yet announced as due soon (kind
	// "due_soon": within their relationship's remind_minutes of the due
	// time) or as overdue (kind "overdue": past the due time).
	ToRemind(ctx context.Context, kind string, now time.Time, limit int) ([]Occurrence, error)
	// MarkReminded records the announcement once and reports whether this
	// call did it.
	MarkReminded(ctx context.Context, o Occurrence, kind string, at time.Time) (bool, error)
	// OverdueOccurrences lists open occurrences whose due time plus their
	// relationship's grace lies before now.
	OverdueOccurrences(ctx context.Context, now time.Time, limit int) ([]Occurrence, error)

	CreateFollowThrough(ctx context.Context, f FollowThrough) error
	FollowThrough(ctx context.Context, id string) (FollowThrough, error)
	// UpdateFollowThrough writes f if its verification is still
	// fromVerification and it is not superseded (compare-and-set).
	UpdateFollowThrough(ctx context.Context, f FollowThrough, fromVerification string) (bool, error)
	ListFollowThroughs(ctx context.Context, relID, occurrenceID string, pr page.Request) ([]FollowThrough, error)
	// Unanswered lists unverified follow-throughs whose dispute window
	// ended at or before now.
	Unanswered(ctx context.Context, now time.Time, limit int) ([]FollowThrough, error)

	CreateRenegotiation(ctx context.Context, r Renegotiation) error
	Renegotiation(ctx context.Context, id string) (Renegotiation, error)
	PendingRenegotiation(ctx context.Context, relID, occurrenceID string) (Renegotiation, error)
	// Replaced reports whether an accepted late renegotiation gave the
	// occurrence a successor.
	Replaced(ctx context.Context, relID, occurrenceID string) (bool, error)
	// PendingRenegotiationsOf lists the proposals of a promise still
	// waiting for an answer.
	PendingRenegotiationsOf(ctx context.Context, relID, promiseID string) ([]Renegotiation, error)
	UpdateRenegotiation(ctx context.Context, r Renegotiation, fromStatus string) (bool, error)
	// ListRenegotiations lists a relationship's proposals, or one
	// occurrence's (occurrenceID not empty), in one status if not empty.
	ListRenegotiations(ctx context.Context, relID, occurrenceID, status string, pr page.Request) ([]Renegotiation, error)

	CreatePause(ctx context.Context, p Pause) error
	ListPauses(ctx context.Context, relID, promiseID string, pr page.Request) ([]Pause, error)
	// PausesOf returns every pause of a promise.
	PausesOf(ctx context.Context, relID, promiseID string) ([]Pause, error)

	// Rescore refreshes the score aggregates of a member and a promise
	// after a change to what happened at t.
	Rescore(ctx context.Context, rel relationship.Relationship, memberID, promiseID string, t, now time.Time) error
	// RescoreResolved is Rescore for o, just resolved from open by ft
	// (nothing else of its day changed): the aggregates may take the one
	// item it adds without reading the day again, so o must be as read in
	// this transaction (its due time places the item).
	RescoreResolved(ctx context.Context, rel relationship.Relationship, o Occurrence, ft FollowThrough, now time.Time) error
	// Emit records an event with a snapshot of resource, in the transaction.
	Emit(ctx context.Context, e event.Event, resource any) error
}
