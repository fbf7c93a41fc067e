package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/idempotency"
	"github.com/troth-app/troth/internal/logging"
	"github.com/troth-app/troth/internal/store"
	"github.com/troth-app/troth/internal/store/storetest"
)

// idemApp is an Echo application with the production middleware around
// test routes guarded by idempotent, on a real database.
type idemApp struct {
	t        *testing.T
	e        *echo.Echo
	db       *store.DB
	mu       sync.Mutex
	now      time.Time
	runs     atomic.Int32 // executions of every handler
	entered  chan struct{}
	unblock  chan struct{}
	ana, bob string
}

func newIdemApp(t *testing.T, b storetest.Backend) *idemApp {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, b.DSN, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := &idemApp{t: t, db: db, now: time.Now().UTC(), entered: make(chan struct{}, 1), unblock: make(chan struct{})}
	for _, u := range []*string{&a.ana, &a.bob} {
		*u = id.New(id.User)
		err := db.Accounts().CreateUser(ctx, account.User{ID: *u, Email: *u + "@example.com", DisplayName: "X", TimeZone: "UTC", PasswordHash: "h", CreatedAt: a.now, UpdatedAt: a.now})
		if err != nil {
			t.Fatal(err)
		}
	}

	log := logging.New(io.Discard, nil)
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(log)
	e.Use(requestID(), accessLog(log), recoverPanic(log), securityHeaders(), limitBody())
	// Stands in for requireAuth: the caller is named by a header.
	auth := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(ctxUserID, c.Request().Header.Get("X-Test-User"))
			return next(c)
		}
	}
	idem := idempotent(db.Idempotency(), a.clock, log)
	e.POST("/v1/things", a.create, auth, idem)
	e.POST("/v1/invalid", func(echo.Context) error {
		a.runs.Add(1)
		var v fault.Validation
		v.Add("name", "required", "name is required")
		return v.Err()
	}, auth, idem)
	e.POST("/v1/fail", func(echo.Context) error {
		a.runs.Add(1)
		return fault.Internal(io.ErrUnexpectedEOF)
	}, auth, idem)
	e.POST("/v1/panic", func(c echo.Context) error {
		a.runs.Add(1)
		c.Response().Header().Set("Location", "/v1/things/never")
		_ = c.JSON(http.StatusCreated, map[string]string{"half": "written"})
		panic("boom")
	}, auth, idem)
	e.POST("/v1/slow", func(c echo.Context) error {
		a.entered <- struct{}{}
		<-a.unblock
		return a.create(c)
	}, auth, idem)
	a.e = e
	return a
}

func (a *idemApp) clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now
}

func (a *idemApp) advance(d time.Duration) {
	a.mu.Lock()
	a.now = a.now.Add(d)
	a.mu.Unlock()
}

