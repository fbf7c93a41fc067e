// Package webhook delivers troth's events to the HTTP endpoints users
// register, following the Standard Webhooks specification: endpoints and
// their secrets, the SSRF guard on every URL and every dial, request
// signing, the sender, the dispatcher that turns committed events into
// deliveries, and the River worker that makes each attempt and schedules
// the next.
package webhook

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/page"
)

// Delivery statuses.
const (
	StatusPending   = "pending"   // waiting for its first attempt
	StatusRetrying  = "retrying"  // an attempt failed; another is scheduled
	StatusSucceeded = "succeeded" // an attempt got a 2xx
	StatusFailed    = "failed"    // no attempt left, or the endpoint is gone or disabled
)

// Reasons an endpoint was disabled.
const (
	DisabledByOwner = "owner"   // the owner set enabled=false
	DisabledGone    = "gone"    // the receiver answered 410 Gone
	DisabledFailing = "failing" // every delivery failed for FailingFor
)

// FailingFor is how long an endpoint may fail every delivery before it is
// disabled.
const FailingFor = 5 * 24 * time.Hour

// SecretOverlap is how long the previous secret keeps signing after a rotation.
const SecretOverlap = 24 * time.Hour

// Endpoint is a URL that receives a user's events.
type Endpoint struct {
	ID          string
	OwnerID     string
	URL         string
	EventTypes  []string // empty: every type
	Description string
	Secret      string // whsec_…
	// PreviousSecret also signs until PreviousExpiresAt, after a rotation.
	PreviousSecret    string
	PreviousExpiresAt *time.Time
	DisabledAt        *time.Time
	DisabledReason    string
	// FailingSince is the first failed attempt since the last success.
	FailingSince *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Enabled reports whether the endpoint receives deliveries.
func (e Endpoint) Enabled() bool { return e.DisabledAt == nil }

// Wants reports whether the endpoint subscribes to an event type.
func (e Endpoint) Wants(eventType string) bool {
	if len(e.EventTypes) == 0 {
		return true
	}
	for _, t := range e.EventTypes {
		if t == eventType {
			return true
		}
	}
	return false
}

// secrets returns the secrets that sign a request at now: the previous one
// first while the rotation overlap lasts.
func (e Endpoint) secrets(now time.Time) []string {
	if e.PreviousSecret != "" && e.PreviousExpiresAt != nil && now.Before(*e.PreviousExpiresAt) {
		return []string{e.PreviousSecret, e.Secret}
	}
	return []string{e.Secret}
}

// Delivery is one event on its way to one endpoint: a chain of attempts.
type Delivery struct {
	ID            string
	EndpointID    string
	OwnerID       string
	EventID       string
	EventType     string
	Status        string
	Attempt       int // attempts made so far
	ResponseCode  *int
	ResponseBody  *string
	DurationMS    *int64
	Error         *string
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	CompletedAt   *time.Time
}

// Job asks for attempt number Attempt (1-based) of a delivery at At.
type Job struct {
	DeliveryID string
	Attempt    int
	At         time.Time // zero: now
}

// Enqueue writes jobs in the transaction tx, so that they exist exactly when
// the rows that ask for them commit.
type Enqueue func(ctx context.Context, tx *sql.Tx, jobs []Job) error

// Work is what one attempt needs: the delivery, its endpoint and its event.
type Work struct {
	Delivery Delivery
	Endpoint Endpoint
	Event    event.Event
	// Visible says the endpoint's owner may see the event now, by the
	// feed's rule: it belongs to no relationship (an event addressed to
	// the owner), or the owner is still a member of its relationship. An
	// attempt for an event they may no longer see is not made.
	Visible bool
}

// Result is the outcome of one attempt, to record.
type Result struct {
	DeliveryID string
	Attempt    int // the attempt made
	Status     string
	Code       *int
	Body       *string
	DurationMS *int64
	Error      *string
	At         time.Time  // when the attempt finished
	Next       *Job       // the next attempt, when retrying
	NextAt     *time.Time // Next's time on the service clock, for the log
	// Skipped says no request was made (the endpoint is disabled, the
	// event past retention, or no longer visible to the endpoint's owner):
	// it does not count as the endpoint failing.
	Skipped bool
	// Disable disables the endpoint at once with this reason ("gone").
	Disable string
	// FailingBefore disables the endpoint when it has failed every attempt
	// since before this time.
	FailingBefore time.Time
	// DisabledEvent is the snapshot of the webhook.disabled event sent to
	// the owner if the endpoint gets disabled; it receives the reason.
	DisabledEvent func(reason string) any
}

// Store keeps endpoints and deliveries.
type Store interface {
	CreateEndpoint(ctx context.Context, e Endpoint) error
	Endpoint(ctx context.Context, ownerID, id string) (Endpoint, error)
	Endpoints(ctx context.Context, ownerID string, p page.Request) ([]Endpoint, error)
	// UpdateEndpoint writes every mutable field of an endpoint if it is
	// still as read (was), and reports whether it did.
	UpdateEndpoint(ctx context.Context, e, was Endpoint) (bool, error)
	DeleteEndpoint(ctx context.Context, ownerID, id string) error
	// Ping records a webhook.ping event addressed to the endpoint's owner
	// and its delivery to that endpoint alone, with the job, in one
	// transaction.
	Ping(ctx context.Context, ev event.Event, data any, d Delivery, enqueue Enqueue) error
	// Redeliver records a new delivery of d's event and its job.
	Redeliver(ctx context.Context, d Delivery, enqueue Enqueue) error
	// Visible reports whether a user may see an event now, by the feed's
	// rule: it belongs to no relationship, or the user is a current member
	// of its relationship. An event past retention counts as visible
	// (there is nothing left of it to show).
	Visible(ctx context.Context, userID, eventID string) (bool, error)
	Deliveries(ctx context.Context, endpointID string, p page.Request) ([]Delivery, error)
	Delivery(ctx context.Context, endpointID, id string) (Delivery, error)
	// Work loads what an attempt needs; not_found when the delivery is gone.
	Work(ctx context.Context, deliveryID string) (Work, error)
	// Record stores an attempt's result unless the delivery has moved on
	// (another run of the same job got there first); it reports whether
	// it did.
	Record(ctx context.Context, r Result, enqueue Enqueue) (bool, error)
	// Dispatch turns up to limit undispatched events into deliveries and
	// jobs, and reports how many events it consumed. afterWrite says that
	// Written has just fired: Dispatch then waits for the transactions
	// that wrote events in this process to end before it looks.
	Dispatch(ctx context.Context, limit int, now time.Time, enqueue Enqueue, afterWrite bool) (int, error)
	// Written returns a channel that receives a value (signals coalesce)
	// after this process writes an event, before the event's transaction
	// commits, and a function that stops the signals.
	Written() (<-chan struct{}, func())
	// OldestDue returns the due time of the oldest delivery that is due and
	// not done, if any.
	OldestDue(ctx context.Context, now time.Time) (*time.Time, error)
}

// NewSecret returns a new signing secret in the Standard Webhooks format:
// whsec_ and the base64 of 32 random bytes.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// secretKey decodes a whsec_ secret into its key bytes.
func secretKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
}

// Payload is the body of a delivery: {"type", "timestamp", "data"}.
func Payload(ev event.Event) ([]byte, error) {
	return json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{ev.Type, ev.CreatedAt.UTC(), ev.Data})
}
