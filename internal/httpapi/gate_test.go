package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// gateApp serves /v1/slow (held until released), /v1/write (writes its
// header, then is held: a client slow to read) and /v1/me/export behind a
// gate of n places, counting how many handlers run at once.
type gateApp struct {
	e             *echo.Echo
	release       chan struct{}
	releaseWrite  chan struct{} // for /v1/write alone
	stop          chan struct{} // closed when the test ends: every handler returns
	entered       chan string
	running, peak atomic.Int32
	wg            sync.WaitGroup
}

func newGateApp(t *testing.T, n int) *gateApp {
	a := &gateApp{e: echo.New(), release: make(chan struct{}), releaseWrite: make(chan struct{}), stop: make(chan struct{}), entered: make(chan string, 100)}
	t.Cleanup(func() {
		close(a.stop)
		done := make(chan struct{})
		go func() { a.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("requests still running after their handlers were let go")
		}
	})
	a.e.HTTPErrorHandler = errorHandler(slog.New(slog.DiscardHandler))
	g := newReadGate(n)
	a.e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return g.run(c, next) }
	})
	hold := func(c echo.Context, release chan struct{}) {
		now := a.running.Add(1)
		for p := a.peak.Load(); now > p && !a.peak.CompareAndSwap(p, now); p = a.peak.Load() {
		}
		a.entered <- c.Request().Method + " " + c.Path()
		select {
		case <-release:
		case <-a.stop:
		}
		a.running.Add(-1)
	}
	a.e.GET("/v1/slow", func(c echo.Context) error {
		hold(c, a.release)
		return c.NoContent(http.StatusNoContent)
	})
	a.e.POST("/v1/slow", func(c echo.Context) error {
		hold(c, a.release)
		return c.NoContent(http.StatusNoContent)
	})
	a.e.GET("/v1/write", func(c echo.Context) error {
		c.Response().WriteHeader(http.StatusOK)
		hold(c, a.releaseWrite)
		return nil
	})
	a.e.GET("/v1/me/export", func(c echo.Context) error {
		hold(c, a.release)
		return c.NoContent(http.StatusNoContent)
	})
	return a
}

// send makes a request in the background.
func (a *gateApp) send(method, path string) {
	a.wg.Go(func() { a.serve(context.Background(), method, path) })
}

// next lets one held handler return.
func (a *gateApp) next(t *testing.T) {
	t.Helper()
	select {
	case a.release <- struct{}{}:
	case <-time.After(10 * time.Second):
		t.Fatal("no handler to release")
	}
}

func (a *gateApp) serve(ctx context.Context, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, method, path, nil))
	return rec
}

// waitEntered is the next handler to start, failing after a while.
func (a *gateApp) waitEntered(t *testing.T) string {
	t.Helper()
	select {
	case s := <-a.entered:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no handler started")
		return ""
	}
}

// notEntered checks that no handler starts for a while.
func (a *gateApp) notEntered(t *testing.T) {
	t.Helper()
	select {
	case s := <-a.entered:
		t.Fatalf("%s started while the gate was full", s)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestReadGateAdmitsAtMostN(t *testing.T) {
	a := newGateApp(t, 2)
	for range 6 {
		a.send(http.MethodGet, "/v1/slow")
	}
	a.waitEntered(t)
	a.waitEntered(t)
	a.notEntered(t)
	for range 6 {
		a.next(t) // each frees a place for the next read
	}
	if p := a.peak.Load(); p != 2 {
		t.Fatalf("at most %d reads ran at once, want 2", p)
	}
}

func TestReadGateLetsOthersPass(t *testing.T) {
	a := newGateApp(t, 1)
	a.send(http.MethodGet, "/v1/slow")
	if got := a.waitEntered(t); got != "GET /v1/slow" {
		t.Fatalf("started %s", got)
	}
	// Writes and the export are not gated.
	a.send(http.MethodPost, "/v1/slow")
	if got := a.waitEntered(t); got != "POST /v1/slow" {
		t.Fatalf("started %s", got)
	}
	a.send(http.MethodGet, "/v1/me/export")
	if got := a.waitEntered(t); got != "GET /v1/me/export" {
		t.Fatalf("started %s", got)
	}
}

func TestReadGateFreesItsPlaceWhenTheResponseStarts(t *testing.T) {
	a := newGateApp(t, 1)
	// This read has written its header and is held, as if its client were
	// slow to read the body: it must not keep the next read out.
	a.send(http.MethodGet, "/v1/write")
	a.waitEntered(t)
	a.send(http.MethodGet, "/v1/slow")
	if got := a.waitEntered(t); got != "GET /v1/slow" {
		t.Fatalf("started %s", got)
	}
	// And the place it gave back is not given back twice: one read now
	// holds the only place, so the next one waits, even once the first
	// read has ended.
	a.send(http.MethodGet, "/v1/slow")
	a.notEntered(t)
	a.releaseWrite <- struct{}{}
	a.notEntered(t)
}

func TestReadGateGivesUpOnACancelledRequest(t *testing.T) {
	a := newGateApp(t, 1)
	a.send(http.MethodGet, "/v1/slow")
	a.waitEntered(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- a.serve(ctx, http.MethodGet, "/v1/slow") }()
	a.notEntered(t)
	cancel()
	var rec *httptest.ResponseRecorder
	select {
	case rec = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled request kept waiting")
	}
	if rec.Code != 499 {
		t.Fatalf("cancelled while waiting: %d %s", rec.Code, rec.Body)
	}
	a.next(t)
	// The cancelled request took no place: the next read runs.
	a.send(http.MethodGet, "/v1/slow")
	a.waitEntered(t)
}

func TestReadGateAnswersOverloadedAfterAWhile(t *testing.T) {
	was := maxGateWait
	maxGateWait = 50 * time.Millisecond
	t.Cleanup(func() { maxGateWait = was })
	a := newGateApp(t, 1)
	a.send(http.MethodGet, "/v1/slow")
	a.waitEntered(t)
	rec := a.serve(context.Background(), http.MethodGet, "/v1/slow")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" ||
		rec.Header().Get(echo.HeaderContentType) != "application/problem+json" {
		t.Fatalf("waited too long: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	a.notEntered(t)
}
