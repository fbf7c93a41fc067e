package relationship

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/tz"
)

// InviteTTL is how long an invite code can be used.
const InviteTTL = 7 * 24 * time.Hour

// Service implements the relationship use cases.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a relationship service; now is the clock.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Input is a new relationship, or changes to one (nil fields stay as they are).
type Input struct {
	Name        *string
	TimeZone    *string
	PartnerName *string // "" clears it
	Settings    SettingsInput
}

// SettingsInput holds optional settings.
type SettingsInput struct {
	HalfLifeDays       *int
	GraceMinutes       *int
	DisputeWindowHours *int
	RemindMinutes      *int
	TargetScore        *float64
	PatienceDays       *int
}

var errArchived = fault.Conflict("relationship_archived", "the relationship is archived and can no longer change")

// ErrArchived is returned for writes into an archived relationship.
func ErrArchived() error { return errArchived }

// Create makes a relationship whose only member is its creator.
func (s *Service) Create(ctx context.Context, userID string, in Input) (Relationship, error) {
	now := s.now()
	r := Relationship{ID: id.New(id.Relationship), Settings: DefaultSettings(), Status: StatusActive, CreatedBy: userID, CreatedAt: now, UpdatedAt: now}
	var v fault.Validation
	if in.Name == nil {
		v.Add("name", "required", "is required")
	}
	if in.TimeZone == nil {
		v.Add("time_zone", "required", "is required")
	}
	apply(&r, in, &v)
	if err := v.Err(); err != nil {
		return Relationship{}, err
	}
	owner := Member{RelationshipID: r.ID, UserID: userID, Role: "owner", JoinedAt: now}
	var out Relationship
	err := s.store.InTx(ctx, func(tx Store) error {
		if err := tx.Create(ctx, r, owner); err != nil {
			return err
		}
		var err error
		if out, err = tx.Get(ctx, r.ID); err != nil {
			return err
		}
		return tx.Emit(ctx, event.Event{Type: event.RelationshipCreated, RelationshipID: r.ID, ActorID: userID, CreatedAt: now}, out)
	})
	return out, err
}

// apply validates in and copies it onto r.
func apply(r *Relationship, in Input, v *fault.Validation) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		checkText(v, "name", name, 1, 100)
		r.Name = name
	}
	if in.TimeZone != nil {
		v.Check(tz.Valid(*in.TimeZone), "time_zone", "invalid_time_zone", "must be an IANA time zone name such as Europe/Berlin")
		r.TimeZone = *in.TimeZone
	}
	if in.PartnerName != nil {
		name := strings.TrimSpace(*in.PartnerName)
		if name == "" {
			r.PartnerName = nil
		} else {
			checkText(v, "partner_name", name, 1, 100)
			r.PartnerName = &name
		}
	}
	st := in.Settings
	setInt(v, &r.Settings.HalfLifeDays, st.HalfLifeDays, "settings.half_life_days", 7, 365)
	setInt(v, &r.Settings.GraceMinutes, st.GraceMinutes, "settings.grace_minutes", 0, 7*24*60)
	setInt(v, &r.Settings.DisputeWindowHours, st.DisputeWindowHours, "settings.dispute_window_hours", 1, 30*24)
	setInt(v, &r.Settings.RemindMinutes, st.RemindMinutes, "settings.remind_minutes", 0, 7*24*60)
	setInt(v, &r.Settings.PatienceDays, st.PatienceDays, "settings.patience_days", 7, 3650)
	if st.TargetScore != nil {
		t := *st.TargetScore
		v.Check(t >= 0.4 && t <= 0.95, "settings.target_score", "out_of_range", "must be between 0.4 and 0.95")
		r.Settings.TargetScore = t
	}
}

func setInt(v *fault.Validation, dst *int, src *int, field string, lo, hi int) {
	if src == nil {
		return
	}
	v.Check(*src >= lo && *src <= hi, field, "out_of_range", fmt.Sprintf("must be between %d and %d", lo, hi))
	*dst = *src
}

