package promise

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/recurrence"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/tz"
)

// Service implements the promise use cases.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a promise service; now is the clock.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Limits on text fields.
const (
	maxTitle   = 200
	maxDetails = 2000
	maxNote    = 2000
	maxReason  = 1000
)

// NewPromise is the input of Create.
type NewPromise struct {
	PromiseeID *string // nil: the other member, or the partner before they join
	Title      string
	Details    string
	DueAt      *time.Time
	Recurrence *RecurrenceInput
}

// RecurrenceInput is a recurrence as a client sends it; empty TimeZone and
// StartsOn default to the relationship's zone and today there.
type RecurrenceInput struct {
	RRule     string
	TimeZone  string
	LocalTime string
	StartsOn  string
}

var (
	errNotFound      = fault.NotFound("promise")
	errOccNotFound   = fault.NotFound("occurrence")
	errFTNotFound    = fault.NotFound("follow-through")
	errRenegNotFound = fault.NotFound("renegotiation")
)

func forbidden(code, msg string) error { return fault.New(fault.KindForbidden, code, "%s", msg) }

func conflict(code, msg string) error { return fault.Conflict(code, msg) }

// member loads the relationship if the user is a current member, or
// answers notFound (never revealing that it exists).
func member(ctx context.Context, s Store, relID, userID string, notFound error) (relationship.Relationship, error) {
	// The relationship comes with its current members: one read answers both.
	rel, err := s.Relationship(ctx, relID)
	if fault.Is(err, "not_found") || (err == nil && !rel.HasMember(userID)) {
		return relationship.Relationship{}, notFound
	}
	return rel, err
}

func writable(r relationship.Relationship) error {
	if r.Status == relationship.StatusArchived {
		return relationship.ErrArchived()
	}
	return nil
}

// Create makes a promise from the caller (the promisor) and its first
// occurrences.
func (s *Service) Create(ctx context.Context, userID, relID string, in NewPromise) (Promise, error) {
	if !id.Valid(relID, id.Relationship) {
		return Promise{}, fault.NotFound("relationship")
	}
	now := s.now()
	p := Promise{
		ID: id.New(id.Promise), RelationshipID: relID, PromisorID: userID,
		Title: strings.TrimSpace(in.Title), Details: strings.TrimSpace(in.Details),
		Status: StatusActive, CreatedAt: now, UpdatedAt: now,
	}
	var v fault.Validation
	relationship.CheckText(&v, "title", p.Title, 1, maxTitle)
	relationship.CheckText(&v, "details", p.Details, 0, maxDetails)
	err := s.store.InTx(ctx, func(tx Store) error {
		rel, err := member(ctx, tx, relID, userID, fault.NotFound("relationship"))
		if err != nil {
			return err
		}
		if err := writable(rel); err != nil {
			return err
		}
		p.PromiseeID, err = s.promisee(ctx, tx, rel, userID, in.PromiseeID, &v)
		if err != nil {
			return err
		}
		var rule recurrence.Rule
		switch {
		case in.DueAt != nil && in.Recurrence != nil:
			v.Add("due_at", "conflicting_fields", "give either due_at or recurrence, not both")
		case in.DueAt == nil && in.Recurrence == nil:
			v.Add("due_at", "required", "give due_at for a one-off promise or recurrence for a recurring one")
		case in.DueAt != nil:
			p.Kind, p.DueAt = KindOneOff, in.DueAt
			checkDue(&v, "due_at", *in.DueAt, now)
		default:
			p.Kind = KindRecurring
			rule, err = parseRecurrence(*in.Recurrence, rel, now)
			if err != nil {
				return err
			}
			r := toRecurrence(rule)
			p.Recurrence = &r
		}
		if err := v.Err(); err != nil {
			return err
		}
		if p.Kind == KindOneOff {
			due := p.DueAt.UTC().Truncate(time.Microsecond)
			p.DueAt = &due
			if err := tx.CreatePromise(ctx, p); err != nil {
				return err
			}
			if err := tx.InsertOccurrences(ctx, []Occurrence{newOccurrence(p, due, now)}); err != nil {
				return err
			}
			return tx.Emit(ctx, s.ev(event.PromiseCreated, p.RelationshipID, userID), p)
		}
		until := now.Add(Horizon)
		p.MaterializedUntil = &until
		if err := tx.CreatePromise(ctx, p); err != nil {
			return err
		}
		// An explicit start may lie in the past (a habit logged after the
		// fact); without one, the promise starts now, not earlier today.
		from := time.Time{}
		if in.Recurrence.StartsOn == "" {
			from = now
		}
		if err := s.insert(ctx, tx, instances(p, rule, nil, from, until, now)); err != nil {
			return err
		}
		return tx.Emit(ctx, s.ev(event.PromiseCreated, p.RelationshipID, userID), p)
	})
	return p, err
}

