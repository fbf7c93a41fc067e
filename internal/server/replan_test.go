package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// occState is what a re-plan could change of an occurrence.
type occState struct {
	DueAt, Status, UpdatedAt string
	Outcome                  any
}

// occStates lists every occurrence of a promise by id.
func occStates(t *testing.T, app *servertest.App, token, pid string) map[string]occState {
	t.Helper()
	all := allPages(t, app, token, "/v1/promises/"+pid+"/occurrences")
	out := make(map[string]occState, len(all))
	for _, o := range all {
		out[o["id"].(string)] = occState{DueAt: o["due_at"].(string), Status: o["status"].(string), UpdatedAt: o["updated_at"].(string), Outcome: o["outcome"]}
	}
	return out
}

// A cancelled occurrence stays cancelled. An edit of the recurrence
// cancels the open occurrences its rule no longer has; a later edit back
// to a rule that falls due at their times gets new occurrences there, and
// the cancelled ones are not opened again. A late renegotiation onto the
// time of a cancelled occurrence creates its own.
func TestRecurrenceEditKeepsCancelledOccurrencesCancelled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		berlin := mustZone(t, "Europe/Berlin")
		start := app.Clock.Now().AddDate(0, 0, -14).In(berlin).Format(time.DateOnly)
		rule := func(at string) map[string]any {
			return map[string]any{"recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": at, "starts_on": start}}
		}
		body := rule("20:00")
		body["title"] = "Call on Sundays"
		pid := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, body)["id"].(string)
		later(t, app, time.Minute, &ana, &ben)
		tick(t, app) // the Sundays already past are missed
		now := ts(app.Clock.Now())
		missed := occurrencesOf(t, app, ana.AccessToken, pid, "&status=resolved")
		first := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open&due_after="+now)
		if len(missed) == 0 || len(first) < 8 {
			t.Fatalf("%d missed and %d open Sundays before the edits", len(missed), len(first))
		}

		do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, rule("21:00"))
		cancelled := occStates(t, app, ana.AccessToken, pid)
		for _, o := range first {
			if s := cancelled[o["id"].(string)]; s.Status != "cancelled" {
				t.Fatalf("%s at %s after the first edit: %s, want cancelled", o["id"], o["due_at"], s.Status)
			}
		}
		at21 := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open&due_after="+now)

		later(t, app, time.Minute, &ana, &ben)
		do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, rule("20:00"))
		after := occStates(t, app, ana.AccessToken, pid)
		for id, s := range cancelled {
			if s.Status == "cancelled" && after[id] != s {
				t.Errorf("%s, cancelled by the first edit, changed by the second: %+v, was %+v", id, after[id], s)
			}
		}
		again := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open&due_after="+ts(app.Clock.Now()))
		var gotDue, wantDue []string
		for _, o := range again {
			gotDue = append(gotDue, o["due_at"].(string))
			if _, old := cancelled[o["id"].(string)]; old {
				t.Errorf("open occurrence %s at %s existed before the second edit", o["id"], o["due_at"])
			}
		}
		for _, o := range first {
			wantDue = append(wantDue, o["due_at"].(string))
		}
		if diff := cmp.Diff(wantDue, gotDue); diff != "" {
			t.Errorf("open due times after editing back (-want +got):\n%s", diff)
		}
		held := map[string]string{}
		for id, s := range after {
			if s.Status == "cancelled" {
				continue
			}
			if other, ok := held[s.DueAt]; ok {
				t.Errorf("%s and %s both hold %s", id, other, s.DueAt)
			}
			held[s.DueAt] = id
		}

		// A missed Sunday moved, too late, to a Sunday 21:00 that only a
		// cancelled occurrence held: the successor is an occurrence of its
		// own, and the cancelled one stays cancelled.
		onto := at21[1]
		rn := do(t, app, 201, "POST", "/v1/occurrences/"+missed[len(missed)-1]["id"].(string)+"/renegotiations", ana.AccessToken,
			map[string]any{"proposed_due_at": onto["due_at"]})
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/renegotiations/" + rn["id"].(string) + "/accept", Token: ben.AccessToken})
		if res.Status != http.StatusOK {
			t.Fatalf("accept a late move onto a cancelled occurrence's time: %d %s", res.Status, res.Body)
		}
		next := res.Map(t)["new_occurrence_id"].(string)
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+next, ana.AccessToken, nil); next == onto["id"] || o["status"] != "open" || o["due_at"] != onto["due_at"] {
			t.Errorf("successor %v, want a new open occurrence at %s", o, onto["due_at"])
		}
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+onto["id"].(string), ana.AccessToken, nil); o["status"] != "cancelled" {
			t.Errorf("cancelled occurrence at the successor's time is %s", o["status"])
		}
	})
}

