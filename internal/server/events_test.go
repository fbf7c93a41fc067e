package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// feed pages through the caller's events from cursor and returns their
// types and the last cursor.
func feed(t *testing.T, app *servertest.App, token, cursor, query string) ([]map[string]any, string) {
	t.Helper()
	var out []map[string]any
	for pages := 0; pages < 1000; pages++ {
		path := "/v1/events?limit=7" + query
		if cursor != "" {
			path += "&after=" + cursor
		}
		page := do(t, app, 200, "GET", path, token, nil)
		for _, e := range page["data"].([]any) {
			out = append(out, e.(map[string]any))
		}
		next := page["next_cursor"].(string)
		if !page["has_more"].(bool) {
			return out, next
		}
		cursor = next
	}
	t.Fatal("the feed does not end")
	return nil, ""
}

func types(es []map[string]any) string {
	var s []string
	for _, e := range es {
		s = append(s, e["type"].(string))
	}
	return strings.Join(s, " ")
}

func TestEventFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		es, cursor := feed(t, app, ben.AccessToken, "", "")
		if got := types(es); got != "relationship.created member.joined" {
			t.Fatalf("events after pairing: %s", got)
		}
		if es[0]["data"].(map[string]any)["id"] != rel || es[0]["actor_id"] != ana.ID || es[0]["relationship_id"] != rel {
			t.Fatalf("relationship.created %v", es[0])
		}
		now := app.Clock.Now()
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "due_at": ts(now.Add(30 * time.Minute))})
		// Reminders: due within the hour, then overdue, then missed.
		tick(t, app)
		later(t, app, 31*time.Minute, &ana, &ben)
		tick(t, app)
		later(t, app, 61*time.Minute, &ana, &ben)
		tick(t, app)
		tick(t, app)
		es, cursor = feed(t, app, ben.AccessToken, cursor, "")
		// The miss completes the one-off promise: promise.updated tells of it.
		want := "promise.created occurrence.due_soon occurrence.overdue score.level_changed promise.updated occurrence.missed"
		if got := types(es); got != want {
			t.Fatalf("events: %s\nwant %s", got, want)
		}
		if es[0]["data"].(map[string]any)["id"] != p["id"] || es[5]["actor_id"] != "system" {
			t.Fatalf("snapshots %v / %v", es[0], es[5])
		}
		if up := es[4]; up["actor_id"] != "system" || up["data"].(map[string]any)["status"] != "completed" {
			t.Fatalf("promise.updated %v", up)
		}
		lc := es[3]["data"].(map[string]any)
		if lc["previous_level"] != "fragile" || lc["level"] != "broken" || lc["member_id"] != ana.ID {
			t.Fatalf("level change %v", lc)
		}
		// Nothing new: the cursor comes back unchanged.
		if more, again := feed(t, app, ben.AccessToken, cursor, ""); len(more) != 0 || again != cursor {
			t.Fatalf("idle feed returned %d events, cursor %s → %s", len(more), cursor, again)
		}
		// Type filter; outsiders see nothing of it.
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ben.AccessToken, map[string]any{"subject_id": ana.ID, "felt_trust": 5})
		if es, _ := feed(t, app, ana.AccessToken, "", "&types=check_in.recorded,breach.recorded"); types(es) != "check_in.recorded" {
			t.Fatalf("filtered: %s", types(es))
		}
		cleo := app.Register("Cleo")
		if es, _ := feed(t, app, cleo.AccessToken, "", ""); len(es) != 0 {
			t.Fatalf("an outsider sees %d events", len(es))
		}
		for _, q := range []string{"types=promise.exploded", "after=garbage", "limit=0"} {
			res := app.Do(servertest.Request{Method: "GET", Path: "/v1/events?" + q, Token: ana.AccessToken})
			if res.Status != http.StatusBadRequest && res.Status != http.StatusUnprocessableEntity {
				t.Errorf("?%s: %d", q, res.Status)
			}
		}
		// A cursor the feed did not return names the parameter it came in.
		for _, c := range []string{"garbage", page.Cursor("-1"), page.Cursor("abc")} {
			pr := decodeProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/v1/events?after=" + c, Token: ana.AccessToken}))
			if pr.Code != "invalid_cursor" || len(pr.Errors) != 1 || pr.Errors[0].Field != "after" {
				t.Errorf("?after=%s: %+v", c, pr)
			}
		}
		// Past retention, an old cursor is refused.
		later(t, app, 91*24*time.Hour, &ana, &ben, &cleo)
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ben.AccessToken, map[string]any{"subject_id": ana.ID, "felt_trust": 6})
		tick(t, app)
		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/events?after=" + cursor, Token: ana.AccessToken})
		if p := decodeProblem(t, res); res.Status != http.StatusGone || p.Code != "cursor_expired" {
			t.Fatalf("expired cursor: %d %+v", res.Status, p)
		}
		if es, _ := feed(t, app, ana.AccessToken, "", ""); types(es) != "check_in.recorded" {
			t.Fatalf("after retention: %s", types(es))
		}
		// Someone with no event left holds a cursor that has not expired
		// already; one filtering out every retained event too.
		for _, filter := range []string{"", "&types=breach.recorded"} {
			for _, who := range []servertest.User{cleo, ana} {
				_, fresh := feed(t, app, who.AccessToken, "", filter)
				if es, again := feed(t, app, who.AccessToken, fresh, filter); len(es) != 0 || again != fresh {
					t.Fatalf("a fresh cursor (%s) gave %d events and cursor %s", filter, len(es), again)
				}
			}
		}
		// A position the log never reached: sync from scratch.
		res = app.Do(servertest.Request{Method: "GET", Path: "/v1/events?after=" + page.Cursor("99999999"), Token: ana.AccessToken})
		if p := decodeProblem(t, res); res.Status != http.StatusGone || p.Code != "cursor_expired" {
			t.Fatalf("a cursor past the end: %d %+v", res.Status, p)
		}
	})
}

