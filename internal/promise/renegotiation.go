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

// Propose asks to move an open occurrence to a new due time (promisor only).
// It takes effect when the promisee accepts; a promisee who has not joined
// cannot answer, so then it takes effect at once. Proposed after the due
// time and its grace, the occurrence is scored missed now and the accepted
// proposal creates a new occurrence.
//
// A nil due time is one the client left out. Any time given, the zero
// time 0001-01-01T00:00:00Z too, is checked as the time it is.
func (s *Service) Propose(ctx context.Context, userID, occID string, proposed *time.Time, reason string) (Renegotiation, error) {
	now := s.now()
	var due time.Time
	if proposed != nil {
		due = proposed.UTC().Truncate(time.Microsecond)
	}
	reason = strings.TrimSpace(reason)
	var v fault.Validation
	switch {
	case proposed == nil:
		v.Add("proposed_due_at", "required", "is required: the new due time")
	case !due.After(now):
		v.Add("proposed_due_at", "not_in_future", "must lie in the future")
	default:
		checkDue(&v, "proposed_due_at", due, now)
	}
	relationship.CheckText(&v, "reason", reason, 0, maxReason)
	if err := v.Err(); err != nil {
		return Renegotiation{}, err
	}
	var rn Renegotiation
	err := s.store.InTx(ctx, func(tx Store) error {
		o, rel, err := writableOccurrence(ctx, tx, userID, occID)
		if err != nil {
			return err
		}
		if o.PromisorID != userID {
			return forbidden("promisor_only", "only the promisor can propose a new time")
		}
		if _, err := movable(ctx, tx, o); err != nil {
			return err
		}
		switch o.Status {
		case OccOpen:
			grace := time.Duration(rel.Settings.GraceMinutes) * time.Minute
			if now.After(o.DueAt.Add(grace)) {
				// Too late to move it: it is missed, and a new one may follow.
				if _, err := s.miss(ctx, tx, o, now); err != nil {
					return err
				}
			}
		case OccResolved:
			ft, err := tx.FollowThrough(ctx, *o.FollowThroughID)
			if err != nil {
				return err
			}
			if ft.RecordedBy != System {
				return conflict("occurrence_resolved", "the occurrence already has a follow-through")
			}
			if err := notReplaced(ctx, tx, o); err != nil {
				return err
			}
		default:
			return conflict("occurrence_"+o.Status, "the occurrence is "+o.Status)
		}
		if _, err := tx.PendingRenegotiation(ctx, o.RelationshipID, o.ID); err == nil {
			return conflict("renegotiation_pending", "a proposal for this occurrence is waiting for an answer")
		} else if !fault.Is(err, "not_found") {
			return err
		}
		if err := instantFree(ctx, tx, o, due); err != nil {
			return err
		}
		rn = Renegotiation{
			ID: id.New(id.Renegotiation), RelationshipID: o.RelationshipID, OccurrenceID: o.ID, PromiseID: o.PromiseID,
			ProposedBy: userID, ProposedDueAt: due, Reason: reason, Status: RenegPending, CreatedAt: now,
		}
		if err := tx.CreateRenegotiation(ctx, rn); err != nil {
			return err
		}
		if err := tx.Emit(ctx, s.ev(event.RenegotiationProposed, o.RelationshipID, userID), rn); err != nil {
			return err
		}
		if o.PromiseeID == nil {
			return s.apply(ctx, tx, &rn, now, userID)
		}
		return nil
	})
	return rn, err
}

// Accept is the promisee agreeing to a proposed time.
func (s *Service) Accept(ctx context.Context, userID, renID string) (Renegotiation, error) {
	return s.answer(ctx, userID, renID, RenegAccepted)
}

// Renegotiation returns one proposal to a member of its relationship.
func (s *Service) Renegotiation(ctx context.Context, userID, renID string) (Renegotiation, error) {
	if !id.Valid(renID, id.Renegotiation) {
		return Renegotiation{}, errRenegNotFound
	}
	rn, err := s.store.Renegotiation(ctx, renID)
	if fault.Is(err, "not_found") {
		return Renegotiation{}, errRenegNotFound
	}
	if err != nil {
		return Renegotiation{}, err
	}
	if _, err := member(ctx, s.store, rn.RelationshipID, userID, errRenegNotFound); err != nil {
		return Renegotiation{}, err
	}
	return rn, nil
}

