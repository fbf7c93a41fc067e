package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// join has owner invite joiner into relID and joiner accept.
func join(t *testing.T, app *servertest.App, owner, joiner servertest.User, relID string) {
	t.Helper()
	code := do(t, app, 201, "POST", "/v1/relationships/"+relID+"/invites", owner.AccessToken, nil)["code"].(string)
	do(t, app, 200, "POST", "/v1/invites/"+code+"/accept", joiner.AccessToken, nil)
}

// dataWorld is Ana's history: a relationship with Ben with something of
// every kind, one she left, one only she belongs to, an API key and a
// webhook; and Ben's relationship with Cleo, which is none of hers.
type dataWorld struct {
	ana, ben, cleo                 servertest.User
	shared, left, solo, benAndCleo string
	anaPromise, benPromise         string // in shared: Ana's to Ben, Ben's to Ana
	followThrough, renegotiation   string // Ana's, in shared
	breach                         string // by Ana, recorded by Ben
	checkIns                       []string
	soloPromise, otherPromise      string // Ana's alone; Ben's to Cleo
	apiKey, webhook, delivery      string
}

func newDataWorld(t *testing.T, app *servertest.App) *dataWorld {
	t.Helper()
	w := &dataWorld{}
	w.ana, w.ben, w.shared = pair(t, app)
	w.cleo = app.Register("Cleo")
	ana, ben, cleo := w.ana.AccessToken, w.ben.AccessToken, w.cleo.AccessToken
	now := app.Clock.Now()
	rel := "/v1/relationships/" + w.shared

	w.anaPromise = do(t, app, 201, "POST", rel+"/promises", ana, map[string]any{"title": "Home by 19:00", "due_at": ts(now.Add(2 * time.Hour))})["id"].(string)
	occ := occurrencesOf(t, app, ana, w.anaPromise, "")[0]["id"].(string)
	w.followThrough = do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", ana, map[string]any{"outcome": "kept", "note": "on the dot"})["id"].(string)
	do(t, app, 200, "POST", "/v1/follow-throughs/"+w.followThrough+"/confirm", ben, nil)
	later := do(t, app, 201, "POST", rel+"/promises", ana, map[string]any{"title": "Fix the bike", "due_at": ts(now.Add(24 * time.Hour))})["id"].(string)
	occ2 := occurrencesOf(t, app, ana, later, "")[0]["id"].(string)
	w.renegotiation = do(t, app, 201, "POST", "/v1/occurrences/"+occ2+"/renegotiations", ana, map[string]any{"proposed_due_at": ts(now.Add(72 * time.Hour))})["id"].(string)
	w.benPromise = do(t, app, 201, "POST", rel+"/promises", ben, map[string]any{"title": "Cook on Fridays", "due_at": ts(now.Add(48 * time.Hour))})["id"].(string)
	w.breach = do(t, app, 201, "POST", rel+"/breaches", ben, map[string]any{
		"member_id": w.ana.ID, "description": "Read my messages", "severity": "major", "occurred_at": ts(now.Add(-time.Hour)),
	})["id"].(string)
	w.checkIns = []string{
		do(t, app, 201, "POST", rel+"/check-ins", ben, map[string]any{"subject_id": w.ana.ID, "felt_trust": 4, "note": "getting there"})["id"].(string),
		do(t, app, 201, "POST", rel+"/check-ins", ana, map[string]any{"subject_id": w.ben.ID, "felt_trust": 7})["id"].(string),
	}
	slices.Sort(w.checkIns)

	// Cleo's relationship, which Ana joined and left.
	w.left = do(t, app, 201, "POST", "/v1/relationships", cleo, map[string]any{"name": "Cleo & Ana", "time_zone": "Europe/Berlin"})["id"].(string)
	join(t, app, w.cleo, w.ana, w.left)
	do(t, app, 204, "DELETE", "/v1/relationships/"+w.left+"/members/me", ana, nil)
	do(t, app, 200, "PATCH", "/v1/relationships/"+w.left, cleo, map[string]any{"name": "Cleo, after Ana"})

	w.solo = do(t, app, 201, "POST", "/v1/relationships", ana, map[string]any{"name": "Ana & Dan", "time_zone": "Europe/Berlin", "partner_name": "Dan"})["id"].(string)
	w.soloPromise = do(t, app, 201, "POST", "/v1/relationships/"+w.solo+"/promises", ana, map[string]any{"title": "Write to Dan", "due_at": ts(now.Add(5 * time.Hour))})["id"].(string)

	w.benAndCleo = do(t, app, 201, "POST", "/v1/relationships", ben, map[string]any{"name": "Ben & Cleo", "time_zone": "Europe/Berlin"})["id"].(string)
	join(t, app, w.ben, w.cleo, w.benAndCleo)
	w.otherPromise = do(t, app, 201, "POST", "/v1/relationships/"+w.benAndCleo+"/promises", ben, map[string]any{"title": "Lend Cleo the car", "due_at": ts(now.Add(3 * time.Hour))})["id"].(string)

	w.apiKey = do(t, app, 201, "POST", "/v1/api-keys", ana, map[string]any{"name": "Ana's script", "scope": "write"})["secret"].(string)
	w.webhook = do(t, app, 201, "POST", "/v1/webhooks", ana, map[string]any{"url": "http://127.0.0.1:9/hook"})["id"].(string)
	w.delivery = do(t, app, 202, "POST", "/v1/webhooks/"+w.webhook+"/ping", ana, nil)["id"].(string)
	return w
}

