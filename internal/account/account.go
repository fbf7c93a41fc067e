// Package account holds users and their sessions: registration, login,
// refresh-token rotation with reuse detection, logout, and the caller's own
// profile.
package account

import (
	"context"
	"time"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/relationship"
)

// User is a person with an account.
type User struct {
	ID           string
	Email        string
	DisplayName  string
	TimeZone     string
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// DeletedAt is set when the account was deleted; its personal fields
	// are then erased and it can no longer authenticate.
	DeletedAt *time.Time
}

// RefreshToken is one link of a refresh-token family. Only a hash of the
// token is stored.
type RefreshToken struct {
	ID        string
	FamilyID  string
	UserID    string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// Store is what the account service needs from storage.
type Store interface {
	// InTx runs fn in one write transaction.
	InTx(ctx context.Context, fn func(tx Store) error) error
	CreateUser(ctx context.Context, u User) error
	UserByID(ctx context.Context, id string) (User, error)
	// Active reports whether a user exists and is not deleted.
	Active(ctx context.Context, id string) (bool, error)
	// UserByEmailKey finds a user by lower-cased email.
	UserByEmailKey(ctx context.Context, key string) (User, error)
	UpdateUser(ctx context.Context, u User) error
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error)
	// MarkRefreshTokenUsed sets used_at if it is unset and reports whether it did.
	MarkRefreshTokenUsed(ctx context.Context, id string, at time.Time) (bool, error)
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error

	// RevokeUserSessions revokes every refresh token of a user.
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) error
	// DeleteUserCredentials deletes a user's API keys, webhook endpoints
	// (with their deliveries) and Idempotency-Key records.
	DeleteUserCredentials(ctx context.Context, userID string) error
	// LeaveAll ends every current membership of a user at at.
	LeaveAll(ctx context.Context, userID string, at time.Time) ([]Departure, error)
	// ArchiveRelationship archives an active relationship and returns it;
	// changed is false when it was archived already.
	ArchiveRelationship(ctx context.Context, relID string, at time.Time) (r relationship.Relationship, changed bool, err error)
	// EraseUser writes a deleted user: email (and its key), display name,
	// password hash, deleted_at and updated_at.
	EraseUser(ctx context.Context, u User) error
	// Emit records an event in the transaction.
	Emit(ctx context.Context, e event.Event, resource any) error
	// TouchRelationshipsOf moves updated_at of every relationship a user
	// is a member of now to at, and returns them as they now read.
	TouchRelationshipsOf(ctx context.Context, userID string, at time.Time) ([]relationship.Relationship, error)
}

// Departure is a membership a deleted user left; Alone says nobody else
// is a member any more.
type Departure struct {
	Member relationship.Member
	Alone  bool
}

// Tokens issues access tokens.
type Tokens interface {
	Issue(ctx context.Context, userID string) (token string, expiresAt time.Time, err error)
}

// Session is what a successful register, login or refresh returns.
type Session struct {
	User             User
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}
