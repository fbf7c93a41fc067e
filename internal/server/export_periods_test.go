package server_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// exportOf returns the membership in relID of the export of u.
func exportMembership(t *testing.T, app *servertest.App, u servertest.User, relID string) api.ExportMembership {
	t.Helper()
	res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me/export", Token: u.AccessToken})
	if res.Status != 200 {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	var exp api.Export
	res.JSON(t, &exp)
	for _, r := range exp.Relationships {
		if r.RelationshipID == relID {
			return r.Membership
		}
	}
	t.Fatalf("%s's export has no %s", u.Email, relID)
	return api.ExportMembership{}
}

// A member who left and was invited back has belonged twice: the export
// lists both periods, and membership's joined_at is the latest.
func TestExportListsEveryMembershipPeriod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben := app.Register("Ana"), app.Register("Ben")
		now := func() time.Time { return app.Clock.Now().UTC().Truncate(time.Microsecond) }
		created := now()
		rel := do(t, app, 201, "POST", "/v1/relationships", ana.AccessToken, map[string]any{"name": "Ana & Ben", "time_zone": "UTC"})["id"].(string)

		join(t, app, ana, ben, rel)
		joined := now()
		later(t, app, 24*time.Hour, &ana, &ben)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil)
		left := now()
		later(t, app, 24*time.Hour, &ana, &ben)
		join(t, app, ana, ben, rel)
		rejoined := now()

		want := api.ExportMembership{Role: "member", JoinedAt: rejoined, Periods: []api.ExportMembershipPeriod{
			{JoinedAt: joined, LeftAt: &left},
			{JoinedAt: rejoined},
		}}
		if d := cmp.Diff(want, exportMembership(t, app, ben, rel)); d != "" {
			t.Errorf("Ben's membership (-want +got):\n%s", d)
		}

		// Leaving again closes the second period; Ana belonged once.
		later(t, app, time.Hour, &ana, &ben)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil)
		leftAgain := now()
		want.LeftAt, want.Periods[1].LeftAt = &leftAgain, &leftAgain
		if d := cmp.Diff(want, exportMembership(t, app, ben, rel)); d != "" {
			t.Errorf("Ben's membership after leaving again (-want +got):\n%s", d)
		}
		wantAna := api.ExportMembership{Role: "owner", JoinedAt: created, Periods: []api.ExportMembershipPeriod{{JoinedAt: created}}}
		if d := cmp.Diff(wantAna, exportMembership(t, app, ana, rel)); d != "" {
			t.Errorf("Ana's membership (-want +got):\n%s", d)
		}
	})
}
