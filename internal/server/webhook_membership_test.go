package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// A member who leaves a relationship gets nothing more of it at their
// endpoints: an attempt still due for one of its events is not made, and
// redelivering one answers 404 as if the delivery were not there. Their
// own events (a ping) are unaffected.
func TestWebhookAfterLeaving(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, hookOpts())
		startHooks(t, app)
		ana, ben, rel := pair(t, app)

		// Ben's receiver holds its first answer until Ben has left, then
		// fails it, so that a retry is due after he left.
		release := make(chan struct{})
		rc := newReceiver(t, func(n int, w http.ResponseWriter) {
			if n == 1 {
				<-release
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		defer func() {
			select {
			case <-release:
			default:
				close(release)
			}
		}()
		hook, _ := createHook(t, app, ben.AccessToken, map[string]any{"url": rc.url(), "event_types": []string{"promise.created", "webhook.ping"}})

		// The first promise arrives while Ben is a member.
		first := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "due_at": ts(app.Clock.Now().Add(48 * time.Hour))})
		rc.wait(t, 1)
		// The second one's first attempt is in flight when Ben leaves.
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Write", "due_at": ts(app.Clock.Now().Add(48 * time.Hour))})
		second := rc.wait(t, 2)[1].id()
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil)
		close(release)

		d := waitDelivery(t, app, ben.AccessToken, hook, second, "failed", 2)
		if e, _ := d["error"].(string); !strings.Contains(e, "no longer a member") || d["next_attempt_at"] != nil {
			t.Fatalf("the retry after leaving: %v", d)
		}
		var done map[string]any
		for _, d := range deliveries(t, app, ben.AccessToken, hook) {
			if d["event_type"] == "promise.created" && d["status"] == "succeeded" {
				done = d
			}
		}
		if done == nil {
			t.Fatalf("no delivery of %v in %v", first["id"], deliveries(t, app, ben.AccessToken, hook))
		}

		// Neither delivery of the relationship's events can be sent again.
		for _, id := range []string{done["id"].(string), d["id"].(string)} {
			res := app.Do(servertest.Request{Method: "POST", Path: "/v1/webhooks/" + hook + "/deliveries/" + id + "/redeliver", Token: ben.AccessToken})
			if p := decodeProblem(t, res); res.Status != 404 || p.Code != "not_found" {
				t.Errorf("redeliver %s after leaving: %d %+v, want 404 not_found", id, res.Status, p)
			}
		}
		// Even after the endpoint is pointed elsewhere.
		other := newReceiver(t, nil)
		do(t, app, 200, "PATCH", "/v1/webhooks/"+hook, ben.AccessToken, map[string]any{"url": other.url()})
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/webhooks/" + hook + "/deliveries/" + done["id"].(string) + "/redeliver", Token: ben.AccessToken})
		if res.Status != 404 {
			t.Errorf("redeliver after changing the URL: %d", res.Status)
		}

		// Ben's own events still go out, and can be sent again.
		ping := do(t, app, 202, "POST", "/v1/webhooks/"+hook+"/ping", ben.AccessToken, nil)
		pd := waitDelivery(t, app, ben.AccessToken, hook, ping["event_id"].(string), "succeeded", 1)
		do(t, app, 202, "POST", "/v1/webhooks/"+hook+"/deliveries/"+pd["id"].(string)+"/redeliver", ben.AccessToken, nil)
		got := other.wait(t, 2)
		time.Sleep(300 * time.Millisecond) // anything else would arrive by now
		for _, r := range other.all() {
			if r.id() != ping["event_id"] {
				t.Errorf("after leaving, Ben's new URL received %s", r.Body)
			}
		}
		if len(got) != 2 {
			t.Errorf("Ben's new URL received %d requests, want the ping twice", len(got))
		}
		if n := len(rc.all()); n != 2 {
			t.Errorf("Ben's first URL received %d requests, want 2 (none after he left)", n)
		}
	})
}