// checkText validates a trimmed text field's length and characters.
func checkText(v *fault.Validation, field, s string, min, max int) {
	switch n := utf8.RuneCountInString(s); {
	case n < min && min > 0 && n == 0:
		v.Add(field, "required", "must not be empty")
	case n < min:
		v.Add(field, "too_short", fmt.Sprintf("must be at least %d characters", min))
	case n > max:
		v.Add(field, "too_long", fmt.Sprintf("must be at most %d characters", max))
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		v.Add(field, "invalid", "must not contain control characters")
	}
}

// CheckText is checkText for other packages: a trimmed text of min..max
// characters without control characters (newlines and tabs allowed).
func CheckText(v *fault.Validation, field, s string, min, max int) { checkText(v, field, s, min, max) }

// Get returns a relationship the user is a member of; anything else is
// not_found, whether it exists or not.
func (s *Service) Get(ctx context.Context, userID, relID string) (Relationship, error) {
	if _, err := s.Member(ctx, relID, userID); err != nil {
		return Relationship{}, err
	}
	return s.store.Get(ctx, relID)
}

// Member returns the user's current membership, or not_found for the
// relationship (never revealing that it exists).
func (s *Service) Member(ctx context.Context, relID, userID string) (Member, error) {
	if !id.Valid(relID, id.Relationship) {
		return Member{}, fault.NotFound("relationship")
	}
	m, err := s.store.Membership(ctx, relID, userID)
	if fault.Is(err, "not_found") {
		return Member{}, fault.NotFound("relationship")
	}
	return m, err
}

