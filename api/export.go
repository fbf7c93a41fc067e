package api

import "time"

// Export is everything a person has written in troth and everything about
// them, from GET /v1/me/export. Other members appear only as the API
// shows them to a member: by id and display name.
type Export struct {
	// When the export was made.
	ExportedAt time.Time `json:"exported_at" validate:"required" format:"date-time"`
	User       User      `json:"user" validate:"required"`
	// Every relationship the person belongs or belonged to, by id.
	Relationships []ExportRelationship `json:"relationships" validate:"required"`
	// The active API keys, without their secrets.
	APIKeys []APIKey `json:"api_keys" validate:"required"`
	// The webhook endpoints, without their secrets.
	Webhooks []Webhook `json:"webhooks" validate:"required"`
} // @name Export

// ExportMembership is the person's membership of a relationship.
type ExportMembership struct {
	Role string `json:"role" validate:"required" enums:"owner,member" example:"owner"`
	// When the person joined; for one who left and joined again, the latest time (see periods).
	JoinedAt time.Time `json:"joined_at" validate:"required" format:"date-time"`
	// When the person left; null while they are a member.
	LeftAt *time.Time `json:"left_at" validate:"required" format:"date-time" extensions:"x-nullable"`
	// Every time the person belonged to the relationship, oldest first: more than one for a member who left and was invited back. The last is the one joined_at and left_at describe.
	Periods []ExportMembershipPeriod `json:"periods" validate:"required"`
} // @name ExportMembership

// ExportMembershipPeriod is one stretch of time the person belonged to a relationship.
type ExportMembershipPeriod struct {
	JoinedAt time.Time `json:"joined_at" validate:"required" format:"date-time"`
	// When this period ended; null for the one still going on.
	LeftAt *time.Time `json:"left_at" validate:"required" format:"date-time" extensions:"x-nullable"`
} // @name ExportMembershipPeriod

// ExportRelationship is one relationship with what in it concerns the person.
type ExportRelationship struct {
	RelationshipID string `json:"relationship_id" validate:"required" example:"rel_01jq3v5n8xk2m4p6r8t0w2y4a6"`
	// The relationship as it is now; null once the person left it: what it
	// became since (its name, settings, members) is no longer theirs to see.
	Relationship *Relationship    `json:"relationship" validate:"required" extensions:"x-nullable"`
	Membership   ExportMembership `json:"membership" validate:"required"`
	// Promises the person made or that were made to them.
	Promises []Promise `json:"promises" validate:"required"`
	// Occurrences of those promises.
	Occurrences []Occurrence `json:"occurrences" validate:"required"`
	// Follow-throughs the person recorded or on those promises.
	FollowThroughs []FollowThrough `json:"follow_throughs" validate:"required"`
	// Renegotiations the person proposed or of those promises.
	Renegotiations []Renegotiation `json:"renegotiations" validate:"required"`
	// Pauses the person created or of those promises.
	Pauses []Pause `json:"pauses" validate:"required"`
	// Breaches by the person or recorded by them.
	Breaches []Breach `json:"breaches" validate:"required"`
	// Check-ins the person wrote or that are about them.
	CheckIns []CheckIn `json:"check_ins" validate:"required"`
	// The person's member score now; null once they left.
	Score *Score `json:"score" validate:"required" extensions:"x-nullable"`
} // @name ExportRelationship
