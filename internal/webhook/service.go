package webhook

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/page"
)

// MaxDescription bounds an endpoint's description, in characters.
const MaxDescription = 500

// Service manages a user's endpoints, pings and redeliveries.
type Service struct {
	store   Store
	enqueue Enqueue
	guard   *Guard
	now     func() time.Time
}

// NewService returns the endpoint service; enqueue writes delivery jobs.
func NewService(s Store, enqueue Enqueue, g *Guard, now func() time.Time) *Service {
	// Times as stored and shown: UTC, to the microsecond.
	return &Service{store: s, enqueue: enqueue, guard: g, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Input creates or changes an endpoint; nil fields are left as they are.
type Input struct {
	URL         *string
	EventTypes  *[]string
	Description *string
	Enabled     *bool
}

// PingData is the data of a webhook.ping event.
type PingData struct {
	WebhookID string `json:"webhook_id"`
	URL       string `json:"url"`
}

// DisabledData is the data of a webhook.disabled event.
type DisabledData struct {
	WebhookID  string    `json:"webhook_id"`
	URL        string    `json:"url"`
	Reason     string    `json:"reason"`
	DisabledAt time.Time `json:"disabled_at"`
}

func (s *Service) check(ctx context.Context, in Input) error {
	var v fault.Validation
	if in.URL != nil {
		if _, err := s.guard.CheckURL(ctx, *in.URL); err != nil {
			var p *URLProblem
			if !errors.As(err, &p) {
				return err
			}
			v.Add("url", p.Code, p.Message)
		}
	}
	if in.EventTypes != nil {
		for i, t := range *in.EventTypes {
			if !event.Known(t) {
				v.Add("event_types["+strconv.Itoa(i)+"]", "unknown_type", "unknown event type "+strconv.Quote(t))
			}
		}
	}
	if in.Description != nil {
		v.Check(utf8.RuneCountInString(*in.Description) <= MaxDescription, "description", "too_long", "must be at most 500 characters")
	}
	return v.Err()
}

func normalTypes(ts []string) []string {
	out := slices.Clone(ts)
	slices.Sort(out)
	return slices.Compact(out)
}

// Create registers an endpoint for the owner. The returned endpoint
// carries its secret, which is shown this once.
func (s *Service) Create(ctx context.Context, ownerID string, in Input) (Endpoint, error) {
	if in.URL == nil || strings.TrimSpace(*in.URL) == "" {
		var v fault.Validation
		v.Add("url", "required", "is required")
		return Endpoint{}, v.Err()
	}
	if err := s.check(ctx, in); err != nil {
		return Endpoint{}, err
	}
	now := s.now()
	e := Endpoint{ID: id.New(id.Webhook), OwnerID: ownerID, URL: *in.URL, Secret: NewSecret(), CreatedAt: now, UpdatedAt: now}
	if in.EventTypes != nil {
		e.EventTypes = normalTypes(*in.EventTypes)
	}
	if in.Description != nil {
		e.Description = *in.Description
	}
	if in.Enabled != nil && !*in.Enabled {
		e.DisabledAt, e.DisabledReason = &now, DisabledByOwner
	}
	if err := s.store.CreateEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// List lists the owner's endpoints, oldest first.
func (s *Service) List(ctx context.Context, ownerID string, p page.Request) (page.Result[Endpoint], error) {
	es, err := s.store.Endpoints(ctx, ownerID, page.Request{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return page.Result[Endpoint]{}, err
	}
	return page.Cut(es, p.Limit, func(e Endpoint) []string { return []string{e.ID} }), nil
}

// Get returns one of the owner's endpoints; others' are not_found.
func (s *Service) Get(ctx context.Context, ownerID, id string) (Endpoint, error) {
	return s.store.Endpoint(ctx, ownerID, id)
}

// Update changes an endpoint after check accepts its current state (the
// HTTP layer's If-Match). Enabling it again clears its failure record.
func (s *Service) Update(ctx context.Context, ownerID, id string, in Input, check func(Endpoint) error) (Endpoint, error) {
	if err := s.check(ctx, in); err != nil {
		return Endpoint{}, err
	}
	return s.change(ctx, ownerID, id, func(e *Endpoint, now time.Time) error {
		if err := check(*e); err != nil {
			return err
		}
		if in.URL != nil {
			e.URL = *in.URL
		}
		if in.EventTypes != nil {
			e.EventTypes = normalTypes(*in.EventTypes)
		}
		if in.Description != nil {
			e.Description = *in.Description
		}
		if in.Enabled != nil {
			switch {
			case *in.Enabled && !e.Enabled():
				e.DisabledAt, e.DisabledReason, e.FailingSince = nil, "", nil
			case !*in.Enabled && e.Enabled():
				e.DisabledAt, e.DisabledReason = &now, DisabledByOwner
			}
		}
		return nil
	})
}

// change reads an endpoint, applies fn and writes it back if no other
// change came in between (UpdateEndpoint compares), else starts again from
// the endpoint as it is now: two changes at once both take effect, as if
// made one after the other.
func (s *Service) change(ctx context.Context, ownerID, id string, fn func(e *Endpoint, now time.Time) error) (Endpoint, error) {
	for attempt := 1; ; attempt++ {
		e, err := s.store.Endpoint(ctx, ownerID, id)
		if err != nil {
			return Endpoint{}, err
		}
		was := e
		now := s.now()
		if !now.After(was.UpdatedAt) {
			now = was.UpdatedAt.Add(time.Microsecond) // a new updated_at, for the next change to compare
		}
		if err := fn(&e, now); err != nil {
			return Endpoint{}, err
		}
		e.UpdatedAt = now
		ok, err := s.store.UpdateEndpoint(ctx, e, was)
		if err != nil || ok {
			return e, err
		}
		if attempt == 5 {
			return Endpoint{}, fault.New(fault.KindConflict, "webhook_changed", "the endpoint kept changing at the same time; read it again and retry")
		}
	}
}

// Delete removes an endpoint and its delivery log; deliveries not yet made
// are dropped.
func (s *Service) Delete(ctx context.Context, ownerID, id string, check func(Endpoint) error) error {
	e, err := s.store.Endpoint(ctx, ownerID, id)
	if err != nil {
		return err
	}
	if err := check(e); err != nil {
		return err
	}
	return s.store.DeleteEndpoint(ctx, ownerID, id)
}

// RotateSecret gives the endpoint a new secret, returned this once. The
// old one keeps signing, beside the new one, for SecretOverlap.
func (s *Service) RotateSecret(ctx context.Context, ownerID, id string) (Endpoint, error) {
	return s.change(ctx, ownerID, id, func(e *Endpoint, now time.Time) error {
		until := now.Add(SecretOverlap)
		e.PreviousSecret, e.PreviousExpiresAt = e.Secret, &until
		e.Secret = NewSecret()
		return nil
	})
}

// NewDelivery returns a pending delivery of an event to an endpoint.
func NewDelivery(e Endpoint, eventID, eventType string, now time.Time) Delivery {
	return Delivery{ID: id.New(id.Delivery), EndpointID: e.ID, OwnerID: e.OwnerID, EventID: eventID, EventType: eventType,
		Status: StatusPending, CreatedAt: now, NextAttemptAt: &now}
}

func disabledConflict() error {
	return fault.Conflict("webhook_disabled", "the webhook is disabled; enable it first")
}

// Ping sends a webhook.ping event to this endpoint alone (whatever its
// event types) and returns the delivery.
func (s *Service) Ping(ctx context.Context, ownerID, id string) (Delivery, error) {
	e, err := s.store.Endpoint(ctx, ownerID, id)
	if err != nil {
		return Delivery{}, err
	}
	if !e.Enabled() {
		return Delivery{}, disabledConflict()
	}
	now := s.now()
	ev := event.Event{ID: newEventID(), Type: event.WebhookPing, UserID: ownerID, ActorID: ownerID, CreatedAt: now}
	d := NewDelivery(e, ev.ID, ev.Type, now)
	if err := s.store.Ping(ctx, ev, PingData{WebhookID: e.ID, URL: e.URL}, d, s.enqueue); err != nil {
		return Delivery{}, err
	}
	return d, nil
}

func newEventID() string { return id.New(id.Event) }

// Deliveries lists an endpoint's delivery log, newest first.
func (s *Service) Deliveries(ctx context.Context, ownerID, id string, p page.Request) (page.Result[Delivery], error) {
	if _, err := s.store.Endpoint(ctx, ownerID, id); err != nil {
		return page.Result[Delivery]{}, err
	}
	ds, err := s.store.Deliveries(ctx, id, page.Request{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return page.Result[Delivery]{}, err
	}
	return page.Cut(ds, p.Limit, func(d Delivery) []string { return []string{d.ID} }), nil
}

// Redeliver starts a new chain of attempts for a delivery's event, with
// the same webhook-id, and returns the new delivery. The delivery of an
// event of a relationship the owner has left is not_found.
func (s *Service) Redeliver(ctx context.Context, ownerID, id, deliveryID string) (Delivery, error) {
	e, err := s.store.Endpoint(ctx, ownerID, id)
	if err != nil {
		return Delivery{}, err
	}
	old, err := s.store.Delivery(ctx, id, deliveryID)
	if err != nil {
		return Delivery{}, err
	}
	// An event of a relationship the owner has left is outside what they
	// may see: its delivery is not there for them any more (the worker
	// also refuses to send it, should they leave after this check).
	if ok, err := s.store.Visible(ctx, ownerID, old.EventID); err != nil {
		return Delivery{}, err
	} else if !ok {
		return Delivery{}, fault.NotFound("webhook delivery")
	}
	if !e.Enabled() {
		return Delivery{}, disabledConflict()
	}
	d := NewDelivery(e, old.EventID, old.EventType, s.now())
	if err := s.store.Redeliver(ctx, d, s.enqueue); err != nil {
		return Delivery{}, err
	}
	return d, nil
}