// Many writers at once while a reader pages all the while: the reader sees
// every event exactly once, in order.
func TestFeedNeverSkipsUnderConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		_, cursor := feed(t, app, ana.AccessToken, "", "")
		const writers, each = 8, 15
		var wg sync.WaitGroup
		done := make(chan struct{})
		seen := map[string]int{}
		var order []int
		wg.Go(func() {
			last := cursor
			read := func() {
				es, next := feed(t, app, ana.AccessToken, last, "&types=check_in.recorded")
				for _, e := range es {
					seen[e["id"].(string)]++
					var n int
					fmt.Sscanf(e["data"].(map[string]any)["note"].(string), "%d", &n)
					order = append(order, n)
				}
				last = next
			}
			for {
				select {
				case <-done:
					read()
					return
				default:
					read()
				}
			}
		})
		var ww sync.WaitGroup
		for w := range writers {
			ww.Go(func() {
				for i := range each {
					author, subject := ana, ben
					if (w+i)%2 == 0 {
						author, subject = ben, ana
					}
					do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", author.AccessToken,
						map[string]any{"subject_id": subject.ID, "felt_trust": 5, "note": fmt.Sprint(w*1000 + i)})
				}
			})
		}
		ww.Wait()
		close(done)
		wg.Wait()
		if len(seen) != writers*each {
			t.Fatalf("reader saw %d distinct events, want %d", len(seen), writers*each)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("event %s seen %d times", id, n)
			}
		}
	})
}

// Milestones are announced once per rebuilding period, and again after a
// new breach starts a new period.
func TestMilestoneEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
			"member_id": ana.ID, "description": "x", "severity": "minor", "occurred_at": ts(now.AddDate(0, 0, -10))})
		for d := 9; d >= 1; d-- {
			keptOn(t, app, rel, ana, ben, now.AddDate(0, 0, -d), "kept", ben)
		}
		tick(t, app)
		tick(t, app)
		names := func() map[string]int {
			es, _ := feed(t, app, ben.AccessToken, "", "&types=milestone.reached")
			out := map[string]int{}
			for _, e := range es {
				d := e["data"].(map[string]any)
				if d["member_id"] != ana.ID || d["relationship_id"] != rel {
					t.Fatalf("milestone for %v in %v", d["member_id"], d["relationship_id"])
				}
				out[d["name"].(string)]++
			}
			return out
		}
		got := names()
		if got["first_kept"] != 1 || got["streak_7"] != 1 || got["streak_30"] != 0 {
			t.Fatalf("milestones %v", got)
		}
		// A new breach, a new period: first_kept can be reached again.
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
			"member_id": ana.ID, "description": "again", "severity": "minor"})
		later(t, app, time.Hour, &ana, &ben)
		keptOn(t, app, rel, ana, ben, app.Clock.Now().Add(-time.Minute), "kept", ben)
		tick(t, app)
		if got := names(); got["first_kept"] != 2 || got["streak_7"] != 1 {
			t.Fatalf("after a new breach: %v", got)
		}
	})
}
