package server_test

import (
	"net/http"
	"testing"

	"github.com/troth-app/troth/internal/server/servertest"
)

// A 401 names its scheme; when a token was sent and refused it also says
// error="invalid_token" (RFC 6750 §3), so a client knows to get a new one
// rather than to log in for the first time.
func TestUnauthorizedChallenge(t *testing.T) {
	app := sqliteApp(t)
	for _, c := range []struct{ name, token, want string }{
		{"no token", "", `Bearer realm="troth"`},
		{"a token not ours", "eyJhbGciOiJFZERTQSJ9.e30.c2ln", `Bearer realm="troth", error="invalid_token"`},
	} {
		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: c.token})
		if got := res.Header.Get("WWW-Authenticate"); res.Status != http.StatusUnauthorized || got != c.want {
			t.Errorf("%s: %d, WWW-Authenticate %q, want 401 with %q", c.name, res.Status, got, c.want)
		}
	}
}
