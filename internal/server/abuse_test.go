package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/server/servertest"
)

// endlessReader yields n bytes of a JSON string body without ever telling
// its length, so the request is sent chunked.
type endlessReader struct{ n, sent int }

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.sent >= r.n {
		return 0, io.EOF
	}
	for i := range p {
		switch {
		case r.sent == 0:
			p[i] = '"'
		case r.sent == r.n-1:
			p[i] = '"'
		default:
			p[i] = 'x'
		}
		r.sent++
		if r.sent >= r.n {
			return i + 1, nil
		}
	}
	return len(p), nil
}

// Bodies, strings, nesting and page sizes beyond the limits are refused
// with the documented problem, quickly, and change nothing.
func TestOversizedAndHostileInput(t *testing.T) {
	app := sqliteApp(t)
	u := app.Register("Mallory")

	t.Run("chunked body over 64 KiB", func(t *testing.T) {
		body := &endlessReader{n: 1 << 20}
		req := httptest.NewRequest(http.MethodPatch, "/v1/me", io.MultiReader(strings.NewReader(`{"display_name":`), body))
		if req.ContentLength != -1 {
			t.Fatalf("request has a length (%d): it would not be chunked", req.ContentLength)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+u.AccessToken)
		rec := httptest.NewRecorder()
		app.Server.Handler().ServeHTTP(rec, req)
		res := &servertest.Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		if p := decodeProblem(t, res); res.Status != http.StatusRequestEntityTooLarge || p.Code != "payload_too_large" {
			t.Fatalf("got %d %+v, want 413 payload_too_large", res.Status, p)
		}
		if body.sent > 128<<10 {
			t.Errorf("the server read %d bytes of a refused body", body.sent)
		}
	})

	t.Run("deep nesting", func(t *testing.T) {
		for _, open := range []string{"[", `{"a":`} {
			depth := 60_000 / len(open)
			body := `{"display_name":` + strings.Repeat(open, depth)
			start := time.Now()
			res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/me", Token: u.AccessToken, Body: body})
			if p := decodeProblem(t, res); res.Status != http.StatusBadRequest {
				t.Fatalf("%d levels of %s: %d %+v, want 400", depth, open, res.Status, p)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%d levels of %s took %s", depth, open, d)
			}
		}
	})

	t.Run("huge string in a short field", func(t *testing.T) {
		long := strings.Repeat("é", 30<<10) // 60 KiB in a 100-character field
		for _, tc := range []struct{ method, path, field string }{
			{"PATCH", "/v1/me", "display_name"},
			{"POST", "/v1/relationships", "name"},
		} {
			body := map[string]any{tc.field: long}
			if tc.path == "/v1/relationships" {
				body["time_zone"] = "UTC"
			}
			res := app.Do(servertest.Request{Method: tc.method, Path: tc.path, Token: u.AccessToken, Body: body})
			p := decodeProblem(t, res)
			if res.Status != http.StatusUnprocessableEntity || len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Fatalf("%s %s: %d %+v, want 422 on %s", tc.method, tc.path, res.Status, p, tc.field)
			}
			if len(res.Body) > 4<<10 {
				t.Errorf("%s %s: the problem echoes the input (%d bytes)", tc.method, tc.path, len(res.Body))
			}
		}
	})

	t.Run("page limits", func(t *testing.T) {
		for _, q := range []string{"limit=1000", "limit=101", "limit=0", "limit=-1", "limit=1e3", "limit=99999999999999999999", "cursor=" + strings.Repeat("A", 600)} {
			res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships?" + q, Token: u.AccessToken})
			if p := decodeProblem(t, res); res.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %+v, want 400", q, res.Status, p)
			}
		}
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships?limit=100", Token: u.AccessToken}); res.Status != http.StatusOK {
			t.Errorf("limit=100: %d", res.Status)
		}
	})

	// Nothing above changed the account.
	if me := do(t, app, 200, "GET", "/v1/me", u.AccessToken, nil); me["display_name"] != "Mallory" {
		t.Fatalf("profile changed by refused requests: %v", me)
	}
	if l := do(t, app, 200, "GET", "/v1/relationships", u.AccessToken, nil); len(l["data"].([]any)) != 0 {
		t.Fatalf("a refused request created a relationship: %v", l)
	}
}

// Login attempts from one address are throttled whatever it claims in
// X-Forwarded-For or X-Real-IP, and once throttled even the right password
// is refused until the budget refills.
func TestLoginBruteForceIsThrottled(t *testing.T) {
	app := sqliteApp(t, func(c *config.Config) { c.AuthRatePerMin = 5; c.APIRatePerMin = 3 })
	u := app.Register("Victim") // from servertest's default address
	login := func(i int, pw string) *servertest.Response {
		spoof := "198.51.100." + string(rune('1'+i%9))
		return app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", RemoteAddr: "203.0.113.66:4000",
			Header: map[string]string{"X-Forwarded-For": spoof, "X-Real-IP": spoof, "Forwarded": "for=" + spoof},
			Body:   map[string]string{"email": u.Email, "password": pw}})
	}
	for i := range 5 {
		if res := login(i, "guess-"+string(rune('a'+i))); res.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, res.Status)
		}
	}
	for i := 5; i < 20; i++ {
		if res := login(i, "guess-x"); res.Status != http.StatusTooManyRequests {
			t.Fatalf("guess %d after the limit: %d, want 429", i, res.Status)
		}
	}
	if res := login(20, u.Password); res.Status != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d, want 429", res.Status)
	}

	// Authenticated routes are limited per caller, not per address: a new
	// address or a forwarded header buys no fresh budget.
	for i := range 4 {
		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: u.AccessToken,
			RemoteAddr: "192.0.2." + string(rune('1'+i)) + ":1", Header: map[string]string{"X-Forwarded-For": "10.0.0." + string(rune('1'+i))}})
		want := http.StatusOK
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if res.Status != want {
			t.Fatalf("request %d of the same user: %d, want %d", i, res.Status, want)
		}
	}
}

// A client that sends its headers slower than ReadHeaderTimeout (5 s) is
// disconnected then, not held open for as long as it keeps trickling.
func TestSlowHeadersAreCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s header timeout")
	}
	app := sqliteApp(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Server.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	// The server answers a normal request.
	res, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: troth\r\n"); err != nil {
		t.Fatal(err)
	}
	// Trickle a header byte every 250 ms for up to 15 s.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		if _, err := io.WriteString(conn, "X-Slow: "); err != nil {
			return
		}
		for range 60 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := io.WriteString(conn, "a"); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, err = io.Copy(io.Discard, bufio.NewReader(conn))
	elapsed := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection was still open after %s", elapsed)
	}
	if elapsed < 4*time.Second || elapsed > 7*time.Second {
		t.Fatalf("the connection closed after %s, want about 5 s", elapsed)
	}
	t.Logf("slow-header connection closed after %s", elapsed.Round(10*time.Millisecond))
}
