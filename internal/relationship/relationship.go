// Package relationship holds the spaces in which trust is rebuilt: their
// settings, members and invites, and the rule that only members see
// anything inside one.
package relationship

import (
	"context"
	"time"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/page"
)

// Statuses of a relationship.
const (
	StatusActive   = "active"
	StatusArchived = "archived"
)

// Settings tune scoring and scheduling in a relationship.
type Settings struct {
	HalfLifeDays       int
	GraceMinutes       int
	DisputeWindowHours int
	RemindMinutes      int
	TargetScore        float64
	PatienceDays       int
}

// DefaultSettings are the settings of a new relationship.
func DefaultSettings() Settings {
	return Settings{HalfLifeDays: 30, GraceMinutes: 60, DisputeWindowHours: 72, RemindMinutes: 60, TargetScore: 0.75, PatienceDays: 90}
}

// Relationship is a space shared by its members.
type Relationship struct {
	ID          string
	Name        string
	PartnerName *string
	TimeZone    string
	Settings    Settings
	Status      string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ArchivedAt  *time.Time
	Members     []Member
}

// HasMember reports whether the user is a current member.
func (r Relationship) HasMember(userID string) bool {
	for _, m := range r.Members {
		if m.UserID == userID {
			return true
		}
	}
	return false
}

// Member is a user in a relationship.
type Member struct {
	RelationshipID string
	UserID         string
	DisplayName    string
	Role           string // "owner" for the creator, "member" otherwise
	JoinedAt       time.Time
	LeftAt         *time.Time
}

// Invite lets one person join a relationship. Only a hash of its code is
// stored; its ID names it to the members who list or revoke it.
type Invite struct {
	ID             string
	RelationshipID string
	CodeHash       []byte
	CreatedBy      string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	UsedAt         *time.Time
	UsedBy         *string
	// RevokedAt is when a member took the invite back; it is then unusable.
	RevokedAt *time.Time
}

// Pending reports whether the invite can still be accepted at now (the
// relationship's own state aside).
func (inv Invite) Pending(now time.Time) bool {
	return inv.UsedAt == nil && inv.RevokedAt == nil && now.Before(inv.ExpiresAt)
}

// Store is what the relationship service needs from storage.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error
	Create(ctx context.Context, r Relationship, owner Member) error
	// Get returns a relationship with its current members.
	Get(ctx context.Context, id string) (Relationship, error)
	// ListFor lists the relationships the user is a current member of, by id.
	ListFor(ctx context.Context, userID string, p page.Request) ([]Relationship, error)
	Update(ctx context.Context, r Relationship) error
	// Membership returns the user's current membership, or not_found.
	Membership(ctx context.Context, relationshipID, userID string) (Member, error)
	// AnyMembership returns the user's membership even if they left.
	AnyMembership(ctx context.Context, relationshipID, userID string) (Member, error)
	AddMember(ctx context.Context, m Member) error
	RejoinMember(ctx context.Context, m Member) error
	LeaveMember(ctx context.Context, relationshipID, userID string, at time.Time) error
	// CancelPromisesOf cancels the active promises a departing member made
	// or was made (upcoming occurrences are never scored).
	CancelPromisesOf(ctx context.Context, relationshipID, userID string, at time.Time) error
	// ArchivePromises archives the active promises of a relationship being
	// archived, with a promise.updated event each: their open occurrences
	// are cancelled (an archived relationship is never scored again) and
	// their pending proposals declined.
	ArchivePromises(ctx context.Context, relationshipID, userID string, at time.Time) error
	CreateInvite(ctx context.Context, inv Invite) error
	InviteByHash(ctx context.Context, hash []byte) (Invite, error)
	// UseInvite marks a pending invite used; false if it was used or
	// revoked meanwhile.
	UseInvite(ctx context.Context, hash []byte, userID string, at time.Time) (bool, error)
	// PendingInvites lists a relationship's invites that can still be
	// accepted at now, by id.
	PendingInvites(ctx context.Context, relationshipID string, now time.Time, p page.Request) ([]Invite, error)
	// RevokeInvite revokes one of a relationship's pending invites at at;
	// not_found if it has none such.
	RevokeInvite(ctx context.Context, relationshipID, inviteID string, at time.Time) error
	// ClaimPartnerPromises makes the user the promisee of the promises made
	// to the not-yet-joined partner, at now, with a promise.updated event
	// each; their unverified follow-throughs may be accepted after
	// acceptAfter; and the relationship's partner_name is cleared.
	ClaimPartnerPromises(ctx context.Context, relationshipID, userID string, acceptAfter, now time.Time) error
	// RescoreAll rebuilds every score aggregate of a relationship from its
	// history (after a change of half-life, grace or time zone).
	RescoreAll(ctx context.Context, relationshipID string) error
	// Emit records an event with a snapshot of resource, in the transaction.
	Emit(ctx context.Context, e event.Event, resource any) error
}
