package main

// The webhook-delivery operation of SPEC §9: the harness is its own
// receiver. It registers -webhook-endpoints endpoints for ben on one
// loopback listener, each asking for follow_through.recorded alone,
// drives follow-throughs (each commits one such event, delivered to every
// endpoint, so deliveries can outrun the writes that cause them), waits a
// bounded time for the deliveries to drain, and reports how many arrived,
// how fast, and how long after their event was written.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// receiver is a loopback webhook endpoint that answers 204 at once. It
// checks that the Standard Webhooks headers are there but verifies no
// signature (the harness shares the CPU with the server), and records
// for each delivery (endpoint path and webhook-id) when it first arrived
// and when its event was created.
type receiver struct {
	mu          sync.Mutex
	seen        map[string]bool // path and webhook-id of each delivery received
	latency     []time.Duration // created_at to receipt, one per delivery
	first, last time.Time       // receipts
	dups, bad   int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var body struct {
		Timestamp time.Time `json:"timestamp"` // the event's created_at
	}
	id := r.Header.Get("webhook-id")
	err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body)
	ok := err == nil && !body.Timestamp.IsZero() && id != "" && r.Header.Get("webhook-timestamp") != "" &&
		strings.HasPrefix(r.Header.Get("webhook-signature"), "v1,")
	key := r.URL.Path + " " + id
	rc.mu.Lock()
	switch {
	case !ok:
		rc.bad++
	case rc.seen[key]:
		rc.dups++
	default:
		rc.seen[key] = true
		rc.latency = append(rc.latency, at.Sub(body.Timestamp))
		if rc.first.IsZero() || at.Before(rc.first) {
			rc.first = at
		}
		if at.After(rc.last) {
			rc.last = at
		}
	}
	rc.mu.Unlock()
	if !ok {
		http.Error(w, "not a signed webhook delivery", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) received() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.latency)
}

// deliveries is what the webhook operation measured.
type deliveries struct {
	endpoints int
	events    int             // follow_through.recorded events written during the drive
	owed      int             // events × endpoints
	received  int             // distinct deliveries
	backlog   int             // owed but not received when the drive ended
	dups, bad int             // repeated deliveries; requests without the webhook headers
	window    time.Duration   // first to last receipt
	total     time.Duration   // start of the drive to the end of the drain
	drain     time.Duration   // end of the drive to the end of the drain
	drained   time.Duration   // end of the drive to the last receipt, if after it
	latency   []time.Duration // created_at to receipt, sorted
}

// rate is deliveries a second from the first receipt to the last.
func (d *deliveries) rate() float64 {
	if d.window <= 0 {
		return 0
	}
	return float64(d.received) / d.window.Seconds()
}

// drainRate is deliveries a second after the drive, while the backlog
// drains and no request competes with them: the delivery capacity, when
// the backlog is large enough to tell.
func (d *deliveries) drainRate() float64 {
	if d.drained <= 0 {
		return 0
	}
	return float64(d.received-(d.owed-d.backlog)) / d.drained.Seconds()
}

// quantile returns the q-quantile (nearest rank) of the latencies.
func (d *deliveries) quantile(q float64) time.Duration {
	if len(d.latency) == 0 {
		return 0
	}
	return d.latency[min(len(d.latency)-1, int(q*float64(len(d.latency))))]
}

