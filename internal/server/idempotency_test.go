package server_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// A retried create with the same Idempotency-Key makes one relationship and
// answers the same twice; the key with another body is refused.
func TestIdempotentCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		u := app.Register("Ivy")
		key := map[string]string{"Idempotency-Key": "create-rel-1"}
		body := map[string]any{"name": "Ivy & Jo", "time_zone": "UTC"}
		first := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: u.AccessToken, Header: key, Body: body})
		again := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: u.AccessToken, Header: key, Body: body})
		if first.Status != http.StatusCreated || again.Status != http.StatusCreated {
			t.Fatalf("statuses %d, %d", first.Status, again.Status)
		}
		if again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("Idempotent-Replayed: first %q, replay %q", first.Header.Get("Idempotent-Replayed"), again.Header.Get("Idempotent-Replayed"))
		}
		if diff := cmp.Diff(string(first.Body), string(again.Body)); diff != "" || first.Header.Get("Location") != again.Header.Get("Location") {
			t.Fatalf("replay differs:\n%s", diff)
		}
		list := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships", Token: u.AccessToken}).Map(t)
		if n := len(list["data"].([]any)); n != 1 {
			t.Fatalf("%d relationships after a retried create, want 1", n)
		}
		other := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: u.AccessToken, Header: key,
			Body: map[string]any{"name": "Something else", "time_zone": "UTC"}})
		if p := decodeProblem(t, other); other.Status != http.StatusUnprocessableEntity || p.Code != "idempotency_key_reused" {
			t.Fatalf("same key, other body: %d %+v", other.Status, p)
		}
		// Keys belong to their user.
		v := app.Register("Vic")
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: v.AccessToken, Header: key, Body: body}); res.Status != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("another user's key: %d %v", res.Status, res.Header)
		}
	})
}
