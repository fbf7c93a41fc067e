package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/password"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

type authBody struct {
	User struct {
		ID          string `json:"id"`
		Email       string `json:"email"`
		DisplayName string `json:"display_name"`
		TimeZone    string `json:"time_zone"`
	} `json:"user"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"errors"`
}

func decodeProblem(t *testing.T, r *servertest.Response) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var p problem
	r.JSON(t, &p)
	if p.Status != r.Status || p.Type != "urn:troth:problem:"+p.Code {
		t.Fatalf("problem %+v does not match status %d", p, r.Status)
	}
	return p
}

func TestAccountLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)

		// Register.
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{
			"email": "Ana@Example.com", "password": "correct horse", "display_name": " Ana ", "time_zone": "Europe/Berlin",
		}})
		if res.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", res.Status, res.Body)
		}
		var reg authBody
		res.JSON(t, &reg)
		if !strings.HasPrefix(reg.User.ID, "usr_") || reg.User.Email != "Ana@Example.com" || reg.User.DisplayName != "Ana" ||
			reg.TokenType != "Bearer" || reg.ExpiresIn != 900 || reg.AccessToken == "" || reg.RefreshToken == "" {
			t.Fatalf("register body: %+v", reg)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", got)
		}

		// The same email in another case is taken.
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{
			"email": "ana@example.COM", "password": "another one", "display_name": "Imposter", "time_zone": "UTC",
		}})
		if p := decodeProblem(t, res); res.Status != http.StatusConflict || p.Code != "email_taken" {
			t.Fatalf("duplicate email: %d %+v", res.Status, p)
		}

		// Log in, case-insensitively.
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{
			"email": "ana@example.com", "password": "correct horse",
		}})
		if res.Status != http.StatusOK {
			t.Fatalf("login: %d %s", res.Status, res.Body)
		}
		var login authBody
		res.JSON(t, &login)

		// Me, with ETag and 304.
		res = app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: login.AccessToken})
		if res.Status != http.StatusOK {
			t.Fatalf("me: %d %s", res.Status, res.Body)
		}
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag on /v1/me")
		}
		res = app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: login.AccessToken, Header: map[string]string{"If-None-Match": etag}})
		if res.Status != http.StatusNotModified {
			t.Fatalf("If-None-Match: %d, want 304", res.Status)
		}

		// PATCH with a matching If-Match, then a stale one.
		res = app.Do(servertest.Request{Method: "PATCH", Path: "/v1/me", Token: login.AccessToken,
			Header: map[string]string{"If-Match": etag},
			Body:   map[string]string{"display_name": "Ana M.", "time_zone": "America/New_York"}})
		if res.Status != http.StatusOK {
			t.Fatalf("patch me: %d %s", res.Status, res.Body)
		}
		me := res.Map(t)
		if diff := cmp.Diff(map[string]any{"display_name": "Ana M.", "time_zone": "America/New_York"},
			map[string]any{"display_name": me["display_name"], "time_zone": me["time_zone"]}); diff != "" {
			t.Errorf("patched profile (-want +got):\n%s", diff)
		}
		res = app.Do(servertest.Request{Method: "PATCH", Path: "/v1/me", Token: login.AccessToken,
			Header: map[string]string{"If-Match": etag}, Body: map[string]string{"display_name": "Lost update"}})
		if p := decodeProblem(t, res); res.Status != http.StatusPreconditionFailed || p.Code != "precondition_failed" {
			t.Fatalf("stale If-Match: %d %+v", res.Status, p)
		}

		// Refresh rotates; the old refresh token is then refused and the
		// whole family revoked.
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": login.RefreshToken}})
		if res.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", res.Status, res.Body)
		}
		var r1 authBody
		res.JSON(t, &r1)
		if r1.RefreshToken == login.RefreshToken || r1.RefreshToken == "" {
			t.Fatal("refresh did not rotate the refresh token")
		}
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": login.RefreshToken}})
		if p := decodeProblem(t, res); res.Status != http.StatusUnauthorized || p.Code != "invalid_refresh_token" {
			t.Fatalf("reused refresh token: %d %+v", res.Status, p)
		}
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": r1.RefreshToken}})
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("newest token of a revoked family: %d, want 401", res.Status)
		}

		// The registration session is its own family and still works;
		// logout revokes it.
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": reg.RefreshToken}})
		if res.Status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", res.Status, res.Body)
		}
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": reg.RefreshToken}})
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("refresh after logout: %d, want 401", res.Status)
		}
		// Logging out an unknown token is not an error.
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": "nope"}})
		if res.Status != http.StatusNoContent {
			t.Fatalf("logout unknown: %d", res.Status)
		}
	})
}

func TestRefreshTokenExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		u := app.Register("Ben")
		app.Clock.Advance(app.Config.RefreshTokenTTL + time.Second)
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": u.RefreshToken}})
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("expired refresh token: %d, want 401", res.Status)
		}
		// The access token expired too.
		res = app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: u.AccessToken})
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("expired access token: %d, want 401", res.Status)
		}
	})
}

func TestLoginAnswersAlikeForUnknownEmailAndWrongPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		u := app.Register("Cleo")
		wrong := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": u.Email, "password": "not the password"}})
		unknown := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "nobody@example.com", "password": "not the password"}})
		pw, pu := decodeProblem(t, wrong), decodeProblem(t, unknown)
		if wrong.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized {
			t.Fatalf("statuses %d and %d, want 401", wrong.Status, unknown.Status)
		}
		if diff := cmp.Diff(pw, pu); diff != "" {
			t.Errorf("wrong password and unknown email differ (-wrong +unknown):\n%s", diff)
		}
	})
}

func TestRegisterValidation(t *testing.T) {
	app := servertest.New(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)})
	valid := func() map[string]any {
		return map[string]any{"email": "dee@example.com", "password": "long enough", "display_name": "Dee", "time_zone": "Asia/Tokyo"}
	}
	with := func(k string, v any) map[string]any { m := valid(); m[k] = v; return m }
	without := func(k string) map[string]any { m := valid(); delete(m, k); return m }
	cases := []struct {
		name      string
		body      any
		wantField string
		wantCode  string
	}{
		{"missing email", without("email"), "email", "required"},
		{"bad email", with("email", "not-an-email"), "email", "invalid_email"},
		{"email with display name", with("email", "Dee <dee@example.com>"), "email", "invalid_email"},
		{"short password", with("password", "short"), "password", "too_short"},
		{"long password", with("password", strings.Repeat("p", 257)), "password", "too_long"},
		{"empty display name", with("display_name", "   "), "display_name", "required"},
		{"long display name", with("display_name", strings.Repeat("n", 101)), "display_name", "too_long"},
		{"control character", with("display_name", "a\u0007b"), "display_name", "invalid"},
		{"unknown zone", with("time_zone", "Mars/Olympus"), "time_zone", "invalid_time_zone"},
		{"empty zone", with("time_zone", ""), "time_zone", "required"},
		{"Local zone", with("time_zone", "Local"), "time_zone", "invalid_time_zone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/register", Body: tc.body})
			p := decodeProblem(t, res)
			if res.Status != http.StatusUnprocessableEntity || p.Code != "validation_failed" {
				t.Fatalf("got %d %+v, want 422 validation_failed", res.Status, p)
			}
			found := false
			for _, e := range p.Errors {
				found = found || (e.Field == tc.wantField && e.Code == tc.wantCode)
			}
			if !found {
				t.Errorf("errors %+v lack {%s %s}", p.Errors, tc.wantField, tc.wantCode)
			}
		})
	}
	// Nothing was written: the valid registration still succeeds.
	if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/register", Body: valid()}); res.Status != http.StatusCreated {
		t.Fatalf("valid registration after failures: %d %s", res.Status, res.Body)
	}
}

// Two clients racing to exchange the same refresh token: exactly one wins,
// and the loser's attempt counts as reuse, revoking the family.
func TestConcurrentRefreshIsReuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		u := app.Register("Jo")
		statuses := make(chan int, 2)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				statuses <- app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": u.RefreshToken}}).Status
			})
		}
		wg.Wait()
		close(statuses)
		got := map[int]int{}
		for s := range statuses {
			got[s]++
		}
		if got[http.StatusOK] != 1 || got[http.StatusUnauthorized] != 1 {
			t.Fatalf("statuses %v, want one 200 and one 401", got)
		}
	})
}

