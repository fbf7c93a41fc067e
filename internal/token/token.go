// Package token issues and verifies troth's access tokens: JWTs signed with
// Ed25519 (EdDSA), carrying a kid header, with the signing keys kept in the
// database so that every instance signs and verifies with the same set and a
// rotation keeps old public keys until their tokens have expired.
package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/troth-app/troth/internal/fault"
)

// Algorithm is the only JWS algorithm troth signs with and accepts.
const Algorithm = "EdDSA"

// Key is one Ed25519 signing key pair.
type Key struct {
	KID       string
	Private   ed25519.PrivateKey
	Public    ed25519.PublicKey
	CreatedAt time.Time
	RetiredAt *time.Time
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// SigningKeys returns every stored key.
	SigningKeys(ctx context.Context) ([]Key, error)
	// AddSigningKey retires the active key (if any) at k.CreatedAt and
	// stores k as the active one, in one transaction. If another instance
	// added an active key concurrently it returns a conflict.
	AddSigningKey(ctx context.Context, k Key) error
	// PurgeSigningKeys deletes keys retired before the given time.
	PurgeSigningKeys(ctx context.Context, retiredBefore time.Time) error
}

// Config sets the claims and lifetimes of access tokens.
type Config struct {
	Issuer   string
	Audience string
	TTL      time.Duration
	// Leeway tolerates clock skew between instances and clients.
	Leeway time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Claims are the verified facts an access token carries.
type Claims struct {
	Subject   string
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Service signs and verifies access tokens.
type Service struct {
	cfg   Config
	store KeyStore

	mu       sync.RWMutex
	keys     map[string]Key
	active   Key
	loadedAt time.Time
	loading  atomic.Bool
	lastMiss atomic.Int64 // unix nanos of the last reload for an unknown kid

	cache *claimsCache
}

// reloadEvery bounds how long an instance keeps signing with a key another
// instance has rotated out.
const reloadEvery = 30 * time.Second

// New loads the signing keys, creating the first one if there is none.
func New(ctx context.Context, cfg Config, store KeyStore) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	s := &Service{cfg: cfg, store: store, cache: newClaimsCache(50_000)}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	if s.active.KID == "" {
		if _, err := Rotate(ctx, store, cfg.Now()); err != nil && !fault.Is(err, "already_exists") {
			return nil, fmt.Errorf("create first signing key: %w", err)
		}
		if err := s.reload(ctx); err != nil {
			return nil, err
		}
		if s.active.KID == "" {
			return nil, errors.New("no active signing key after creating one")
		}
	}
	return s, nil
}

// Rotate makes a new signing key the active one; the old one stays
// published until the tokens it signed have expired.
func Rotate(ctx context.Context, store KeyStore, now time.Time) (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	kidBytes := make([]byte, 12)
	if _, err := rand.Read(kidBytes); err != nil {
		return Key{}, err
	}
	k := Key{
		KID:       base64.RawURLEncoding.EncodeToString(kidBytes),
		Private:   priv,
		Public:    pub,
		CreatedAt: now.UTC(),
	}
	if err := store.AddSigningKey(ctx, k); err != nil {
		return Key{}, err
	}
	return k, nil
}

func (s *Service) reload(ctx context.Context) error {
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	m := make(map[string]Key, len(keys))
	var active Key
	for _, k := range keys {
		m[k.KID] = k
		if k.RetiredAt == nil && k.CreatedAt.After(active.CreatedAt) {
			active = k
		}
	}
	s.mu.Lock()
	s.keys, s.active, s.loadedAt = m, active, s.cfg.Now()
	s.mu.Unlock()
	return nil
}

// maybeReload refreshes the keys in the caller's goroutine when they are
// older than reloadEvery; concurrent callers go on with the keys they have.
func (s *Service) maybeReload(ctx context.Context) {
	s.mu.RLock()
	stale := s.cfg.Now().Sub(s.loadedAt) > reloadEvery
	s.mu.RUnlock()
	if stale && s.loading.CompareAndSwap(false, true) {
		defer s.loading.Store(false)
		_ = s.reload(ctx) // on error the current keys stay in use
	}
}

type jwtClaims struct {
	jwt.RegisteredClaims
}

// Issue signs an access token for the user.
func (s *Service) Issue(ctx context.Context, userID string) (string, time.Time, error) {
	s.maybeReload(ctx)
	s.mu.RLock()
	key := s.active
	s.mu.RUnlock()
	now := s.cfg.Now().UTC().Truncate(time.Second)
	exp := now.Add(s.cfg.TTL)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwtClaims{jwt.RegisteredClaims{
		Issuer:    s.cfg.Issuer,
		Subject:   userID,
		Audience:  jwt.ClaimStrings{s.cfg.Audience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
		ID:        base64.RawURLEncoding.EncodeToString(jti),
	}})
	t.Header["kid"] = key.KID
	signed, err := t.SignedString(key.Private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return signed, exp, nil
}

var errInvalid = fault.Unauthenticated("invalid_token", "the access token is invalid or expired")

// Verify checks an access token and returns its claims. A token verified
// once is remembered until it expires (Ed25519 verification costs ~65 µs);
// expiry is still checked on every use.
func (s *Service) Verify(ctx context.Context, raw string) (Claims, error) {
	now := s.cfg.Now()
	if c, ok := s.cache.get(raw); ok {
		if now.Before(c.ExpiresAt.Add(s.cfg.Leeway)) {
			return c, nil
		}
		s.cache.remove(raw)
		return Claims{}, errInvalid
	}
	var jc jwtClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(s.cfg.Leeway),
		jwt.WithTimeFunc(s.cfg.Now),
	)
	_, err := parser.ParseWithClaims(raw, &jc, func(t *jwt.Token) (any, error) {
		if typ, ok := t.Header["typ"]; ok && typ != "JWT" {
			return nil, errors.New("unexpected typ")
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("missing kid")
		}
		k, ok := s.lookup(ctx, kid)
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return k.Public, nil
	})
	if err != nil || jc.Subject == "" || jc.ID == "" || jc.IssuedAt == nil {
		return Claims{}, errInvalid
	}
	c := Claims{Subject: jc.Subject, ID: jc.ID, IssuedAt: jc.IssuedAt.Time, ExpiresAt: jc.ExpiresAt.Time}
	s.cache.put(raw, c)
	return c, nil
}

// lookup finds a public key by kid, reloading at most once a second for a
// kid this instance has not seen (another instance may have rotated).
func (s *Service) lookup(ctx context.Context, kid string) (Key, bool) {
	s.mu.RLock()
	k, ok := s.keys[kid]
	s.mu.RUnlock()
	if ok {
		return k, s.published(k)
	}
	now := s.cfg.Now().UnixNano()
	last := s.lastMiss.Load()
	if now-last < int64(time.Second) || !s.lastMiss.CompareAndSwap(last, now) {
		return Key{}, false
	}
	if err := s.reload(ctx); err != nil {
		return Key{}, false
	}
	s.mu.RLock()
	k, ok = s.keys[kid]
	s.mu.RUnlock()
	return k, ok && s.published(k)
}

// published reports whether a key's tokens can still be valid: it is active,
// or it was retired less than a token lifetime (plus leeway) ago.
func (s *Service) published(k Key) bool {
	return k.RetiredAt == nil || s.cfg.Now().Before(k.RetiredAt.Add(s.cfg.TTL+s.cfg.Leeway+reloadEvery))
}

// JWK is one public key in JSON Web Key form (RFC 8037 for Ed25519).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the public keys that verify currently valid tokens, newest first.
func (s *Service) JWKS(ctx context.Context) []JWK {
	s.maybeReload(ctx)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var keys []Key
	for _, k := range s.keys {
		if s.published(k) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].CreatedAt.After(keys[j].CreatedAt) })
	out := make([]JWK, 0, len(keys))
	for _, k := range keys {
		out = append(out, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Public), Kid: k.KID, Alg: Algorithm, Use: "sig"})
	}
	return out
}