// ev starts an event of the given type now.
func (s *Service) ev(typ, relID, actor string) event.Event {
	return event.Event{Type: typ, RelationshipID: relID, ActorID: actor, CreatedAt: s.now()}
}

// promisee resolves the promisee: a given member other than the promisor,
// or by default the one other member, or the partner who has not joined.
func (s *Service) promisee(ctx context.Context, tx Store, rel relationship.Relationship, userID string, given *string, v *fault.Validation) (*string, error) {
	if given != nil {
		if *given == userID {
			v.Add("promisee_id", "self_promise", "a promise is made to someone else")
			return nil, nil
		}
		if !rel.HasMember(*given) {
			v.Add("promisee_id", "not_a_member", "must be a current member of the relationship")
		}
		return given, nil
	}
	var others []string
	for _, m := range rel.Members {
		if m.UserID != userID {
			others = append(others, m.UserID)
		}
	}
	switch len(others) {
	case 0:
		return nil, nil // the partner, once they join
	case 1:
		return &others[0], nil
	}
	v.Add("promisee_id", "required", "the relationship has several other members: name the promisee")
	return nil, nil
}

// maxAhead is how far ahead a due time, a rule's first date or a pause
// may lie.
const maxAhead = 10 * 365 * 24 * time.Hour

func checkDue(v *fault.Validation, field string, due, now time.Time) {
	switch {
	case due.Before(now.Add(-MaxBackdate)):
		v.Add(field, "too_far_in_past", "may lie at most 365 days in the past")
	case due.After(now.Add(maxAhead)):
		v.Add(field, "too_far_in_future", "may lie at most 10 years ahead")
	}
}

func parseRecurrence(in RecurrenceInput, rel relationship.Relationship, now time.Time) (recurrence.Rule, error) {
	zone := in.TimeZone
	if zone == "" {
		zone = rel.TimeZone
	}
	starts := in.StartsOn
	if starts == "" {
		// Today in the zone; in UTC when the zone is wrong, which is the
		// only error to report then (starts_on was not given).
		loc, ok := tz.Load(zone)
		if !ok {
			loc = time.UTC
		}
		starts = now.In(loc).Format(time.DateOnly)
	}
	rule, err := recurrence.Parse(in.RRule, zone, in.LocalTime, starts)
	if err != nil {
		return rule, err
	}
	first, ferr := time.Parse(time.DateOnly, rule.StartsOn())
	var v fault.Validation
	switch {
	case ferr != nil:
	case first.Before(now.Add(-MaxBackdate - 24*time.Hour)):
		v.Add("recurrence.starts_on", "too_far_in_past", "may lie at most 365 days in the past")
	case first.After(now.Add(maxAhead)):
		v.Add("recurrence.starts_on", "too_far_in_future", "may lie at most 10 years ahead")
	}
	return rule, v.Err()
}

func toRecurrence(r recurrence.Rule) Recurrence {
	return Recurrence{RRule: r.RRULE(), TimeZone: r.TimeZone(), LocalTime: r.LocalTime(), StartsOn: r.StartsOn()}
}

// ruleOf parses a stored recurrence; stored rules were validated already.
func ruleOf(p Promise) (recurrence.Rule, error) {
	r := p.Recurrence
	rule, err := recurrence.Parse(r.RRule, r.TimeZone, r.LocalTime, r.StartsOn)
	if err != nil {
		return rule, fault.Internal(err)
	}
	return rule, nil
}

func newOccurrence(p Promise, due, now time.Time) Occurrence {
	return Occurrence{
		ID: id.New(id.Occurrence), RelationshipID: p.RelationshipID, PromiseID: p.ID,
		PromisorID: p.PromisorID, PromiseeID: p.PromiseeID, DueAt: due, OriginalDueAt: due,
		Status: OccOpen, CreatedAt: now, UpdatedAt: now,
	}
}