// Decline is the promisee refusing a proposed time; the original stands.
func (s *Service) Decline(ctx context.Context, userID, renID string) (Renegotiation, error) {
	return s.answer(ctx, userID, renID, RenegDeclined)
}

func (s *Service) answer(ctx context.Context, userID, renID, to string) (Renegotiation, error) {
	var rn Renegotiation
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		if !id.Valid(renID, id.Renegotiation) {
			return errRenegNotFound
		}
		rn, err = tx.Renegotiation(ctx, renID)
		if fault.Is(err, "not_found") {
			return errRenegNotFound
		}
		if err != nil {
			return err
		}
		rel, err := member(ctx, tx, rn.RelationshipID, userID, errRenegNotFound)
		if err != nil {
			return err
		}
		if err := writable(rel); err != nil {
			return err
		}
		o, err := tx.Occurrence(ctx, rn.OccurrenceID)
		if err != nil {
			return err
		}
		if o.PromiseeID == nil || *o.PromiseeID != userID {
			return forbidden("promisee_only", "only the promisee can accept or decline a proposal")
		}
		if rn.Status != RenegPending {
			return conflict("renegotiation_"+rn.Status, "the proposal was already "+rn.Status)
		}
		now := s.now()
		if to == RenegDeclined {
			rn.Status, rn.ResolvedAt = RenegDeclined, &now
			ok, err := tx.UpdateRenegotiation(ctx, rn, RenegPending)
			if err != nil || !ok {
				return conflictOr(err, "renegotiation_changed")
			}
			return tx.Emit(ctx, s.ev(event.RenegotiationDeclined, rn.RelationshipID, userID), rn)
		}
		return s.apply(ctx, tx, &rn, now, userID)
	})
	return rn, err
}

// apply makes an accepted proposal take effect: an open occurrence moves
// (and is scored at its new time only); one already scored missed gets a
// successor at the new time. The original time stood while the proposal
// waited: an open occurrence whose time and grace passed meanwhile is
// missed (the scheduler scores it so in a moment, whichever comes first),
// and is scored so now, to get its successor as a late proposal's does.
func (s *Service) apply(ctx context.Context, tx Store, rn *Renegotiation, now time.Time, actor string) error {
	o, err := tx.Occurrence(ctx, rn.OccurrenceID)
	if err != nil {
		return err
	}
	p, err := movable(ctx, tx, o)
	if err != nil {
		return err
	}
	if o.Status == OccOpen {
		rel, err := tx.Relationship(ctx, o.RelationshipID)
		if err != nil {
			return err
		}
		if now.After(o.DueAt.Add(time.Duration(rel.Settings.GraceMinutes) * time.Minute)) {
			if _, err := s.miss(ctx, tx, o, now); err != nil {
				return err
			}
			if o, err = tx.Occurrence(ctx, o.ID); err != nil {
				return err
			}
		}
	}
	// The time may have been taken since the proposal (a new rule).
	if err := instantFree(ctx, tx, o, rn.ProposedDueAt); err != nil {
		return err
	}
	switch o.Status {
	case OccOpen:
		o.DueAt, o.UpdatedAt = rn.ProposedDueAt, now
		if ok, err := tx.MoveOccurrence(ctx, o, OccOpen); err != nil || !ok {
			return conflictOr(err, "occurrence_changed")
		}
	case OccResolved:
		// Only a system miss takes a successor: a member's account given
		// while the proposal waited settles the occurrence.
		ft, err := tx.FollowThrough(ctx, *o.FollowThroughID)
		if err != nil {
			return err
		}
		if ft.RecordedBy != System {
			return conflict("occurrence_resolved", "the occurrence has had a follow-through since this was proposed; decline the proposal")
		}
		if err := notReplaced(ctx, tx, o); err != nil {
			return err
		}
		next := newOccurrence(p, rn.ProposedDueAt, now)
		next.ReplacesID = &o.ID
		if err := tx.InsertOccurrences(ctx, []Occurrence{next}); err != nil {
			return err
		}
		if _, err := tx.Occurrence(ctx, next.ID); fault.Is(err, "not_found") {
			return conflict("occurrence_exists", "the promise already has an occurrence due at the proposed time")
		} else if err != nil {
			return err
		}
		rn.NewOccurrenceID = &next.ID
		if p.Kind == KindOneOff && p.Status == StatusCompleted {
			p.Status, p.UpdatedAt = StatusActive, now
			if err := tx.UpdatePromise(ctx, p); err != nil {
				return err
			}
			if err := tx.Emit(ctx, s.ev(event.PromiseUpdated, p.RelationshipID, actor), p); err != nil {
				return err
			}
		}
	default:
		return conflict("occurrence_"+o.Status, "the occurrence is "+o.Status+" and cannot move")
	}
	rn.Status, rn.ResolvedAt = RenegAccepted, &now
	ok, err := tx.UpdateRenegotiation(ctx, *rn, RenegPending)
	if err != nil || !ok {
		return conflictOr(err, "renegotiation_changed")
	}
	return tx.Emit(ctx, s.ev(event.RenegotiationAccepted, rn.RelationshipID, actor), *rn)
}

