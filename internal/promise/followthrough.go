package promise

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

// NewFollowThrough is the input of Record.
type NewFollowThrough struct {
	Outcome    string
	OccurredAt *time.Time // default: now
	Note       string
}

// clockSkew tolerates a client clock slightly ahead of ours.
const clockSkew = 5 * time.Minute

// Record stores what happened for an occurrence. The promisee's account is
// confirmed at once; the promisor's is unverified until the promisee
// confirms or disputes it, or their dispute window passes. A follow-through
// from a member replaces a miss the system recorded.
func (s *Service) Record(ctx context.Context, userID, occID string, in NewFollowThrough) (FollowThrough, error) {
	now := s.now()
	var v fault.Validation
	switch in.Outcome {
	case Kept, Partial, Missed:
	case "":
		v.Add("outcome", "required", "is required: kept, partial or missed")
	default:
		v.Add("outcome", "invalid_outcome", "must be kept, partial or missed")
	}
	occurred := now
	if in.OccurredAt != nil {
		occurred = in.OccurredAt.UTC().Truncate(time.Microsecond)
		switch {
		case occurred.After(now.Add(clockSkew)):
			v.Add("occurred_at", "in_future", "must not lie in the future")
		case occurred.Before(now.Add(-MaxBackdate)):
			v.Add("occurred_at", "too_far_in_past", "may lie at most 365 days in the past")
		}
	}
	note := strings.TrimSpace(in.Note)
	relationship.CheckText(&v, "note", note, 0, maxNote)
	if err := v.Err(); err != nil {
		return FollowThrough{}, err
	}
	var ft FollowThrough
	err := s.store.InTx(ctx, func(tx Store) error {
		o, rel, err := writableOccurrence(ctx, tx, userID, occID)
		if err != nil {
			return err
		}
		isPromisee := o.PromiseeID != nil && *o.PromiseeID == userID
		if userID != o.PromisorID && !isPromisee {
			return forbidden("not_a_party", "only the promisor or the promisee can record what happened")
		}
		var replaced *FollowThrough
		switch o.Status {
		case OccOpen:
		case OccResolved:
			prev, err := tx.FollowThrough(ctx, *o.FollowThroughID)
			if err != nil {
				return err
			}
			if prev.RecordedBy != System {
				return conflict("already_recorded", "this occurrence already has a follow-through; the promisee can confirm or dispute it")
			}
			if err := notReplaced(ctx, tx, o); err != nil {
				return err
			}
			replaced = &prev
		default:
			return conflict("occurrence_"+o.Status, "the occurrence is "+o.Status+" and takes no follow-through")
		}
		ft = FollowThrough{
			ID: id.New(id.FollowThru), RelationshipID: o.RelationshipID, OccurrenceID: o.ID, PromiseID: o.PromiseID,
			Outcome: in.Outcome, OccurredAt: occurred, Note: note, RecordedBy: userID,
			CreatedAt: now, UpdatedAt: now,
		}
		switch {
		case isPromisee:
			ft.Verification, ft.VerifiedAt = Confirmed, &now
		case o.PromiseeID == nil:
			// The promisee has not joined: no one can confirm yet, and the
			// dispute window starts when they join.
			ft.Verification = Unverified
		default:
			ft.Verification = Unverified
			after := now.Add(time.Duration(rel.Settings.DisputeWindowHours) * time.Hour)
			ft.AcceptAfter = &after
		}
		if replaced != nil {
			replaced.SupersededAt, replaced.UpdatedAt = &now, now
			if ok, err := tx.UpdateFollowThrough(ctx, *replaced, replaced.Verification); err != nil || !ok {
				return conflictOr(err, "follow_through_changed")
			}
		}
		if err := tx.CreateFollowThrough(ctx, ft); err != nil {
			return err
		}
		from := o.Status
		o.Status, o.Outcome, o.FollowThroughID, o.UpdatedAt = OccResolved, &ft.Outcome, &ft.ID, now
		if ok, err := tx.UpdateOccurrence(ctx, o, from); err != nil || !ok {
			return conflictOr(err, "occurrence_changed")
		}
		if replaced != nil { // the item changes rather than comes
			err = tx.Rescore(ctx, rel, o.PromisorID, o.PromiseID, o.DueAt, s.now())
		} else {
			err = tx.RescoreResolved(ctx, rel, o, ft, s.now())
		}
		if err != nil {
			return err
		}
		if err := s.completeOneOff(ctx, tx, o.PromiseID, userID, now); err != nil {
			return err
		}
		return tx.Emit(ctx, s.ev(event.FollowThroughRecorded, o.RelationshipID, userID), ft)
	})
	return ft, err
}

// notReplaced refuses a change to a system miss that an accepted late
// renegotiation replaced: the miss is final, and its successor carries the
// promise on.
func notReplaced(ctx context.Context, tx Store, o Occurrence) error {
	replaced, err := tx.Replaced(ctx, o.RelationshipID, o.ID)
	if err != nil {
		return err
	}
	if replaced {
		return conflict("occurrence_replaced", "the occurrence was missed and a renegotiation replaced it; record what happens for its successor")
	}
	return nil
}

