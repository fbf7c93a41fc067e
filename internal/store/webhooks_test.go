package store_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/store"
	"github.com/troth-app/troth/internal/store/storetest"
	"github.com/troth-app/troth/internal/webhook"
)

// An attempt's work comes with its endpoint and event; its result is
// recorded once, keeps the endpoint's failure record (a failure starts it,
// a success clears it) and enqueues the next attempt in the same
// transaction.
func TestWebhookWorkAndRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := open(t, b)
		now := time.Now().UTC().Truncate(time.Microsecond)
		u, ep := userWithEndpoint(t, db, "hooks@example.com", now)
		s := db.Webhooks()
		var jobs []webhook.Job
		enqueue := func(_ context.Context, _ *sql.Tx, js []webhook.Job) error {
			jobs = append(jobs, js...)
			return nil
		}
		ev := event.Event{ID: id.New(id.Event), Type: event.WebhookPing, UserID: u.ID, ActorID: u.ID, CreatedAt: now}
		d := webhook.NewDelivery(ep, ev.ID, ev.Type, now)
		if err := s.Ping(ctx, ev, webhook.PingData{WebhookID: ep.ID, URL: ep.URL}, d, enqueue); err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 || jobs[0].DeliveryID != d.ID || jobs[0].Attempt != 1 {
			t.Fatalf("ping enqueued %+v", jobs)
		}

		wk, err := s.Work(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if wk.Delivery.ID != d.ID || wk.Delivery.Status != webhook.StatusPending || wk.Delivery.Attempt != 0 ||
			wk.Endpoint.ID != ep.ID || wk.Endpoint.Secret != ep.Secret || wk.Endpoint.FailingSince != nil ||
			wk.Event.ID != ev.ID || wk.Event.Type != ev.Type || !wk.Event.CreatedAt.Equal(now) || len(wk.Event.Data) == 0 {
			t.Fatalf("work: %+v", wk)
		}
		if _, err := s.Work(ctx, "dlv_missing"); err == nil {
			t.Fatal("work of a missing delivery: no error")
		}

		// The first attempt fails: the endpoint is failing since then, and
		// the second attempt is enqueued.
		code := 500
		failedAt := now.Add(time.Second)
		next := failedAt.Add(5 * time.Second)
		jobs = nil
		r := webhook.Result{DeliveryID: d.ID, Attempt: 1, Status: webhook.StatusRetrying, Code: &code, At: failedAt,
			Next: &webhook.Job{DeliveryID: d.ID, Attempt: 2}, NextAt: &next, FailingBefore: failedAt.Add(-webhook.FailingFor)}
		if done, err := s.Record(ctx, r, enqueue); err != nil || !done {
			t.Fatalf("record a failure: %v %v", done, err)
		}
		if len(jobs) != 1 || jobs[0].Attempt != 2 {
			t.Fatalf("failure enqueued %+v", jobs)
		}
		wk, err = s.Work(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if wk.Delivery.Status != webhook.StatusRetrying || wk.Delivery.Attempt != 1 || wk.Endpoint.FailingSince == nil ||
			!wk.Endpoint.FailingSince.Equal(failedAt) || !wk.Endpoint.Enabled() {
			t.Fatalf("after a failure: %+v", wk)
		}
		// The same attempt again (River ran the job twice) changes nothing.
		if done, err := s.Record(ctx, r, enqueue); err != nil || done {
			t.Fatalf("record attempt 1 twice: %v %v", done, err)
		}

		// The second attempt succeeds: the failure record is cleared.
		code = 204
		ok := webhook.Result{DeliveryID: d.ID, Attempt: 2, Status: webhook.StatusSucceeded, Code: &code, At: failedAt.Add(5 * time.Second)}
		if done, err := s.Record(ctx, ok, enqueue); err != nil || !done {
			t.Fatalf("record a success: %v %v", done, err)
		}
		wk, err = s.Work(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if wk.Delivery.Status != webhook.StatusSucceeded || wk.Delivery.Attempt != 2 || wk.Delivery.CompletedAt == nil ||
			wk.Endpoint.FailingSince != nil {
			t.Fatalf("after a success: %+v", wk)
		}
		if done, err := s.Record(ctx, ok, enqueue); err != nil || done {
			t.Fatalf("record the success twice: %v %v", done, err)
		}
		if len(jobs) != 1 {
			t.Fatalf("a success enqueued %+v", jobs[1:])
		}
	})
}