// driveWebhooks runs the webhook operation: op's targeter makes the
// events, and the row's figures are the deliveries'. The started server
// allows the loopback URLs through TROTH_WEBHOOK_ALLOW_PRIVATE; a -target
// must have been started with it.
func driveWebhooks(op operation, o options, fx fixture, pid int, debugAddr string) (row, error) {
	rc := &receiver{seen: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return row{}, err
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	c := caller{base: fx.base, c: &http.Client{Timeout: 30 * time.Second}}
	for i := range o.webhookEndpoints {
		var ep struct {
			ID string `json:"id"`
		}
		err := c.call("POST", "/v1/webhooks", fx.token, map[string]any{
			"url":         "http://" + ln.Addr().String() + "/hook/" + strconv.Itoa(i),
			"event_types": []string{"follow_through.recorded"}, "description": "troth-bench receiver",
		}, http.StatusCreated, &ep)
		if err != nil {
			return row{}, fmt.Errorf("register the receiver (a -target needs TROTH_WEBHOOK_ALLOW_PRIVATE=true): %w", err)
		}
		// Later operations must not pay for deliveries to these endpoints.
		defer func() {
			if err := c.call("DELETE", "/v1/webhooks/"+ep.ID, fx.token, nil, http.StatusNoContent, nil); err != nil {
				logf("delete webhook endpoint %s: %v", ep.ID, err)
			}
		}()
	}

	_, cursor, err := feedEvents(c, fx.token, "")
	if err != nil {
		return row{}, fmt.Errorf("read the event feed: %w", err)
	}
	start := time.Now()
	r := attack(op, o, pid, debugAddr)
	driven := time.Now()
	// The feed, not the 201s, says which events were written: a request
	// that timed out at the harness may still have committed.
	d := &deliveries{endpoints: o.webhookEndpoints}
	if d.events, _, err = feedEvents(c, fx.token, cursor); err != nil {
		return r, fmt.Errorf("read the event feed: %w", err)
	}
	if d.events == 0 {
		return r, errors.New("no follow-through was recorded, so no event was made")
	}
	d.owed = d.events * d.endpoints
	d.backlog = d.owed - rc.received()
	logf("%s: %d events (%.0f POST/s), %d deliveries owed; draining for up to %s", op.name, d.events, r.m.Throughput, d.owed, o.webhookDrain)
	for rc.received() < d.owed && time.Since(driven) < o.webhookDrain {
		time.Sleep(20 * time.Millisecond)
	}
	end := time.Now()

	rc.mu.Lock()
	d.received, d.dups, d.bad = len(rc.latency), rc.dups, rc.bad
	d.window, d.total, d.drain = rc.last.Sub(rc.first), end.Sub(start), end.Sub(driven)
	d.drained = max(0, rc.last.Sub(driven))
	d.latency = slices.Clone(rc.latency)
	rc.mu.Unlock()
	slices.Sort(d.latency)
	r.deliveries = d
	logf("%s: %d of %d received, %.0f/s, created_at to receipt p50 %s", op.name, d.received, d.owed, d.rate(), ms(d.quantile(0.5)))
	return r, nil
}

// feedEvents pages the follow_through.recorded events of the user's feed
// after a cursor ("" for the start) and returns how many it read and the
// cursor at its end.
func feedEvents(c caller, token, after string) (int, string, error) {
	n := 0
	for {
		var p struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor string            `json:"next_cursor"`
			HasMore    bool              `json:"has_more"`
		}
		path := "/v1/events?types=follow_through.recorded&limit=100&after=" + url.QueryEscape(after)
		if err := c.call("GET", path, token, nil, http.StatusOK, &p); err != nil {
			return n, after, err
		}
		n, after = n+len(p.Data), p.NextCursor
		if !p.HasMore {
			return n, after, nil
		}
	}
}

// reportDeliveries writes the lines under the table that detail a webhook
// row: what was owed and received, the rates, and the latency spread.
func reportDeliveries(w io.Writer, r row, o options) {
	d := r.deliveries
	fmt.Fprintf(w, "%s: %d endpoints × %d events (POST follow-through %.0f/s, p50 %s, p99 %s, %d errors) = %d owed; "+
		"%d received, %d missing after a %s drain (bound %s), %d duplicates, %d without webhook headers\n",
		r.op.name, d.endpoints, d.events, r.m.Throughput, ms(r.m.Latencies.P50), ms(r.m.Latencies.P99), r.errors, d.owed,
		d.received, d.owed-d.received, d.drain.Round(time.Millisecond), o.webhookDrain, d.dups, d.bad)
	fmt.Fprintf(w, "%s: %.0f/s from first to last receipt (%s), %.0f/s over drive + drain (%s), %.0f/s after the drive on a backlog of %d (%s); "+
		"created_at to receipt p50 %s, p90 %s, p99 %s, max %s\n",
		r.op.name, d.rate(), d.window.Round(time.Millisecond), float64(d.received)/d.total.Seconds(), d.total.Round(time.Millisecond),
		d.drainRate(), d.backlog, d.drained.Round(time.Millisecond),
		ms(d.quantile(0.5)), ms(d.quantile(0.9)), ms(d.quantile(0.99)), ms(d.quantile(1)))
}
