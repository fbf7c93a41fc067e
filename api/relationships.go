package api

import "time"

// RelationshipSettings tune scoring and scheduling in a relationship.
type RelationshipSettings struct {
	// Half-life of the consistency score's memory, in days (7–365).
	HalfLifeDays int `json:"half_life_days" validate:"required" example:"30"`
	// Minutes after a due time during which keeping a promise still counts as on time (0–10080).
	GraceMinutes int `json:"grace_minutes" validate:"required" example:"60"`
	// Hours the promisee has to confirm or dispute a follow-through before it counts as accepted (1–720).
	DisputeWindowHours int `json:"dispute_window_hours" validate:"required" example:"72"`
	// Minutes before a due time at which an occurrence.due_soon reminder fires (0–10080).
	RemindMinutes int `json:"remind_minutes" validate:"required" example:"60"`
	// The score at which trust counts as back (0.40–0.95).
	TargetScore float64 `json:"target_score" format:"double" validate:"required" example:"0.75"`
	// Length of the patience window after a breach, in days (7–3650).
	PatienceDays int `json:"patience_days" validate:"required" example:"90"`
} // @name RelationshipSettings

// RelationshipSettingsInput changes settings; absent fields keep their value.
type RelationshipSettingsInput struct {
	HalfLifeDays       *int     `json:"half_life_days,omitempty" minimum:"7" maximum:"365" example:"30"`
	GraceMinutes       *int     `json:"grace_minutes,omitempty" minimum:"0" maximum:"10080" example:"60"`
	DisputeWindowHours *int     `json:"dispute_window_hours,omitempty" minimum:"1" maximum:"720" example:"72"`
	RemindMinutes      *int     `json:"remind_minutes,omitempty" minimum:"0" maximum:"10080" example:"60"`
	TargetScore        *float64 `json:"target_score,omitempty" format:"double" minimum:"0.4" maximum:"0.95" example:"0.75"`
	PatienceDays       *int     `json:"patience_days,omitempty" minimum:"7" maximum:"3650" example:"90"`
} // @name RelationshipSettingsInput

// Member is a current member of a relationship.
type Member struct {
	UserID      string `json:"user_id" validate:"required" example:"usr_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	DisplayName string `json:"display_name" validate:"required" example:"Ana"`
	// "owner" for the creator, "member" for those who joined by invite.
	Role     string    `json:"role" validate:"required" enums:"owner,member" example:"owner"`
	JoinedAt time.Time `json:"joined_at" validate:"required" format:"date-time"`
} // @name Member

// Relationship is the space in which two people rebuild trust.
type Relationship struct {
	ID   string `json:"id" validate:"required" example:"rel_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	Name string `json:"name" validate:"required" example:"Ana & Ben"`
	// The other person's name until they join; null when unset.
	PartnerName *string              `json:"partner_name" validate:"required" extensions:"x-nullable" example:"Ben"`
	TimeZone    string               `json:"time_zone" validate:"required" example:"Europe/Berlin"`
	Settings    RelationshipSettings `json:"settings" validate:"required"`
	// active, or archived (read-only).
	Status     string     `json:"status" validate:"required" enums:"active,archived" example:"active"`
	CreatedBy  string     `json:"created_by" validate:"required"`
	Members    []Member   `json:"members" validate:"required"`
	CreatedAt  time.Time  `json:"created_at" validate:"required" format:"date-time"`
	UpdatedAt  time.Time  `json:"updated_at" validate:"required" format:"date-time"`
	ArchivedAt *time.Time `json:"archived_at" validate:"required" format:"date-time" extensions:"x-nullable"`
} // @name Relationship

// CreateRelationshipRequest creates a relationship; the caller becomes its first member.
type CreateRelationshipRequest struct {
	Name     string `json:"name" validate:"required" maxLength:"100" example:"Ana & Ben"`
	TimeZone string `json:"time_zone" validate:"required" example:"Europe/Berlin"`
	// The other person's name, for promises made to them before they join.
	PartnerName *string                    `json:"partner_name,omitempty" maxLength:"100" example:"Ben"`
	Settings    *RelationshipSettingsInput `json:"settings,omitempty"`
} // @name CreateRelationshipRequest

// UpdateRelationshipRequest changes a relationship; absent fields stay as they are.
type UpdateRelationshipRequest struct {
	Name     *string `json:"name,omitempty" maxLength:"100"`
	TimeZone *string `json:"time_zone,omitempty"`
	// An empty string clears the partner name.
	PartnerName *string                    `json:"partner_name,omitempty" maxLength:"100"`
	Settings    *RelationshipSettingsInput `json:"settings,omitempty"`
} // @name UpdateRelationshipRequest

// RelationshipPage is one page of relationships.
type RelationshipPage struct {
	Data []Relationship `json:"data" validate:"required"`
	// Pass as cursor to get the next page; null on the last page.
	NextCursor *string `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name RelationshipPage

// MemberList lists a relationship's current members.
type MemberList struct {
	Data       []Member `json:"data" validate:"required"`
	NextCursor *string  `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name MemberList

// Invite is a single-use code that lets one person join a relationship.
type Invite struct {
	// Names the invite in GET and DELETE /v1/relationships/{id}/invites; the code is not needed for either.
	ID string `json:"id" validate:"required" example:"inv_01jq3v5n8xk2m4p6r8t0w2y4a6"`
	// Share this with the person to invite; it is shown only once.
	Code           string `json:"code" validate:"required" example:"K7Q2-M9XA-3FTB"`
	RelationshipID string `json:"relationship_id" validate:"required"`
	// The member who made it, as the pending invites list it.
	CreatedBy string    `json:"created_by" validate:"required" example:"usr_01jq3v5n8xk2m4p6r8t0w2y4a6"`
	CreatedAt time.Time `json:"created_at" validate:"required" format:"date-time"`
	ExpiresAt time.Time `json:"expires_at" validate:"required" format:"date-time"`
} // @name Invite

// PendingInvite is an invite that can still be accepted, as the members
// see it: never its code, which troth keeps only as a hash.
type PendingInvite struct {
	// Revoke the invite with DELETE /v1/relationships/{id}/invites/{invite_id}.
	ID             string `json:"id" validate:"required" example:"inv_01jq3v5n8xk2m4p6r8t0w2y4a6"`
	RelationshipID string `json:"relationship_id" validate:"required" example:"rel_01jq3v5n8xk2m4p6r8t0w2y4a6"`
	// The member who made it.
	CreatedBy string    `json:"created_by" validate:"required" example:"usr_01jq3v5n8xk2m4p6r8t0w2y4a6"`
	CreatedAt time.Time `json:"created_at" validate:"required" format:"date-time"`
	ExpiresAt time.Time `json:"expires_at" validate:"required" format:"date-time"`
} // @name PendingInvite

// PendingInvitePage is one page of a relationship's pending invites.
type PendingInvitePage struct {
	Data []PendingInvite `json:"data" validate:"required"`
	// Pass as cursor to get the next page; null on the last page.
	NextCursor *string `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name PendingInvitePage