// conflictOr returns err, or a conflict when a compare-and-set lost a race.
func conflictOr(err error, code string) error {
	if err != nil {
		return err
	}
	return conflict(code, "it changed at the same time; read it again and retry")
}

// completeOneOff marks a one-off promise completed once its occurrence is
// resolved, in one statement (every follow-through runs it, on the
// writer's serial path), and tells of the promise's new state with a
// promise.updated event when it did.
func (s *Service) completeOneOff(ctx context.Context, tx Store, promiseID, actor string, now time.Time) error {
	done, err := tx.CompleteOneOff(ctx, promiseID, now)
	if err != nil || !done {
		return err
	}
	p, err := tx.Promise(ctx, promiseID)
	if err != nil {
		return err
	}
	return tx.Emit(ctx, s.ev(event.PromiseUpdated, p.RelationshipID, actor), p)
}

// Confirm is the promisee agreeing with the promisor's account.
func (s *Service) Confirm(ctx context.Context, userID, ftID string) (FollowThrough, error) {
	return s.verdict(ctx, userID, ftID, Confirmed, "")
}

// Dispute is the promisee contradicting the promisor's account; their
// account prevails in the score.
func (s *Service) Dispute(ctx context.Context, userID, ftID, reason string) (FollowThrough, error) {
	reason = strings.TrimSpace(reason)
	var v fault.Validation
	relationship.CheckText(&v, "reason", reason, 1, maxReason)
	if err := v.Err(); err != nil {
		return FollowThrough{}, err
	}
	return s.verdict(ctx, userID, ftID, Disputed, reason)
}

func (s *Service) verdict(ctx context.Context, userID, ftID, to, reason string) (FollowThrough, error) {
	var ft FollowThrough
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		ft, err = visibleFollowThrough(ctx, tx, userID, ftID)
		if err != nil {
			return err
		}
		o, err := tx.Occurrence(ctx, ft.OccurrenceID)
		if err != nil {
			return err
		}
		rel, err := tx.Relationship(ctx, ft.RelationshipID)
		if err != nil {
			return err
		}
		if err := writable(rel); err != nil {
			return err
		}
		if o.PromiseeID == nil || *o.PromiseeID != userID {
			return forbidden("promisee_only", "only the promisee can confirm or dispute a follow-through")
		}
		if ft.SupersededAt != nil || ft.Verification != Unverified {
			return conflict("not_unverified", "only an unverified follow-through can be confirmed or disputed; this one is "+ft.Verification)
		}
		now := s.now()
		ft.Verification, ft.VerifiedAt, ft.UpdatedAt, ft.AcceptAfter = to, &now, now, nil
		if reason != "" {
			ft.DisputeReason = &reason
		}
		ok, err := tx.UpdateFollowThrough(ctx, ft, Unverified)
		if err != nil || !ok {
			return conflictOr(err, "follow_through_changed")
		}
		if err := tx.Rescore(ctx, rel, o.PromisorID, o.PromiseID, o.DueAt, s.now()); err != nil {
			return err
		}
		typ := event.FollowThroughConfirmed
		if to == Disputed {
			typ = event.FollowThroughDisputed
		}
		return tx.Emit(ctx, s.ev(typ, o.RelationshipID, userID), ft)
	})
	return ft, err
}

// FollowThrough returns one follow-through the user may see.
func (s *Service) FollowThrough(ctx context.Context, userID, ftID string) (FollowThrough, error) {
	return visibleFollowThrough(ctx, s.store, userID, ftID)
}

func visibleFollowThrough(ctx context.Context, st Store, userID, ftID string) (FollowThrough, error) {
	if !id.Valid(ftID, id.FollowThru) {
		return FollowThrough{}, errFTNotFound
	}
	ft, err := st.FollowThrough(ctx, ftID)
	if fault.Is(err, "not_found") {
		return FollowThrough{}, errFTNotFound
	}
	if err != nil {
		return FollowThrough{}, err
	}
	if _, err := member(ctx, st, ft.RelationshipID, userID, errFTNotFound); err != nil {
		return FollowThrough{}, err
	}
	return ft, nil
}

// FollowThroughs lists a relationship's follow-throughs, or one occurrence's.
func (s *Service) FollowThroughs(ctx context.Context, userID, relID, occID string, pr page.Request) (page.Result[FollowThrough], error) {
	relID, err := s.scope(ctx, userID, relID, occID)
	if err != nil {
		return page.Result[FollowThrough]{}, err
	}
	fs, err := s.store.ListFollowThroughs(ctx, relID, occID, page.Request{Limit: pr.Limit + 1, After: pr.After})
	if err != nil {
		return page.Result[FollowThrough]{}, err
	}
	return page.Cut(fs, pr.Limit, func(f FollowThrough) []string { return []string{f.ID} }), nil
}

// scope checks access to a relationship, or to an occurrence and returns
// its relationship.
func (s *Service) scope(ctx context.Context, userID, relID, occID string) (string, error) {
	if occID != "" {
		o, _, err := visibleOccurrence(ctx, s.store, userID, occID)
		return o.RelationshipID, err
	}
	if !id.Valid(relID, id.Relationship) {
		return "", fault.NotFound("relationship")
	}
	_, err := member(ctx, s.store, relID, userID, fault.NotFound("relationship"))
	return relID, err
}