// A dispatch woken by an event's write, while the event's transaction is
// still open, waits for that transaction and dispatches the event.
func TestWebhookDispatchAfterWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := open(t, b)
		now := time.Now().UTC()
		u, _ := userWithEndpoint(t, db, "wake@example.com", now)
		s := db.Webhooks()
		written, stop := s.Written()
		defer stop()
		var jobs []webhook.Job
		enqueue := func(_ context.Context, _ *sql.Tx, js []webhook.Job) error {
			jobs = append(jobs, js...)
			return nil
		}

		commit := make(chan struct{})
		var once sync.Once
		release := func() { once.Do(func() { close(commit) }) }
		defer release() // a failing test must not leave the transaction open
		txDone := make(chan error, 1)
		go func() {
			txDone <- db.Relationships().InTx(ctx, func(tx relationship.Store) error {
				ev := event.Event{Type: event.RelationshipCreated, UserID: u.ID, ActorID: u.ID, CreatedAt: now}
				if err := tx.Emit(ctx, ev, map[string]string{"id": "x"}); err != nil {
					return err
				}
				<-commit
				return nil
			})
		}()
		select {
		case <-written:
		case err := <-txDone:
			t.Fatalf("the transaction ended before its event was signalled: %v", err)
		}
		type result struct {
			n   int
			err error
		}
		dispatched := make(chan result, 1)
		go func() {
			n, err := s.Dispatch(ctx, 10, now, enqueue, true)
			dispatched <- result{n, err}
		}()
		if b.Name == "postgres" {
			// The dispatch waits for the event lock the open transaction holds.
			pg, err := sql.Open("pgx", b.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			for waiting := 0; waiting == 0; time.Sleep(time.Millisecond) {
				select {
				case r := <-dispatched:
					t.Fatalf("the dispatch did not wait for the open transaction: %d events, %v", r.n, r.err)
				default:
				}
				err := pg.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 727369
					AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND NOT granted`).Scan(&waiting)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		select {
		case r := <-dispatched:
			t.Fatalf("the dispatch did not wait for the open transaction: %d events, %v", r.n, r.err)
		default:
		}
		release()
		if err := <-txDone; err != nil {
			t.Fatal(err)
		}
		r := <-dispatched
		if r.err != nil || r.n != 1 || len(jobs) != 1 || jobs[0].Attempt != 1 {
			t.Fatalf("dispatch after the write: %d events, %v, jobs %+v", r.n, r.err, jobs)
		}
		if n, err := s.Dispatch(ctx, 10, now, enqueue, false); err != nil || n != 0 {
			t.Fatalf("dispatch again: %d events, %v", n, err)
		}
	})
}

// Successes recorded at the same time are each recorded once, and a
// repeated attempt (River running a job twice) is not, whatever the
// batches they fall in.
func TestWebhookRecordConcurrentSuccesses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := open(t, b)
		now := time.Now().UTC()
		u, ep := userWithEndpoint(t, db, "many@example.com", now)
		s := db.Webhooks()
		noJobs := func(context.Context, *sql.Tx, []webhook.Job) error { return nil }
		var ds []webhook.Delivery
		for range 40 {
			ev := event.Event{ID: id.New(id.Event), Type: event.WebhookPing, UserID: u.ID, ActorID: u.ID, CreatedAt: now}
			d := webhook.NewDelivery(ep, ev.ID, ev.Type, now)
			if err := s.Ping(ctx, ev, webhook.PingData{WebhookID: ep.ID, URL: ep.URL}, d, noJobs); err != nil {
				t.Fatal(err)
			}
			ds = append(ds, d)
		}
		code, body, ms := 204, "", int64(3)
		dones := make([]int, len(ds))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, d := range ds {
			for range 2 { // each attempt twice
				wg.Go(func() {
					r := webhook.Result{DeliveryID: d.ID, Attempt: 1, Status: webhook.StatusSucceeded, Code: &code, Body: &body,
						DurationMS: &ms, At: now.Add(time.Second)}
					done, err := s.Record(ctx, r, noJobs)
					if err != nil {
						t.Error(err)
					}
					if done {
						mu.Lock()
						dones[i]++
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		for i, d := range ds {
			wk, err := s.Work(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if dones[i] != 1 || wk.Delivery.Status != webhook.StatusSucceeded || wk.Delivery.Attempt != 1 ||
				wk.Delivery.ResponseCode == nil || *wk.Delivery.ResponseCode != code || wk.Delivery.CompletedAt == nil {
				t.Fatalf("delivery %d recorded %d times: %+v", i, dones[i], wk.Delivery)
			}
		}
	})
}

// userWithEndpoint creates a user with one webhook endpoint, created at now.
func userWithEndpoint(t *testing.T, db *store.DB, email string, now time.Time) (account.User, webhook.Endpoint) {
	t.Helper()
	ctx := context.Background()
	u := newUser(email)
	if err := db.Accounts().CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ep := webhook.Endpoint{ID: id.New(id.Webhook), OwnerID: u.ID, URL: "https://hooks.example.com/x", Secret: webhook.NewSecret(),
		CreatedAt: now, UpdatedAt: now}
	if err := db.Webhooks().CreateEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	return u, ep
}

// With no endpoint the dispatcher writes nothing and leaves its cursor;
// the first endpoint moves the cursor to where it starts, and a later one
// does not move it past events still to be delivered to an earlier one.
func TestWebhookDispatchWithoutEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := open(t, b)
		now := time.Now().UTC()
		s := db.Webhooks()
		var jobs []webhook.Job
		enqueue := func(_ context.Context, _ *sql.Tx, js []webhook.Job) error {
			jobs = append(jobs, js...)
			return nil
		}
		emit := func(u account.User) {
			t.Helper()
			err := db.Relationships().InTx(ctx, func(tx relationship.Store) error {
				ev := event.Event{Type: event.RelationshipCreated, UserID: u.ID, ActorID: u.ID, CreatedAt: now}
				return tx.Emit(ctx, ev, map[string]string{"id": "x"})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		dispatch := func(afterWrite bool) int {
			t.Helper()
			n, err := s.Dispatch(ctx, 10, now, enqueue, afterWrite)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		early := newUser("early@example.com")
		if err := db.Accounts().CreateUser(ctx, early); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			emit(early)
		}
		if n := dispatch(false) + dispatch(true); n != 0 {
			t.Fatalf("with no endpoint, dispatches took %d events", n)
		}

		a, _ := userWithEndpoint(t, db, "first@example.com", now)
		emit(a)
		if n := dispatch(false); n != 1 || len(jobs) != 1 {
			t.Fatalf("after the first endpoint: %d events dispatched, jobs %+v; want the one event since", n, jobs)
		}

		emit(a)
		userWithEndpoint(t, db, "second@example.com", now)
		if n := dispatch(false); n != 1 || len(jobs) != 2 {
			t.Fatalf("after a second endpoint: %d events dispatched, jobs %+v; want the first endpoint's event", n, jobs)
		}
	})
}
