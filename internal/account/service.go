package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/password"
	"github.com/troth-app/troth/internal/tz"
)

// Service implements the account use cases.
type Service struct {
	store      Store
	hasher     *password.Hasher
	tokens     Tokens
	refreshTTL time.Duration
	now        func() time.Time
}

// NewService returns an account service. now is the clock.
func NewService(store Store, hasher *password.Hasher, tokens Tokens, refreshTTL time.Duration, now func() time.Time) *Service {
	// Times are stored to the microsecond: answer with what a later read returns.
	micro := func() time.Time { return now().UTC().Truncate(time.Microsecond) }
	return &Service{store: store, hasher: hasher, tokens: tokens, refreshTTL: refreshTTL, now: micro}
}

// Limits on user input.
const (
	maxEmail       = 254
	minPassword    = 8
	maxPassword    = 256
	maxDisplayName = 100
)

// Registration is the input of Register.
type Registration struct {
	Email       string
	Password    string
	DisplayName string
	TimeZone    string
}

var errCredentials = fault.Unauthenticated("invalid_credentials", "the email or password is wrong")

// Register creates a user and starts a session.
func (s *Service) Register(ctx context.Context, r Registration) (Session, error) {
	var v fault.Validation
	email := strings.TrimSpace(r.Email)
	checkEmail(&v, email)
	checkPassword(&v, r.Password)
	name := strings.TrimSpace(r.DisplayName)
	checkDisplayName(&v, name)
	if r.TimeZone == "" {
		v.Add("time_zone", "required", "is required: an IANA time zone name such as Europe/Berlin")
	} else {
		v.Check(tz.Valid(r.TimeZone), "time_zone", "invalid_time_zone", "must be an IANA time zone name such as Europe/Berlin")
	}
	if err := v.Err(); err != nil {
		return Session{}, err
	}
	hash, err := s.hasher.Hash(normPassword(r.Password))
	if err != nil {
		return Session{}, fault.Internal(err)
	}
	now := s.now().UTC()
	u := User{
		ID: id.New(id.User), Email: email, DisplayName: name, TimeZone: r.TimeZone,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now,
	}
	var sess Session
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			if fault.Is(err, "already_exists") {
				return fault.Conflict("email_taken", "an account with this email already exists")
			}
			return err
		}
		sess, err = s.startSession(ctx, tx, u, "")
		return err
	})
	return sess, err
}

// Login checks an email and password and starts a session. An unknown email
// and a wrong password get the same answer after the same work.
func (s *Service) Login(ctx context.Context, email, pw string) (Session, error) {
	if len(pw) > maxPassword*4 {
		pw = pw[:maxPassword*4] // bound the hashing work; such a password never matches
	}
	u, ok, err := s.check(ctx, EmailKey(email), pw)
	if err == nil && !ok {
		if legacy := legacyEmailKey(email); legacy != EmailKey(email) {
			// An account whose key migration 0016 could not rewrite (another
			// held the new one) is found by its key as it was made then.
			u, ok, err = s.check(ctx, legacy, pw)
		}
	}
	if err != nil {
		return Session{}, err
	}
	if !ok {
		return Session{}, errCredentials
	}
	var sess Session
	err = s.store.InTx(ctx, func(tx Store) error {
		var err error
		sess, err = s.startSession(ctx, tx, u, "")
		return err
	})
	return sess, err
}

var errRefresh = fault.Unauthenticated("invalid_refresh_token", "the refresh token is invalid, expired or revoked")