// What register answers is what a later read returns, to the byte.
func TestRegisterBodyMatchesLaterReads(t *testing.T) {
	app := servertest.New(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)})
	app.Clock.Advance(123456789 * time.Nanosecond) // a time with nanoseconds
	res := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{
		"email": "kim@example.com", "password": "long enough", "display_name": "Kim", "time_zone": "UTC"}})
	var reg struct {
		User        map[string]any `json:"user"`
		AccessToken string         `json:"access_token"`
	}
	res.JSON(t, &reg)
	me := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: reg.AccessToken}).Map(t)
	if diff := cmp.Diff(reg.User, me); diff != "" {
		t.Fatalf("register vs GET /v1/me (-register +me):\n%s", diff)
	}
}

// One mailbox is one account however its address is written: composed or
// decomposed accents, a domain in Unicode or in punycode, any case. A
// password is the same text however its accents were typed.
func TestEmailsAndPasswordsAreNormalized(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		register := func(email, pw string) *servertest.Response {
			return app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{
				"email": email, "password": pw, "display_name": "Änne", "time_zone": "UTC"}})
		}
		login := func(email, pw string) int {
			return app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": pw}}).Status
		}
		const composed, decomposed = "caf\u00e9 au lait", "cafe\u0301 au lait"
		if r := register("\u00c4NNE@m\u00fcnchen.de", composed); r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		for _, email := range []string{"A\u0308NNE@m\u00fcnchen.de", "\u00e4nne@xn--mnchen-3ya.de", "a\u0308nne@XN--MNCHEN-3YA.DE"} {
			if r := register(email, composed); r.Status != http.StatusConflict {
				t.Errorf("register %q: %d, want 409 email_taken", email, r.Status)
			}
			for _, pw := range []string{composed, decomposed} {
				if s := login(email, pw); s != http.StatusOK {
					t.Errorf("login %q with %q: %d", email, pw, s)
				}
			}
		}
		if s := login("anne@munchen.de", composed); s != http.StatusUnauthorized {
			t.Errorf("another address: %d", s)
		}

		// A password hashed as typed, before passwords were normalized,
		// still opens its account typed the same way.
		if r := register("legacy@example.com", composed); r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		hash, err := password.NewHasher(password.Recommended).Hash(decomposed)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := app.Server.DB.SQL()
		if _, err := w.Exec(`UPDATE users SET password_hash = $1 WHERE email_key = 'legacy@example.com'`, hash); err != nil {
			t.Fatal(err)
		}
		if s := login("legacy@example.com", decomposed); s != http.StatusOK {
			t.Errorf("a password hashed as typed: %d", s)
		}

		// Two accounts made for one mailbox before keys were normalized:
		// migration 0016 leaves the second its old key, by which it still
		// logs in, while the first keeps the normalized one.
		if r := register("zoë@example.com", composed); r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		second, err := password.NewHasher(password.Recommended).Hash("the second one")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Exec(`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at)
			VALUES ('usr_01m8h0000000000000000zoe2', 'ZOE`+"\u0308"+`@example.com', 'zoe`+"\u0308"+`@example.com', 'Zoë', 'UTC', $1, 1, 1)`, second); err != nil {
			t.Fatal(err)
		}
		who := func(email, pw string) string {
			res := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": pw}})
			if res.Status != http.StatusOK {
				return fmt.Sprint(res.Status)
			}
			return res.Map(t)["user"].(map[string]any)["id"].(string)
		}
		if got := who("ZOE\u0308@example.com", "the second one"); got != "usr_01m8h0000000000000000zoe2" {
			t.Errorf("the account left its old key: %s", got)
		}
		if got := who("ZOE\u0308@example.com", composed); !strings.HasPrefix(got, "usr_") || got == "usr_01m8h0000000000000000zoe2" {
			t.Errorf("the account with the normalized key, by the other spelling: %s", got)
		}
	})
}