// create binds {"name"} and answers 201 with the run number, a Location
// and an ETag.
func (a *idemApp) create(c echo.Context) error {
	n := a.runs.Add(1)
	var req struct {
		Name string `json:"name"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/v1/things/"+strconv.Itoa(int(n)))
	return writeTagged(c, http.StatusCreated, map[string]any{"run": n, "name": req.Name})
}

// reply is what a test compares: the status, the body and the headers a
// replay must repeat.
type reply struct {
	Status                                int
	ContentType, Location, ETag, Replayed string
	Body                                  string
}

func (a *idemApp) post(path, user, key, body string) reply {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-User", user)
	if key != "" {
		req.Header.Set(headerIdempotencyKey, key)
	}
	return a.do(req)
}

func (a *idemApp) do(req *http.Request) reply {
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, req)
	h := rec.Header()
	return reply{
		Status: rec.Code, ContentType: h.Get("Content-Type"), Location: h.Get("Location"), ETag: h.Get("ETag"),
		Replayed: h.Get(headerReplayed), Body: rec.Body.String(),
	}
}

func (a *idemApp) wantRuns(n int32) {
	a.t.Helper()
	if got := a.runs.Load(); got != n {
		a.t.Fatalf("handlers ran %d times, want %d", got, n)
	}
}

func problemCode(t *testing.T, r reply) string {
	t.Helper()
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if r.ContentType != "application/problem+json" || json.Unmarshal([]byte(r.Body), &p) != nil || p.Status != r.Status {
		t.Fatalf("not a problem: %+v", r)
	}
	return p.Code
}

// The first request runs; a retry gets the same response, marked replayed,
// without running; the same key with another request is refused.
func TestIdempotentReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newIdemApp(t, b)
		first := a.post("/v1/things", a.ana, "k-1", `{"name":"tea"}`)
		if first.Status != http.StatusCreated || first.Location != "/v1/things/1" || first.ETag == "" || first.Replayed != "" {
			t.Fatalf("first request: %+v", first)
		}
		a.advance(23 * time.Hour)
		again := a.post("/v1/things", a.ana, "k-1", `{"name":"tea"}`)
		want := first
		want.Replayed = "true"
		if diff := cmp.Diff(want, again); diff != "" {
			t.Fatalf("replay (-want +got):\n%s", diff)
		}
		a.wantRuns(1)

		for _, tt := range []struct{ name, path, body string }{
			{"another body", "/v1/things", `{"name":"coffee"}`},
			{"another path", "/v1/invalid", `{"name":"tea"}`},
		} {
			r := a.post(tt.path, a.ana, "k-1", tt.body)
			if r.Status != http.StatusUnprocessableEntity || problemCode(t, r) != "idempotency_key_reused" {
				t.Fatalf("%s: %+v", tt.name, r)
			}
		}
		a.wantRuns(1)

		// Past the TTL the key is fresh, for any request.
		a.advance(time.Hour + time.Second)
		if r := a.post("/v1/things", a.ana, "k-1", `{"name":"coffee"}`); r.Status != http.StatusCreated || r.Replayed != "" {
			t.Fatalf("after 24 h: %+v", r)
		}
		a.wantRuns(2)
	})
}

// A 4xx problem from the handler is kept and replayed like any response.
func TestIdempotentReplaysProblems(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newIdemApp(t, b)
		first := a.post("/v1/invalid", a.ana, "k", `{}`)
		if first.Status != http.StatusUnprocessableEntity || problemCode(t, first) != "validation_failed" {
			t.Fatalf("first: %+v", first)
		}
		again := a.post("/v1/invalid", a.ana, "k", `{}`)
		want := first
		want.Replayed = "true"
		if diff := cmp.Diff(want, again); diff != "" {
			t.Fatalf("replay (-want +got):\n%s", diff)
		}
		a.wantRuns(1)
	})
}

// Server errors and panics are not kept: the retry runs again.
func TestIdempotentDoesNotKeepServerErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newIdemApp(t, b)
		for i := range 2 {
			r := a.post("/v1/fail", a.ana, "k-fail", `{}`)
			if r.Status != http.StatusInternalServerError || r.Replayed != "" || problemCode(t, r) != "internal" {
				t.Fatalf("attempt %d: %+v", i+1, r)
			}
		}
		a.wantRuns(2)
		for i := range 2 {
			r := a.post("/v1/panic", a.ana, "k-panic", `{}`)
			if r.Status != http.StatusInternalServerError || r.Location != "" || problemCode(t, r) != "internal" {
				t.Fatalf("panic attempt %d: %+v", i+1, r)
			}
		}
		a.wantRuns(4)
	})
}

// While the first request runs, a retry is told so; once it finished, the
// retry gets its response.
func TestIdempotentInFlight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newIdemApp(t, b)
		done := make(chan reply)
		go func() {
			req := httptest.NewRequest(http.MethodPost, "/v1/slow", strings.NewReader(`{"name":"slow"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Test-User", a.ana)
			req.Header.Set(headerIdempotencyKey, "k-slow")
			done <- a.do(req)
		}()
		<-a.entered
		r := a.post("/v1/slow", a.ana, "k-slow", `{"name":"slow"}`)
		if r.Status != http.StatusConflict || problemCode(t, r) != "idempotency_in_flight" {
			t.Fatalf("while in flight: %+v", r)
		}
		close(a.unblock)
		first := <-done
		if first.Status != http.StatusCreated {
			t.Fatalf("first: %+v", first)
		}
		again := a.post("/v1/slow", a.ana, "k-slow", `{"name":"slow"}`)
		if again.Replayed != "true" || again.Body != first.Body {
			t.Fatalf("after the first finished: %+v, first %+v", again, first)
		}
		a.wantRuns(1)
	})
}

// A record left in flight by a crashed instance is taken over after
// idempotency.AbandonAfter by a retry of the same request.
func TestIdempotentTakesOverAbandoned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newIdemApp(t, b)
		body := `{"name":"orphan"}`
		at := a.clock()
		_, started, err := a.db.Idempotency().Begin(context.Background(), idempotency.Record{
			UserID: a.ana, Key: idempotency.Digest("k-crash"), RequestHash: idempotency.Hash(http.MethodPost, "/v1/things", []byte(body)),
			Status: idempotency.StatusInFlight, CreatedAt: at, LockedAt: at,
		})
		if err != nil || !started {
			t.Fatalf("crashed instance's begin: %v %v", started, err)
		}
		a.advance(idempotency.AbandonAfter)
		if r := a.post("/v1/things", a.ana, "k-crash", body); r.Status != http.StatusConflict {
			t.Fatalf("at the limit: %+v", r)
		}
		a.advance(time.Second)
		if r := a.post("/v1/things", a.ana, "k-crash", `{"name":"other"}`); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("another request after the limit: %+v", r)
		}
		if r := a.post("/v1/things", a.ana, "k-crash", body); r.Status != http.StatusCreated || r.Replayed != "" {
			t.Fatalf("retry after the limit: %+v", r)
		}
		if r := a.post("/v1/things", a.ana, "k-crash", body); r.Replayed != "true" {
			t.Fatalf("after the takeover: %+v", r)
		}
		a.wantRuns(1)
	})
}

