// Package apikey holds personal API keys: long-lived secrets (troth_sk_…)
// with which a service acts for a user, scoped read or write, shown once,
// stored only as a hash, and revocable.
package apikey

import (
	"context"
	"time"

	"github.com/troth-app/troth/internal/page"
)

// Scopes a key may carry: read allows only safe methods (GET, HEAD); write
// allows everything a user token allows except managing API keys.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// SecretPrefix starts every API key secret, so that a bearer value can be
// told from an access token at a glance (and found by secret scanners).
const SecretPrefix = "troth_sk_"

// Key is a personal API key. Only a hash of its secret is kept.
type Key struct {
	ID     string
	UserID string
	Name   string
	// Prefix is the start of the secret, shown in lists so that people can
	// tell their keys apart; it is too short to use.
	Prefix     string
	Scope      string
	Hash       []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Store is what the API key service needs from storage.
type Store interface {
	Create(ctx context.Context, k Key) error
	// ByHash finds a key, revoked or not, by the hash of its secret.
	ByHash(ctx context.Context, hash []byte) (Key, error)
	// ListActive lists a user's keys that are not revoked, by id, after p.After.
	ListActive(ctx context.Context, userID string, p page.Request) ([]Key, error)
	// Active finds a user's unrevoked key by id; not_found otherwise.
	Active(ctx context.Context, userID, id string) (Key, error)
	// Revoke sets revoked_at on a user's unrevoked key; not_found otherwise.
	Revoke(ctx context.Context, userID, id string, at time.Time) error
	// Touch sets last_used_at to at unless it is already at or after since.
	Touch(ctx context.Context, id string, at, since time.Time) error
}
