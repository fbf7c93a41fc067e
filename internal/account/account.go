// Package account holds users and their sessions: registration, login,
// refresh-token rotation with reuse detection, logout, and the caller's own
// profile.
package account

import (
	"context"
	"time"
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
	// UserByEmailKey finds a user by lower-cased email.
	UserByEmailKey(ctx context.Context, key string) (User, error)
	UpdateUser(ctx context.Context, u User) error
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error)
	// MarkRefreshTokenUsed sets used_at if it is unset and reports whether it did.
	MarkRefreshTokenUsed(ctx context.Context, id string, at time.Time) (bool, error)
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
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
