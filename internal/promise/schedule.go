package promise

import (
	"context"
	"fmt"
	"time"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
)

// The transitions below are what time does to promises. Each is a
// compare-and-set on the row's state inside a transaction, so it happens
// exactly once even when several instances run the scheduler at once: the
// loser of a race finds the state changed and does nothing.

// batch bounds the work of one step.
const batch = 200

// rescore refreshes the scores an occurrence counts in, for the scheduler
// (which has not read its relationship).
func (s *Service) rescore(ctx context.Context, tx Store, o Occurrence) error {
	rel, err := tx.Relationship(ctx, o.RelationshipID)
	if err != nil {
		return err
	}
	return tx.Rescore(ctx, rel, o.PromisorID, o.PromiseID, o.DueAt, s.now())
}

// miss scores an open occurrence missed on the system's behalf. The
// candidate was read before this transaction, and is read again in it: a
// follow-through may have resolved it meanwhile, or an accepted
// renegotiation moved it to a later time, and then it is left alone (the
// score counts it where it is now due, if it is missed there).
func (s *Service) miss(ctx context.Context, tx Store, candidate Occurrence, now time.Time) (bool, error) {
	o, err := tx.Occurrence(ctx, candidate.ID)
	if fault.Is(err, "not_found") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rel, err := tx.Relationship(ctx, o.RelationshipID)
	if err != nil {
		return false, err
	}
	if o.Status != OccOpen || !now.After(o.DueAt.Add(time.Duration(rel.Settings.GraceMinutes)*time.Minute)) {
		return false, nil
	}
	ft := FollowThrough{
		ID: id.New(id.FollowThru), RelationshipID: o.RelationshipID, OccurrenceID: o.ID, PromiseID: o.PromiseID,
		Outcome: Missed, OccurredAt: now, RecordedBy: System, Verification: Confirmed, VerifiedAt: &now,
		CreatedAt: now, UpdatedAt: now,
	}
	outcome := Missed
	o.Status, o.Outcome, o.FollowThroughID, o.UpdatedAt = OccResolved, &outcome, &ft.ID, now
	ok, err := tx.UpdateOccurrence(ctx, o, OccOpen)
	if err != nil || !ok {
		return false, err
	}
	if err := tx.CreateFollowThrough(ctx, ft); err != nil {
		return false, err
	}
	if err := tx.RescoreResolved(ctx, rel, o, ft, s.now()); err != nil {
		return false, err
	}
	if err := s.completeOneOff(ctx, tx, o.PromiseID, System, now); err != nil {
		return false, err
	}
	return true, tx.Emit(ctx, s.ev(event.OccurrenceMissed, o.RelationshipID, System), o)
}

// MissOverdue scores missed every open occurrence whose due time plus grace
// has passed, and returns how many it scored.
func (s *Service) MissOverdue(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for {
		os, err := s.store.OverdueOccurrences(ctx, now, batch)
		if err != nil {
			return total, err
		}
		n := 0
		for _, o := range os {
			err := s.store.InTx(ctx, func(tx Store) error {
				done, err := s.miss(ctx, tx, o, now)
				if done {
					n++
				}
				return err
			})
			if err != nil {
				return total, fmt.Errorf("miss occurrence %s: %w", o.ID, err)
			}
		}
		total += n
		if len(os) < batch || n == 0 {
			return total, nil
		}
	}
}

// AcceptUnanswered turns follow-throughs the promisee left unanswered past
// the dispute window into accepted ones.
func (s *Service) AcceptUnanswered(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for {
		fs, err := s.store.Unanswered(ctx, now, batch)
		if err != nil {
			return total, err
		}
		n := 0
		for _, f := range fs {
			err := s.store.InTx(ctx, func(tx Store) error {
				f.Verification, f.VerifiedAt, f.UpdatedAt = Accepted, &now, now
				ok, err := tx.UpdateFollowThrough(ctx, f, Unverified)
				if err != nil || !ok {
					return err // lost a race: another instance accepted it
				}
				n++
				o, err := tx.Occurrence(ctx, f.OccurrenceID)
				if err != nil {
					return err
				}
				if err := s.rescore(ctx, tx, o); err != nil {
					return err
				}
				// The promisee let the window pass: their silence confirms
				// (verification accepted), told as a confirmation by troth.
				return tx.Emit(ctx, s.ev(event.FollowThroughConfirmed, o.RelationshipID, System), f)
			})
			if err != nil {
				return total, fmt.Errorf("accept follow-through %s: %w", f.ID, err)
			}
		}
		total += n
		if len(fs) < batch || n == 0 {
			return total, nil
		}
	}
}

// Materialize extends every active recurring promise's occurrences to the
// horizon, and returns how many promises it extended.
func (s *Service) Materialize(ctx context.Context) (int, error) {
	now := s.now()
	until := now.Add(Horizon)
	// Extend a day at a time at most, so a promise is touched once a day.
	threshold := until.Add(-24 * time.Hour)
	total := 0
	for {
		ps, err := s.store.PromisesToMaterialize(ctx, threshold, batch)
		if err != nil {
			return total, err
		}
		for _, p := range ps {
			err := s.store.InTx(ctx, func(tx Store) error {
				cur, err := tx.Promise(ctx, p.ID)
				if err != nil {
					return err
				}
				if cur.Status != StatusActive || cur.MaterializedUntil == nil || !cur.MaterializedUntil.Before(threshold) {
					return nil // another instance did it
				}
				rule, err := ruleOf(cur)
				if err != nil {
					return err
				}
				pauses, err := tx.PausesOf(ctx, cur.RelationshipID, cur.ID)
				if err != nil {
					return err
				}
				fresh, err := freshInstances(ctx, tx, cur, rule, pauses, *cur.MaterializedUntil, until, now)
				if err != nil {
					return err
				}
				if err := s.insert(ctx, tx, fresh); err != nil {
					return err
				}
				cur.MaterializedUntil = &until
				return tx.UpdatePromise(ctx, cur)
			})
			if err != nil {
				return total, fmt.Errorf("materialize promise %s: %w", p.ID, err)
			}
			total++
		}
		if len(ps) < batch {
			return total, nil
		}
	}
}

// insert adds occurrences; those born skipped (paused dates) count in the
// score's tallies, so their days are refreshed.
func (s *Service) insert(ctx context.Context, tx Store, os []Occurrence) error {
	if err := tx.InsertOccurrences(ctx, os); err != nil {
		return err
	}
	for _, o := range os {
		if o.Status == OccSkipped {
			if err := s.rescore(ctx, tx, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// Remind announces occurrences coming due (occurrence.due_soon) and those
// past due but still within their grace (occurrence.overdue), each once.
func (s *Service) Remind(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for _, k := range []struct{ kind, typ string }{{"due_soon", event.OccurrenceDueSoon}, {"overdue", event.OccurrenceOverdue}} {
		os, err := s.store.ToRemind(ctx, k.kind, now, batch)
		if err != nil {
			return total, err
		}
		for _, o := range os {
			err := s.store.InTx(ctx, func(tx Store) error {
				ok, err := tx.MarkReminded(ctx, o, k.kind, now)
				if err != nil || !ok {
					return err
				}
				total++
				return tx.Emit(ctx, s.ev(k.typ, o.RelationshipID, System), o)
			})
			if err != nil {
				return total, fmt.Errorf("remind %s: %w", o.ID, err)
			}
		}
	}
	return total, nil
}
