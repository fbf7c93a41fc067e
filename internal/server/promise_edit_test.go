package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// Editing a recurrence replaces open occurrences from now on; resolved and
// past ones stay.
func TestEditRecurrenceChangesOnlyFutureOpenOccurrences(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		start := app.Clock.Now().AddDate(0, 0, -7).In(mustZone(t, "Europe/Berlin")).Format(time.DateOnly)
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Daily check-in call", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "21:00", "starts_on": start},
		})
		pid := p["id"].(string)
		past := occurrencesOf(t, app, ana.AccessToken, pid, "&due_before="+ts(app.Clock.Now()))
		if len(past) < 6 {
			t.Fatalf("%d past occurrences from a start a week ago", len(past))
		}
		kept := past[len(past)-1]["id"].(string)
		do(t, app, 201, "POST", "/v1/occurrences/"+kept+"/follow-throughs", ben.AccessToken, map[string]any{"outcome": "kept"})

		get := app.Do(servertest.Request{Method: "GET", Path: "/v1/promises/" + pid, Token: ana.AccessToken})
		etag := get.Header.Get("ETag")
		if res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/promises/" + pid, Token: ben.AccessToken, Body: map[string]any{"title": "mine now"}}); res.Status != http.StatusForbidden {
			t.Fatalf("promisee editing: %d", res.Status)
		}
		res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/promises/" + pid, Token: ana.AccessToken,
			Header: map[string]string{"If-Match": etag},
			Body:   map[string]any{"recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=MO,TH", "local_time": "19:00"}}})
		if res.Status != http.StatusOK {
			t.Fatalf("edit recurrence: %d %s", res.Status, res.Body)
		}
		if r := res.Map(t)["recurrence"].(map[string]any); r["rrule"] != "FREQ=WEEKLY;BYDAY=MO,TH" || r["local_time"] != "19:00" {
			t.Fatalf("recurrence %v", r)
		}
		if res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/promises/" + pid, Token: ana.AccessToken,
			Header: map[string]string{"If-Match": etag}, Body: map[string]any{"title": "stale"}}); res.Status != http.StatusPreconditionFailed {
			t.Fatalf("stale If-Match: %d", res.Status)
		}
		berlin := mustZone(t, "Europe/Berlin")
		future := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open&due_after="+ts(app.Clock.Now()))
		if len(future) < 15 {
			t.Fatalf("only %d open occurrences after the edit", len(future))
		}
		for _, o := range future {
			due, _ := time.Parse(time.RFC3339, o["due_at"].(string))
			l := due.In(berlin)
			if (l.Weekday() != time.Monday && l.Weekday() != time.Thursday) || l.Hour() != 19 {
				t.Errorf("open occurrence at %s after the edit", l)
			}
		}
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+kept, ana.AccessToken, nil); o["status"] != "resolved" {
			t.Fatalf("resolved occurrence changed by the edit: %v", o)
		}
		if n := len(occurrencesOf(t, app, ana.AccessToken, pid, "&due_before="+ts(app.Clock.Now()))); n != len(past) {
			t.Fatalf("past occurrences went from %d to %d", len(past), n)
		}

		// Cancel: the future is cancelled, the past stays; cancelling twice is fine.
		do(t, app, 204, "DELETE", "/v1/promises/"+pid, ana.AccessToken, nil)
		do(t, app, 204, "DELETE", "/v1/promises/"+pid, ana.AccessToken, nil)
		// Overdue ones are still scored (by the scheduler); upcoming ones never are.
		if open := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open&due_after="+ts(app.Clock.Now())); len(open) != 0 {
			t.Fatalf("%d upcoming open occurrences after cancel", len(open))
		}
		if p := do(t, app, 200, "GET", "/v1/promises/"+pid, ben.AccessToken, nil); p["status"] != "cancelled" {
			t.Fatalf("status %v", p["status"])
		}
		if res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/promises/" + pid, Token: ana.AccessToken, Body: map[string]any{"title": "revive"}}); res.Status != http.StatusConflict {
			t.Fatalf("editing a cancelled promise: %d", res.Status)
		}
		if p := do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, map[string]any{"status": "archived"}); p["status"] != "archived" {
			t.Fatalf("archive: %v", p["status"])
		}
	})
}

