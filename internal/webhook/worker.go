package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/troth-app/troth/internal/fault"
)

// Schedule is the default pause before each attempt: at once, then after
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h; after the last
// the delivery has failed.
var Schedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// jitter spreads a pause by ±10%, so that deliveries failed together do
// not retry together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// NotMemberError is the logged error of an attempt not made because the
// endpoint's owner is no longer a member of the event's relationship.
const NotMemberError = "not sent: the endpoint's owner is no longer a member of the event's relationship"

// Worker makes attempts: one call of Attempt is one HTTP request and the
// record of its result.
type Worker struct {
	Store    Store
	Sender   *Sender
	Now      func() time.Time
	Schedule []time.Duration
	Metrics  *Metrics
	Log      *slog.Logger
	// MaxInFlight caps the attempts in flight to one endpoint (0: the
	// package's MaxInFlight).
	MaxInFlight int

	inflight inFlight
}

// Attempt makes attempt number attempt of a delivery. A delivery that is
// gone, done or already past this attempt is left alone: River may run a
// job twice, and a redundant run must not send twice or schedule twice.
// It returns an error only when the result could not be recorded, so the
// job is retried by River, or a *BusyError when the endpoint already has
// MaxInFlight attempts in flight in this process: the job is then run
// again later (River's snooze), nothing sent and nothing recorded.
func (w *Worker) Attempt(ctx context.Context, deliveryID string, attempt int, enqueue Enqueue) error {
	wk, err := w.Store.Work(ctx, deliveryID)
	if fault.Is(err, "not_found") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load delivery %s: %w", deliveryID, err)
	}
	d := wk.Delivery
	if d.Attempt != attempt-1 || (d.Status != StatusPending && d.Status != StatusRetrying) {
		return nil
	}
	r := Result{DeliveryID: d.ID, Attempt: attempt}
	if !wk.Endpoint.Enabled() || wk.Event.ID == "" || !wk.Visible {
		var msg string
		switch {
		case !wk.Endpoint.Enabled():
			msg = "the endpoint is disabled"
		case wk.Event.ID == "":
			msg = "the event is past retention"
		default:
			msg = NotMemberError
		}
		r.Status, r.Error, r.At, r.Skipped = StatusFailed, &msg, w.Now().UTC(), true
		return w.record(ctx, r, "skipped", enqueue, wk)
	}
	body, err := Payload(wk.Event)
	if err != nil {
		return fmt.Errorf("payload of %s: %w", wk.Event.ID, err)
	}
	limit := w.MaxInFlight
	if limit <= 0 {
		limit = MaxInFlight
	}
	release, ok := w.inflight.acquire(ctx, wk.Endpoint.ID, limit, slotWait)
	if !ok {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &BusyError{Retry: jitter(w.inflight.snooze(wk.Endpoint.ID, limit, w.Now()))}
	}
	res := w.Sender.Send(ctx, wk.Endpoint, wk.Event.ID, body)
	release()
	if ctx.Err() != nil {
		// Shutting down: the attempt is not counted and River runs the job again.
		return ctx.Err()
	}
	now := w.Now().UTC()
	ms := res.Duration.Milliseconds()
	r.At, r.DurationMS = now, &ms
	if res.Code != 0 {
		code, b := res.Code, res.Body
		r.Code, r.Body = &code, &b
	}
	if w.Metrics != nil {
		w.Metrics.attemptDuration.Observe(res.Duration.Seconds())
	}
	var outcome string
	switch {
	case res.Err != nil:
		msg := res.Err.Error()
		r.Error, outcome = &msg, "network_error"
	case res.Code >= 200 && res.Code < 300:
		r.Status, outcome = StatusSucceeded, "succeeded"
		if w.Metrics != nil {
			w.Metrics.latency.Observe(now.Sub(wk.Event.CreatedAt).Seconds())
		}
		return w.record(ctx, r, outcome, enqueue, wk)
	case res.Code == 410:
		msg := "the receiver answered 410 Gone: the endpoint is disabled"
		r.Status, r.Error, r.Disable = StatusFailed, &msg, DisabledGone
		return w.record(ctx, r, "gone", enqueue, wk)
	case res.Code >= 300 && res.Code < 400:
		msg := "redirects are not followed"
		r.Error, outcome = &msg, "redirect"
	default:
		msg := fmt.Sprintf("the receiver answered %d", res.Code)
		r.Error, outcome = &msg, "http_error"
	}
	r.Status = StatusFailed
	if attempt < len(w.Schedule) {
		delay := max(jitter(w.Schedule[attempt]), res.RetryAfter)
		next := now.Add(delay)
		// River schedules on the wall clock; the log shows the service
		// clock (the same one outside tests).
		job := Job{DeliveryID: d.ID, Attempt: attempt + 1}
		if delay > 0 {
			job.At = time.Now().Add(delay)
		}
		r.Status, r.Next, r.NextAt = StatusRetrying, &job, &next
	}
	r.FailingBefore = now.Add(-FailingFor)
	return w.record(ctx, r, outcome, enqueue, wk)
}

func (w *Worker) record(ctx context.Context, r Result, outcome string, enqueue Enqueue, wk Work) error {
	ep := wk.Endpoint
	r.DisabledEvent = func(reason string) any {
		return DisabledData{WebhookID: ep.ID, URL: ep.URL, Reason: reason, DisabledAt: r.At.Truncate(time.Microsecond)}
	}
	// Record even when the job's context ends now: the request was made.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	done, err := w.Store.Record(ctx, r, enqueue)
	if err != nil {
		return fmt.Errorf("record attempt %d of %s: %w", r.Attempt, r.DeliveryID, err)
	}
	if done && w.Metrics != nil {
		w.Metrics.attempts.WithLabelValues(outcome).Inc()
		if r.Status == StatusFailed || r.Status == StatusSucceeded {
			w.Metrics.deliveries.WithLabelValues(r.Status).Inc()
		}
	}
	if done && w.Log != nil && r.Status != StatusSucceeded {
		w.Log.Debug("webhook attempt failed", "delivery", r.DeliveryID, "attempt", r.Attempt, "outcome", outcome, "status", r.Status)
	}
	return nil
}
