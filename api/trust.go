package api

import "time"

// Breach is an acknowledged breach of trust; the latest one starts the rebuilding period.
type Breach struct {
	ID             string `json:"id" validate:"required" example:"brc_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	RelationshipID string `json:"relationship_id" validate:"required"`
	// The member who broke trust.
	MemberID    string    `json:"member_id" validate:"required"`
	RecordedBy  string    `json:"recorded_by" validate:"required"`
	Description string    `json:"description" validate:"required" example:"Forgot the anniversary dinner"`
	Severity    string    `json:"severity" validate:"required" enums:"minor,major,severe"`
	OccurredAt  time.Time `json:"occurred_at" validate:"required" format:"date-time"`
	CreatedAt   time.Time `json:"created_at" validate:"required" format:"date-time"`
} // @name Breach

// CreateBreachRequest records a breach of trust.
type CreateBreachRequest struct {
	MemberID    string `json:"member_id" validate:"required"`
	Description string `json:"description" validate:"required" maxLength:"2000" example:"Forgot the anniversary dinner"`
	Severity    string `json:"severity" validate:"required" enums:"minor,major,severe"`
	// Defaults to now; at most 365 days back.
	OccurredAt *time.Time `json:"occurred_at,omitempty" format:"date-time"`
} // @name CreateBreachRequest

// BreachPage is one page of breaches, oldest first.
type BreachPage struct {
	Data       []Breach `json:"data" validate:"required"`
	NextCursor *string  `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name BreachPage

// CheckIn is one member's felt trust in another, 0 to 10.
type CheckIn struct {
	ID             string    `json:"id" validate:"required" example:"chk_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	RelationshipID string    `json:"relationship_id" validate:"required"`
	AuthorID       string    `json:"author_id" validate:"required"`
	SubjectID      string    `json:"subject_id" validate:"required"`
	FeltTrust      int       `json:"felt_trust" validate:"required" minimum:"0" maximum:"10" example:"6"`
	Note           string    `json:"note" validate:"required"`
	CreatedAt      time.Time `json:"created_at" validate:"required" format:"date-time"`
} // @name CheckIn

// CreateCheckInRequest records how much the caller trusts another member now.
type CreateCheckInRequest struct {
	SubjectID string `json:"subject_id" validate:"required"`
	FeltTrust *int   `json:"felt_trust" validate:"required" minimum:"0" maximum:"10" example:"6"`
	Note      string `json:"note,omitempty" maxLength:"2000"`
} // @name CreateCheckInRequest

// CheckInPage is one page of check-ins, oldest first.
type CheckInPage struct {
	Data       []CheckIn `json:"data" validate:"required"`
	NextCursor *string   `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name CheckInPage
