package server_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/troth-app/troth/internal/server/servertest"
)

// A body is read only when it says it is application/json (in any case),
// with at most a charset of utf-8 (any case, quoted or not); any other
// type, a JSON one included, or another charset or parameter is 415
// unsupported_media_type and changes nothing. Operations that take no body
// judge a body they get the same way.
func TestContentTypeIsApplicationJSON(t *testing.T) {
	app := sqliteApp(t)
	u := app.Register("Hal")
	rel := do(t, app, 201, "POST", "/v1/relationships", u.AccessToken, map[string]any{"name": "Hal's", "time_zone": "UTC"})["id"].(string)
	for _, ct := range []string{
		"application/merge-patch+json",
		"application/problem+json",
		"application/vnd.api+json",
		"application/json; charset=latin1",
		"application/json; charset=ISO-8859-1",
		`application/json; charset="utf-16"`,
		"application/json; charset=utf8",
		"application/json; profile=https://example.com/p",
		"application/json; charset=utf-8; q=1",
		"application/jsonx",
		"text/json",
		"text/plain",
		"",
	} {
		res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/me", Token: u.AccessToken, Body: `{"display_name":"Changed"}`,
			Header: map[string]string{"Content-Type": ct}})
		if res.Status != http.StatusUnsupportedMediaType {
			t.Errorf("PATCH /v1/me as %q: %d %s, want 415", ct, res.Status, res.Body)
		} else {
			wantProblem(t, res, http.StatusUnsupportedMediaType, "unsupported_media_type")
		}
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + rel + "/invites", Token: u.AccessToken, Body: `{}`,
			Header: map[string]string{"Content-Type": ct}})
		if res.Status != http.StatusUnsupportedMediaType {
			t.Errorf("POST invites (no body) as %q: %d %s, want 415", ct, res.Status, res.Body)
		} else {
			wantProblem(t, res, http.StatusUnsupportedMediaType, "unsupported_media_type")
		}
	}
	if me := do(t, app, 200, "GET", "/v1/me", u.AccessToken, nil); me["display_name"] != "Hal" {
		t.Fatalf("profile changed by refused requests: %v", me)
	}
	if got := listInvites(t, app, u.AccessToken, rel, ""); len(got.Data) != 0 {
		t.Fatalf("invites made by refused requests: %v", inviteIDs(got))
	}

	for i, ct := range []string{
		"application/json",
		"APPLICATION/JSON",
		"application/json; charset=utf-8",
		"application/json;charset=UTF-8",
		`application/json; charset="utf-8"`,
		`Application/Json ; Charset="Utf-8"`,
	} {
		res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/me", Token: u.AccessToken, Body: map[string]any{"display_name": "Hal " + strconv.Itoa(i)},
			Header: map[string]string{"Content-Type": ct}})
		if res.Status != http.StatusOK || res.Map(t)["display_name"] != "Hal "+strconv.Itoa(i) {
			t.Errorf("PATCH /v1/me as %q: %d %s, want 200", ct, res.Status, res.Body)
		}
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + rel + "/invites", Token: u.AccessToken, Body: `{}`,
			Header: map[string]string{"Content-Type": ct}})
		if res.Status != http.StatusCreated {
			t.Errorf("POST invites (no body) as %q: %d %s, want 201", ct, res.Status, res.Body)
		}
	}
}
