package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// pair registers Ana and Ben and puts them in one relationship.
func pair(t *testing.T, app *servertest.App) (ana, ben servertest.User, relID string) {
	t.Helper()
	ana, ben = app.Register("Ana"), app.Register("Ben")
	res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: ana.AccessToken,
		Body: map[string]any{"name": "Ana & Ben", "time_zone": "Europe/Berlin", "partner_name": "Ben"}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create relationship: %d %s", res.Status, res.Body)
	}
	relID = res.Map(t)["id"].(string)
	inv := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + relID + "/invites", Token: ana.AccessToken})
	if inv.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", inv.Status, inv.Body)
	}
	code := inv.Map(t)["code"].(string)
	if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/invites/" + code + "/accept", Token: ben.AccessToken}); res.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", res.Status, res.Body)
	}
	return ana, ben, relID
}

func TestRelationshipLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben := app.Register("Ana"), app.Register("Ben")

		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: ana.AccessToken,
			Body: map[string]any{"name": " Ana & Ben ", "time_zone": "Europe/Berlin", "partner_name": "Ben",
				"settings": map[string]any{"half_life_days": 14}}})
		if res.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		rel := res.Map(t)
		relID := rel["id"].(string)
		settings := rel["settings"].(map[string]any)
		if rel["name"] != "Ana & Ben" || settings["half_life_days"] != 14.0 || settings["grace_minutes"] != 60.0 ||
			settings["target_score"] != 0.75 || settings["patience_days"] != 90.0 || settings["dispute_window_hours"] != 72.0 ||
			res.Header.Get("Location") != "/v1/relationships/"+relID {
			t.Fatalf("created %v", rel)
		}
		if ms := rel["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["role"] != "owner" {
			t.Fatalf("members %v", ms)
		}

		// Ben sees nothing until he joins.
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + relID, Token: ben.AccessToken}); res.Status != http.StatusNotFound {
			t.Fatalf("non-member GET: %d", res.Status)
		}
		inv := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + relID + "/invites", Token: ana.AccessToken}).Map(t)
		code := inv["code"].(string)
		exp, _ := time.Parse(time.RFC3339, inv["expires_at"].(string))
		if d := exp.Sub(app.Clock.Now()); d < 7*24*time.Hour-time.Second || d > 7*24*time.Hour {
			t.Errorf("invite expires in %s, want 7 days", d)
		}
		// Codes are accepted regardless of case and dashes.
		res = app.Do(servertest.Request{Method: "POST", Path: "/v1/invites/" + strings.ToLower(strings.ReplaceAll(code, "-", "")) + "/accept", Token: ben.AccessToken})
		if res.Status != http.StatusOK || len(res.Map(t)["members"].([]any)) != 2 {
			t.Fatalf("accept: %d %s", res.Status, res.Body)
		}
		// Single use.
		cleo := app.Register("Cleo")
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/invites/" + code + "/accept", Token: cleo.AccessToken}); res.Status != http.StatusNotFound {
			t.Fatalf("reused invite: %d", res.Status)
		}
		// Already a member.
		code2 := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + relID + "/invites", Token: ben.AccessToken}).Map(t)["code"].(string)
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/invites/" + code2 + "/accept", Token: ana.AccessToken}); res.Status != http.StatusConflict {
			t.Fatalf("member accepting: %d", res.Status)
		}
		// Expired.
		app.Clock.Advance(7*24*time.Hour + time.Minute)
		app.Login(&ana)
		app.Login(&ben)
		app.Login(&cleo)
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/invites/" + code2 + "/accept", Token: cleo.AccessToken}); res.Status != http.StatusNotFound {
			t.Fatalf("expired invite: %d", res.Status)
		}

		// Both list it.
		for _, u := range []servertest.User{ana, ben} {
			page := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships", Token: u.AccessToken}).Map(t)
			if data := page["data"].([]any); len(data) != 1 || page["next_cursor"] != nil {
				t.Fatalf("list for %s: %v", u.Email, page)
			}
		}
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships", Token: cleo.AccessToken}); len(res.Map(t)["data"].([]any)) != 0 {
			t.Fatalf("outsider lists %s", res.Body)
		}

		// PATCH with If-Match; out-of-range settings are 422 and change nothing.
		get := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + relID, Token: ben.AccessToken})
		etag := get.Header.Get("ETag")
		bad := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/relationships/" + relID, Token: ben.AccessToken,
			Body: map[string]any{"settings": map[string]any{"half_life_days": 6, "patience_days": 4000, "target_score": 1.5}, "time_zone": "Local"}})
		if p := decodeProblem(t, bad); bad.Status != http.StatusUnprocessableEntity || len(p.Errors) != 4 {
			t.Fatalf("bad settings: %d %+v", bad.Status, p)
		}
		res = app.Do(servertest.Request{Method: "PATCH", Path: "/v1/relationships/" + relID, Token: ben.AccessToken,
			Header: map[string]string{"If-Match": etag},
			Body:   map[string]any{"name": "Us", "partner_name": "", "settings": map[string]any{"grace_minutes": 30}}})
		if res.Status != http.StatusOK {
			t.Fatalf("patch: %d %s", res.Status, res.Body)
		}
		if m := res.Map(t); m["name"] != "Us" || m["partner_name"] != nil || m["settings"].(map[string]any)["grace_minutes"] != 30.0 ||
			m["settings"].(map[string]any)["half_life_days"] != 14.0 {
			t.Fatalf("patched %v", m)
		}
		if res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/relationships/" + relID, Token: ana.AccessToken,
			Header: map[string]string{"If-Match": etag}, Body: map[string]any{"name": "Stale"}}); res.Status != http.StatusPreconditionFailed {
			t.Fatalf("stale If-Match: %d", res.Status)
		}

		// Ben leaves: it disappears for him, Ana still sees it with one member.
		if res := app.Do(servertest.Request{Method: "DELETE", Path: "/v1/relationships/" + relID + "/members/me", Token: ben.AccessToken}); res.Status != http.StatusNoContent {
			t.Fatalf("leave: %d %s", res.Status, res.Body)
		}
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + relID, Token: ben.AccessToken}); res.Status != http.StatusNotFound {
			t.Fatalf("after leaving: %d", res.Status)
		}
		members := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + relID + "/members", Token: ana.AccessToken}).Map(t)
		if len(members["data"].([]any)) != 1 {
			t.Fatalf("members after leave: %v", members)
		}

		// Archive: readable, no longer changeable.
		if res := app.Do(servertest.Request{Method: "DELETE", Path: "/v1/relationships/" + relID, Token: ana.AccessToken}); res.Status != http.StatusNoContent {
			t.Fatalf("archive: %d %s", res.Status, res.Body)
		}
		got := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + relID, Token: ana.AccessToken}).Map(t)
		if got["status"] != "archived" || got["archived_at"] == nil {
			t.Fatalf("archived: %v", got)
		}
		res = app.Do(servertest.Request{Method: "PATCH", Path: "/v1/relationships/" + relID, Token: ana.AccessToken, Body: map[string]any{"name": "x"}})
		if p := decodeProblem(t, res); res.Status != http.StatusConflict || p.Code != "relationship_archived" {
			t.Fatalf("patch archived: %d %+v", res.Status, p)
		}
	})
}

