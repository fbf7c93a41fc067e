// Package trust records the two human signals beside kept promises: breaches
// of trust a member acknowledges (they start a rebuilding period) and
// check-ins, a member's felt trust in another, from 0 to 10.
package trust

import (
	"context"
	"strings"
	"time"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/relationship"
)

// Severities of a breach.
const (
	Minor  = "minor"
	Major  = "major"
	Severe = "severe"
)

// Breach is an acknowledged breach of trust.
type Breach struct {
	ID             string
	RelationshipID string
	MemberID       string // who broke trust
	RecordedBy     string
	Description    string
	Severity       string
	OccurredAt     time.Time
	CreatedAt      time.Time
}

// CheckIn is a member's felt trust in another member.
type CheckIn struct {
	ID             string
	RelationshipID string
	AuthorID       string
	SubjectID      string
	FeltTrust      int
	Note           string
	CreatedAt      time.Time
}

// Store is what the trust service needs from storage.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Rescore refreshes a member's score aggregates after a change at t.
	Rescore(ctx context.Context, relID, memberID string, t, now time.Time) error
	// RescoreCheckIn is Rescore after c, just created, and nothing else.
	RescoreCheckIn(ctx context.Context, c CheckIn) error
	// Emit records an event with a snapshot of resource, in the transaction.
	Emit(ctx context.Context, e event.Event, resource any) error
	Relationship(ctx context.Context, relID string) (relationship.Relationship, error)
	IsMember(ctx context.Context, relID, userID string) (bool, error)
	CreateBreach(ctx context.Context, b Breach) error
	ListBreaches(ctx context.Context, relID string, pr page.Request) ([]Breach, error)
	CreateCheckIn(ctx context.Context, c CheckIn) error
	ListCheckIns(ctx context.Context, relID, subjectID string, pr page.Request) ([]CheckIn, error)
}

// Service implements recording and listing breaches and check-ins.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a trust service; now is the clock.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// maxBackdate bounds how far in the past a breach may be dated.
const maxBackdate = 365 * 24 * time.Hour

// writableRelationship checks membership (not_found otherwise) and that the
// relationship is not archived.
func (s *Service) writableRelationship(ctx context.Context, userID, relID string) (relationship.Relationship, error) {
	return writableIn(ctx, s.store, userID, relID)
}

// writableIn is writableRelationship on st (a transaction: a write checks
// again inside it, so that a member leaving or an archive committed since
// the first check is seen).
func writableIn(ctx context.Context, st Store, userID, relID string) (relationship.Relationship, error) {
	rel, err := visibleIn(ctx, st, userID, relID)
	if err != nil {
		return rel, err
	}
	if rel.Status == relationship.StatusArchived {
		return rel, relationship.ErrArchived()
	}
	return rel, nil
}

func (s *Service) visible(ctx context.Context, userID, relID string) (relationship.Relationship, error) {
	return visibleIn(ctx, s.store, userID, relID)
}

func visibleIn(ctx context.Context, st Store, userID, relID string) (relationship.Relationship, error) {
	notFound := fault.NotFound("relationship")
	if !id.Valid(relID, id.Relationship) {
		return relationship.Relationship{}, notFound
	}
	ok, err := st.IsMember(ctx, relID, userID)
	if err != nil {
		return relationship.Relationship{}, err
	}
	if !ok {
		return relationship.Relationship{}, notFound
	}
	return st.Relationship(ctx, relID)
}

// stillMember checks again, inside the write's transaction, that the
// relationship takes writes from userID and that member is still a member.
func stillMember(ctx context.Context, tx Store, userID, relID, member, field string) error {
	if _, err := writableIn(ctx, tx, userID, relID); err != nil {
		return err
	}
	ok, err := tx.IsMember(ctx, relID, member)
	if err != nil || ok {
		return err
	}
	var v fault.Validation
	v.Add(field, "not_a_member", "must be a current member of the relationship")
	return v.Err()
}

// NewBreach is the input of RecordBreach.
type NewBreach struct {
	MemberID    string
	Description string
	Severity    string
	OccurredAt  *time.Time // default: now
}