// Re-planning concerns only planned occurrences not yet due, open or
// skipped: resolved ones, and ones already due, stay exactly as they were,
// even where the new rule falls due at their time; planned ones the new
// rule also has stay the same occurrences; the others are cancelled.
func TestRecurrenceEditReplansOnlyOpenOccurrencesNotYetDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		berlin := mustZone(t, "Europe/Berlin")
		// Due ten minutes ago today, so that today's occurrence is due
		// and still open in its grace.
		at := app.Clock.Now().Add(-10 * time.Minute).In(berlin)
		startDay := time.Date(at.Year(), at.Month(), at.Day()-3, 0, 0, 0, 0, time.UTC)
		recurrence := func(rrule string) map[string]any {
			return map[string]any{"rrule": rrule, "local_time": at.Format("15:04"), "starts_on": startDay.Format(time.DateOnly)}
		}
		pid := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Walk the dog", "recurrence": recurrence("FREQ=DAILY")})["id"].(string)
		tick(t, app) // the days before today are missed
		now := app.Clock.Now()
		future := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open&due_after="+ts(now))
		// Kept ahead of time: tomorrow and the day after.
		for _, o := range future[:2] {
			do(t, app, 201, "POST", "/v1/occurrences/"+o["id"].(string)+"/follow-throughs", ben.AccessToken, map[string]any{"outcome": "kept"})
		}
		// Paused: the two days after those.
		day := func(o map[string]any) string {
			due, _ := time.Parse(time.RFC3339, o["due_at"].(string))
			return due.In(berlin).Format(time.DateOnly)
		}
		do(t, app, 201, "POST", "/v1/promises/"+pid+"/pauses", ana.AccessToken, map[string]any{"starts_on": day(future[2]), "ends_on": day(future[3])})
		later(t, app, time.Minute, &ana, &ben)
		now = app.Clock.Now()
		before := occStates(t, app, ana.AccessToken, pid)
		counts := map[string]int{}
		for _, s := range before {
			due, _ := time.Parse(time.RFC3339, s.DueAt)
			if s.Status == "open" && due.Before(now) {
				counts["due"]++
			}
			counts[s.Status]++
		}
		if counts["due"] != 1 || counts["resolved"] < 5 || counts["skipped"] != 2 {
			t.Fatalf("before the edit: %v", counts)
		}

		// Every other day from the same start: the new rule falls due at
		// half of the old times, among them resolved and skipped ones.
		do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, map[string]any{"recurrence": recurrence("FREQ=DAILY;INTERVAL=2")})
		after := occStates(t, app, ana.AccessToken, pid)
		for id, s := range before {
			due, _ := time.Parse(time.RFC3339, s.DueAt)
			inRule := int(time.Date(due.In(berlin).Year(), due.In(berlin).Month(), due.In(berlin).Day(), 0, 0, 0, 0, time.UTC).Sub(startDay).Hours()/24)%2 == 0
			want := s
			if (s.Status == "open" || s.Status == "skipped") && !due.Before(now) && !inRule {
				want.Status, want.UpdatedAt = "cancelled", after[id].UpdatedAt
			}
			if after[id] != want {
				t.Errorf("%s (%s, in the new rule: %t): %+v after the edit, want %+v", id, s.DueAt, inRule, after[id], want)
			}
		}
		for id, s := range after {
			if _, ok := before[id]; !ok {
				// The new rule's times all lie within the old one's horizon
				// and are held already.
				t.Errorf("new occurrence %s at %s", id, s.DueAt)
			}
		}
	})
}

