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

// NewPause is the input of CreatePause: local dates in the promise's zone.
type NewPause struct {
	StartsOn string
	EndsOn   string
	Reason   string
}

// CreatePause suspends a recurring promise over a range of local dates
// agreed ahead (either party may record it): open occurrences on those
// dates become skipped, are not scored and do not break streaks.
func (s *Service) CreatePause(ctx context.Context, userID, promiseID string, in NewPause) (Pause, error) {
	now := s.now()
	var pa Pause
	err := s.store.InTx(ctx, func(tx Store) error {
		p, rel, err := s.visiblePromise(ctx, tx, userID, promiseID)
		if err != nil {
			return err
		}
		if err := writable(rel); err != nil {
			return err
		}
		if userID != p.PromisorID && (p.PromiseeID == nil || *p.PromiseeID != userID) {
			return forbidden("not_a_party", "only the promisor or the promisee can pause a promise")
		}
		if p.Kind != KindRecurring {
			return conflict("not_recurring", "only a recurring promise can be paused; renegotiate a one-off instead")
		}
		if p.Status != StatusActive {
			return conflict("promise_closed", "the promise is "+p.Status)
		}
		rule, err := ruleOf(p)
		if err != nil {
			return err
		}
		today := rule.LocalDate(now)
		var v fault.Validation
		start, serr := time.Parse(time.DateOnly, in.StartsOn)
		end, eerr := time.Parse(time.DateOnly, in.EndsOn)
		switch {
		case in.StartsOn == "":
			v.Add("starts_on", "required", "is required: the first local date of the pause, such as 2027-07-01")
		case serr != nil:
			v.Add("starts_on", "invalid_date", "must be a date such as 2027-07-01")
		case in.StartsOn < today:
			v.Add("starts_on", "in_past", "a pause is agreed ahead: it cannot start before today ("+today+")")
		case in.StartsOn > rule.LocalDate(now.Add(maxAhead)):
			v.Add("starts_on", "too_far_in_future", "may lie at most 10 years ahead")
		}
		switch {
		case in.EndsOn == "":
			v.Add("ends_on", "required", "is required: the last local date of the pause, such as 2027-07-14")
		case eerr != nil:
			v.Add("ends_on", "invalid_date", "must be a date such as 2027-07-14")
		case serr == nil && end.Before(start):
			v.Add("ends_on", "before_start", "must not lie before starts_on")
		case serr == nil && end.After(start.AddDate(1, 0, -1)):
			// Both dates count: a year from 2027-07-01 ends on 2028-06-30.
			v.Add("ends_on", "too_long", "a pause lasts at most a year: from "+in.StartsOn+", it ends on "+start.AddDate(1, 0, -1).Format(time.DateOnly)+" at the latest")
		}
		reason := strings.TrimSpace(in.Reason)
		relationship.CheckText(&v, "reason", reason, 0, maxReason)
		if err := v.Err(); err != nil {
			return err
		}
		pa = Pause{
			ID: id.New(id.Pause), RelationshipID: p.RelationshipID, PromiseID: p.ID,
			StartsOn: in.StartsOn, EndsOn: in.EndsOn, Reason: reason, CreatedBy: userID, CreatedAt: now,
		}
		if err := tx.CreatePause(ctx, pa); err != nil {
			return err
		}
		// Pauses have no event type of their own: the promise's schedule changed.
		if err := tx.Emit(ctx, s.ev(event.PromiseUpdated, p.RelationshipID, userID), p); err != nil {
			return err
		}
		// Every open occurrence dated within the pause and not yet due is
		// skipped. One already due (still open, in its grace) is not: a
		// pause is agreed ahead, and cannot take back a promise running
		// late.
		open, err := tx.OpenOccurrencesOf(ctx, p.RelationshipID, p.ID, now)
		if err != nil {
			return err
		}
		for _, o := range open {
			if o.DueAt.After(now) && paused([]Pause{pa}, rule.LocalDate(o.DueAt)) {
				o.Status, o.UpdatedAt = OccSkipped, now
				if _, err := tx.UpdateOccurrence(ctx, o, OccOpen); err != nil {
					return err
				}
				if err := tx.Rescore(ctx, rel, o.PromisorID, o.PromiseID, o.DueAt, s.now()); err != nil {
					return err
				}
			}
		}
		return CloseProposals(ctx, tx, p.RelationshipID, p.ID, userID, now, false)
	})
	return pa, err
}

// Pauses lists a promise's pauses.
func (s *Service) Pauses(ctx context.Context, userID, promiseID string, pr page.Request) (page.Result[Pause], error) {
	p, _, err := s.visiblePromise(ctx, s.store, userID, promiseID)
	if err != nil {
		return page.Result[Pause]{}, err
	}
	ps, err := s.store.ListPauses(ctx, p.RelationshipID, p.ID, page.Request{Limit: pr.Limit + 1, After: pr.After})
	if err != nil {
		return page.Result[Pause]{}, err
	}
	return page.Cut(ps, pr.Limit, func(p Pause) []string { return []string{p.ID} }), nil
}
