// Package servertest builds a whole troth server on a real database for
// end-to-end tests, validates every response against openapi.yaml, and
// offers a small JSON client over httptest.
package servertest

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth"
	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/logging"
	"github.com/troth-app/troth/internal/oascheck"
	"github.com/troth-app/troth/internal/password"
	"github.com/troth-app/troth/internal/server"
	"github.com/troth-app/troth/internal/store/storetest"
)

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// App is a server under test.
type App struct {
	T       testing.TB
	Server  *server.Server
	Clock   *Clock
	Config  config.Config
	Backend storetest.Backend
	Logs    *SyncBuffer
}

// Option changes the configuration of an App before it starts.
type Option func(*config.Config)

// Cheap argon2id parameters: tests register many users under -race.
var cheapPasswords = password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// New starts a server on the backend. Every response is validated against
// openapi.yaml; a mismatch fails the test.
func New(t testing.TB, b storetest.Backend, opts ...Option) *App {
	t.Helper()
	cfg := config.Default()
	cfg.DatabaseURL = b.DSN
	cfg.AuthRatePerMin = 10_000
	cfg.SQLiteReaders = 4
	for _, o := range opts {
		o(&cfg)
	}
	clock := &Clock{now: time.Now().UTC()}
	checker, err := oascheck.New(troth.OpenAPI, oascheck.SkipPrefix("/metrics", "/openapi.yaml", "/docs"))
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	logs := &SyncBuffer{}
	srv, err := server.New(context.Background(), cfg, logging.New(logs, slog.LevelDebug), server.Options{
		Now:            clock.Now,
		PasswordParams: &cheapPasswords,
		Outer: []echo.MiddlewareFunc{checker.Middleware(func(msg string) {
			t.Errorf("response does not match openapi.yaml: %s", msg)
		})},
	})
	if err != nil {
		t.Fatalf("start server on %s: %v", b.Name, err)
	}
	t.Cleanup(func() { srv.Close() })
	return &App{T: t, Server: srv, Clock: clock, Config: cfg, Backend: b, Logs: logs}
}

// Response is a recorded response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Request is one call to the server.
type Request struct {
	Method string
	Path   string
	Token  string // bearer token, if any
	// Body is marshalled as JSON unless it is a string or []byte, which are sent raw.
	Body   any
	Header map[string]string
	// RemoteAddr overrides the client address (host:port).
	RemoteAddr string
}

// Do sends a request through the server's handler.
func (a *App) Do(r Request) *Response {
	a.T.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			a.T.Fatalf("marshal body: %v", err)
		}
		body = bytes.NewReader(data)
	}
	req := httptest.NewRequest(r.Method, r.Path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	if r.RemoteAddr != "" {
		req.RemoteAddr = r.RemoteAddr
	}
	rec := httptest.NewRecorder()
	a.Server.Handler().ServeHTTP(rec, req)
	return &Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// User is a registered test user.
type User struct {
	ID           string
	Email        string
	Password     string
	AccessToken  string
	RefreshToken string
}

// Register creates a user with a unique email and returns its tokens.
func (a *App) Register(name string) User {
	a.T.Helper()
	var b [4]byte
	_, _ = cryptorand.Read(b[:])
	email := strings.ToLower(name) + "+" + hex.EncodeToString(b[:]) + "@example.com"
	pw := "password-" + name
	res := a.Do(Request{Method: http.MethodPost, Path: "/v1/auth/register", Body: map[string]string{
		"email": email, "password": pw, "display_name": name, "time_zone": "Europe/Berlin",
	}})
	if res.Status != http.StatusCreated {
		a.T.Fatalf("register %s: %d %s", name, res.Status, res.Body)
	}
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	res.JSON(a.T, &out)
	return User{ID: out.User.ID, Email: email, Password: pw, AccessToken: out.AccessToken, RefreshToken: out.RefreshToken}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (the logger).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Login logs the user in again (after the clock moved past its tokens).
func (a *App) Login(u *User) {
	a.T.Helper()
	res := a.Do(Request{Method: http.MethodPost, Path: "/v1/auth/login", Body: map[string]string{"email": u.Email, "password": u.Password}})
	if res.Status != http.StatusOK {
		a.T.Fatalf("login %s: %d %s", u.Email, res.Status, res.Body)
	}
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	res.JSON(a.T, &out)
	u.AccessToken, u.RefreshToken = out.AccessToken, out.RefreshToken
}