// replan puts a recurring promise's future under a new rule, and
// materializes it to the horizon. It concerns only the plan's occurrences
// not yet due, open or skipped (a pause skips them ahead of time):
// resolved and cancelled ones, and ones already due, stay exactly as they
// are. Of the planned ones, those the new rule also has stay too (the
// same occurrence, with its proposals; skipped if the pause still holds
// it), and so do those an accepted renegotiation moved or created:
// both people agreed to them, and a new rule is the promisor's alone. The
// others are cancelled, for good: a later rule that falls due at one of
// their times again gets a new occurrence, and the cancelled one is never
// opened again; a skipped one cancelled leaves the score's tally of
// skipped occurrences. The new rule's instances that no occurrence holds
// yet are created, but for those on a local date that an occurrence of
// the old rule keeps (one already due, or resolved ahead of time, at a
// time the new rule does not have): moving "at 20:00" to "at 21:00" after
// today's 20:00 fell due, or was kept early, asks nothing more of today.
func (s *Service) replan(ctx context.Context, tx Store, p *Promise, rule recurrence.Rule, now time.Time) error {
	pauses, err := tx.PausesOf(ctx, p.RelationshipID, p.ID)
	if err != nil {
		return err
	}
	until := now.Add(Horizon)
	p.MaterializedUntil = &until
	planned := instances(*p, rule, pauses, now, until, now)
	// The new rule's instants from a day back (a local date is at most
	// 26 hours long), to tell the old rule's occurrences from its own.
	inRule := make(map[int64]bool, len(planned)+2)
	for _, t := range rule.Between(now.Add(-sameDateReach), now) {
		inRule[t.UnixMicro()] = true
	}
	for _, o := range planned {
		inRule[o.DueAt.UnixMicro()] = true
	}
	live, err := tx.LiveOccurrencesOf(ctx, p.RelationshipID, p.ID, now.Add(-sameDateReach))
	if err != nil {
		return err
	}
	taken := make(map[int64]bool, len(live))
	kept := map[string]bool{} // local dates an old occurrence keeps
	for _, o := range live {
		switch {
		case o.DueAt.Before(now) || o.Status == OccResolved:
			if !inRule[o.DueAt.UnixMicro()] {
				kept[rule.LocalDate(o.DueAt)] = true
			}
			taken[o.DueAt.UnixMicro()] = true
			continue
		case !o.DueAt.Equal(o.OriginalDueAt) || o.ReplacesID != nil, inRule[o.DueAt.UnixMicro()]:
			// It holds its instant: one occurrence an instant, not two.
			taken[o.DueAt.UnixMicro()] = true
			continue
		}
		from := o.Status
		o.Status, o.UpdatedAt = OccCancelled, now
		if _, err := tx.UpdateOccurrence(ctx, o, from); err != nil {
			return err
		}
		if from == OccSkipped { // it counted in the score's tallies
			if err := s.rescore(ctx, tx, o); err != nil {
				return err
			}
		}
	}
	return s.insert(ctx, tx, slices.DeleteFunc(planned, func(o Occurrence) bool {
		return taken[o.DueAt.UnixMicro()] || kept[rule.LocalDate(o.DueAt)]
	}))
}

// sameDateReach is how far back an occurrence may lie and still share a
// local date with one due from now on.
const sameDateReach = 26 * time.Hour

// freshInstances is instances less those due at an instant an open
// occurrence of the promise already holds: one an accepted renegotiation
// moved or created stands for the rule's instance there (one occurrence an
// instant, not two).
func freshInstances(ctx context.Context, tx Store, p Promise, rule recurrence.Rule, pauses []Pause, from, until, now time.Time) ([]Occurrence, error) {
	open, err := tx.OpenOccurrencesOf(ctx, p.RelationshipID, p.ID, from)
	if err != nil {
		return nil, err
	}
	taken := make(map[int64]bool, len(open))
	for _, o := range open {
		taken[o.DueAt.UnixMicro()] = true
	}
	return slices.DeleteFunc(instances(p, rule, pauses, from, until, now), func(o Occurrence) bool { return taken[o.DueAt.UnixMicro()] }), nil
}

// instances builds the occurrences of a recurring promise due in
// [from, until); those on paused dates are born skipped.
func instances(p Promise, rule recurrence.Rule, pauses []Pause, from, until, now time.Time) []Occurrence {
	var out []Occurrence
	for _, due := range rule.Between(from, until) {
		o := newOccurrence(p, due, now)
		if paused(pauses, rule.LocalDate(due)) {
			o.Status = OccSkipped
		}
		out = append(out, o)
	}
	return out
}

func paused(pauses []Pause, date string) bool {
	for _, p := range pauses {
		if date >= p.StartsOn && date <= p.EndsOn {
			return true
		}
	}
	return false
}

// Get returns a promise the user may see.
func (s *Service) Get(ctx context.Context, userID, promiseID string) (Promise, error) {
	p, _, err := s.visiblePromise(ctx, s.store, userID, promiseID)
	return p, err
}

