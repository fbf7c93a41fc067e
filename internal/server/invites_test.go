package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

type pendingInvite struct {
	ID             string    `json:"id"`
	RelationshipID string    `json:"relationship_id"`
	CreatedBy      string    `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

type pendingInvitePage struct {
	Data       []pendingInvite `json:"data"`
	NextCursor *string         `json:"next_cursor"`
}

// listInvites reads one page of a relationship's pending invites, which
// never show a code.
func listInvites(t *testing.T, app *servertest.App, token, relID, query string) pendingInvitePage {
	t.Helper()
	res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + relID + "/invites" + query, Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("list invites: %d %s", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), `"code"`) {
		t.Fatalf("the list shows codes: %s", res.Body)
	}
	var p pendingInvitePage
	res.JSON(t, &p)
	return p
}

// inviteIDs are the ids of a page's invites, in order.
func inviteIDs(p pendingInvitePage) []string {
	out := []string{}
	for _, inv := range p.Data {
		out = append(out, inv.ID)
	}
	return out
}

// Members list the invites still pending and revoke one: its code then
// answers as an unknown one. Used, expired, revoked and other
// relationships' invites are neither listed nor revocable.
func TestPendingInvitesAndRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app) // Ben joined with Ana's first invite: used
		cleo, dan := app.Register("Cleo"), app.Register("Dan")
		path := "/v1/relationships/" + rel + "/invites"

		created := do(t, app, 201, "POST", path, ana.AccessToken, nil)
		anas := created["id"].(string)
		if !strings.HasPrefix(anas, "inv_") {
			t.Fatalf("created %v", created)
		}
		anasAt := app.Clock.Now().UTC().Truncate(time.Microsecond) // as troth keeps times
		later(t, app, time.Minute, &ana, &ben, &cleo, &dan)
		bens := do(t, app, 201, "POST", path, ben.AccessToken, nil)
		bensAt := app.Clock.Now().UTC().Truncate(time.Microsecond)

		// Both members see both, oldest first, without their codes.
		want := []pendingInvite{
			{ID: anas, RelationshipID: rel, CreatedBy: ana.ID, CreatedAt: anasAt, ExpiresAt: anasAt.Add(7 * 24 * time.Hour)},
			{ID: bens["id"].(string), RelationshipID: rel, CreatedBy: ben.ID, CreatedAt: bensAt, ExpiresAt: bensAt.Add(7 * 24 * time.Hour)},
		}
		for _, u := range []servertest.User{ana, ben} {
			p := listInvites(t, app, u.AccessToken, rel, "")
			if d := cmp.Diff(want, p.Data, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" || p.NextCursor != nil {
				t.Fatalf("%s lists (-want +got):\n%s next %v", u.Email, d, p.NextCursor)
			}
		}
		// Keyset pages.
		first := listInvites(t, app, ana.AccessToken, rel, "?limit=1")
		if got := inviteIDs(first); !cmp.Equal(got, []string{anas}) || first.NextCursor == nil {
			t.Fatalf("first page %v, next %v", got, first.NextCursor)
		}
		second := listInvites(t, app, ana.AccessToken, rel, "?limit=1&cursor="+*first.NextCursor)
		if got := inviteIDs(second); !cmp.Equal(got, []string{want[1].ID}) || second.NextCursor != nil {
			t.Fatalf("second page %v, next %v", got, second.NextCursor)
		}
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: path + "?limit=0", Token: ana.AccessToken}), 400, "invalid_limit")
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: path + "?cursor=nonsense", Token: ana.AccessToken}), 400, "invalid_cursor")

		// Outsiders see nothing and revoke nothing.
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: path, Token: cleo.AccessToken}), 404, "not_found")
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path + "/" + anas, Token: cleo.AccessToken}), 404, "not_found")

		// Any member revokes any pending invite; its code then lets nobody in.
		do(t, app, 204, "DELETE", path+"/"+anas, ben.AccessToken, nil)
		if got := inviteIDs(listInvites(t, app, ana.AccessToken, rel, "")); !cmp.Equal(got, []string{want[1].ID}) {
			t.Fatalf("after revoking: %v", got)
		}
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/invites/" + created["code"].(string) + "/accept", Token: cleo.AccessToken}), 404, "not_found")
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path + "/" + anas, Token: ana.AccessToken}), 404, "not_found")

		// Unknown and malformed ids, an invite already used, another
		// relationship's invite: 404, and that one stays good.
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path + "/inv_01jq3v5n8xk2m4p6r8t0w2y4a6", Token: ana.AccessToken}), 404, "not_found")
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path + "/nonsense", Token: ana.AccessToken}), 404, "not_found")
		do(t, app, 200, "POST", "/v1/invites/"+bens["code"].(string)+"/accept", cleo.AccessToken, nil)
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path + "/" + want[1].ID, Token: ana.AccessToken}), 404, "not_found")
		if got := inviteIDs(listInvites(t, app, ana.AccessToken, rel, "")); len(got) != 0 {
			t.Fatalf("after the last was used: %v", got)
		}
		dans := do(t, app, 201, "POST", "/v1/relationships", dan.AccessToken, map[string]any{"name": "Dan's", "time_zone": "UTC"})["id"].(string)
		elsewhere := do(t, app, 201, "POST", "/v1/relationships/"+dans+"/invites", dan.AccessToken, nil)
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path + "/" + elsewhere["id"].(string), Token: ana.AccessToken}), 404, "not_found")
		do(t, app, 200, "POST", "/v1/invites/"+elsewhere["code"].(string)+"/accept", ana.AccessToken, nil)

		// Expired: gone from the list, not revocable.
		expiring := do(t, app, 201, "POST", path, ana.AccessToken, nil)["id"].(string)
		later(t, app, 7*24*time.Hour+time.Minute, &ana, &ben, &cleo, &dan)
		if got := inviteIDs(listInvites(t, app, ana.AccessToken, rel, "")); len(got) != 0 {
			t.Fatalf("expired invites listed: %v", got)
		}
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path + "/" + expiring, Token: ana.AccessToken}), 404, "not_found")

		// Archived: nothing pending, and no change.
		last := do(t, app, 201, "POST", path, ana.AccessToken, nil)["id"].(string)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel, ana.AccessToken, nil)
		if got := inviteIDs(listInvites(t, app, ben.AccessToken, rel, "")); len(got) != 0 {
			t.Fatalf("an archived relationship's invites listed: %v", got)
		}
		wantProblem(t, app.Do(servertest.Request{Method: "DELETE", Path: path + "/" + last, Token: ana.AccessToken}), 409, "relationship_archived")
	})
}

// An invite as created is the invite as listed, its code aside: the same
// id, maker, creation and expiry.
func TestCreatedInviteMatchesItsListing(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	inv := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil)
	var listed map[string]any
	for _, p := range do(t, app, 200, "GET", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil)["data"].([]any) {
		if p.(map[string]any)["id"] == inv["id"] {
			listed = p.(map[string]any)
		}
	}
	if listed == nil {
		t.Fatalf("the new invite %v is not listed", inv["id"])
	}
	for _, k := range []string{"id", "relationship_id", "created_by", "created_at", "expires_at"} {
		if inv[k] == nil || inv[k] != listed[k] {
			t.Errorf("%s: created %v, listed %v", k, inv[k], listed[k])
		}
	}
	if inv["created_by"] != ana.ID {
		t.Errorf("created_by %v, want %s", inv["created_by"], ana.ID)
	}
}