// List returns a page of the user's relationships.
func (s *Service) List(ctx context.Context, userID string, p page.Request) (page.Result[Relationship], error) {
	rs, err := s.store.ListFor(ctx, userID, page.Request{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return page.Result[Relationship]{}, err
	}
	return page.Cut(rs, p.Limit, func(r Relationship) []string { return []string{r.ID} }), nil
}

// Update changes a relationship's name, zone, partner name or settings.
// precondition sees the current relationship inside the transaction.
func (s *Service) Update(ctx context.Context, userID, relID string, in Input, precondition func(Relationship) error) (Relationship, error) {
	var out Relationship
	err := s.store.InTx(ctx, func(tx Store) error {
		r, err := changeable(ctx, tx, relID, userID, precondition)
		if err != nil {
			return err
		}
		if r.Status == StatusArchived {
			return errArchived
		}
		before := r
		var v fault.Validation
		apply(&r, in, &v)
		if err := v.Err(); err != nil {
			return err
		}
		if reflect.DeepEqual(r, before) {
			// Nothing changes: no write, no event, the same ETag.
			out = before
			return nil
		}
		r.UpdatedAt = s.now()
		if err := tx.Update(ctx, r); err != nil {
			return err
		}
		if r.Settings.HalfLifeDays != before.Settings.HalfLifeDays || r.Settings.GraceMinutes != before.Settings.GraceMinutes ||
			r.TimeZone != before.TimeZone {
			// Decay, lateness and day boundaries all change: recompute.
			if err := tx.RescoreAll(ctx, relID); err != nil {
				return err
			}
		}
		if out, err = tx.Get(ctx, relID); err != nil {
			return err
		}
		return tx.Emit(ctx, event.Event{Type: event.RelationshipUpdated, RelationshipID: relID, ActorID: userID, CreatedAt: r.UpdatedAt}, out)
	})
	return out, err
}

// Archive closes a relationship: it stays readable and changes no more.
func (s *Service) Archive(ctx context.Context, userID, relID string, precondition func(Relationship) error) error {
	return s.store.InTx(ctx, func(tx Store) error {
		r, err := changeable(ctx, tx, relID, userID, precondition)
		if err != nil {
			return err
		}
		if r.Status == StatusArchived {
			return nil
		}
		now := s.now()
		// What is open closes with it: nothing in an archived relationship
		// comes due, is scored or waits for an answer.
		if err := tx.ArchivePromises(ctx, relID, userID, now); err != nil {
			return err
		}
		r.Status, r.ArchivedAt, r.UpdatedAt = StatusArchived, &now, now
		if err := tx.Update(ctx, r); err != nil {
			return err
		}
		return tx.Emit(ctx, event.Event{Type: event.RelationshipUpdated, RelationshipID: relID, ActorID: userID, CreatedAt: now}, r)
	})
}

// changeable loads a relationship for a change by one of its members (one
// read: the relationship comes with its current members); anyone else gets
// not_found. precondition, when set, sees the current relationship.
func changeable(ctx context.Context, tx Store, relID, userID string, precondition func(Relationship) error) (Relationship, error) {
	if !id.Valid(relID, id.Relationship) {
		return Relationship{}, fault.NotFound("relationship")
	}
	r, err := tx.Get(ctx, relID)
	if fault.Is(err, "not_found") || (err == nil && !r.HasMember(userID)) {
		return Relationship{}, fault.NotFound("relationship")
	}
	if err != nil {
		return Relationship{}, err
	}
	if precondition != nil {
		if err := precondition(r); err != nil {
			return Relationship{}, err
		}
	}
	return r, nil
}

// CreateInvite returns a new invite, valid for seven days, and its
// single-use code (only a hash of which is kept).
func (s *Service) CreateInvite(ctx context.Context, userID, relID string) (Invite, string, error) {
	code, err := newInviteCode()
	if err != nil {
		return Invite{}, "", fault.Internal(err)
	}
	now := s.now()
	inv := Invite{ID: id.New(id.Invite), RelationshipID: relID, CodeHash: hashCode(code), CreatedBy: userID, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	err = s.store.InTx(ctx, func(tx Store) error {
		r, err := changeable(ctx, tx, relID, userID, nil)
		if err != nil {
			return err
		}
		if r.Status == StatusArchived {
			return errArchived
		}
		return tx.CreateInvite(ctx, inv)
	})
	if err != nil {
		return Invite{}, "", err
	}
	return inv, code, nil
}

// PendingInvites returns a page of the invites into a relationship that
// can still be accepted, oldest first, to its members. An archived
// relationship has none: nobody joins it.
func (s *Service) PendingInvites(ctx context.Context, userID, relID string, p page.Request) (page.Result[Invite], error) {
	r, err := s.Get(ctx, userID, relID)
	if err != nil {
		return page.Result[Invite]{}, err
	}
	if r.Status == StatusArchived {
		return page.Result[Invite]{}, nil
	}
	invs, err := s.store.PendingInvites(ctx, relID, s.now(), page.Request{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return page.Result[Invite]{}, err
	}
	return page.Cut(invs, p.Limit, func(inv Invite) []string { return []string{inv.ID} }), nil
}

// RevokeInvite takes back a pending invite, so that its code lets nobody
// in. An unknown, used, expired or already revoked invite, or another
// relationship's, is not_found; an archived relationship does not change.
// precondition, if not nil, may refuse the revocation (If-Match); it is
// asked last, when nothing else refuses it, and its refusal undoes it.
func (s *Service) RevokeInvite(ctx context.Context, userID, relID, inviteID string, precondition func() error) error {
	return s.store.InTx(ctx, func(tx Store) error {
		r, err := changeable(ctx, tx, relID, userID, nil)
		if err != nil {
			return err
		}
		if r.Status == StatusArchived {
			return errArchived
		}
		if !id.Valid(inviteID, id.Invite) {
			return errInvite
		}
		if err := tx.RevokeInvite(ctx, relID, inviteID, s.now()); err != nil {
			return err
		}
		if precondition != nil {
			return precondition()
		}
		return nil
	})
}

var errInvite = fault.NotFound("invite")

// AcceptInvite makes the user a member. An unknown, used, expired or
// revoked code is not_found; the first person to join a relationship with a partner name
// becomes the promisee of the promises made to that partner.
func (s *Service) AcceptInvite(ctx context.Context, userID, code string) (Relationship, error) {
	hash := hashCode(normalizeCode(code))
	now := s.now()
	var relID string
	var out Relationship
	err := s.store.InTx(ctx, func(tx Store) error {
		inv, err := tx.InviteByHash(ctx, hash)
		if fault.Is(err, "not_found") {
			return errInvite
		}
		if err != nil {
			return err
		}
		if !inv.Pending(now) {
			return errInvite
		}
		relID = inv.RelationshipID
		r, err := tx.Get(ctx, relID)
		if err != nil {
			return err
		}
		if r.Status == StatusArchived {
			return errInvite
		}
		prev, err := tx.AnyMembership(ctx, relID, userID)
		switch {
		case err == nil && prev.LeftAt == nil:
			return fault.Conflict("already_member", "you are already a member of this relationship")
		case err == nil:
			err = tx.RejoinMember(ctx, Member{RelationshipID: relID, UserID: userID, Role: prev.Role, JoinedAt: now})
		case fault.Is(err, "not_found"):
			err = tx.AddMember(ctx, Member{RelationshipID: relID, UserID: userID, Role: "member", JoinedAt: now})
		}
		if err != nil {
			return err
		}
		used, err := tx.UseInvite(ctx, hash, userID, now)
		if err != nil {
			return err
		}
		if !used {
			return errInvite
		}
		if len(r.Members) == 1 {
			// The first to join is the partner the promises were made to.
			window := time.Duration(r.Settings.DisputeWindowHours) * time.Hour
			if err := tx.ClaimPartnerPromises(ctx, relID, userID, now.Add(window), now); err != nil {
				return err
			}
		}
		joined, err := tx.Get(ctx, relID)
		if err != nil {
			return err
		}
		out = joined
		return tx.Emit(ctx, event.Event{Type: event.MemberJoined, RelationshipID: relID, ActorID: userID, CreatedAt: now}, joined)
	})
	return out, err
}

// Members lists a relationship's current members.
func (s *Service) Members(ctx context.Context, userID, relID string) ([]Member, error) {
	r, err := s.Get(ctx, userID, relID)
	if err != nil {
		return nil, err
	}
	return r.Members, nil
}

// Leave ends the user's membership; the relationship disappears from their
// view. precondition, if not nil, may refuse it (If-Match) once the
// membership is known to exist.
func (s *Service) Leave(ctx context.Context, userID, relID string, precondition func() error) error {
	return s.store.InTx(ctx, func(tx Store) error {
		// One read: the relationship with its current members, the caller
		// among them (by display name, for member.left).
		r, err := changeable(ctx, tx, relID, userID, nil)
		if err != nil {
			return err
		}
		if precondition != nil {
			if err := precondition(); err != nil {
				return err
			}
		}
		m := r.Members[slices.IndexFunc(r.Members, func(x Member) bool { return x.UserID == userID })]
		now := s.now()
		if err := tx.LeaveMember(ctx, relID, userID, now); err != nil {
			return err
		}
		// Promises by or to someone who left cannot be kept or verified;
		// an archived relationship stays as it was archived.
		if r.Status != StatusArchived {
			if err := tx.CancelPromisesOf(ctx, relID, userID, now); err != nil {
				return err
			}
		}
		m.RelationshipID, m.LeftAt = relID, &now
		if err := tx.Emit(ctx, event.Event{Type: event.MemberLeft, RelationshipID: relID, ActorID: userID, CreatedAt: now}, m); err != nil {
			return err
		}
		if len(r.Members) > 1 || r.Status == StatusArchived {
			return nil
		}
		// The last member left: the relationship is archived, as when the
		// last member deletes their account, so that no invite made before
		// lets a newcomer into what they left behind.
		r.Members = nil
		r.Status, r.ArchivedAt, r.UpdatedAt = StatusArchived, &now, now
		if err := tx.Update(ctx, r); err != nil {
			return err
		}
		return tx.Emit(ctx, event.Event{Type: event.RelationshipUpdated, RelationshipID: relID, ActorID: userID, CreatedAt: now}, r)
	})
}

// Invite codes: 12 characters of Crockford base32 (60 bits), shown in
// groups of four; case and dashes are ignored when accepted.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func newInviteCode() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(codeAlphabet[int(c)%len(codeAlphabet)])
	}
	return sb.String(), nil
}

func normalizeCode(code string) string {
	code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	var sb strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func hashCode(code string) []byte {
	h := sha256.Sum256([]byte(normalizeCode(code)))
	return h[:]
}