// A pause skips the occurrences of its dates ahead of time; an edit of
// the rule cancels the skipped ones it no longer has, as it does open
// ones, so that a paused day counts one skipped occurrence however often
// the rule was edited meanwhile, and a day the rule leaves counts none.
func TestRecurrenceEditsLeaveOneSkippedOccurrenceAPausedDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		berlin := mustZone(t, "Europe/Berlin")
		rule := func(at string) map[string]any {
			return map[string]any{"recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": at}}
		}
		body := rule("20:00")
		body["title"] = "Call on Sundays"
		pid := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, body)["id"].(string)
		open := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open")
		first, _ := time.Parse(time.RFC3339, open[0]["due_at"].(string))
		second, _ := time.Parse(time.RFC3339, open[1]["due_at"].(string))
		do(t, app, 201, "POST", "/v1/promises/"+pid+"/pauses", ana.AccessToken, map[string]any{
			"starts_on": first.In(berlin).Format(time.DateOnly), "ends_on": second.In(berlin).Format(time.DateOnly)})
		for _, at := range []string{"21:00", "22:00", "20:00"} {
			later(t, app, time.Minute, &ana, &ben)
			do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, rule(at))
		}
		skipped := occurrencesOf(t, app, ana.AccessToken, pid, "&status=skipped")
		if len(skipped) != 2 {
			t.Fatalf("%d skipped occurrences after three edits, want 2 (one a paused Sunday): %v", len(skipped), skipped)
		}
		for _, o := range skipped {
			if due, _ := time.Parse(time.RFC3339, o["due_at"].(string)); due.In(berlin).Format("15:04") != "20:00" {
				t.Errorf("skipped occurrence at %s, not under the rule in force (20:00)", due.In(berlin))
			}
		}
		// On Mondays: the pause, Sunday to Sunday, holds one of them, and
		// the Sundays' skipped occurrences leave the tallies.
		later(t, app, time.Minute, &ana, &ben)
		monday := rule("20:00")
		monday["recurrence"].(map[string]any)["rrule"] = "FREQ=WEEKLY;BYDAY=MO"
		do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, monday)
		if skipped := occurrencesOf(t, app, ana.AccessToken, pid, "&status=skipped"); len(skipped) != 1 {
			t.Fatalf("%d skipped occurrences on Mondays, want 1: %v", len(skipped), skipped)
		}
		later(t, app, time.Duration(second.Sub(app.Clock.Now()))+time.Hour, &ana, &ben)
		for _, path := range []string{"/v1/relationships/" + rel + "/members/" + ana.ID + "/score", "/v1/promises/" + pid + "/score"} {
			s := do(t, app, 200, "GET", path, ana.AccessToken, nil)
			if got := s["counts"].(map[string]any)["skipped"]; got != 1.0 {
				t.Errorf("%s: skipped %v, want 1", path, got)
			}
		}
	})
}

