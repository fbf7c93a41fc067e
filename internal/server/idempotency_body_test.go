package server_test

import (
	"net/http"
	"testing"

	"github.com/troth-app/troth/internal/server/servertest"
)

// For an operation that takes no body, none and {} are the same request:
// a retry with the same Idempotency-Key replays, whichever it sends.
func TestIdempotentNoBodyIsEmptyObject(t *testing.T) {
	app := sqliteApp(t, hookOpts())
	ana := app.Register("Ana")
	hook, _ := createHook(t, app, ana.AccessToken, map[string]any{"url": "http://127.0.0.1:1/hook"})
	for i, bodies := range [][2]any{{nil, "{}"}, {"{}", nil}, {nil, " "}, {" { } ", nil}} {
		key := map[string]string{"Idempotency-Key": "ping-" + string(rune('a'+i))}
		first := app.Do(servertest.Request{Method: "POST", Path: "/v1/webhooks/" + hook + "/ping", Token: ana.AccessToken, Header: key, Body: bodies[0]})
		again := app.Do(servertest.Request{Method: "POST", Path: "/v1/webhooks/" + hook + "/ping", Token: ana.AccessToken, Header: key, Body: bodies[1]})
		if first.Status != http.StatusAccepted || again.Status != http.StatusAccepted || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%q then %q: %d, then %d %s", bodies[0], bodies[1], first.Status, again.Status, again.Body)
		}
	}
}