// RecordBreach records a breach of trust by a member; either member may
// record it. The latest breach starts the rebuilding period.
func (s *Service) RecordBreach(ctx context.Context, userID, relID string, in NewBreach) (Breach, error) {
	if _, err := s.writableRelationship(ctx, userID, relID); err != nil {
		return Breach{}, err
	}
	now := s.now()
	b := Breach{
		ID: id.New(id.Breach), RelationshipID: relID, MemberID: in.MemberID, RecordedBy: userID,
		Description: strings.TrimSpace(in.Description), Severity: in.Severity, OccurredAt: now, CreatedAt: now,
	}
	var v fault.Validation
	if in.MemberID == "" {
		v.Add("member_id", "required", "name the member who broke trust")
	} else if ok, err := s.store.IsMember(ctx, relID, in.MemberID); err != nil {
		return Breach{}, err
	} else if !ok {
		v.Add("member_id", "not_a_member", "must be a current member of the relationship")
	}
	relationship.CheckText(&v, "description", b.Description, 1, 2000)
	switch in.Severity {
	case Minor, Major, Severe:
	case "":
		v.Add("severity", "required", "is required: minor, major or severe")
	default:
		v.Add("severity", "invalid_severity", "must be minor, major or severe")
	}
	if in.OccurredAt != nil {
		b.OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond)
		switch {
		case b.OccurredAt.After(now.Add(5 * time.Minute)):
			v.Add("occurred_at", "in_future", "must not lie in the future")
		case b.OccurredAt.Before(now.Add(-maxBackdate)):
			v.Add("occurred_at", "too_far_in_past", "may lie at most 365 days in the past")
		}
	}
	if err := v.Err(); err != nil {
		return Breach{}, err
	}
	return b, s.store.InTx(ctx, func(tx Store) error {
		if err := stillMember(ctx, tx, userID, relID, b.MemberID, "member_id"); err != nil {
			return err
		}
		if err := tx.CreateBreach(ctx, b); err != nil {
			return err
		}
		if err := tx.Rescore(ctx, relID, b.MemberID, b.OccurredAt, now); err != nil {
			return err
		}
		return tx.Emit(ctx, event.Event{Type: event.BreachRecorded, RelationshipID: relID, ActorID: userID, CreatedAt: now}, b)
	})
}

// Breaches lists a relationship's breaches, oldest first.
func (s *Service) Breaches(ctx context.Context, userID, relID string, pr page.Request) (page.Result[Breach], error) {
	if _, err := s.visible(ctx, userID, relID); err != nil {
		return page.Result[Breach]{}, err
	}
	bs, err := s.store.ListBreaches(ctx, relID, page.Request{Limit: pr.Limit + 1, After: pr.After})
	if err != nil {
		return page.Result[Breach]{}, err
	}
	return page.Cut(bs, pr.Limit, func(b Breach) []string { return []string{b.ID} }), nil
}

// NewCheckIn is the input of RecordCheckIn.
type NewCheckIn struct {
	SubjectID string
	FeltTrust *int
	Note      string
}

// RecordCheckIn records how much the caller trusts another member now.
func (s *Service) RecordCheckIn(ctx context.Context, userID, relID string, in NewCheckIn) (CheckIn, error) {
	if _, err := s.writableRelationship(ctx, userID, relID); err != nil {
		return CheckIn{}, err
	}
	c := CheckIn{ID: id.New(id.CheckIn), RelationshipID: relID, AuthorID: userID, SubjectID: in.SubjectID,
		Note: strings.TrimSpace(in.Note), CreatedAt: s.now()}
	var v fault.Validation
	switch {
	case in.SubjectID == "":
		v.Add("subject_id", "required", "name the member this check-in is about")
	case in.SubjectID == userID:
		v.Add("subject_id", "self_check_in", "a check-in is about another member")
	default:
		ok, err := s.store.IsMember(ctx, relID, in.SubjectID)
		if err != nil {
			return CheckIn{}, err
		}
		v.Check(ok, "subject_id", "not_a_member", "must be a current member of the relationship")
	}
	switch {
	case in.FeltTrust == nil:
		v.Add("felt_trust", "required", "is required: a whole number from 0 to 10")
	case *in.FeltTrust < 0 || *in.FeltTrust > 10:
		v.Add("felt_trust", "out_of_range", "must be between 0 and 10")
	default:
		c.FeltTrust = *in.FeltTrust
	}
	relationship.CheckText(&v, "note", c.Note, 0, 2000)
	if err := v.Err(); err != nil {
		return CheckIn{}, err
	}
	return c, s.store.InTx(ctx, func(tx Store) error {
		if err := stillMember(ctx, tx, userID, relID, c.SubjectID, "subject_id"); err != nil {
			return err
		}
		if err := tx.CreateCheckIn(ctx, c); err != nil {
			return err
		}
		if err := tx.RescoreCheckIn(ctx, c); err != nil {
			return err
		}
		return tx.Emit(ctx, event.Event{Type: event.CheckInRecorded, RelationshipID: relID, ActorID: userID, CreatedAt: c.CreatedAt}, c)
	})
}

// CheckIns lists a relationship's check-ins, oldest first, optionally
// about one member.
func (s *Service) CheckIns(ctx context.Context, userID, relID, subjectID string, pr page.Request) (page.Result[CheckIn], error) {
	if _, err := s.visible(ctx, userID, relID); err != nil {
		return page.Result[CheckIn]{}, err
	}
	cs, err := s.store.ListCheckIns(ctx, relID, subjectID, page.Request{Limit: pr.Limit + 1, After: pr.After})
	if err != nil {
		return page.Result[CheckIn]{}, err
	}
	return page.Cut(cs, pr.Limit, func(c CheckIn) []string { return []string{c.ID} }), nil
}
