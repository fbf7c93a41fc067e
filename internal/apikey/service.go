package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/page"
)

// Limits and tunings.
const (
	maxName     = 100
	secretBytes = 32
	// shownPrefix is how much of the secret lists show: the fixed prefix
	// and 6 characters (36 bits), enough to tell keys apart, far too few to guess the rest.
	shownPrefix = len(SecretPrefix) + 6
	// touchEvery bounds how often a key's last_used_at is written: a key
	// used for every request of a busy service must not turn reads into writes.
	touchEvery = time.Minute
)

var errInvalidKey = fault.Unauthenticated("invalid_token", "the API key is invalid or revoked")

// Service implements the API key use cases.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns an API key service. now is the clock.
func NewService(store Store, now func() time.Time) *Service {
	// Times are stored to the microsecond: answer with what a later read returns.
	micro := func() time.Time { return now().UTC().Truncate(time.Microsecond) }
	return &Service{store: store, now: micro}
}

// Input is what Create takes.
type Input struct {
	Name  string
	Scope string
}

// Create makes a key for the user and returns it with its secret, which is
// not kept and cannot be shown again.
func (s *Service) Create(ctx context.Context, userID string, in Input) (Key, string, error) {
	var v fault.Validation
	name := strings.TrimSpace(in.Name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		v.Add("name", "required", "is required")
	case n > maxName:
		v.Add("name", "too_long", fmt.Sprintf("must be at most %d characters", maxName))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		v.Add("name", "invalid", "must not contain control characters")
	}
	switch in.Scope {
	case ScopeRead, ScopeWrite:
	case "":
		v.Add("scope", "required", "is required: read or write")
	default:
		v.Add("scope", "invalid_scope", "must be read or write")
	}
	if err := v.Err(); err != nil {
		return Key{}, "", err
	}
	secret, err := newSecret()
	if err != nil {
		return Key{}, "", fault.Internal(err)
	}
	k := Key{
		ID: id.New(id.APIKey), UserID: userID, Name: name, Prefix: secret[:shownPrefix], Scope: in.Scope,
		Hash: Hash(secret), CreatedAt: s.now(),
	}
	if err := s.store.Create(ctx, k); err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", err)
	}
	return k, secret, nil
}

// List returns one page of the user's keys that are not revoked.
func (s *Service) List(ctx context.Context, userID string, p page.Request) (page.Result[Key], error) {
	ks, err := s.store.ListActive(ctx, userID, page.Request{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return page.Result[Key]{}, err
	}
	return page.Cut(ks, p.Limit, func(k Key) []string { return []string{k.ID} }), nil
}

// Revoke makes one of the user's keys unusable at once. Another user's key,
// an unknown id and an already revoked key are all not_found. precondition,
// if not nil, may refuse the revocation of a key that exists (If-Match);
// it is asked only then, so that an unknown key stays not_found.
func (s *Service) Revoke(ctx context.Context, userID, keyID string, precondition func() error) error {
	if !id.Valid(keyID, id.APIKey) {
		return fault.NotFound("API key")
	}
	if precondition != nil {
		if _, err := s.store.Active(ctx, userID, keyID); err != nil {
			return err
		}
		if err := precondition(); err != nil {
			return err
		}
	}
	return s.store.Revoke(ctx, userID, keyID, s.now())
}

// Authenticate returns the unrevoked key whose secret this is, and records
// its use (at most once a minute per key).
//
// Every call costs one indexed read by hash. Keys are not cached: a cache
// would be per instance and would let a revoked key work until its entry
// expired, and the read is cheap next to the request it authorizes.
func (s *Service) Authenticate(ctx context.Context, secret string) (Key, error) {
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) != len(SecretPrefix)+base64.RawURLEncoding.EncodedLen(secretBytes) {
		return Key{}, errInvalidKey
	}
	k, err := s.store.ByHash(ctx, Hash(secret))
	if fault.Is(err, "not_found") {
		return Key{}, errInvalidKey
	}
	if err != nil {
		return Key{}, fmt.Errorf("look up API key: %w", err)
	}
	if k.RevokedAt != nil {
		return Key{}, errInvalidKey
	}
	now := s.now()
	since := now.Add(-touchEvery)
	// The row just read says whether a write is due, so most requests
	// write nothing; the store's condition settles races between instances.
	if k.LastUsedAt == nil || k.LastUsedAt.Before(since) {
		if err := s.store.Touch(ctx, k.ID, now, since); err != nil {
			return Key{}, fmt.Errorf("record API key use: %w", err)
		}
		k.LastUsedAt = &now
	}
	return k, nil
}

// Hash is the SHA-256 of a secret. Secrets carry 256 random bits, so a fast
// hash is enough: there is nothing to guess that a slow hash would protect.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("API key entropy: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}