// Refresh exchanges a refresh token for a new access token and a new refresh
// token. Presenting a token that was already exchanged revokes its whole
// family: someone else may hold a copy.
func (s *Service) Refresh(ctx context.Context, raw string) (Session, error) {
	hash := hashToken(raw)
	now := s.now().UTC()
	var (
		sess  Session
		reuse bool
	)
	err := s.store.InTx(ctx, func(tx Store) error {
		t, err := tx.RefreshTokenByHash(ctx, hash)
		if err != nil {
			if fault.Is(err, "not_found") {
				return errRefresh
			}
			return err
		}
		if t.RevokedAt != nil || !now.Before(t.ExpiresAt) {
			return errRefresh
		}
		marked := false
		if t.UsedAt == nil {
			if marked, err = tx.MarkRefreshTokenUsed(ctx, t.ID, now); err != nil {
				return err
			}
		}
		if !marked {
			reuse = true
			return tx.RevokeRefreshFamily(ctx, t.FamilyID, now)
		}
		u, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		if u.DeletedAt != nil {
			return errRefresh
		}
		sess, err = s.startSession(ctx, tx, u, t.FamilyID)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	if reuse {
		return Session{}, errRefresh
	}
	return sess, nil
}

// Logout revokes the family of a refresh token. An unknown token is not an
// error: the outcome the caller wants — that token is unusable — holds.
func (s *Service) Logout(ctx context.Context, raw string) error {
	hash := hashToken(raw)
	return s.store.InTx(ctx, func(tx Store) error {
		t, err := tx.RefreshTokenByHash(ctx, hash)
		if fault.Is(err, "not_found") {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.RevokeRefreshFamily(ctx, t.FamilyID, s.now().UTC())
	})
}

// Get returns a user.
func (s *Service) Get(ctx context.Context, userID string) (User, error) {
	return s.store.UserByID(ctx, userID)
}

// Changes are the fields of a profile update; nil leaves a field as it is.
type Changes struct {
	DisplayName *string
	TimeZone    *string
}

// Update changes the caller's profile. precondition, when not nil, sees the
// current user inside the transaction and may refuse the change (If-Match).
func (s *Service) Update(ctx context.Context, userID string, c Changes, precondition func(User) error) (User, error) {
	var v fault.Validation
	if c.DisplayName != nil {
		name := strings.TrimSpace(*c.DisplayName)
		c.DisplayName = &name
		checkDisplayName(&v, name)
	}
	if c.TimeZone != nil {
		v.Check(tz.Valid(*c.TimeZone), "time_zone", "invalid_time_zone", "must be an IANA time zone name such as Europe/Berlin")
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	var u User
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		if u, err = tx.UserByID(ctx, userID); err != nil {
			return err
		}
		if precondition != nil {
			if err := precondition(u); err != nil {
				return err
			}
		}
		changed, before := false, u.DisplayName
		if c.DisplayName != nil && *c.DisplayName != u.DisplayName {
			u.DisplayName, changed = *c.DisplayName, true
		}
		if c.TimeZone != nil && *c.TimeZone != u.TimeZone {
			u.TimeZone, changed = *c.TimeZone, true
		}
		if !changed {
			return nil
		}
		renamed := c.DisplayName != nil && *c.DisplayName == u.DisplayName && u.DisplayName != before
		u.UpdatedAt = s.now().UTC()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if !renamed {
			return nil
		}
		// Every relationship lists its members by name: each changes,
		// and says so.
		rels, err := tx.TouchRelationshipsOf(ctx, userID, u.UpdatedAt)
		if err != nil {
			return err
		}
		for _, r := range rels {
			ev := event.Event{Type: event.RelationshipUpdated, RelationshipID: r.ID, ActorID: userID, CreatedAt: u.UpdatedAt}
			if err := tx.Emit(ctx, ev, r); err != nil {
				return err
			}
		}
		return nil
	})
	return u, err
}

func (s *Service) startSession(ctx context.Context, tx Store, u User, family string) (Session, error) {
	raw, err := newRefreshToken()
	if err != nil {
		return Session{}, fault.Internal(err)
	}
	now := s.now().UTC()
	rt := RefreshToken{
		ID: id.New(id.Session), FamilyID: family, UserID: u.ID, Hash: hashToken(raw),
		CreatedAt: now, ExpiresAt: now.Add(s.refreshTTL),
	}
	if rt.FamilyID == "" {
		rt.FamilyID = rt.ID
	}
	if err := tx.CreateRefreshToken(ctx, rt); err != nil {
		return Session{}, err
	}
	access, exp, err := s.tokens.Issue(ctx, u.ID)
	if err != nil {
		return Session{}, fault.Internal(err)
	}
	return Session{User: u, AccessToken: access, AccessExpiresAt: exp, RefreshToken: raw, RefreshExpiresAt: rt.ExpiresAt}, nil
}

func newRefreshToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("refresh token entropy: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// EmailKey is what makes two emails one account's: the address in Unicode
// NFC (an ä typed as a + a combining umlaut is the same ä), its domain in
// Unicode rather than punycode (xn--mnchen-3ya.de is münchen.de), in lower
// case.
func EmailKey(email string) string {
	e := norm.NFC.String(strings.TrimSpace(email))
	if i := strings.LastIndexByte(e, '@'); i >= 0 {
		if d, err := idna.Lookup.ToUnicode(e[i+1:]); err == nil {
			e = e[:i+1] + d
		}
	}
	return strings.ToLower(e)
}

// legacyEmailKey is how keys were made before EmailKey: the address in
// lower case.
func legacyEmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// check finds the account under key and checks pw against it, with the
// same work whether there is one or not; ok is false for a wrong password
// and for no (or a deleted) account alike.
func (s *Service) check(ctx context.Context, key, pw string) (User, bool, error) {
	u, err := s.store.UserByEmailKey(ctx, key)
	if err != nil && !fault.Is(err, "not_found") {
		return User{}, false, err
	}
	found := err == nil && u.DeletedAt == nil // a deleted account answers like an unknown one
	if !found {
		u = User{}
	}
	ok, verr := s.hasher.Verify(normPassword(pw), u.PasswordHash) // empty hash when not found: the dummy
	if verr == nil && !ok && normPassword(pw) != pw {
		// Hashed before passwords were normalized, as typed (an unknown
		// account spends the same second hash on the dummy).
		ok, verr = s.hasher.Verify(pw, u.PasswordHash)
	}
	if verr != nil {
		return User{}, false, fault.Internal(verr)
	}
	return u, ok && found, nil
}

// normPassword is the form a password is hashed in: Unicode NFKC, as NIST
// SP 800-63B asks, so that the same text typed on another keyboard (é as
// one character or as e and an accent) is the same password.
func normPassword(pw string) string { return norm.NFKC.String(pw) }

func checkEmail(v *fault.Validation, email string) {
	if email == "" {
		v.Add("email", "required", "is required")
		return
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > maxEmail || a.Name != "" {
		v.Add("email", "invalid_email", "must be a plain email address such as ana@example.com")
	}
}

func checkPassword(v *fault.Validation, pw string) {
	n := utf8.RuneCountInString(normPassword(pw)) // as it is hashed
	switch {
	case pw == "":
		v.Add("password", "required", "is required")
	case n < minPassword:
		v.Add("password", "too_short", fmt.Sprintf("must be at least %d characters", minPassword))
	case n > maxPassword:
		v.Add("password", "too_long", fmt.Sprintf("must be at most %d characters", maxPassword))
	}
}

func checkDisplayName(v *fault.Validation, name string) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		v.Add("display_name", "required", "is required")
	case n > maxDisplayName:
		v.Add("display_name", "too_long", fmt.Sprintf("must be at most %d characters", maxDisplayName))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		v.Add("display_name", "invalid", "must not contain control characters")
	}
}
