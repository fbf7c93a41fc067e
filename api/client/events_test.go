package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/troth-app/troth/api/client"
	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// The data of each event without a resource of its own decodes into its
// type here with nothing left over and nothing missing: the server and
// the client's types say the same.
func TestEventDataTypesMatchTheServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, func(c *config.Config) { c.WebhookAllowPrivate = true })
		call := func(want int, method, path, token string, body any) map[string]any {
			t.Helper()
			res := app.Do(servertest.Request{Method: method, Path: path, Token: token, Body: body})
			if res.Status != want {
				t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
			}
			if len(res.Body) == 0 {
				return nil
			}
			return res.Map(t)
		}
		ana, ben := app.Register("Ana"), app.Register("Ben")
		rel := call(201, "POST", "/v1/relationships", ana.AccessToken, map[string]any{"name": "A & B", "time_zone": "UTC"})["id"].(string)
		code := call(201, "POST", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil)["code"].(string)
		call(200, "POST", "/v1/invites/"+code+"/accept", ben.AccessToken, nil)
		p := call(201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "due_at": app.Clock.Now().Add(-time.Minute).Format(time.RFC3339)})["id"].(string)
		occ := call(200, "GET", "/v1/promises/"+p+"/occurrences", ana.AccessToken, nil)["data"].([]any)[0].(map[string]any)["id"].(string)
		call(201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{"member_id": ana.ID, "description": "late", "severity": "major",
			"occurred_at": app.Clock.Now().Add(-time.Hour).Format(time.RFC3339)})
		call(201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", ben.AccessToken, map[string]any{"outcome": "kept"})
		if _, err := app.Server.Scheduler.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		t.Cleanup(hook.Close)
		wh := call(201, "POST", "/v1/webhooks", ana.AccessToken, map[string]any{"url": hook.URL + "/hook"})["id"].(string)
		call(202, "POST", "/v1/webhooks/"+wh+"/ping", ana.AccessToken, nil)
		call(204, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil)

		strict := func(raw json.RawMessage, into any) {
			t.Helper()
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(into); err != nil {
				t.Errorf("%T from %s: %v", into, raw, err)
			}
		}
		seen := map[string]bool{}
		for _, e := range call(200, "GET", "/v1/events?limit=100", ana.AccessToken, nil)["data"].([]any) {
			e := e.(map[string]any)
			raw, _ := json.Marshal(e["data"])
			switch e["type"] {
			case "score.level_changed":
				var d client.LevelChangedData
				strict(raw, &d)
				if d.RelationshipID != rel || d.PreviousLevel == "" || d.Level == d.PreviousLevel || d.MemberId == nil {
					t.Errorf("level changed %+v", d)
				}
			case "milestone.reached":
				var d client.MilestoneReachedData
				strict(raw, &d)
				if d.RelationshipID != rel || d.MemberID != ana.ID || d.Name == "" || d.ReachedAt.IsZero() || d.PeriodStartedAt.IsZero() {
					t.Errorf("milestone %+v", d)
				}
			case "member.left":
				var d client.MemberLeftData
				strict(raw, &d)
				if d.RelationshipID != rel || d.UserId != ben.ID {
					t.Errorf("member left %+v", d)
				}
			case "webhook.ping":
				var d client.WebhookPingData
				strict(raw, &d)
				if d.WebhookID != wh || d.URL != hook.URL+"/hook" {
					t.Errorf("ping %+v", d)
				}
			default:
				continue
			}
			seen[e["type"].(string)] = true
		}
		for _, want := range []string{"score.level_changed", "milestone.reached", "member.left", "webhook.ping"} {
			if !seen[want] {
				t.Errorf("no %s in Ana's feed", want)
			}
		}
	})
}