// A proposal cannot move an occurrence onto the time of another
// occurrence of its promise: one occurrence an instant, not two (409
// occurrence_exists, as for a late proposal).
func TestProposalOntoAnotherOccurrenceIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, _, rel := pair(t, app)
		pid := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Call on Sundays", "recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": "20:00"}})["id"].(string)
		open := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open")
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + open[0]["id"].(string) + "/renegotiations",
			Token: ana.AccessToken, Body: map[string]any{"proposed_due_at": open[1]["due_at"]}})
		if p := decodeProblem(t, res); res.Status != http.StatusConflict || p.Code != "occurrence_exists" {
			t.Fatalf("a proposal onto the next Sunday's time: %d %s, want 409 occurrence_exists", res.Status, res.Body)
		}
		do(t, app, 201, "POST", "/v1/occurrences/"+open[0]["id"].(string)+"/renegotiations", ana.AccessToken,
			map[string]any{"proposed_due_at": ts(mustTime(t, open[1]["due_at"].(string)).Add(time.Hour))})
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// An edit of the rule asks nothing more of a day that the old rule's
// occurrence already answers for: one already due (open in its grace,
// or skipped by a pause), or one kept ahead of time. The new rule's
// instance that day is not created; the days after get it.
func TestRecurrenceEditLeavesADayTheOldRuleKeeps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		berlin := mustZone(t, "Europe/Berlin")
		at := func(d time.Duration) string { return app.Clock.Now().Add(d).In(berlin).Format("15:04") }
		daily := func(local string) map[string]any {
			return map[string]any{"recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": local, "time_zone": "Europe/Berlin"}}
		}
		today := app.Clock.Now().In(berlin).Format(time.DateOnly)
		if at(40 * time.Minute)[:2] < at(0)[:2] {
			later(t, app, time.Hour, &ana, &ben) // keep the test's times on one date
			today = app.Clock.Now().In(berlin).Format(time.DateOnly)
		}
		onDate := func(pid, status, date string) int {
			n := 0
			for _, o := range occurrencesOf(t, app, ana.AccessToken, pid, "&status="+status) {
				if mustTime(t, o["due_at"].(string)).In(berlin).Format(time.DateOnly) == date {
					n++
				}
			}
			return n
		}

		// Due ten minutes from now, then edited once it is due.
		body := daily(at(10 * time.Minute))
		body["title"] = "Walk the dog"
		walk := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, body)["id"].(string)
		// The same, paused today.
		body["title"] = "Water the plants"
		water := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, body)["id"].(string)
		do(t, app, 201, "POST", "/v1/promises/"+water+"/pauses", ana.AccessToken, map[string]any{"starts_on": today, "ends_on": today})
		// Kept ahead of time, then edited before it is due.
		body["title"] = "Call mum"
		body["recurrence"].(map[string]any)["local_time"] = at(30 * time.Minute)
		call := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, body)["id"].(string)
		first := occurrencesOf(t, app, ana.AccessToken, call, "&status=open")[0]["id"].(string)
		do(t, app, 201, "POST", "/v1/occurrences/"+first+"/follow-throughs", ben.AccessToken, map[string]any{"outcome": "kept"})

		later(t, app, 12*time.Minute, &ana, &ben)
		for _, pid := range []string{walk, water, call} {
			do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, daily(at(15*time.Minute)))
		}
		for _, c := range []struct {
			name, pid, status string
		}{{"walk", walk, "open"}, {"water", water, "skipped"}, {"call", call, "resolved"}} {
			if n := onDate(c.pid, c.status, today); n != 1 {
				t.Errorf("%s: %d %s occurrences today, want the old rule's one", c.name, n, c.status)
			}
			all := 0
			for _, s := range []string{"open", "skipped", "resolved"} {
				all += onDate(c.pid, s, today)
			}
			if all != 1 {
				t.Errorf("%s: %d occurrences today after the edit, want 1", c.name, all)
			}
			tomorrow := app.Clock.Now().In(berlin).AddDate(0, 0, 1).Format(time.DateOnly)
			if n := onDate(c.pid, "open", tomorrow); n != 1 {
				t.Errorf("%s: %d open occurrences tomorrow, want the new rule's one", c.name, n)
			}
		}
		later(t, app, 3*time.Hour, &ana, &ben)
		tick(t, app)
		if s := do(t, app, 200, "GET", "/v1/promises/"+water+"/score", ana.AccessToken, nil); s["counts"].(map[string]any)["skipped"] != 1.0 {
			t.Errorf("the paused day counts %v skipped, want 1", s["counts"].(map[string]any)["skipped"])
		}
	})
}