func (s *Service) visiblePromise(ctx context.Context, st Store, userID, promiseID string) (Promise, relationship.Relationship, error) {
	if !id.Valid(promiseID, id.Promise) {
		return Promise{}, relationship.Relationship{}, errNotFound
	}
	p, err := st.Promise(ctx, promiseID)
	if fault.Is(err, "not_found") {
		return Promise{}, relationship.Relationship{}, errNotFound
	}
	if err != nil {
		return Promise{}, relationship.Relationship{}, err
	}
	rel, err := member(ctx, st, p.RelationshipID, userID, errNotFound)
	return p, rel, err
}

// ownPromise loads a promise for a change by its promisor: visible to the
// user (else not_found), the precondition met, the user its promisor, the
// relationship not archived.
func (s *Service) ownPromise(ctx context.Context, tx Store, userID, promiseID string, precondition func(Promise) error, action string) (Promise, relationship.Relationship, error) {
	p, rel, err := s.visiblePromise(ctx, tx, userID, promiseID)
	if err != nil {
		return p, rel, err
	}
	if precondition != nil {
		if err := precondition(p); err != nil {
			return p, rel, err
		}
	}
	if p.PromisorID != userID {
		return p, rel, forbidden("promisor_only", "only the promisor can "+action+" a promise")
	}
	return p, rel, writable(rel)
}

// List returns a page of a relationship's promises.
func (s *Service) List(ctx context.Context, userID, relID string, f PromiseFilter, pr page.Request) (page.Result[Promise], error) {
	if !id.Valid(relID, id.Relationship) {
		return page.Result[Promise]{}, fault.NotFound("relationship")
	}
	if _, err := member(ctx, s.store, relID, userID, fault.NotFound("relationship")); err != nil {
		return page.Result[Promise]{}, err
	}
	ps, err := s.store.ListPromises(ctx, relID, f, page.Request{Limit: pr.Limit + 1, After: pr.After})
	if err != nil {
		return page.Result[Promise]{}, err
	}
	return page.Cut(ps, pr.Limit, func(p Promise) []string { return []string{p.ID} }), nil
}

// Changes edit a promise; nil fields stay as they are.
type Changes struct {
	Title      *string
	Details    *string
	Recurrence *RecurrenceInput
	Status     *string // only "archived"
}