func TestPromiseListFilters(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	now := app.Clock.Now()
	mk := func(token, title string) string {
		return do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", token, map[string]any{"title": title, "due_at": ts(now.Add(time.Hour))})["id"].(string)
	}
	a1, _ := mk(ana.AccessToken, "a1"), mk(ana.AccessToken, "a2")
	b1 := mk(ben.AccessToken, "b1")
	do(t, app, 204, "DELETE", "/v1/promises/"+a1, ana.AccessToken, nil)
	later(t, app, time.Minute, &ana, &ben)
	mark := app.Clock.Now()
	later(t, app, time.Minute, &ana, &ben)
	do(t, app, 200, "PATCH", "/v1/promises/"+b1, ben.AccessToken, map[string]any{"details": "with flowers"})

	titles := func(query string) []string {
		page := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/promises?"+query, ana.AccessToken, nil)
		var out []string
		for _, p := range page["data"].([]any) {
			out = append(out, p.(map[string]any)["title"].(string))
		}
		return out
	}
	for q, want := range map[string]string{
		"":                                 "a1,a2,b1",
		"status=cancelled":                 "a1",
		"status=active":                    "a2,b1",
		"promisor=" + ben.ID:               "b1",
		"promisee=" + ben.ID:               "a1,a2",
		"updated_since=" + ts(mark):        "b1",
		"limit=2":                          "a1,a2",
		"status=active&promisor=" + ana.ID: "a2",
	} {
		if got := joinStrings(titles(q)); got != want {
			t.Errorf("?%s: %s, want %s", q, got, want)
		}
	}
	for _, q := range []string{"status=bogus", "updated_since=yesterday", "limit=1000"} {
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/promises?" + q, Token: ana.AccessToken}); res.Status != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", q, res.Status)
		}
	}
	for _, q := range []string{"due_after=soon", "status=nope", "due_after=" + ts(now) + "&due_before=" + ts(now.Add(-time.Hour))} {
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/occurrences?" + q, Token: ana.AccessToken}); res.Status != http.StatusBadRequest {
			t.Errorf("occurrences ?%s: %d, want 400", q, res.Status)
		}
	}
}

func joinStrings(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Occurrence pages follow due time and never repeat or skip.
func TestOccurrencePaging(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
		"title": "Daily", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "08:00"}})
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
		"title": "Also daily", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "08:00"}})
	seen := map[string]bool{}
	last := ""
	cursor := ""
	for pages := 0; pages < 100; pages++ {
		path := "/v1/relationships/" + rel + "/occurrences?limit=7"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := do(t, app, 200, "GET", path, ana.AccessToken, nil)
		for _, o := range page["data"].([]any) {
			m := o.(map[string]any)
			key := m["due_at"].(string) + m["id"].(string)
			if seen[m["id"].(string)] || key < last {
				t.Fatalf("occurrence %s repeated or out of order", m["id"])
			}
			seen[m["id"].(string)], last = true, key
		}
		if page["next_cursor"] == nil {
			break
		}
		cursor = page["next_cursor"].(string)
	}
	if len(seen) < 118 || len(seen) > 122 {
		t.Fatalf("paged through %d occurrences, want about 120 (2 promises × 60 days)", len(seen))
	}
}

// Widening a recurrence keeps the instances it shares with the old one
// (they were cancelled by the edit and open again).
func TestWideningRecurrenceKeepsSharedInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, _, rel := pair(t, app)
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Call", "recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": "20:00"}})
		pid := p["id"].(string)
		sundays := len(occurrencesOf(t, app, ana.AccessToken, pid, "&status=open"))
		do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, map[string]any{
			"recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU,WE", "local_time": "20:00"}})
		open := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open")
		berlin := mustZone(t, "Europe/Berlin")
		sun := 0
		for _, o := range open {
			due, _ := time.Parse(time.RFC3339, o["due_at"].(string))
			if due.In(berlin).Weekday() == time.Sunday {
				sun++
			}
		}
		if sun != sundays || len(open) < 2*sundays-1 {
			t.Fatalf("after widening: %d open, %d on Sundays (was %d Sundays)", len(open), sun, sundays)
		}
	})
}
