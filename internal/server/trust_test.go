package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

func TestBreachesAndCheckIns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		when := app.Clock.Now().Add(-48 * time.Hour)
		br := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
			"member_id": ana.ID, "description": "Read my messages", "severity": "major", "occurred_at": ts(when),
		})
		if br["member_id"] != ana.ID || br["recorded_by"] != ben.ID || br["severity"] != "major" || br["occurred_at"] != ts(when) {
			t.Fatalf("breach %v", br)
		}
		ci := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ben.AccessToken, map[string]any{"subject_id": ana.ID, "felt_trust": 3, "note": "raw"})
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ana.AccessToken, map[string]any{"subject_id": ben.ID, "felt_trust": 0})
		if ci["felt_trust"] != 3.0 || ci["author_id"] != ben.ID {
			t.Fatalf("check-in %v", ci)
		}
		if l := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/breaches", ana.AccessToken, nil); len(l["data"].([]any)) != 1 {
			t.Fatalf("breaches %v", l)
		}
		if l := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/check-ins?subject="+ana.ID, ana.AccessToken, nil); len(l["data"].([]any)) != 1 {
			t.Fatalf("check-ins about Ana %v", l)
		}

		bad := []struct {
			path  string
			body  any
			field string
		}{
			{"breaches", map[string]any{"description": "x", "severity": "major"}, "member_id"},
			{"breaches", map[string]any{"member_id": "usr_01m8et4gb1mbr10c90jhdqr3s3", "description": "x", "severity": "major"}, "member_id"},
			{"breaches", map[string]any{"member_id": ana.ID, "description": " ", "severity": "major"}, "description"},
			{"breaches", map[string]any{"member_id": ana.ID, "description": "x", "severity": "apocalyptic"}, "severity"},
			{"breaches", map[string]any{"member_id": ana.ID, "description": "x", "severity": "minor", "occurred_at": ts(app.Clock.Now().Add(time.Hour))}, "occurred_at"},
			{"breaches", map[string]any{"member_id": ana.ID, "description": "x", "severity": "minor", "occurred_at": ts(app.Clock.Now().AddDate(-2, 0, 0))}, "occurred_at"},
			{"check-ins", map[string]any{"subject_id": ana.ID}, "felt_trust"},
			{"check-ins", map[string]any{"subject_id": ana.ID, "felt_trust": 11}, "felt_trust"},
			{"check-ins", map[string]any{"subject_id": ana.ID, "felt_trust": -1}, "felt_trust"},
			{"check-ins", map[string]any{"subject_id": ben.ID, "felt_trust": 5}, "subject_id"},
		}
		for _, tc := range bad {
			res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + rel + "/" + tc.path, Token: ben.AccessToken, Body: tc.body})
			p := decodeProblem(t, res)
			if res.Status != http.StatusUnprocessableEntity || len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Errorf("%s %v: %d %+v, want 422 on %s", tc.path, tc.body, res.Status, p, tc.field)
			}
		}
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + rel + "/check-ins", Token: ben.AccessToken, Body: `{"subject_id":"x","felt_trust":7.5}`})
		if res.Status != http.StatusBadRequest {
			t.Errorf("fractional felt trust: %d", res.Status)
		}
		if l := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/breaches", ana.AccessToken, nil); len(l["data"].([]any)) != 1 {
			t.Fatalf("refused breaches were written: %v", l)
		}
	})
}
