package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
)

// A 201 whose resource can be read on its own says where (Location), and,
// when it answers with that resource's representation, its ETag: the one
// a GET of the Location then gives, so that If-None-Match answers 304.
// (servertest checks that openapi.yaml declares each Location sent.)
func TestCreatesSayWhereTheResourceIs(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	now := app.Clock.Now()
	tok := ana.AccessToken

	promise := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", tok, map[string]any{"title": "Home by 19:00", "due_at": ts(now.Add(2 * time.Hour))})["id"].(string)
	occ := occurrencesOf(t, app, tok, promise, "")[0]["id"].(string)
	other := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", tok, map[string]any{"title": "Fix the bike", "due_at": ts(now.Add(24 * time.Hour))})["id"].(string)
	occ2 := occurrencesOf(t, app, tok, other, "")[0]["id"].(string)

	for _, c := range []struct {
		name, path string
		body       any
		collection string // where the new resource is, before its id
		tagged     bool   // the 201 carries the resource's ETag
	}{
		{"relationship", "/v1/relationships", map[string]any{"name": "Ana's", "time_zone": "UTC"}, "/v1/relationships/", true},
		{"promise", "/v1/relationships/" + rel + "/promises", map[string]any{"title": "Dishes", "due_at": ts(now.Add(3 * time.Hour))}, "/v1/promises/", true},
		{"follow-through", "/v1/occurrences/" + occ + "/follow-throughs", map[string]any{"outcome": "kept"}, "/v1/follow-throughs/", true},
		{"renegotiation", "/v1/occurrences/" + occ2 + "/renegotiations", map[string]any{"proposed_due_at": ts(now.Add(72 * time.Hour))}, "/v1/renegotiations/", true},
		{"webhook", "/v1/webhooks", map[string]any{"url": "https://93.184.215.14/hook"}, "/v1/webhooks/", false},
	} {
		res := app.Do(servertest.Request{Method: "POST", Path: c.path, Token: tok, Body: c.body})
		if res.Status != http.StatusCreated {
			t.Fatalf("%s: %d %s", c.name, res.Status, res.Body)
		}
		id := res.Map(t)["id"].(string)
		if got, want := res.Header.Get("Location"), c.collection+id; got != want {
			t.Errorf("%s: Location %q, want %q", c.name, got, want)
		}
		tag := res.Header.Get("ETag")
		if c.tagged && tag == "" {
			t.Errorf("%s: no ETag", c.name)
		}
		got := app.Do(servertest.Request{Method: "GET", Path: c.collection + id, Token: tok})
		if got.Status != http.StatusOK || got.Map(t)["id"] != id {
			t.Fatalf("%s: GET %s: %d %s", c.name, c.collection+id, got.Status, got.Body)
		}
		if c.tagged && got.Header.Get("ETag") != tag {
			t.Errorf("%s: the 201's ETag %q is not the GET's %q", c.name, tag, got.Header.Get("ETag"))
		}
		if tag != "" {
			if res := app.Do(servertest.Request{Method: "GET", Path: c.collection + id, Token: tok,
				Header: map[string]string{"If-None-Match": tag}}); res.Status != http.StatusNotModified {
				t.Errorf("%s: GET with the 201's ETag: %d, want 304", c.name, res.Status)
			}
		}
	}
}
