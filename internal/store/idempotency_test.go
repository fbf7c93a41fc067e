package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/idempotency"
	"github.com/troth-app/troth/internal/store"
	"github.com/troth-app/troth/internal/store/storetest"
)

// idemFixture is a migrated database with two users.
type idemFixture struct {
	s           *store.Idempotency
	ana, bob    string
	t0          time.Time
	hash, hash2 []byte
}

func newIdemFixture(t *testing.T, b storetest.Backend) idemFixture {
	t.Helper()
	db := open(t, b)
	ana, bob := newUser("ana@example.com"), newUser("bob@example.com")
	if err := db.Accounts().CreateUser(context.Background(), ana); err != nil {
		t.Fatal(err)
	}
	if err := db.Accounts().CreateUser(context.Background(), bob); err != nil {
		t.Fatal(err)
	}
	return idemFixture{
		s: db.Idempotency(), ana: ana.ID, bob: bob.ID,
		t0:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		hash:  idempotency.Hash("POST", "/v1/things", []byte(`{"n":1}`)),
		hash2: idempotency.Hash("POST", "/v1/things", []byte(`{"n":2}`)),
	}
}

func (f idemFixture) rec(user, key string, hash []byte, at time.Time) idempotency.Record {
	return idempotency.Record{UserID: user, Key: key, RequestHash: hash, Status: idempotency.StatusInFlight, CreatedAt: at, LockedAt: at}
}

func (f idemFixture) begin(t *testing.T, rec idempotency.Record) (*idempotency.Record, bool) {
	t.Helper()
	existing, started, err := f.s.Begin(context.Background(), rec)
	if err != nil {
		t.Fatalf("begin %s/%s: %v", rec.UserID, rec.Key, err)
	}
	if started == (existing != nil) {
		t.Fatalf("begin: started %v with existing %+v", started, existing)
	}
	return existing, started
}

// A key is taken once, replays its completed response, and can be reused
// at once after a release.
func TestIdempotencyLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newIdemFixture(t, b)
		first := f.rec(f.ana, "key-1", f.hash, f.t0)
		if _, started := f.begin(t, first); !started {
			t.Fatal("first use of a key did not start")
		}
		got, started := f.begin(t, f.rec(f.ana, "key-1", f.hash, f.t0.Add(time.Second)))
		if started || got.Status != idempotency.StatusInFlight || idempotency.Decide(*got, f.hash, f.t0.Add(time.Second)) != idempotency.InFlight {
			t.Fatalf("second use while in flight: started %v, %+v", started, got)
		}

		resp := idempotency.Response{
			Status: 201,
			Header: map[string]string{"Content-Type": "application/json", "Location": "/v1/things/1", "ETag": `"abc"`},
			Body:   []byte(`{"id":"1"}`),
		}
		if err := f.s.Complete(ctx, first.Lease(), resp); err != nil {
			t.Fatal(err)
		}
		got, _ = f.begin(t, f.rec(f.ana, "key-1", f.hash, f.t0.Add(time.Hour)))
		want := first
		want.Status, want.Response = idempotency.StatusComplete, resp
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Fatalf("completed record (-want +got):\n%s", diff)
		}
		if err := f.s.Complete(ctx, first.Lease(), resp); !errors.Is(err, idempotency.ErrLeaseLost) {
			t.Fatalf("completing twice: %v, want ErrLeaseLost", err)
		}

		// Released keys start again; a release by a stale lease does nothing.
		second := f.rec(f.ana, "key-2", f.hash, f.t0)
		f.begin(t, second)
		stale := second.Lease()
		stale.LockedAt = stale.LockedAt.Add(-time.Minute)
		if err := f.s.Release(ctx, stale); err != nil {
			t.Fatal(err)
		}
		if _, started := f.begin(t, f.rec(f.ana, "key-2", f.hash, f.t0)); started {
			t.Fatal("a stale lease released the record")
		}
		if err := f.s.Release(ctx, second.Lease()); err != nil {
			t.Fatal(err)
		}
		if _, started := f.begin(t, f.rec(f.ana, "key-2", f.hash2, f.t0)); !started {
			t.Fatal("a released key did not start again")
		}
	})
}

// A response without headers or body comes back as such.
func TestIdempotencyEmptyResponse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newIdemFixture(t, b)
		rec := f.rec(f.ana, "k", f.hash, f.t0)
		f.begin(t, rec)
		if err := f.s.Complete(context.Background(), rec.Lease(), idempotency.Response{Status: 204}); err != nil {
			t.Fatal(err)
		}
		got, _ := f.begin(t, rec)
		if got.Response.Status != 204 || len(got.Response.Header) != 0 || len(got.Response.Body) != 0 {
			t.Fatalf("empty response came back as %+v", got.Response)
		}
	})
}