func idsOf[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}

func TestExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, allowPrivateWebhooks)
		w := newDataWorld(t, app)

		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me/export", Token: w.ana.AccessToken})
		if res.Status != http.StatusOK {
			t.Fatalf("export: %d %s", res.Status, res.Body)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		if cd, want := res.Header.Get("Content-Disposition"), `attachment; filename="troth-export-`+w.ana.ID+`.json"`; cd != want {
			t.Errorf("Content-Disposition %q, want %q", cd, want)
		}
		var exp api.Export
		res.JSON(t, &exp)

		if exp.User.ID != w.ana.ID || exp.User.Email != w.ana.Email || exp.User.DisplayName != "Ana" {
			t.Errorf("user %+v", exp.User)
		}
		rels := map[string]api.ExportRelationship{}
		for _, r := range exp.Relationships {
			rels[r.RelationshipID] = r
		}
		want := []string{w.shared, w.left, w.solo}
		slices.Sort(want)
		if got := idsOf(exp.Relationships, func(r api.ExportRelationship) string { return r.RelationshipID }); !slices.Equal(got, want) {
			t.Fatalf("relationships %v, want %v", got, want)
		}

		shared := rels[w.shared]
		wantPromises := []string{w.anaPromise, w.benPromise}
		for _, p := range shared.Promises {
			if p.Title == "Fix the bike" {
				wantPromises = append(wantPromises, p.ID)
			}
		}
		slices.Sort(wantPromises)
		got := map[string][]string{
			"promises":        idsOf(shared.Promises, func(p api.Promise) string { return p.ID }),
			"follow_throughs": idsOf(shared.FollowThroughs, func(f api.FollowThrough) string { return f.ID }),
			"renegotiations":  idsOf(shared.Renegotiations, func(r api.Renegotiation) string { return r.ID }),
			"breaches":        idsOf(shared.Breaches, func(b api.Breach) string { return b.ID }),
			"check_ins":       idsOf(shared.CheckIns, func(c api.CheckIn) string { return c.ID }),
		}
		wantIDs := map[string][]string{
			"promises":        wantPromises,
			"follow_throughs": {w.followThrough},
			"renegotiations":  {w.renegotiation},
			"breaches":        {w.breach},
			"check_ins":       w.checkIns,
		}
		if d := cmp.Diff(wantIDs, got); d != "" {
			t.Errorf("shared relationship (-want +got):\n%s", d)
		}
		if len(shared.Occurrences) != 3 {
			t.Errorf("occurrences %d, want one per promise", len(shared.Occurrences))
		}
		if m := shared.Membership; m.Role != "owner" || m.LeftAt != nil || m.JoinedAt.IsZero() {
			t.Errorf("membership %+v", m)
		}
		if s := shared.Score; s == nil || s.MemberID == nil || *s.MemberID != w.ana.ID {
			t.Errorf("score %+v", s)
		}
		if l := rels[w.left]; l.Membership.Role != "member" || l.Membership.LeftAt == nil || l.Score != nil || l.Relationship != nil {
			t.Errorf("left relationship: membership %+v, score %v, relationship %+v", l.Membership, l.Score, l.Relationship)
		}
		if s := rels[w.shared].Relationship; s == nil || s.ID != w.shared || len(s.Members) != 2 {
			t.Errorf("shared relationship %+v", s)
		}
		if s := rels[w.solo]; len(s.Promises) != 1 || s.Promises[0].ID != w.soloPromise {
			t.Errorf("solo promises %+v", s.Promises)
		}
		if len(exp.APIKeys) != 1 || !strings.HasPrefix(w.apiKey, exp.APIKeys[0].Prefix) {
			t.Errorf("API keys %+v", exp.APIKeys)
		}
		if len(exp.Webhooks) != 1 || exp.Webhooks[0].ID != w.webhook {
			t.Errorf("webhooks %+v", exp.Webhooks)
		}
		// Nothing of Ben's other relationship, nor Ben's private fields, nor
		// any secret.
		for _, leak := range []string{w.benAndCleo, w.otherPromise, w.ben.Email, w.cleo.Email, w.apiKey, "whsec_", "password", "Cleo, after Ana"} {
			if strings.Contains(string(res.Body), leak) {
				t.Errorf("the export contains %q", leak)
			}
		}

		// Cleo, in no relationship of Ana's, exports only her own.
		var cleo api.Export
		app.Do(servertest.Request{Method: "GET", Path: "/v1/me/export", Token: w.cleo.AccessToken}).JSON(t, &cleo)
		if got := idsOf(cleo.Relationships, func(r api.ExportRelationship) string { return r.RelationshipID }); slices.Contains(got, w.shared) || slices.Contains(got, w.solo) {
			t.Errorf("Cleo's export has Ana's relationships: %v", got)
		}
	})
}

func TestDeleteAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, allowPrivateWebhooks)
		w := newDataWorld(t, app)
		ctx := context.Background()
		db := app.Server.DB
		ana := w.ana.AccessToken
		// Ana goes by a second name, which a relationship.updated event
		// carries in its member list; member.joined has the first.
		do(t, app, 200, "PATCH", "/v1/me", ana, map[string]any{"display_name": `Ana "Q" Uniquename`})
		do(t, app, 200, "PATCH", "/v1/relationships/"+w.shared, ana, map[string]any{"name": "Renamed"})
		anaNamed := func() (names []string) {
			events, _ := feed(t, app, w.ben.AccessToken, "", "")
			for _, e := range events {
				walkObjects(e["data"], func(o map[string]any) {
					if o["user_id"] == w.ana.ID && o["display_name"] != nil {
						names = append(names, fmt.Sprint(e["type"], ": ", o["display_name"]))
					}
				})
			}
			return names
		}
		if names := strings.Join(anaNamed(), "; "); !strings.Contains(names, "member.joined: Ana") ||
			!strings.Contains(names, `relationship.updated: Ana "Q" Uniquename`) {
			t.Fatalf("Ana's names in Ben's feed before: %s", names)
		}

		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: "/v1/me", Token: w.apiKey}), http.StatusForbidden, "user_token_required")
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: "/v1/me", Token: ana, Header: map[string]string{"If-Match": `"stale"`}}),
			http.StatusPreconditionFailed, "precondition_failed")
		etag := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: ana}).Header.Get("ETag")
		if res := app.Do(servertest.Request{Method: "DELETE", Path: "/v1/me", Token: ana, Header: map[string]string{"If-Match": etag}}); res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.Status, res.Body)
		}

		// Every credential stops working, the access token included.
		for _, c := range []struct {
			name, method, path, token string
			body                      any
		}{
			{"access token", "GET", "/v1/me", ana, nil},
			{"access token export", "GET", "/v1/me/export", ana, nil},
			{"access token write", "POST", "/v1/relationships", ana, map[string]any{"name": "x", "time_zone": "UTC"}},
			{"second delete", "DELETE", "/v1/me", ana, nil},
			{"API key", "GET", "/v1/relationships", w.apiKey, nil},
		} {
			res := app.Do(servertest.Request{Method: c.method, Path: c.path, Token: c.token, Body: c.body})
			if res.Status != http.StatusUnauthorized {
				t.Errorf("%s: %d %s, want 401", c.name, res.Status, res.Body)
			}
		}
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": w.ana.RefreshToken}}),
			http.StatusUnauthorized, "invalid_refresh_token")
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": w.ana.Email, "password": w.ana.Password}}),
			http.StatusUnauthorized, "invalid_credentials")
		tomb := "deleted+" + w.ana.ID + "@invalid"
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": tomb, "password": w.ana.Password}}),
			http.StatusUnauthorized, "invalid_credentials")

		// The personal fields are erased; the email is free again.
		u, err := db.Accounts().UserByID(ctx, w.ana.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(account.User{ID: w.ana.ID, Email: tomb, DisplayName: "former member", TimeZone: "Europe/Berlin"}, u,
			cmpIgnoreTimes); d != "" || u.DeletedAt == nil {
			t.Errorf("erased user (-want +got):\n%s\ndeleted_at %v", d, u.DeletedAt)
		}
		do(t, app, 201, "POST", "/v1/auth/register", "", map[string]any{"email": w.ana.Email, "password": "another-password", "display_name": "Ana again", "time_zone": "UTC"})

		// Ben keeps the shared history, Ana's part in it with its ids.
		ben := w.ben.AccessToken
		rel := do(t, app, 200, "GET", "/v1/relationships/"+w.shared, ben, nil)
		if ms := rel["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["user_id"] != w.ben.ID || rel["status"] != "active" {
			t.Errorf("shared relationship after: %v", rel)
		}
		if p := do(t, app, 200, "GET", "/v1/promises/"+w.anaPromise, ben, nil); p["promisor_id"] != w.ana.ID {
			t.Errorf("Ana's promise %v", p)
		}
		do(t, app, 200, "GET", "/v1/follow-throughs/"+w.followThrough, ben, nil)
		if l := do(t, app, 200, "GET", "/v1/relationships/"+w.shared+"/check-ins", ben, nil); len(l["data"].([]any)) != 2 {
			t.Errorf("check-ins %v", l)
		}
		events, _ := feed(t, app, ben, "", "&types=member.left")
		var left map[string]any
		for _, e := range events {
			if e["relationship_id"] == w.shared {
				left = e
			}
		}
		if left == nil || left["actor_id"] != w.ana.ID {
			t.Fatalf("member.left in Ben's feed: %v", events)
		}
		if data := left["data"].(map[string]any); data["display_name"] != "former member" || data["user_id"] != w.ana.ID || data["relationship_id"] != w.shared {
			t.Errorf("member.left data %v", data)
		}

		// No event Ben can read names Ana by a name she went by.
		for _, n := range anaNamed() {
			if !strings.HasSuffix(n, ": former member") {
				t.Errorf("Ana named in Ben's feed after her account was deleted: %s", n)
			}
		}

		// The relationship only Ana belonged to is archived; the one she
		// had left is Cleo's as before.
		solo, err := db.Relationships().Get(ctx, w.solo)
		if err != nil || solo.Status != relationship.StatusArchived || solo.ArchivedAt == nil || len(solo.Members) != 0 {
			t.Errorf("solo relationship %+v, %v", solo, err)
		}
		if r := do(t, app, 200, "GET", "/v1/relationships/"+w.left, w.cleo.AccessToken, nil); r["status"] != "active" {
			t.Errorf("Cleo's relationship %v", r)
		}

		// Webhooks, deliveries and keys are gone; a delivery job still
		// queued finds nothing to do.
		if eps, err := db.Webhooks().Endpoints(ctx, w.ana.ID, page.Request{Limit: 10}); err != nil || len(eps) != 0 {
			t.Errorf("webhooks after: %v %v", eps, err)
		}
		if _, err := db.Webhooks().Work(ctx, w.delivery); !fault.Is(err, "not_found") {
			t.Errorf("delivery after: %v", err)
		}
		if keys, err := db.APIKeys().ListActive(ctx, w.ana.ID, page.Request{Limit: 10}); err != nil || len(keys) != 0 {
			t.Errorf("API keys after: %v %v", keys, err)
		}
	})
}

// walkObjects calls f with every JSON object in v, v's own included.
func walkObjects(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, x := range v {
			walkObjects(x, f)
		}
	case []any:
		for _, x := range v {
			walkObjects(x, f)
		}
	}
}

var cmpIgnoreTimes = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".CreatedAt", ".UpdatedAt", ".DeletedAt":
		return true
	}
	return false
}, cmp.Ignore())
