package server_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
)

// staleIfMatch are If-Match values that name no current representation.
var staleIfMatch = []string{`"stale"`, `W/"stale"`, `"a", "b"`, `,`}

// Every PATCH and DELETE honours If-Match (SPEC §6): a stale one is 412
// precondition_failed and changes nothing. A resource without an ETag (an
// invite, an API key, a membership) has no tag to match, so any If-Match
// but * is stale; * goes ahead, and a resource that does not exist is 404
// whatever If-Match says.
func TestIfMatchOnEveryChange(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	due := ts(app.Clock.Now().Add(24 * time.Hour))
	promiseID := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
		map[string]any{"title": "Dishes", "due_at": due})["id"].(string)
	hookID := do(t, app, 201, "POST", "/v1/webhooks", ana.AccessToken, map[string]any{"url": "https://93.184.215.14/hook"})["id"].(string)
	inviteID := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil)["id"].(string)
	keyID := createAPIKey(t, app, ana.AccessToken, "CLI", "write").ID

	routes := []struct {
		method, path string
		body         any
	}{
		{"PATCH", "/v1/me", map[string]any{"display_name": "Stale"}},
		{"DELETE", "/v1/me", nil},
		{"DELETE", "/v1/api-keys/" + keyID, nil},
		{"PATCH", "/v1/relationships/" + rel, map[string]any{"name": "Stale"}},
		{"DELETE", "/v1/relationships/" + rel, nil},
		{"DELETE", "/v1/relationships/" + rel + "/invites/" + inviteID, nil},
		{"DELETE", "/v1/relationships/" + rel + "/members/me", nil},
		{"PATCH", "/v1/promises/" + promiseID, map[string]any{"title": "Stale"}},
		{"DELETE", "/v1/promises/" + promiseID, nil},
		{"PATCH", "/v1/webhooks/" + hookID, map[string]any{"enabled": false}},
		{"DELETE", "/v1/webhooks/" + hookID, nil},
	}
	for _, r := range routes {
		for _, ifMatch := range staleIfMatch {
			res := app.Do(servertest.Request{Method: r.method, Path: r.path, Token: ana.AccessToken, Body: r.body,
				Header: map[string]string{"If-Match": ifMatch}})
			if res.Status != http.StatusPreconditionFailed {
				t.Errorf("%s %s with If-Match %s: %d %s, want 412 precondition_failed", r.method, r.path, ifMatch, res.Status, res.Body)
				continue
			}
			wantProblem(t, res, http.StatusPreconditionFailed, "precondition_failed")
		}
	}

	// Nothing changed.
	if me := do(t, app, 200, "GET", "/v1/me", ana.AccessToken, nil); me["display_name"] != "Ana" {
		t.Errorf("profile changed: %v", me)
	}
	if r := do(t, app, 200, "GET", "/v1/relationships/"+rel, ana.AccessToken, nil); r["name"] != "Ana & Ben" || r["status"] != "active" || len(r["members"].([]any)) != 2 {
		t.Errorf("relationship changed: %v", r)
	}
	if p := do(t, app, 200, "GET", "/v1/promises/"+promiseID, ana.AccessToken, nil); p["title"] != "Dishes" || p["status"] != "active" {
		t.Errorf("promise changed: %v", p)
	}
	if h := do(t, app, 200, "GET", "/v1/webhooks/"+hookID, ana.AccessToken, nil); h["enabled"] != true {
		t.Errorf("webhook changed: %v", h)
	}
	if got := inviteIDs(listInvites(t, app, ana.AccessToken, rel, "")); !slices.Equal(got, []string{inviteID}) {
		t.Errorf("invites after stale revocations: %v", got)
	}
	if got := listAPIKeys(t, app, ana.AccessToken, ""); len(got.Data) != 1 || got.Data[0].ID != keyID {
		t.Errorf("API keys after stale revocations: %+v", got.Data)
	}

	// What does not exist is 404 first, whatever If-Match says.
	for _, path := range []string{
		"/v1/api-keys/key_01jq3v5n8xk2m4p6r8t0w2y4a6",
		"/v1/relationships/" + rel + "/invites/inv_01jq3v5n8xk2m4p6r8t0w2y4a6",
		"/v1/relationships/rel_01jq3v5n8xk2m4p6r8t0w2y4a6/members/me",
	} {
		for _, ifMatch := range []string{`"stale"`, "*"} {
			wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path, Token: ana.AccessToken,
				Header: map[string]string{"If-Match": ifMatch}}), http.StatusNotFound, "not_found")
		}
	}

	// * matches any current representation: the untagged resources go.
	for _, path := range []string{
		"/v1/api-keys/" + keyID,
		"/v1/relationships/" + rel + "/invites/" + inviteID,
	} {
		if res := app.Do(servertest.Request{Method: "DELETE", Path: path, Token: ana.AccessToken,
			Header: map[string]string{"If-Match": "*"}}); res.Status != http.StatusNoContent {
			t.Errorf("DELETE %s with If-Match *: %d %s", path, res.Status, res.Body)
		}
	}
	if got := listAPIKeys(t, app, ana.AccessToken, ""); len(got.Data) != 0 {
		t.Errorf("API key not revoked: %+v", got.Data)
	}
	if got := inviteIDs(listInvites(t, app, ana.AccessToken, rel, "")); len(got) != 0 {
		t.Errorf("invite not revoked: %v", got)
	}
	if res := app.Do(servertest.Request{Method: "DELETE", Path: "/v1/relationships/" + rel + "/members/me", Token: ben.AccessToken,
		Header: map[string]string{"If-Match": "*"}}); res.Status != http.StatusNoContent {
		t.Errorf("leave with If-Match *: %d %s", res.Status, res.Body)
	}
	wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel, Token: ben.AccessToken}), http.StatusNotFound, "not_found")
}