// Keys are per user; requests without a key keep nothing.
func TestIdempotentScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newIdemApp(t, b)
		for _, user := range []string{a.ana, a.bob} {
			if r := a.post("/v1/things", user, "shared", `{"name":"x"}`); r.Status != http.StatusCreated || r.Replayed != "" {
				t.Fatalf("user %s: %+v", user, r)
			}
		}
		a.wantRuns(2)
		w, _ := a.db.SQL()
		var before int
		if err := w.QueryRow(`SELECT COUNT(*) FROM idempotency_keys`).Scan(&before); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if r := a.post("/v1/things", a.ana, "", `{"name":"x"}`); r.Status != http.StatusCreated || r.Replayed != "" {
				t.Fatalf("without a key: %+v", r)
			}
		}
		a.wantRuns(4)
		var after int
		if err := w.QueryRow(`SELECT COUNT(*) FROM idempotency_keys`).Scan(&after); err != nil || after != before {
			t.Fatalf("requests without a key left %d records, had %d (%v)", after, before, err)
		}
	})
}

// Bad keys and oversized bodies are refused before anything runs.
func TestIdempotentRefusesBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newIdemApp(t, b)
		tests := []struct {
			name     string
			keys     []string
			body     io.Reader
			chunked  bool
			wantCode string
		}{
			{"empty key", []string{""}, strings.NewReader(`{}`), false, "invalid_idempotency_key"},
			{"too long", []string{strings.Repeat("k", 256)}, strings.NewReader(`{}`), false, "invalid_idempotency_key"},
			{"control character", []string{"a\tb"}, strings.NewReader(`{}`), false, "invalid_idempotency_key"},
			{"not ASCII", []string{"clé"}, strings.NewReader(`{}`), false, "invalid_idempotency_key"},
			{"two keys", []string{"a", "b"}, strings.NewReader(`{}`), false, "invalid_idempotency_key"},
			{"body too large", []string{"big"}, strings.NewReader(`{"name":"` + strings.Repeat("x", maxBody) + `"}`), true, "payload_too_large"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodPost, "/v1/things", tt.body)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Test-User", a.ana)
				req.Header[headerIdempotencyKey] = tt.keys
				if tt.chunked {
					req.ContentLength = -1
				}
				r := a.do(req)
				if code := problemCode(t, r); code != tt.wantCode {
					t.Fatalf("got %s %+v, want %s", code, r, tt.wantCode)
				}
			})
		}
		a.wantRuns(0)
	})
}

// What is kept of a request gives away neither its key nor its response
// (which may hold a secret shown once), yet a retry with the key gets the
// response back; another user's key of the same name opens nothing.
func TestIdempotentKeepsNothingReadable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		a := newIdemApp(t, b)
		const key = "k-secret-7f3a"
		first := a.post("/v1/things", a.ana, key, `{"name":"tk_live_secret"}`)
		if first.Status != http.StatusCreated {
			t.Fatalf("first: %+v", first)
		}
		w, _ := a.db.SQL()
		rows, err := w.Query(`SELECT idem_key, response_body FROM idempotency_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var k string
			var body []byte
			if err := rows.Scan(&k, &body); err != nil {
				t.Fatal(err)
			}
			n++
			if strings.Contains(k, key) || bytes.Contains(body, []byte("tk_live_secret")) || bytes.Contains(body, []byte(first.Body)) {
				t.Errorf("kept in the clear: key %q, body %q", k, body)
			}
		}
		if n != 1 {
			t.Fatalf("%d records, want 1", n)
		}
		if again := a.post("/v1/things", a.ana, key, `{"name":"tk_live_secret"}`); again.Replayed != "true" || again.Body != first.Body {
			t.Fatalf("retry: %+v, first %+v", again, first)
		}
		if other := a.post("/v1/things", a.bob, key, `{"name":"tk_live_secret"}`); other.Replayed != "" || other.Status != http.StatusCreated {
			t.Fatalf("another user's key: %+v", other)
		}
	})
}