// A rule's first date and a pause lie at most ten years ahead, as a due
// time does (422 too_far_in_future).
func TestDatesAtMostTenYearsAhead(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	far := app.Clock.Now().AddDate(10, 1, 0).Format(time.DateOnly)
	near := app.Clock.Now().AddDate(9, 11, 0).Format(time.DateOnly)
	rule := func(starts string) map[string]any {
		return map[string]any{"title": "Call", "recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": "20:00", "starts_on": starts}}
	}
	for _, c := range []struct {
		name, path  string
		body        map[string]any
		field, code string
	}{
		{"a rule's first date", "/v1/relationships/" + rel + "/promises", rule(far), "recurrence.starts_on", "too_far_in_future"},
		{"a rule's first date in year 9999", "/v1/relationships/" + rel + "/promises", rule("9999-12-31"), "recurrence.starts_on", "too_far_in_future"},
	} {
		res := app.Do(servertest.Request{Method: "POST", Path: c.path, Token: ana.AccessToken, Body: c.body})
		if p := decodeProblem(t, res); res.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Errors[0].Code != c.code {
			t.Errorf("%s: %d %s, want 422 %s on %s", c.name, res.Status, res.Body, c.code, c.field)
		}
	}
	pid := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, rule(near))["id"].(string)
	res := app.Do(servertest.Request{Method: "POST", Path: "/v1/promises/" + pid + "/pauses", Token: ana.AccessToken,
		Body: map[string]any{"starts_on": far, "ends_on": far}})
	if p := decodeProblem(t, res); res.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "starts_on" || p.Errors[0].Code != "too_far_in_future" {
		t.Errorf("a pause ten years and a month ahead: %d %s, want 422 too_far_in_future", res.Status, res.Body)
	}
	do(t, app, 201, "POST", "/v1/promises/"+pid+"/pauses", ana.AccessToken, map[string]any{"starts_on": near, "ends_on": near})
}

// The renegotiation lists take a status: a promisee finds the proposals
// waiting for them without paging through every answered one.
func TestRenegotiationListsByStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		pid := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Call on Sundays", "recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": "20:00"}})["id"].(string)
		open := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open")
		ids := make([]string, 3)
		for i := range ids {
			due := mustTime(t, open[i]["due_at"].(string)).Add(time.Hour)
			ids[i] = do(t, app, 201, "POST", "/v1/occurrences/"+open[i]["id"].(string)+"/renegotiations", ana.AccessToken,
				map[string]any{"proposed_due_at": ts(due)})["id"].(string)
		}
		do(t, app, 200, "POST", "/v1/renegotiations/"+ids[0]+"/accept", ben.AccessToken, nil)
		do(t, app, 200, "POST", "/v1/renegotiations/"+ids[1]+"/decline", ben.AccessToken, nil)
		list := func(path string) []string {
			var out []string
			for _, r := range do(t, app, 200, "GET", path, ben.AccessToken, nil)["data"].([]any) {
				out = append(out, r.(map[string]any)["id"].(string))
			}
			return out
		}
		for status, want := range map[string][]string{"pending": {ids[2]}, "accepted": {ids[0]}, "declined": {ids[1]}, "": ids} {
			if got := list("/v1/relationships/" + rel + "/renegotiations?status=" + status); !cmp.Equal(got, want) {
				t.Errorf("relationship, status %q: %v, want %v", status, got, want)
			}
		}
		if got := list("/v1/occurrences/" + open[2]["id"].(string) + "/renegotiations?status=pending"); !cmp.Equal(got, []string{ids[2]}) {
			t.Errorf("occurrence, pending: %v", got)
		}
		if got := list("/v1/occurrences/" + open[2]["id"].(string) + "/renegotiations?status=accepted"); len(got) != 0 {
			t.Errorf("occurrence, accepted: %v, want none", got)
		}
		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/renegotiations?status=waiting", Token: ben.AccessToken})
		if p := decodeProblem(t, res); res.Status != http.StatusBadRequest || p.Code != "invalid_value" {
			t.Errorf("status=waiting: %d %s, want 400 invalid_value", res.Status, res.Body)
		}
	})
}