func TestRelationshipListPages(t *testing.T) {
	app := sqliteApp(t)
	u := app.Register("Pat")
	for i := range 5 {
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: u.AccessToken,
			Body: map[string]any{"name": fmt.Sprint("r", i), "time_zone": "UTC"}}); res.Status != http.StatusCreated {
			t.Fatal(res.Status)
		}
	}
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		path := "/v1/relationships?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := app.Do(servertest.Request{Method: "GET", Path: path, Token: u.AccessToken}).Map(t)
		for _, r := range page["data"].([]any) {
			names = append(names, r.(map[string]any)["name"].(string))
		}
		if page["next_cursor"] == nil {
			break
		}
		cursor = page["next_cursor"].(string)
	}
	if strings.Join(names, ",") != "r0,r1,r2,r3,r4" {
		t.Fatalf("pages gave %v", names)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=garbage", "cursor=W10"} {
		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships?" + q, Token: u.AccessToken})
		if res.Status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, res.Status)
		}
	}
}

func TestRelationshipValidation(t *testing.T) {
	app := sqliteApp(t)
	u := app.Register("Val")
	cases := map[string]struct {
		body  map[string]any
		field string
	}{
		"no name":        {map[string]any{"time_zone": "UTC"}, "name"},
		"blank name":     {map[string]any{"name": "  ", "time_zone": "UTC"}, "name"},
		"long name":      {map[string]any{"name": strings.Repeat("x", 101), "time_zone": "UTC"}, "name"},
		"no zone":        {map[string]any{"name": "x"}, "time_zone"},
		"Local zone":     {map[string]any{"name": "x", "time_zone": "Local"}, "time_zone"},
		"half life":      {map[string]any{"name": "x", "time_zone": "UTC", "settings": map[string]any{"half_life_days": 366}}, "settings.half_life_days"},
		"patience":       {map[string]any{"name": "x", "time_zone": "UTC", "settings": map[string]any{"patience_days": 6}}, "settings.patience_days"},
		"dispute window": {map[string]any{"name": "x", "time_zone": "UTC", "settings": map[string]any{"dispute_window_hours": 0}}, "settings.dispute_window_hours"},
		"long partner":   {map[string]any{"name": "x", "time_zone": "UTC", "partner_name": strings.Repeat("p", 101)}, "partner_name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: u.AccessToken, Body: tc.body})
			p := decodeProblem(t, res)
			if res.Status != http.StatusUnprocessableEntity || len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Fatalf("got %d %+v, want 422 on %s", res.Status, p, tc.field)
			}
		})
	}
	res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships", Token: u.AccessToken, Body: `{"name":"x","time_zone":"UTC","settings":{"half_life_days":"thirty"}}`})
	if p := decodeProblem(t, res); res.Status != http.StatusBadRequest || p.Errors[0].Field != "settings.half_life_days" {
		t.Fatalf("wrong type: %d %+v", res.Status, p)
	}
	if list := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships", Token: u.AccessToken}).Map(t); len(list["data"].([]any)) != 0 {
		t.Fatalf("refused requests wrote: %v", list)
	}
}