// Update edits a promise (promisor only). A new recurrence replaces the open
// occurrences from now on; past and resolved ones stay as they were.
func (s *Service) Update(ctx context.Context, userID, promiseID string, c Changes, precondition func(Promise) error) (Promise, error) {
	var out Promise
	err := s.store.InTx(ctx, func(tx Store) error {
		p, rel, err := s.ownPromise(ctx, tx, userID, promiseID, precondition, "change")
		if err != nil {
			return err
		}
		if p.Status == StatusArchived && c.Status != nil && *c.Status == StatusArchived &&
			c.Title == nil && c.Details == nil && c.Recurrence == nil {
			// Archived again (a retry): nothing changes, nothing to refuse.
			out = p
			return nil
		}
		if p.Status == StatusArchived || p.Status == StatusCancelled {
			if c.Status == nil || p.Status == StatusArchived {
				return conflict("promise_closed", "the promise is "+p.Status+" and can no longer change")
			}
		}
		now := s.now()
		before := p
		if p.Recurrence != nil {
			r := *p.Recurrence // p's is replaced, not written to, but keep it apart
			before.Recurrence = &r
		}
		var v fault.Validation
		if c.Title != nil {
			p.Title = strings.TrimSpace(*c.Title)
			relationship.CheckText(&v, "title", p.Title, 1, maxTitle)
		}
		if c.Details != nil {
			p.Details = strings.TrimSpace(*c.Details)
			relationship.CheckText(&v, "details", p.Details, 0, maxDetails)
		}
		if c.Status != nil && *c.Status != StatusArchived {
			v.Add("status", "invalid_status", `can only be set to "archived"; cancel with DELETE`)
		}
		var rule recurrence.Rule
		if c.Recurrence != nil {
			if p.Kind != KindRecurring {
				v.Add("recurrence", "not_recurring", "a one-off promise has no recurrence; renegotiate its occurrence instead")
			} else if p.Status == StatusActive {
				if rule, err = parseRecurrence(*c.Recurrence, rel, now); err != nil {
					return err
				}
				r := toRecurrence(rule)
				p.Recurrence = &r
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if c.Status == nil && reflect.DeepEqual(p, before) {
			// Nothing changes (the same title, details and rule): no
			// write, no new occurrences, no event, the same ETag.
			out = before
			return nil
		}
		if c.Recurrence != nil && p.Kind == KindRecurring && p.Status == StatusActive {
			if err := s.replan(ctx, tx, &p, rule, now); err != nil {
				return err
			}
			if err := CloseProposals(ctx, tx, p.RelationshipID, p.ID, userID, now, false); err != nil {
				return err
			}
		}
		if c.Status != nil {
			p.Status = StatusArchived
			if err := tx.CancelOpenOccurrences(ctx, p.RelationshipID, p.ID, now, now); err != nil {
				return err
			}
			if err := CloseProposals(ctx, tx, p.RelationshipID, p.ID, userID, now, true); err != nil {
				return err
			}
		}
		p.UpdatedAt = now
		if err := tx.UpdatePromise(ctx, p); err != nil {
			return err
		}
		out = p
		return tx.Emit(ctx, s.ev(event.PromiseUpdated, p.RelationshipID, userID), p)
	})
	return out, err
}

// Cancel withdraws a promise (promisor only): its open occurrences from now
// on are cancelled and never scored; what happened before stays.
func (s *Service) Cancel(ctx context.Context, userID, promiseID string, precondition func(Promise) error) error {
	return s.store.InTx(ctx, func(tx Store) error {
		p, _, err := s.ownPromise(ctx, tx, userID, promiseID, precondition, "cancel")
		if err != nil {
			return err
		}
		switch p.Status {
		case StatusCancelled:
			return nil
		case StatusArchived, StatusCompleted:
			return conflict("promise_closed", "the promise is "+p.Status+" and cannot be cancelled")
		}
		now := s.now()
		if err := tx.CancelOpenOccurrences(ctx, p.RelationshipID, p.ID, now, now); err != nil {
			return err
		}
		if err := CloseProposals(ctx, tx, p.RelationshipID, p.ID, userID, now, true); err != nil {
			return err
		}
		p.Status, p.UpdatedAt = StatusCancelled, now
		if err := tx.UpdatePromise(ctx, p); err != nil {
			return err
		}
		return tx.Emit(ctx, s.ev(event.PromiseCancelled, p.RelationshipID, userID), p)
	})
}

// Occurrences lists occurrences of a relationship (or of one promise in it).
func (s *Service) Occurrences(ctx context.Context, userID, relID string, f OccurrenceFilter, pr page.Request) (page.Result[Occurrence], error) {
	if f.PromiseID != "" {
		p, _, err := s.visiblePromise(ctx, s.store, userID, f.PromiseID)
		if err != nil {
			return page.Result[Occurrence]{}, err
		}
		relID = p.RelationshipID
	} else {
		if !id.Valid(relID, id.Relationship) {
			return page.Result[Occurrence]{}, fault.NotFound("relationship")
		}
		if _, err := member(ctx, s.store, relID, userID, fault.NotFound("relationship")); err != nil {
			return page.Result[Occurrence]{}, err
		}
	}
	os, err := s.store.ListOccurrences(ctx, relID, f, page.Request{Limit: pr.Limit + 1, After: pr.After})
	if err != nil {
		return page.Result[Occurrence]{}, err
	}
	return page.Cut(os, pr.Limit, func(o Occurrence) []string {
		return []string{o.DueAt.Format(time.RFC3339Nano), o.ID}
	}), nil
}

// Occurrence returns one occurrence the user may see.
func (s *Service) Occurrence(ctx context.Context, userID, occID string) (Occurrence, error) {
	o, _, err := visibleOccurrence(ctx, s.store, userID, occID)
	return o, err
}

// writableOccurrence is visibleOccurrence for a change: the relationship
// must not be archived.
func writableOccurrence(ctx context.Context, st Store, userID, occID string) (Occurrence, relationship.Relationship, error) {
	o, rel, err := visibleOccurrence(ctx, st, userID, occID)
	if err != nil {
		return o, rel, err
	}
	return o, rel, writable(rel)
}

func visibleOccurrence(ctx context.Context, st Store, userID, occID string) (Occurrence, relationship.Relationship, error) {
	if !id.Valid(occID, id.Occurrence) {
		return Occurrence{}, relationship.Relationship{}, errOccNotFound
	}
	o, err := st.Occurrence(ctx, occID)
	if fault.Is(err, "not_found") {
		return Occurrence{}, relationship.Relationship{}, errOccNotFound
	}
	if err != nil {
		return Occurrence{}, relationship.Relationship{}, err
	}
	rel, err := member(ctx, st, o.RelationshipID, userID, errOccNotFound)
	return o, rel, err
}
