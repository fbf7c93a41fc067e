package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeAuth is a server that issues numbered tokens and accepts only the
// latest access token on /v1/things.
type fakeAuth struct {
	mu               sync.Mutex
	n                int
	valid            string
	refreshes, login int
	bodies           []string
	refuseRefresh    bool
	refuseLogin      bool
}

func (f *fakeAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	issue := func() {
		f.n++
		f.valid = fmt.Sprint("access-", f.n)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(AuthResponse{AccessToken: f.valid, RefreshToken: fmt.Sprint("refresh-", f.n), ExpiresIn: 900})
	}
	switch r.URL.Path {
	case "/v1/auth/refresh":
		f.refreshes++
		if f.refuseRefresh {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"type":"urn:troth:problem:invalid_refresh_token","status":401,"code":"invalid_refresh_token","title":"Unauthorized"}`))
			return
		}
		issue()
	case "/v1/auth/login":
		f.login++
		if f.refuseLogin {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"type":"urn:troth:problem:invalid_credentials","status":401,"code":"invalid_credentials","title":"Unauthorized"}`))
			return
		}
		issue()
	default:
		body, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, string(body))
		if r.Header.Get("Authorization") != "Bearer "+f.valid {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}
}

func (f *fakeAuth) expire() {
	f.mu.Lock()
	f.valid = "none"
	f.mu.Unlock()
}

func TestTokens(t *testing.T) {
	fake := &fakeAuth{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	auth, err := NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewTokens(auth, "ana@example.com", "pw")
	now := time.Now()
	tokens.now = func() time.Time { return now }
	doer := tokens.Wrap(http.DefaultClient)
	ctx := context.Background()
	post := func(body string) int {
		t.Helper()
		req, err := NewRegisterRequest(srv.URL, RegisterJSONRequestBody{Email: body})
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Path = "/v1/things"
		res, err := doer.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}

	// No token yet: log in.
	if got := post("a"); got != http.StatusOK || fake.login != 1 || fake.refreshes != 0 {
		t.Fatalf("first call %d, logins %d, refreshes %d", got, fake.login, fake.refreshes)
	}
	// Shortly before expiry: refresh first.
	now = now.Add(900*time.Second - refreshMargin)
	if got := post("b"); got != http.StatusOK || fake.refreshes != 1 {
		t.Fatalf("near expiry %d, refreshes %d", got, fake.refreshes)
	}
	// Refused although fresh: refresh once and send the same body again.
	fake.expire()
	if got := post("c"); got != http.StatusOK || fake.refreshes != 2 {
		t.Fatalf("after a 401 %d, refreshes %d", got, fake.refreshes)
	}
	if want := []string{"a", "b", "c", "c"}; !slices.EqualFunc(fake.bodies, want, func(got, email string) bool {
		var r RegisterRequest
		return json.Unmarshal([]byte(got), &r) == nil && r.Email == email
	}) {
		t.Fatalf("bodies %q", fake.bodies)
	}
	// The refresh token is refused: log in again.
	fake.refuseRefresh = true
	fake.expire()
	if got := post("d"); got != http.StatusOK || fake.login != 2 || fake.refreshes != 3 {
		t.Fatalf("refresh refused: %d, logins %d, refreshes %d", got, fake.login, fake.refreshes)
	}
	// The login is refused too (the account is gone): the 401 stands, and
	// later calls fail at once without asking for a login again.
	fake.refuseLogin = true
	fake.expire()
	logins := fake.login
	if got := post("e"); got != http.StatusUnauthorized || fake.login != logins+1 {
		t.Fatalf("login refused: %d, logins %d", got, fake.login-logins)
	}
	for range 3 {
		req, _ := NewRegisterRequest(srv.URL, RegisterJSONRequestBody{Email: "f"})
		if _, err := doer.Do(req.WithContext(ctx)); err == nil {
			t.Fatal("a call after the login was refused went out")
		}
	}
	if fake.login != logins+1 {
		t.Fatalf("%d logins after the first was refused, want none", fake.login-logins-1)
	}
	// New tokens start the session again.
	fake.refuseLogin, fake.refuseRefresh = false, false
	tokens.Set(AuthResponse{AccessToken: "stale", RefreshToken: "r", ExpiresIn: 900})
	if got := post("g"); got != http.StatusOK {
		t.Fatalf("after Set: %d", got)
	}

	// A token the server keeps refusing: one retry, then the 401 stands.
	fake.refuseRefresh = true
	tokens = NewTokens(auth, "", "")
	tokens.Set(AuthResponse{AccessToken: "stale", RefreshToken: "r", ExpiresIn: 900})
	doer = tokens.Wrap(http.DefaultClient)
	if got := post("h"); got != http.StatusUnauthorized {
		t.Fatalf("without credentials: %d", got)
	}
}

func TestAll(t *testing.T) {
	pages := map[string][]int{"": {1, 2}, "p2": {3}, "p3": {4, 5}}
	next := map[string]*string{"": ptr("p2"), "p2": ptr("p3"), "p3": nil}
	calls := 0
	fetch := func(cursor *string) ([]int, *string, error) {
		calls++
		c := ""
		if cursor != nil {
			c = *cursor
		}
		return pages[c], next[c], nil
	}
	var got []int
	for v, err := range All(context.Background(), fetch) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []int{1, 2, 3, 4, 5}) || calls != 3 {
		t.Fatalf("got %v in %d calls", got, calls)
	}

	// Breaking early fetches no further page.
	calls = 0
	for v := range All(context.Background(), fetch) {
		if v == 2 {
			break
		}
	}
	if calls != 1 {
		t.Fatalf("%d calls for the first page", calls)
	}

	// An error is yielded once and ends the loop; so does a cursor that
	// does not move.
	boom := errors.New("boom")
	for _, fetch := range []func(*string) ([]int, *string, error){
		func(*string) ([]int, *string, error) { return nil, nil, boom },
		func(*string) ([]int, *string, error) { return []int{1}, ptr("same"), nil },
	} {
		var errs []error
		n := 0
		for _, err := range All(context.Background(), fetch) {
			n++
			if err != nil {
				errs = append(errs, err)
			}
			if n > 10 {
				t.Fatal("does not end")
			}
		}
		if len(errs) != 1 {
			t.Fatalf("errors %v", errs)
		}
	}
}

func TestCheck(t *testing.T) {
	problem := func(status int, ct, body string) error {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", ct)
		rec.WriteHeader(status)
		return Check(rec.Result(), []byte(body))
	}
	if err := problem(200, "application/json", `{}`); err != nil {
		t.Fatal(err)
	}
	if err := problem(304, "", ``); !errors.Is(err, ErrNotModified) {
		t.Fatalf("304: %v, want ErrNotModified", err)
	}
	var p *ProblemError
	err := problem(422, "application/problem+json; charset=utf-8",
		`{"type":"urn:troth:problem:validation_failed","status":422,"code":"validation_failed","title":"Unprocessable Entity","errors":[{"field":"name","code":"required","message":"is required"}]}`)
	if !errors.As(err, &p) || p.Code != "validation_failed" || p.Errors == nil || (*p.Errors)[0].Field != "name" {
		t.Fatalf("problem %#v", err)
	}
	if err.Error() != "troth: 422 validation_failed: Unprocessable Entity; name: required" {
		t.Fatalf("message %q", err.Error())
	}
	if err := problem(502, "text/html", "<h1>Bad Gateway</h1>"); !errors.As(err, &p) || p.Status != 502 || p.Code != "http_502" {
		t.Fatalf("not a problem body: %#v", err)
	}
}

func ptr[T any](v T) *T { return &v }