// When a member leaves, the promises they made or were made are cancelled:
// no one is left to keep or confirm them, and the one who stayed is not
// scored on them.
func TestLeavingCancelsTheLeaversPromises(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		mine := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Daily call", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "20:00"}})["id"].(string)
		his := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ben.AccessToken, map[string]any{
			"title": "Dinner", "due_at": app.Clock.Now().Add(48 * time.Hour).Format(time.RFC3339)})["id"].(string)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil)
		for _, id := range []string{mine, his} {
			if p := do(t, app, 200, "GET", "/v1/promises/"+id, ana.AccessToken, nil); p["status"] != "cancelled" {
				t.Fatalf("promise %s after the promisee/promisor left: %v", id, p["status"])
			}
		}
		later(t, app, 72*time.Hour, &ana)
		tick(t, app)
		if s := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/members/"+ana.ID+"/score", ana.AccessToken, nil); s["counts"].(map[string]any)["missed"] != 0.0 {
			t.Fatalf("Ana was scored on promises to someone who left: %v", s["counts"])
		}
		es, _ := feed(t, app, ana.AccessToken, "", "&types=promise.cancelled")
		if len(es) != 2 || es[0]["actor_id"] != ben.ID {
			t.Fatalf("cancel events %v", es)
		}
	})
}

// The last member to leave archives the relationship, as the last one to
// delete their account does: an invite made before lets no newcomer into
// what they left. Leaving an archived relationship changes nothing in it.
func TestTheLastMemberLeaving(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, cat := app.Register("Ana"), app.Register("Cat")
		rel := do(t, app, 201, "POST", "/v1/relationships", ana.AccessToken, map[string]any{"name": "Private", "time_zone": "UTC"})["id"].(string)
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "private title", "details": "private details", "due_at": ts(app.Clock.Now().Add(48 * time.Hour))})
		code := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil)["code"].(string)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel+"/members/me", ana.AccessToken, nil)
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/invites/" + code + "/accept", Token: cat.AccessToken}),
			http.StatusNotFound, "not_found")
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/promises", Token: cat.AccessToken}),
			http.StatusNotFound, "not_found")

		// Ben leaves a relationship Ana archived: her promise stays as the
		// archive left it (archived, not cancelled).
		ana2, ben, rel2 := pair(t, app)
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel2+"/promises", ana2.AccessToken, map[string]any{
			"title": "x", "due_at": ts(app.Clock.Now().Add(48 * time.Hour))})["id"].(string)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel2, ana2.AccessToken, nil)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel2+"/members/me", ben.AccessToken, nil)
		if got := do(t, app, 200, "GET", "/v1/promises/"+p, ana2.AccessToken, nil)["status"]; got != "archived" {
			t.Fatalf("a promise in an archived relationship left by its promisee: %v", got)
		}
	})
}

// Deleting an account leaves its relationships as leaving does: their
// updated_at moves, and an archived one keeps its promises as the archive
// left them.
func TestDeletingAnAccountLeavesAsLeavingDoes(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	was := do(t, app, 200, "GET", "/v1/relationships/"+rel, ben.AccessToken, nil)["updated_at"]
	ana2, ben2, archived := pair(t, app)
	p := do(t, app, 201, "POST", "/v1/relationships/"+archived+"/promises", ben2.AccessToken, map[string]any{
		"title": "x", "due_at": ts(app.Clock.Now().Add(48 * time.Hour))})["id"].(string)
	do(t, app, 204, "DELETE", "/v1/relationships/"+archived, ben2.AccessToken, nil)
	later(t, app, time.Second, &ana, &ben, &ana2, &ben2)
	do(t, app, 204, "DELETE", "/v1/me", ana.AccessToken, nil)
	do(t, app, 204, "DELETE", "/v1/me", ana2.AccessToken, nil)
	if now := do(t, app, 200, "GET", "/v1/relationships/"+rel, ben.AccessToken, nil)["updated_at"]; now == was {
		t.Errorf("updated_at %v unchanged by a member's account deletion", now)
	}
	if got := do(t, app, 200, "GET", "/v1/promises/"+p, ben2.AccessToken, nil)["status"]; got != "archived" {
		t.Errorf("a promise in an archived relationship, after its promisee's account deletion: %v", got)
	}
}

// A member who leaves takes their unused invites with them; the others'
// stay good.
func TestLeavingEndsOnesInvites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		cleo, dan := app.Register("Cleo"), app.Register("Dan")
		bens := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/invites", ben.AccessToken, nil)["code"].(string)
		anas := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil)["code"].(string)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil)
		do(t, app, 404, "POST", "/v1/invites/"+bens+"/accept", cleo.AccessToken, nil)
		do(t, app, 200, "POST", "/v1/invites/"+anas+"/accept", dan.AccessToken, nil)
	})
}