// Renegotiations lists a relationship's proposals, or one occurrence's;
// with a status, only those in it.
func (s *Service) Renegotiations(ctx context.Context, userID, relID, occID, status string, pr page.Request) (page.Result[Renegotiation], error) {
	relID, err := s.scope(ctx, userID, relID, occID)
	if err != nil {
		return page.Result[Renegotiation]{}, err
	}
	rs, err := s.store.ListRenegotiations(ctx, relID, occID, status, page.Request{Limit: pr.Limit + 1, After: pr.After})
	if err != nil {
		return page.Result[Renegotiation]{}, err
	}
	return page.Cut(rs, pr.Limit, func(r Renegotiation) []string { return []string{r.ID} }), nil
}

// instantFree refuses to move o (or give it a successor) to due where
// another occurrence of its promise is due already: one occurrence an
// instant, not two.
func instantFree(ctx context.Context, tx Store, o Occurrence, due time.Time) error {
	held, err := tx.InstantHeld(ctx, o.RelationshipID, o.PromiseID, due, o.ID)
	if err != nil {
		return err
	}
	if held {
		return conflict("occurrence_exists", "the promise already has an occurrence due at the proposed time")
	}
	return nil
}

// movable refuses to move an occurrence of a cancelled or archived
// promise: one due before the promise closed may still be open (in its
// grace, it takes a follow-through), but it no longer moves.
func movable(ctx context.Context, tx Store, o Occurrence) (Promise, error) {
	p, err := tx.Promise(ctx, o.PromiseID)
	if err != nil {
		return p, err
	}
	if p.Status == StatusCancelled || p.Status == StatusArchived {
		return p, conflict("promise_closed", "the promise is "+p.Status+" and its occurrences no longer move")
	}
	return p, nil
}

// CloseProposals declines the proposals of a promise that can no longer
// take effect, with a renegotiation.declined event each by the member whose
// change closed them: all of them when the promise itself is closed
// (cancelled, archived, or its promisor or promisee left), otherwise those
// whose occurrence was cancelled or skipped. Left pending, they would wait
// for an answer that could only fail.
func CloseProposals(ctx context.Context, tx Store, relID, promiseID, actor string, now time.Time, promiseClosed bool) error {
	pending, err := tx.PendingRenegotiationsOf(ctx, relID, promiseID)
	if err != nil {
		return err
	}
	for _, rn := range pending {
		if !promiseClosed {
			o, err := tx.Occurrence(ctx, rn.OccurrenceID)
			if err != nil {
				return err
			}
			if o.Status == OccOpen || o.Status == OccResolved {
				continue
			}
		}
		rn.Status, rn.ResolvedAt = RenegDeclined, &now
		if ok, err := tx.UpdateRenegotiation(ctx, rn, RenegPending); err != nil || !ok {
			return conflictOr(err, "renegotiation_changed")
		}
		e := event.Event{Type: event.RenegotiationDeclined, RelationshipID: relID, ActorID: actor, CreatedAt: now}
		if err := tx.Emit(ctx, e, rn); err != nil {
			return err
		}
	}
	return nil
}
