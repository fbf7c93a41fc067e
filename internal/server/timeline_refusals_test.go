package server_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
)

// A timeline's range is refused, with the field and the reason, where it
// cannot be drawn: a `to` in the future, a `from` not before `to`, an
// unknown bucket, a member who is not one, more than 1000 points. A `to`
// before anything began (before the relationship was created and any
// breach, without a `from`) is a timeline of one point: history may be
// recorded from before the relationship was, so such a `to` is no error.
func TestTimelineRefusals(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	created, err := time.Parse(time.RFC3339Nano, do(t, app, 200, "GET", "/v1/relationships/"+rel, ana.AccessToken, nil)["created_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	later(t, app, 48*time.Hour, &ana)
	now := app.Clock.Now()
	q := func(s string) string { return url.QueryEscape(s) }
	for _, c := range []struct {
		query             string
		status            int
		code, field, want string
	}{
		{"to=" + q(ts(now.Add(time.Hour))), 422, "validation_failed", "to", "in_future"},
		{"from=" + q(ts(now.Add(-time.Hour))) + "&to=" + q(ts(now.Add(-2*time.Hour))), 422, "validation_failed", "from", "after_to"},
		{"bucket=month", 422, "validation_failed", "bucket", "invalid_bucket"},
		{"member=usr_01m8hc8gmr8k8gncbsthf7bgss", 422, "validation_failed", "member", "not_a_member"},
		{"from=2020-01-01T00:00:00Z", 400, "too_many_points", "from", "too_many_points"},
	} {
		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/timeline?" + c.query, Token: ana.AccessToken})
		if res.Status != c.status {
			t.Errorf("%s: %d %s, want %d", c.query, res.Status, res.Body, c.status)
			continue
		}
		p := decodeProblem(t, res)
		if p.Code != c.code || len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Errors[0].Code != c.want {
			t.Errorf("%s: %+v, want %s with %s %s", c.query, p, c.code, c.field, c.want)
		}
	}
	for _, to := range []string{created.Add(-time.Hour).Format(time.RFC3339Nano), "2020-01-01T00:00:00Z"} {
		tl := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?to="+q(to), ana.AccessToken, nil)
		if n := len(tl["points"].([]any)); n != 1 || tl["from"] != tl["to"] {
			t.Errorf("a timeline to %s, before anything began: %d points from %v to %v, want one", to, n, tl["from"], tl["to"])
		}
	}
}