// Keys belong to one user.
func TestIdempotencyKeysArePerUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newIdemFixture(t, b)
		if _, started := f.begin(t, f.rec(f.ana, "shared", f.hash, f.t0)); !started {
			t.Fatal("ana did not start")
		}
		if _, started := f.begin(t, f.rec(f.bob, "shared", f.hash, f.t0)); !started {
			t.Fatal("bob's use of ana's key did not start")
		}
	})
}

// After the TTL a key is fresh, for any request; an abandoned in-flight
// record is taken over only by the same request, and its first holder can
// then no longer complete it.
func TestIdempotencyExpiryAndTakeover(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newIdemFixture(t, b)
		done := f.rec(f.ana, "old", f.hash, f.t0)
		f.begin(t, done)
		if err := f.s.Complete(ctx, done.Lease(), idempotency.Response{Status: 200, Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		if _, started := f.begin(t, f.rec(f.ana, "old", f.hash2, f.t0.Add(idempotency.TTL))); started {
			t.Fatal("a key was fresh at exactly the TTL")
		}
		later := f.t0.Add(idempotency.TTL + time.Microsecond)
		if _, started := f.begin(t, f.rec(f.ana, "old", f.hash2, later)); !started {
			t.Fatal("an expired key did not start")
		}
		got, _ := f.begin(t, f.rec(f.ana, "old", f.hash2, later))
		if got.Status != idempotency.StatusInFlight || got.Response.Status != 0 || got.Response.Body != nil ||
			!got.CreatedAt.Equal(later) || string(got.RequestHash) != string(f.hash2) {
			t.Fatalf("overwritten record %+v", got)
		}

		crashed := f.rec(f.ana, "crashed", f.hash, f.t0)
		f.begin(t, crashed)
		if _, started := f.begin(t, f.rec(f.ana, "crashed", f.hash, f.t0.Add(idempotency.AbandonAfter))); started {
			t.Fatal("taken over at exactly AbandonAfter")
		}
		after := f.t0.Add(idempotency.AbandonAfter + time.Second)
		if _, started := f.begin(t, f.rec(f.ana, "crashed", f.hash2, after)); started {
			t.Fatal("another request took over an abandoned record")
		}
		retry := f.rec(f.ana, "crashed", f.hash, after)
		if _, started := f.begin(t, retry); !started {
			t.Fatal("the same request did not take over an abandoned record")
		}
		if err := f.s.Complete(ctx, crashed.Lease(), idempotency.Response{Status: 201}); !errors.Is(err, idempotency.ErrLeaseLost) {
			t.Fatalf("the first holder completed a taken-over record: %v", err)
		}
		if err := f.s.Complete(ctx, retry.Lease(), idempotency.Response{Status: 202}); err != nil {
			t.Fatal(err)
		}
		got, _ = f.begin(t, retry)
		if got.Status != idempotency.StatusComplete || got.Response.Status != 202 {
			t.Fatalf("taken-over record %+v", got)
		}
	})
}

// Of many requests racing for a key, or for the takeover of an abandoned
// one, exactly one starts.
func TestIdempotencyRacesHaveOneWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		f := newIdemFixture(t, b)
		race := func(name string, at time.Time) {
			t.Helper()
			var wg sync.WaitGroup
			var wins atomic.Int32
			errs := make(chan error, 16)
			for range 16 {
				wg.Go(func() {
					_, started, err := f.s.Begin(context.Background(), f.rec(f.ana, "race", f.hash, at))
					if err != nil {
						errs <- err
					}
					if started {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("%s: %v", name, err)
			}
			if n := wins.Load(); n != 1 {
				t.Fatalf("%s: %d requests started, want 1", name, n)
			}
		}
		race("insert", f.t0)
		race("takeover", f.t0.Add(2*idempotency.AbandonAfter))
	})
}

// Purge deletes the records created before the cutoff.
func TestIdempotencyPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f := newIdemFixture(t, b)
		for i := range 5 {
			f.begin(t, f.rec(f.ana, fmt.Sprint("k", i), f.hash, f.t0.Add(time.Duration(i)*time.Hour)))
		}
		n, err := f.s.Purge(ctx, f.t0.Add(2*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("purge deleted %d (%v), want 2", n, err)
		}
		if _, started := f.begin(t, f.rec(f.ana, "k1", f.hash2, f.t0.Add(3*time.Hour))); !started {
			t.Fatal("a purged key is still taken")
		}
		if _, started := f.begin(t, f.rec(f.ana, "k2", f.hash2, f.t0.Add(3*time.Hour))); started {
			t.Fatal("a key after the cutoff was purged")
		}
		if n, err := f.s.Purge(ctx, f.t0); err != nil || n != 0 {
			t.Fatalf("second purge deleted %d (%v)", n, err)
		}
	})
}
