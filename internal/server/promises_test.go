package server_test

import (
	"context"
	"github.com/google/go-cmp/cmp"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// do is a JSON call that must answer want; it returns the decoded body.
func do(t *testing.T, app *servertest.App, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	res := app.Do(servertest.Request{Method: method, Path: path, Token: token, Body: body})
	if res.Status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, want)
	}
	if len(res.Body) == 0 {
		return nil
	}
	return res.Map(t)
}

func tick(t *testing.T, app *servertest.App) {
	t.Helper()
	if _, err := app.Server.Scheduler.RunOnce(context.Background()); err != nil {
		t.Fatalf("scheduler: %v", err)
	}
}

func occurrencesOf(t *testing.T, app *servertest.App, token, promiseID, query string) []map[string]any {
	t.Helper()
	page := do(t, app, 200, "GET", "/v1/promises/"+promiseID+"/occurrences?limit=100"+query, token, nil)
	var out []map[string]any
	for _, o := range page["data"].([]any) {
		out = append(out, o.(map[string]any))
	}
	return out
}

// later moves the clock on and logs the users in again (their access
// tokens live 15 minutes).
func later(t *testing.T, app *servertest.App, d time.Duration, users ...*servertest.User) {
	t.Helper()
	app.Clock.Advance(d)
	for _, u := range users {
		app.Login(u)
	}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func TestOneOffPromiseWithConfirmAndDispute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()

		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Home by 19:00 on Friday", "due_at": ts(now.Add(48 * time.Hour)),
		})
		if p["promisee_id"] != ben.ID || p["kind"] != "one_off" || p["status"] != "active" || p["recurrence"] != nil {
			t.Fatalf("promise %v", p)
		}
		occ := occurrencesOf(t, app, ben.AccessToken, p["id"].(string), "")
		if len(occ) != 1 || occ[0]["status"] != "open" {
			t.Fatalf("occurrences %v", occ)
		}
		occID := occ[0]["id"].(string)

		// The promisor's account is unverified; the promisor cannot confirm it.
		ft := do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/follow-throughs", ana.AccessToken, map[string]any{"outcome": "kept", "note": "made it"})
		if ft["verification"] != "unverified" || ft["accept_after"] == nil || ft["recorded_by"] != ana.ID {
			t.Fatalf("follow-through %v", ft)
		}
		ftID := ft["id"].(string)
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/follow-throughs/" + ftID + "/confirm", Token: ana.AccessToken}); res.Status != http.StatusForbidden {
			t.Fatalf("promisor confirming: %d", res.Status)
		}
		// A second account of the same occurrence is a conflict.
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occID + "/follow-throughs", Token: ben.AccessToken, Body: map[string]any{"outcome": "missed"}}); res.Status != http.StatusConflict {
			t.Fatalf("second follow-through: %d", res.Status)
		}
		got := do(t, app, 200, "POST", "/v1/follow-throughs/"+ftID+"/confirm", ben.AccessToken, nil)
		if got["verification"] != "confirmed" || got["verified_at"] == nil {
			t.Fatalf("confirmed %v", got)
		}
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/follow-throughs/" + ftID + "/dispute", Token: ben.AccessToken, Body: map[string]any{"reason": "late"}}); res.Status != http.StatusConflict {
			t.Fatalf("dispute after confirm: %d", res.Status)
		}
		if p := do(t, app, 200, "GET", "/v1/promises/"+p["id"].(string), ana.AccessToken, nil); p["status"] != "completed" {
			t.Fatalf("one-off after follow-through: %v", p["status"])
		}
		// The feed tells a syncing client that the promise completed.
		updates, _ := feed(t, app, ben.AccessToken, "", "&types=promise.updated")
		if len(updates) != 1 || updates[0]["data"].(map[string]any)["status"] != "completed" || updates[0]["actor_id"] != ana.ID {
			t.Fatalf("promise.updated events after the follow-through: %v", updates)
		}
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil); o["status"] != "resolved" || o["outcome"] != "kept" || o["follow_through_id"] != ftID {
			t.Fatalf("occurrence %v", o)
		}

		// A disputed account, which needs a reason.
		p2 := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Dishes", "due_at": ts(now.Add(time.Hour))})
		occ2 := occurrencesOf(t, app, ana.AccessToken, p2["id"].(string), "")[0]["id"].(string)
		ft2 := do(t, app, 201, "POST", "/v1/occurrences/"+occ2+"/follow-throughs", ana.AccessToken, map[string]any{"outcome": "kept"})
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/follow-throughs/" + ft2["id"].(string) + "/dispute", Token: ben.AccessToken, Body: map[string]any{"reason": " "}}); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("dispute without reason: %d", res.Status)
		}
		d := do(t, app, 200, "POST", "/v1/follow-throughs/"+ft2["id"].(string)+"/dispute", ben.AccessToken, map[string]any{"reason": "they were still in the sink"})
		if d["verification"] != "disputed" || d["dispute_reason"] != "they were still in the sink" {
			t.Fatalf("disputed %v", d)
		}

		// The promisee's own account is confirmed at once.
		p3 := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call mum", "due_at": ts(now.Add(-2 * time.Hour))})
		occ3 := occurrencesOf(t, app, ana.AccessToken, p3["id"].(string), "")[0]["id"].(string)
		ft3 := do(t, app, 201, "POST", "/v1/occurrences/"+occ3+"/follow-throughs", ben.AccessToken, map[string]any{"outcome": "partial", "occurred_at": ts(now.Add(-time.Hour))})
		if ft3["verification"] != "confirmed" || ft3["accept_after"] != nil {
			t.Fatalf("promisee's account %v", ft3)
		}

		// Silence past the dispute window: accepted, once.
		p4 := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Walk the dog", "due_at": ts(now.Add(time.Hour))})
		occ4 := occurrencesOf(t, app, ana.AccessToken, p4["id"].(string), "")[0]["id"].(string)
		ft4 := do(t, app, 201, "POST", "/v1/occurrences/"+occ4+"/follow-throughs", ana.AccessToken, map[string]any{"outcome": "kept"})
		later(t, app, 71*time.Hour, &ana)
		tick(t, app)
		if f := do(t, app, 200, "GET", "/v1/follow-throughs/"+ft4["id"].(string), ana.AccessToken, nil); f["verification"] != "unverified" {
			t.Fatalf("accepted before the window ended: %v", f["verification"])
		}
		later(t, app, 2*time.Hour, &ana)
		tick(t, app)
		tick(t, app)
		if f := do(t, app, 200, "GET", "/v1/follow-throughs/"+ft4["id"].(string), ana.AccessToken, nil); f["verification"] != "accepted" {
			t.Fatalf("after the window: %v", f["verification"])
		}
		// The feed tells of it, once: a confirmation by troth.
		var told []map[string]any
		confirmed, _ := feed(t, app, ana.AccessToken, "", "&types=follow_through.confirmed")
		for _, e := range confirmed {
			if d := e["data"].(map[string]any); d["id"] == ft4["id"] {
				told = append(told, e)
			}
		}
		if len(told) != 1 || told[0]["actor_id"] != "system" || told[0]["data"].(map[string]any)["verification"] != "accepted" {
			t.Fatalf("events for the accepted follow-through: %v", told)
		}
	})
}

func TestSystemMissAndReplacement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Pick up Mia", "due_at": ts(now.Add(time.Hour))})
		occID := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)

		// Within the grace (60 min) nothing happens.
		later(t, app, time.Hour+59*time.Minute, &ana, &ben)
		tick(t, app)
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil); o["status"] != "open" {
			t.Fatalf("missed within grace: %v", o)
		}
		later(t, app, 2*time.Minute, &ana, &ben)
		tick(t, app)
		tick(t, app) // a second run changes nothing
		o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil)
		if o["status"] != "resolved" || o["outcome"] != "missed" {
			t.Fatalf("after grace: %v", o)
		}
		fts := do(t, app, 200, "GET", "/v1/occurrences/"+occID+"/follow-throughs", ben.AccessToken, nil)["data"].([]any)
		if len(fts) != 1 || fts[0].(map[string]any)["recorded_by"] != "system" {
			t.Fatalf("system follow-throughs %v", fts)
		}
		// A later account from a member replaces the system's miss.
		late := do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/follow-throughs", ana.AccessToken, map[string]any{"outcome": "kept", "occurred_at": ts(app.Clock.Now().Add(-30 * time.Minute))})
		fts = do(t, app, 200, "GET", "/v1/occurrences/"+occID+"/follow-throughs", ben.AccessToken, nil)["data"].([]any)
		if len(fts) != 2 || fts[0].(map[string]any)["superseded_at"] == nil || fts[1].(map[string]any)["id"] != late["id"] {
			t.Fatalf("after replacement %v", fts)
		}
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ben.AccessToken, nil); o["outcome"] != "kept" || o["follow_through_id"] != late["id"] {
			t.Fatalf("occurrence after replacement %v", o)
		}
	})
}

func TestRecurringPromiseKeepsLocalTimeAcrossDST(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, _, rel := pair(t, app)
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Call every Sunday", "recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "time_zone": "Europe/Berlin", "local_time": "20:00"},
		})
		rec := p["recurrence"].(map[string]any)
		if p["kind"] != "recurring" || rec["rrule"] != "FREQ=WEEKLY;BYDAY=SU" || rec["starts_on"] == "" {
			t.Fatalf("promise %v", p)
		}
		first := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")
		if len(first) < 8 || len(first) > 9 {
			t.Fatalf("%d occurrences over 60 days, want 8 or 9", len(first))
		}
		// Move to mid-February 2027 so the horizon covers the March change.
		app.Clock.Advance(time.Date(2027, 2, 15, 12, 0, 0, 0, time.UTC).Sub(app.Clock.Now()))
		tick(t, app)
		app.Login(&ana)
		berlin, _ := time.LoadLocation("Europe/Berlin")
		occ := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "&due_after=2027-03-14T00:00:00Z&due_before=2027-04-12T00:00:00Z")
		if len(occ) != 5 {
			t.Fatalf("%d Sundays from 14 March to 11 April, want 5: %v", len(occ), occ)
		}
		for _, o := range occ {
			due, _ := time.Parse(time.RFC3339, o["due_at"].(string))
			local := due.In(berlin)
			wantUTC := 19
			if due.After(time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC)) {
				wantUTC = 18
			}
			if local.Weekday() != time.Sunday || local.Hour() != 20 || local.Minute() != 0 || due.Hour() != wantUTC {
				t.Errorf("occurrence at %s (%s local), want Sunday 20:00 local, %02d:00Z", due, local, wantUTC)
			}
		}
	})
}

func TestRenegotiation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Fix the bike", "due_at": ts(now.Add(24 * time.Hour))})
		occID := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)
		newDue := now.Add(72 * time.Hour)

		// Only the promisor proposes; only the promisee answers.
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occID + "/renegotiations", Token: ben.AccessToken, Body: map[string]any{"proposed_due_at": ts(newDue)}}); res.Status != http.StatusForbidden {
			t.Fatalf("promisee proposing: %d", res.Status)
		}
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occID + "/renegotiations", Token: ana.AccessToken, Body: map[string]any{"proposed_due_at": ts(now.Add(-time.Hour))}}); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("proposal in the past: %d", res.Status)
		}
		// Without a time: one error, that it is required.
		if pr := decodeProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occID + "/renegotiations", Token: ana.AccessToken, Body: map[string]any{}})); len(pr.Errors) != 1 || pr.Errors[0].Code != "required" {
			t.Fatalf("proposal without a time: %+v", pr)
		}
		rn := do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/renegotiations", ana.AccessToken, map[string]any{"proposed_due_at": ts(newDue), "reason": "parts arrive Thursday"})
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occID + "/renegotiations", Token: ana.AccessToken, Body: map[string]any{"proposed_due_at": ts(newDue)}}); res.Status != http.StatusConflict {
			t.Fatalf("second pending proposal: %d", res.Status)
		}
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/renegotiations/" + rn["id"].(string) + "/accept", Token: ana.AccessToken}); res.Status != http.StatusForbidden {
			t.Fatalf("promisor accepting: %d", res.Status)
		}
		// Until accepted, the original time stands.
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil); o["due_at"] != ts(now.Add(24*time.Hour)) {
			t.Fatalf("moved before acceptance: %v", o["due_at"])
		}
		acc := do(t, app, 200, "POST", "/v1/renegotiations/"+rn["id"].(string)+"/accept", ben.AccessToken, nil)
		o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil)
		if acc["status"] != "accepted" || o["due_at"] != ts(newDue) || o["original_due_at"] != ts(now.Add(24*time.Hour)) || o["status"] != "open" {
			t.Fatalf("after acceptance %v / %v", acc, o)
		}
		// Past the old due time plus grace nothing is missed: it moved.
		later(t, app, 30*time.Hour, &ana, &ben)
		tick(t, app)
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil); o["status"] != "open" {
			t.Fatalf("moved occurrence missed at its old time: %v", o)
		}
		// Declined: nothing moves.
		rn2 := do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/renegotiations", ana.AccessToken, map[string]any{"proposed_due_at": ts(app.Clock.Now().Add(96 * time.Hour))})
		if d := do(t, app, 200, "POST", "/v1/renegotiations/"+rn2["id"].(string)+"/decline", ben.AccessToken, nil); d["status"] != "declined" {
			t.Fatalf("declined %v", d)
		}
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/renegotiations/" + rn2["id"].(string) + "/accept", Token: ben.AccessToken}); res.Status != http.StatusConflict {
			t.Fatalf("accepting a declined proposal: %d", res.Status)
		}
		// Too late to move: proposing after due + grace scores the miss, and
		// acceptance creates a successor.
		later(t, app, 45*time.Hour, &ana, &ben)
		late := do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/renegotiations", ana.AccessToken, map[string]any{"proposed_due_at": ts(app.Clock.Now().Add(24 * time.Hour))})
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil); o["status"] != "resolved" || o["outcome"] != "missed" {
			t.Fatalf("late proposal: old occurrence %v", o)
		}
		acc = do(t, app, 200, "POST", "/v1/renegotiations/"+late["id"].(string)+"/accept", ben.AccessToken, nil)
		next := do(t, app, 200, "GET", "/v1/occurrences/"+acc["new_occurrence_id"].(string), ana.AccessToken, nil)
		if next["replaces_id"] != occID || next["status"] != "open" || next["due_at"] != late["proposed_due_at"] {
			t.Fatalf("successor %v", next)
		}
		// The replaced miss is final: no member's account replaces it, and
		// it takes no second proposal (and so no second successor).
		for _, u := range []servertest.User{ana, ben} {
			wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occID + "/follow-throughs", Token: u.AccessToken,
				Body: map[string]any{"outcome": "kept"}}), http.StatusConflict, "occurrence_replaced")
		}
		wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occID + "/renegotiations", Token: ana.AccessToken,
			Body: map[string]any{"proposed_due_at": ts(app.Clock.Now().Add(48 * time.Hour))}}), http.StatusConflict, "occurrence_replaced")
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil); o["outcome"] != "missed" {
			t.Fatalf("replaced miss after the refused accounts: %v", o)
		}
	})
}

// An occurrence moved or created by an accepted renegotiation is kept when
// the promisor gives the promise a new rule: the same rule sent again, or
// another one.
func TestANewRuleKeepsAgreedMoves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		rule := map[string]any{"rrule": "FREQ=DAILY", "local_time": "08:00", "time_zone": "UTC"}
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "recurrence": rule})
		pid := p["id"].(string)
		occ := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open")[4]
		occID := occ["id"].(string)
		due, _ := time.Parse(time.RFC3339, occ["due_at"].(string))
		moved := ts(due.Add(15*24*time.Hour + 12*time.Hour))
		rn := do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/renegotiations", ana.AccessToken, map[string]any{"proposed_due_at": moved})
		do(t, app, 200, "POST", "/v1/renegotiations/"+rn["id"].(string)+"/accept", ben.AccessToken, nil)
		movedAt, _ := time.Parse(time.RFC3339, moved)
		atMoved := map[string]any{"rrule": "FREQ=DAILY", "local_time": movedAt.Format("15:04"), "time_zone": "UTC"}
		for _, r := range []map[string]any{rule, {"rrule": "FREQ=DAILY", "local_time": "09:00", "time_zone": "UTC"}, atMoved} {
			do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, map[string]any{"recurrence": r})
			o := do(t, app, 200, "GET", "/v1/occurrences/"+occID, ana.AccessToken, nil)
			if o["status"] != "open" || o["due_at"] != moved {
				t.Fatalf("after a new rule %v, the moved occurrence %v %v, want open at %s", r, o["status"], o["due_at"], moved)
			}
			// One occurrence an instant: the new rule's instance at the
			// moved-to time is the moved occurrence.
			n := 0
			for _, o := range occurrencesOf(t, app, ana.AccessToken, pid, "&status=open") {
				if o["due_at"] == moved {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("after a new rule %v, %d open occurrences due at %s", r, n, moved)
			}
		}
	})
}

// A proposal still waiting when the occurrence gets a member's account
// cannot be accepted: the occurrence is settled, and accepting must not
// open a successor (nor reopen the completed one-off promise).
func TestRenegotiationAfterAFollowThrough(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	now := app.Clock.Now()
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Fix the bike", "due_at": ts(now.Add(24 * time.Hour))})
	occID := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)
	rn := do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/renegotiations", ana.AccessToken, map[string]any{"proposed_due_at": ts(now.Add(72 * time.Hour))})
	do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/follow-throughs", ben.AccessToken, map[string]any{"outcome": "kept"})
	wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/renegotiations/" + rn["id"].(string) + "/accept", Token: ben.AccessToken}),
		http.StatusConflict, "occurrence_resolved")
	if occs := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), ""); len(occs) != 1 {
		t.Fatalf("%d occurrences after the refused acceptance, want 1", len(occs))
	}
	if got := do(t, app, 200, "GET", "/v1/promises/"+p["id"].(string), ana.AccessToken, nil); got["status"] != "completed" {
		t.Fatalf("promise %v after the refused acceptance", got["status"])
	}
	if d := do(t, app, 200, "POST", "/v1/renegotiations/"+rn["id"].(string)+"/decline", ben.AccessToken, nil); d["status"] != "declined" {
		t.Fatalf("declining the stale proposal: %v", d)
	}
}

func TestPause(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Daily walk", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "07:30"},
		})
		pid := p["id"].(string)
		berlin, _ := time.LoadLocation("Europe/Berlin")
		today := app.Clock.Now().In(berlin)
		start, end := today.AddDate(0, 0, 10).Format(time.DateOnly), today.AddDate(0, 0, 16).Format(time.DateOnly)
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/promises/" + pid + "/pauses", Token: ben.AccessToken,
			Body: map[string]any{"starts_on": today.AddDate(0, 0, -1).Format(time.DateOnly), "ends_on": end}}); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("pause starting yesterday: %d", res.Status)
		}
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/promises/" + pid + "/pauses", Token: ben.AccessToken,
			Body: map[string]any{"starts_on": end, "ends_on": start}}); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("pause ending before it starts: %d", res.Status)
		}
		// A year at most, both dates counted; both dates required.
		s0, _ := time.Parse(time.DateOnly, start)
		for _, c := range []struct {
			body  map[string]any
			field string
			code  string
		}{
			{map[string]any{"starts_on": start, "ends_on": s0.AddDate(1, 0, 0).Format(time.DateOnly)}, "ends_on", "too_long"},
			{map[string]any{"starts_on": start}, "ends_on", "required"},
			{map[string]any{"ends_on": end}, "starts_on", "required"},
		} {
			pr := decodeProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/promises/" + pid + "/pauses", Token: ben.AccessToken, Body: c.body}))
			if len(pr.Errors) != 1 || pr.Errors[0].Field != c.field || pr.Errors[0].Code != c.code {
				t.Errorf("pause %v: %+v, want %s %s", c.body, pr, c.field, c.code)
			}
		}
		pa := do(t, app, 201, "POST", "/v1/promises/"+pid+"/pauses", ben.AccessToken, map[string]any{"starts_on": start, "ends_on": end, "reason": "holiday"})
		if pa["starts_on"] != start || pa["created_by"] != ben.ID {
			t.Fatalf("pause %v", pa)
		}
		skipped := occurrencesOf(t, app, ana.AccessToken, pid, "&status=skipped")
		if len(skipped) != 7 {
			t.Fatalf("%d skipped occurrences, want 7 (both ends included)", len(skipped))
		}
		for _, o := range skipped {
			due, _ := time.Parse(time.RFC3339, o["due_at"].(string))
			if d := due.In(berlin).Format(time.DateOnly); d < start || d > end {
				t.Errorf("skipped %s outside the pause", d)
			}
		}
		if list := do(t, app, 200, "GET", "/v1/promises/"+pid+"/pauses", ana.AccessToken, nil); len(list["data"].([]any)) != 1 {
			t.Fatalf("pauses %v", list)
		}
		// One-off promises are renegotiated, not paused.
		one := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "x", "due_at": ts(app.Clock.Now().Add(time.Hour))})
		if res := app.Do(servertest.Request{Method: "POST", Path: "/v1/promises/" + one["id"].(string) + "/pauses", Token: ana.AccessToken,
			Body: map[string]any{"starts_on": start, "ends_on": end}}); res.Status != http.StatusConflict {
			t.Fatalf("pausing a one-off: %d", res.Status)
		}
	})
}

// A pause that starts today does not take back today's occurrence already
// due and still open (in its grace): a pause is agreed ahead, and the
// occurrence is missed when its grace runs out. Tomorrow's, on a paused
// date and not yet due, is skipped.
func TestPauseFromTodayLeavesWhatIsDue(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if now := app.Clock.Now().In(berlin); now.Hour() < 2 {
		app.Clock.Advance(3 * time.Hour) // today's due an hour ago is still today
		app.Login(&ana)
		app.Login(&ben)
	}
	now := app.Clock.Now().In(berlin)
	today := now.Format(time.DateOnly)
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
		"title": "Daily call", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": now.Add(-time.Hour).Format("15:04"), "starts_on": today},
	})
	pid := p["id"].(string)
	due := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open")
	if len(due) == 0 || !strings.HasPrefix(due[0]["due_at"].(string), now.Add(-time.Hour).UTC().Format("2006-01-02T15")) {
		t.Fatalf("open occurrences %v, want today's an hour ago first", due)
	}
	tomorrow := now.AddDate(0, 0, 1).Format(time.DateOnly)
	do(t, app, 201, "POST", "/v1/promises/"+pid+"/pauses", ben.AccessToken, map[string]any{"starts_on": today, "ends_on": tomorrow})
	if o := do(t, app, 200, "GET", "/v1/occurrences/"+due[0]["id"].(string), ana.AccessToken, nil); o["status"] != "open" {
		t.Fatalf("today's occurrence, due an hour ago, after a pause from today: %v", o["status"])
	}
	if o := do(t, app, 200, "GET", "/v1/occurrences/"+due[1]["id"].(string), ana.AccessToken, nil); o["status"] != "skipped" || !strings.HasPrefix(o["due_at"].(string), now.AddDate(0, 0, 1).Add(-time.Hour).UTC().Format("2006-01-02")) {
		t.Fatalf("tomorrow's occurrence after a pause until tomorrow: %v due %v", o["status"], o["due_at"])
	}
	later(t, app, 3*time.Hour, &ana, &ben)
	tick(t, app)
	sc := do(t, app, 200, "GET", "/v1/promises/"+pid+"/score", ana.AccessToken, nil)
	if c := sc["counts"].(map[string]any); c["missed"] != 1.0 || c["skipped"] != 0.0 {
		t.Fatalf("promise score counts %v, want today's missed (tomorrow's not due yet)", c)
	}
}

// Promises to the partner before they join: unverified without a window,
// then theirs to confirm once they join.
func TestPromiseToPartnerBeforeTheyJoin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben := app.Register("Ana"), app.Register("Ben")
		rel := do(t, app, 201, "POST", "/v1/relationships", ana.AccessToken, map[string]any{"name": "A&B", "time_zone": "UTC", "partner_name": "Ben"})["id"].(string)
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Flowers", "due_at": ts(app.Clock.Now().Add(-time.Hour))})
		if p["promisee_id"] != nil {
			t.Fatalf("promise to the partner names %v", p["promisee_id"])
		}
		occID := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)
		ft := do(t, app, 201, "POST", "/v1/occurrences/"+occID+"/follow-throughs", ana.AccessToken, map[string]any{"outcome": "kept"})
		if ft["verification"] != "unverified" || ft["accept_after"] != nil {
			t.Fatalf("follow-through for an absent partner %v", ft)
		}
		later(t, app, 100*time.Hour, &ana, &ben)
		tick(t, app)
		code := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil)["code"].(string)
		// Ana syncs by cursor and by updated_since: Ben's joining reaches
		// her both ways.
		_, cursor := feed(t, app, ana.AccessToken, "", "")
		before := app.Clock.Now()
		later(t, app, time.Second, &ana, &ben)
		do(t, app, 200, "POST", "/v1/invites/"+code+"/accept", ben.AccessToken, nil)
		if p := do(t, app, 200, "GET", "/v1/promises/"+p["id"].(string), ben.AccessToken, nil); p["promisee_id"] != ben.ID {
			t.Fatalf("after joining: promisee %v", p["promisee_id"])
		}
		f := do(t, app, 200, "GET", "/v1/follow-throughs/"+ft["id"].(string), ben.AccessToken, nil)
		if f["verification"] != "unverified" || f["accept_after"] == nil {
			t.Fatalf("after joining: %v", f)
		}
		es, _ := feed(t, app, ana.AccessToken, cursor, "")
		var got []string
		for _, e := range es {
			got = append(got, e["type"].(string))
			if e["type"] == "promise.updated" && (e["data"].(map[string]any)["promisee_id"] != ben.ID || e["actor_id"] != ben.ID) {
				t.Errorf("promise.updated on joining: %v", e)
			}
		}
		if strings.Join(got, " ") != "promise.updated member.joined" {
			t.Fatalf("events on joining %v, want promise.updated member.joined", got)
		}
		since := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/promises?updated_since="+ts(before), ana.AccessToken, nil)
		if list := since["data"].([]any); len(list) != 1 || list[0].(map[string]any)["promisee_id"] != ben.ID {
			t.Fatalf("promises updated since before the join: %v", list)
		}
		r := do(t, app, 200, "GET", "/v1/relationships/"+rel, ana.AccessToken, nil)
		if r["partner_name"] != nil || r["updated_at"] == r["created_at"] {
			t.Fatalf("relationship after joining: %v", r)
		}
		if c := do(t, app, 200, "POST", "/v1/follow-throughs/"+ft["id"].(string)+"/confirm", ben.AccessToken, nil); c["verification"] != "confirmed" {
			t.Fatalf("confirm after joining: %v", c)
		}
	})
}

func TestPromiseValidation(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	now := app.Clock.Now()
	path := "/v1/relationships/" + rel + "/promises"
	cases := map[string]struct {
		body  map[string]any
		field string
	}{
		"no title":           {map[string]any{"due_at": ts(now)}, "title"},
		"long title":         {map[string]any{"title": string(make([]byte, 201)), "due_at": ts(now)}, "title"},
		"neither":            {map[string]any{"title": "x"}, "due_at"},
		"both":               {map[string]any{"title": "x", "due_at": ts(now), "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "08:00"}}, "due_at"},
		"366 days back":      {map[string]any{"title": "x", "due_at": ts(now.Add(-366 * 24 * time.Hour))}, "due_at"},
		"self promise":       {map[string]any{"title": "x", "due_at": ts(now), "promisee_id": ana.ID}, "promisee_id"},
		"stranger promisee":  {map[string]any{"title": "x", "due_at": ts(now), "promisee_id": "usr_01m8et4gb1mbr10c90jhdqr3s3"}, "promisee_id"},
		"bad rrule":          {map[string]any{"title": "x", "recurrence": map[string]any{"rrule": "FREQ=SOMETIMES", "local_time": "08:00"}}, "recurrence.rrule"},
		"every minute":       {map[string]any{"title": "x", "recurrence": map[string]any{"rrule": "FREQ=MINUTELY", "local_time": "08:00"}}, "recurrence.rrule"},
		"hourly":             {map[string]any{"title": "x", "recurrence": map[string]any{"rrule": "FREQ=HOURLY", "local_time": "08:00"}}, "recurrence.rrule"},
		"Local zone":         {map[string]any{"title": "x", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "08:00", "time_zone": "Local"}}, "recurrence.time_zone"},
		"bad local time":     {map[string]any{"title": "x", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "24:00"}}, "recurrence.local_time"},
		"start too far back": {map[string]any{"title": "x", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "08:00", "starts_on": now.AddDate(-2, 0, 0).Format(time.DateOnly)}}, "recurrence.starts_on"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := app.Do(servertest.Request{Method: "POST", Path: path, Token: ana.AccessToken, Body: tc.body})
			p := decodeProblem(t, res)
			found := false
			for _, e := range p.Errors {
				found = found || e.Field == tc.field
			}
			if res.Status != http.StatusUnprocessableEntity || !found || len(p.Errors) != 1 {
				t.Fatalf("got %d %+v, want 422 naming %s alone", res.Status, p, tc.field)
			}
		})
	}
	res := app.Do(servertest.Request{Method: "POST", Path: path, Token: ana.AccessToken, Body: `{"title":"x","due_at":"next friday"}`})
	if p := decodeProblem(t, res); res.Status != http.StatusBadRequest || p.Code != "invalid_time" {
		t.Fatalf("unparseable due_at: %d %+v", res.Status, p)
	}
	if list := do(t, app, 200, "GET", path, ana.AccessToken, nil); len(list["data"].([]any)) != 0 {
		t.Fatalf("refused promises were written: %v", list)
	}
}

// A proposal that can no longer take effect is declined by the change that
// closed it, with an event naming who made that change: when its
// occurrence is paused or rescheduled away, when its promise is cancelled
// or archived, and when its promisor or promisee leaves. The proposals of
// occurrences that still stand stay pending, and a closed promise's
// occurrence takes no new proposal.
func TestClosingAPromiseClosesItsProposals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		berlin, _ := time.LoadLocation("Europe/Berlin")
		daily := func(token string) (string, []map[string]any) {
			p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", token, map[string]any{
				"title": "Daily walk", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "07:30"}})
			return p["id"].(string), occurrencesOf(t, app, token, p["id"].(string), "&status=open")
		}
		propose := func(token string, occ map[string]any) string {
			due, _ := time.Parse(time.RFC3339, occ["due_at"].(string))
			rn := do(t, app, 201, "POST", "/v1/occurrences/"+occ["id"].(string)+"/renegotiations", token,
				map[string]any{"proposed_due_at": ts(due.Add(time.Hour))})
			return rn["id"].(string)
		}
		status := func(occID, renID string) string {
			t.Helper()
			page := do(t, app, 200, "GET", "/v1/occurrences/"+occID+"/renegotiations", ben.AccessToken, nil)
			for _, r := range page["data"].([]any) {
				if r := r.(map[string]any); r["id"] == renID {
					return r["status"].(string)
				}
			}
			t.Fatalf("renegotiation %s not listed", renID)
			return ""
		}
		_, cursor := feed(t, app, ben.AccessToken, "", "")
		declinedBy := func(want ...string) {
			t.Helper()
			var es []map[string]any
			es, cursor = feed(t, app, ben.AccessToken, cursor, "&types=renegotiation.declined")
			var got []string
			for _, e := range es {
				got = append(got, e["data"].(map[string]any)["id"].(string)+" by "+e["actor_id"].(string))
			}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Fatalf("renegotiation.declined events %v, want %v", got, want)
			}
		}

		// A pause skips the occurrence of one proposal; the other stays.
		pid, occs := daily(ana.AccessToken)
		inPause, outside := occs[10], occs[20]
		r1, r2 := propose(ana.AccessToken, inPause), propose(ana.AccessToken, outside)
		due, _ := time.Parse(time.RFC3339, inPause["due_at"].(string))
		day := due.In(berlin).Format(time.DateOnly)
		do(t, app, 201, "POST", "/v1/promises/"+pid+"/pauses", ben.AccessToken, map[string]any{"starts_on": day, "ends_on": day})
		if s1, s2 := status(inPause["id"].(string), r1), status(outside["id"].(string), r2); s1 != "declined" || s2 != "pending" {
			t.Fatalf("after the pause: the paused occurrence's proposal %s, the other's %s", s1, s2)
		}
		declinedBy(r1 + " by " + ben.ID)

		// A new rule cancels the open occurrences: their proposals go.
		do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, map[string]any{
			"recurrence": map[string]any{"rrule": "FREQ=WEEKLY", "local_time": "08:00"}})
		if s := status(outside["id"].(string), r2); s != "declined" {
			t.Fatalf("after a new rule: %s", s)
		}
		declinedBy(r2 + " by " + ana.ID)

		// Cancelling declines what is pending, and the occurrence of a
		// cancelled promise still open takes no new proposal.
		pid, occs = daily(ana.AccessToken)
		r3 := propose(ana.AccessToken, occs[3])
		do(t, app, 204, "DELETE", "/v1/promises/"+pid, ana.AccessToken, nil)
		if s := status(occs[3]["id"].(string), r3); s != "declined" {
			t.Fatalf("after cancelling: %s", s)
		}
		declinedBy(r3 + " by " + ana.ID)

		// Archiving likewise.
		pid, occs = daily(ana.AccessToken)
		r4 := propose(ana.AccessToken, occs[3])
		do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, map[string]any{"status": "archived"})
		if s := status(occs[3]["id"].(string), r4); s != "declined" {
			t.Fatalf("after archiving: %s", s)
		}
		declinedBy(r4 + " by " + ana.ID)
		// Archiving again (a retry) is no error and changes nothing; any
		// other change to an archived promise is.
		if p := do(t, app, 200, "PATCH", "/v1/promises/"+pid, ana.AccessToken, map[string]any{"status": "archived"}); p["status"] != "archived" {
			t.Fatalf("archived again: %v", p["status"])
		}
		do(t, app, 409, "PATCH", "/v1/promises/"+pid, ana.AccessToken, map[string]any{"status": "archived", "title": "again"})

		// A member who leaves closes the proposals made to them.
		_, occs = daily(ben.AccessToken)
		r5 := propose(ben.AccessToken, occs[3])
		was := do(t, app, 200, "GET", "/v1/relationships/"+rel, ben.AccessToken, nil)["updated_at"]
		later(t, app, time.Second, &ana, &ben)
		do(t, app, 204, "DELETE", "/v1/relationships/"+rel+"/members/me", ana.AccessToken, nil)
		// The relationship's members changed, and so its updated_at.
		if now := do(t, app, 200, "GET", "/v1/relationships/"+rel, ben.AccessToken, nil)["updated_at"]; now == was {
			t.Errorf("updated_at %v unchanged by a member leaving", now)
		}
		if s := status(occs[3]["id"].(string), r5); s != "declined" {
			t.Fatalf("after the promisee left: %s", s)
		}
		declinedBy(r5 + " by " + ana.ID)
		// member.left names the member as the relationship listed them.
		left, _ := feed(t, app, ben.AccessToken, "", "&types=member.left")
		if len(left) != 1 || left[0]["data"].(map[string]any)["display_name"] != "Ana" || left[0]["data"].(map[string]any)["user_id"] != ana.ID ||
			left[0]["data"].(map[string]any)["relationship_id"] != rel {
			t.Fatalf("member.left %v", left)
		}
	})
}

// The occurrence of a cancelled promise that is still open, due before the
// promise was cancelled and in its grace, takes a follow-through but no
// proposal to move it.
func TestACancelledPromisesOccurrenceDoesNotMove(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
		"title": "Call", "due_at": ts(app.Clock.Now().Add(time.Hour))})
	later(t, app, 90*time.Minute, &ana, &ben)
	do(t, app, 204, "DELETE", "/v1/promises/"+p["id"].(string), ana.AccessToken, nil)
	occ := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "&status=open")
	if len(occ) != 1 {
		t.Fatalf("%d open occurrences after cancelling, want the one in its grace", len(occ))
	}
	wantProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occ[0]["id"].(string) + "/renegotiations",
		Token: ana.AccessToken, Body: map[string]any{"proposed_due_at": ts(app.Clock.Now().Add(time.Hour))}}),
		http.StatusConflict, "promise_closed")
}

// An occurrence moved beyond the materialized horizon, to an instant the
// rule has an instance at, stands for that instance when the scheduler
// materializes that far: one occurrence at the instant, not two.
func TestMaterializingAfterAMoveBeyondTheHorizon(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
		"title": "Call", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "08:00", "time_zone": "UTC"}})
	pid := p["id"].(string)
	occ := occurrencesOf(t, app, ana.AccessToken, pid, "&status=open")[0]
	due, _ := time.Parse(time.RFC3339, occ["due_at"].(string))
	moved := ts(due.AddDate(0, 0, 65))
	rn := do(t, app, 201, "POST", "/v1/occurrences/"+occ["id"].(string)+"/renegotiations", ana.AccessToken, map[string]any{"proposed_due_at": moved})
	do(t, app, 200, "POST", "/v1/renegotiations/"+rn["id"].(string)+"/accept", ben.AccessToken, nil)
	later(t, app, 10*24*time.Hour, &ana, &ben)
	tick(t, app)
	n := 0
	for _, o := range occurrencesOf(t, app, ana.AccessToken, pid, "&status=open&due_after="+ts(due.AddDate(0, 0, 64))) {
		if o["due_at"] == moved {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d open occurrences due at %s after materializing past it, want 1", n, moved)
	}
}

// A PATCH that changes nothing writes nothing: the same updated_at and
// ETag, and no event. One that changes something does all three.
func TestPatchThatChangesNothing(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "due_at": ts(app.Clock.Now().Add(time.Hour))})
	prm := p["id"].(string)
	_, cursor := feed(t, app, ben.AccessToken, "", "")
	etag := func(path string) string {
		return app.Do(servertest.Request{Method: "GET", Path: path, Token: ana.AccessToken}).Header.Get("ETag")
	}
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/relationships/" + rel, map[string]any{}},
		{"/v1/relationships/" + rel, map[string]any{"name": "Ana & Ben", "time_zone": "Europe/Berlin"}},
		{"/v1/promises/" + prm, map[string]any{"title": "Call"}},
		{"/v1/promises/" + prm, map[string]any{"title": " Call ", "details": ""}},
	} {
		before := etag(c.path)
		app.Clock.Advance(time.Minute)
		do(t, app, 200, "PATCH", c.path, ana.AccessToken, c.body)
		if after := etag(c.path); after != before {
			t.Errorf("PATCH %s %v: ETag %s → %s", c.path, c.body, before, after)
		}
		if es, _ := feed(t, app, ben.AccessToken, cursor, ""); len(es) != 0 {
			t.Errorf("PATCH %s %v: %d events, first %v", c.path, c.body, len(es), es[0]["type"])
		}
	}
	before := etag("/v1/promises/" + prm)
	do(t, app, 200, "PATCH", "/v1/promises/"+prm, ana.AccessToken, map[string]any{"title": "Call Mum"})
	if es, _ := feed(t, app, ben.AccessToken, cursor, ""); len(es) != 1 || es[0]["type"] != "promise.updated" || etag("/v1/promises/"+prm) == before {
		t.Errorf("a real change: %d events, ETag %s unchanged: %v", len(es), before, etag("/v1/promises/"+prm) == before)
	}
}

// Renaming oneself changes every relationship one is in (it lists its
// members by name): each says so with relationship.updated and a new ETag.
func TestRenameUpdatesTheRelationships(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	_, cursor := feed(t, app, ben.AccessToken, "", "")
	before := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel, Token: ben.AccessToken}).Header.Get("ETag")
	app.Clock.Advance(time.Minute)
	do(t, app, 200, "PATCH", "/v1/me", ana.AccessToken, map[string]any{"display_name": "Anna"})
	es, _ := feed(t, app, ben.AccessToken, cursor, "")
	if len(es) != 1 || es[0]["type"] != "relationship.updated" {
		t.Fatalf("after the rename: %v", types(es))
	}
	named := false
	for _, m := range es[0]["data"].(map[string]any)["members"].([]any) {
		named = named || m.(map[string]any)["display_name"] == "Anna"
	}
	if !named {
		t.Errorf("the event's members %v do not name Anna", es[0]["data"].(map[string]any)["members"])
	}
	if after := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel, Token: ben.AccessToken}).Header.Get("ETag"); after == before {
		t.Errorf("ETag %s unchanged by the rename", after)
	}
	// A time zone alone changes no relationship.
	_, cursor = feed(t, app, ben.AccessToken, "", "")
	do(t, app, 200, "PATCH", "/v1/me", ana.AccessToken, map[string]any{"time_zone": "Asia/Tokyo"})
	if es, _ := feed(t, app, ben.AccessToken, cursor, ""); len(es) != 0 {
		t.Errorf("a time zone change: %v", types(es))
	}
}

// Archiving a relationship closes what is open in it: its active promises
// are archived, their open occurrences not yet due cancelled, pending
// proposals declined. One running late in its grace is not taken back: it
// is scored missed when the grace runs out, as it would have been.
func TestArchivingARelationshipClosesItsPromises(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()
		late := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "due_at": ts(now.Add(-10 * time.Minute))})["id"].(string)
		daily := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ben.AccessToken, map[string]any{
			"title": "Walk", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "07:30"}})["id"].(string)
		occ := occurrencesOf(t, app, ben.AccessToken, daily, "&status=open")[2]
		due, _ := time.Parse(time.RFC3339, occ["due_at"].(string))
		rn := do(t, app, 201, "POST", "/v1/occurrences/"+occ["id"].(string)+"/renegotiations", ben.AccessToken,
			map[string]any{"proposed_due_at": ts(due.Add(time.Hour))})["id"].(string)
		done := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Done", "due_at": ts(now.Add(-time.Hour))})["id"].(string)
		doneOcc := occurrencesOf(t, app, ana.AccessToken, done, "")[0]["id"].(string)
		do(t, app, 201, "POST", "/v1/occurrences/"+doneOcc+"/follow-throughs", ben.AccessToken, map[string]any{"outcome": "kept"})
		_, cursor := feed(t, app, ben.AccessToken, "", "")

		do(t, app, 204, "DELETE", "/v1/relationships/"+rel, ana.AccessToken, nil)
		for p, open := range map[string]int{late: 1, daily: 0} {
			if st := do(t, app, 200, "GET", "/v1/promises/"+p, ana.AccessToken, nil)["status"]; st != "archived" {
				t.Errorf("promise %s: %v, want archived", p, st)
			}
			if got := occurrencesOf(t, app, ana.AccessToken, p, "&status=open"); len(got) != open {
				t.Errorf("promise %s: %d occurrences still open, want %d", p, len(got), open)
			}
		}
		if st := do(t, app, 200, "GET", "/v1/promises/"+done, ana.AccessToken, nil)["status"]; st != "completed" {
			t.Errorf("a completed promise: %v", st)
		}
		page := do(t, app, 200, "GET", "/v1/occurrences/"+occ["id"].(string)+"/renegotiations", ben.AccessToken, nil)
		if r := page["data"].([]any)[0].(map[string]any); r["id"] != rn || r["status"] != "declined" {
			t.Errorf("the proposal: %v", r)
		}
		later(t, app, time.Hour, &ana, &ben)
		tick(t, app)
		sc := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/members/"+ana.ID+"/score", ben.AccessToken, nil)
		// What was kept stays; the one running late is missed after its
		// grace; nothing planned after the archive is open or missed.
		if c := sc["counts"].(map[string]any); c["open"] != 0.0 || c["missed"] != 1.0 || c["kept"].(float64)+c["kept_late"].(float64) != 1 {
			t.Errorf("ana's counts after the archive: %v", c)
		}
		if open := occurrencesOf(t, app, ana.AccessToken, daily, "&status=open"); len(open) != 0 {
			t.Errorf("%d of the daily promise's occurrences open after the archive", len(open))
		}
		// One left open past the archive (as archives before this change
		// left them) is never scored: it was planned after the end.
		w, _ := app.Server.DB.SQL()
		if _, err := w.Exec(`UPDATE occurrences SET status = 'open' WHERE id = $1`, occ["id"]); err != nil {
			t.Fatal(err)
		}
		later(t, app, 4*24*time.Hour, &ana, &ben)
		tick(t, app)
		if o := do(t, app, 200, "GET", "/v1/occurrences/"+occ["id"].(string), ben.AccessToken, nil); o["status"] != "open" {
			t.Errorf("an occurrence due after the archive: %v", o["status"])
		}
		es, _ := feed(t, app, ben.AccessToken, cursor, "")
		got := map[string]int{}
		for _, e := range es {
			got[e["type"].(string)]++
		}
		if got["promise.updated"] != 2 || got["renegotiation.declined"] != 1 || got["relationship.updated"] != 1 || got["occurrence.missed"] != 1 {
			t.Errorf("events of the archive: %v", got)
		}
	})
}

// A renegotiation reads alone as it is listed, with an ETag; nobody outside
// the relationship finds it.
func TestGetRenegotiation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		cleo := app.Register("Cleo")
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "due_at": ts(app.Clock.Now().Add(time.Hour))})["id"].(string)
		occ := occurrencesOf(t, app, ana.AccessToken, p, "")[0]["id"].(string)
		rn := do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/renegotiations", ana.AccessToken, map[string]any{"proposed_due_at": ts(app.Clock.Now().Add(3 * time.Hour))})
		id := rn["id"].(string)
		got := app.Do(servertest.Request{Method: "GET", Path: "/v1/renegotiations/" + id, Token: ben.AccessToken})
		if got.Status != http.StatusOK || got.Header.Get("ETag") == "" {
			t.Fatalf("GET: %d %s", got.Status, got.Body)
		}
		listed := do(t, app, 200, "GET", "/v1/occurrences/"+occ+"/renegotiations", ben.AccessToken, nil)["data"].([]any)[0]
		if d := cmp.Diff(listed, any(got.Map(t))); d != "" {
			t.Errorf("GET differs from the list (-list +get):\n%s", d)
		}
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/renegotiations/" + id, Token: ben.AccessToken,
			Header: map[string]string{"If-None-Match": got.Header.Get("ETag")}}); res.Status != http.StatusNotModified {
			t.Errorf("If-None-Match: %d", res.Status)
		}
		do(t, app, 200, "POST", "/v1/renegotiations/"+id+"/decline", ben.AccessToken, nil)
		if st := do(t, app, 200, "GET", "/v1/renegotiations/"+id, ana.AccessToken, nil)["status"]; st != "declined" {
			t.Errorf("after declining: %v", st)
		}
		for _, path := range []string{"/v1/renegotiations/" + id, "/v1/renegotiations/rng_01j9z3k4m5n6p7q8r9s0t1v2w3", "/v1/renegotiations/nope"} {
			wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: path, Token: cleo.AccessToken}), http.StatusNotFound, "not_found")
		}
	})
}

// No field of a PATCH takes null: it would read as left out, and keep what
// the client meant to clear. The answer names the field; nothing changes.
func TestPatchRefusesNull(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
		"title": "Walk", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "07:30"}})
	for _, c := range []struct{ path, body, field string }{
		{"/v1/promises/" + p["id"].(string), `{"recurrence": null}`, "recurrence"},
		{"/v1/promises/" + p["id"].(string), `{"title": "Run", "details": null}`, "details"},
		{"/v1/relationships/" + rel, `{"settings": {"grace_minutes": null}}`, "settings.grace_minutes"},
		{"/v1/me", `{"display_name": null}`, "display_name"},
	} {
		res := app.Do(servertest.Request{Method: "PATCH", Path: c.path, Token: ana.AccessToken, Body: c.body})
		pr := decodeProblem(t, res)
		if res.Status != http.StatusBadRequest || pr.Code != "invalid_type" || len(pr.Errors) != 1 || pr.Errors[0].Field != c.field {
			t.Errorf("PATCH %s %s: %d %+v, want 400 invalid_type naming %s", c.path, c.body, res.Status, pr, c.field)
		}
	}
	if got := do(t, app, 200, "GET", "/v1/promises/"+p["id"].(string), ana.AccessToken, nil); got["title"] != "Walk" || got["recurrence"] == nil {
		t.Errorf("after refused PATCHes: %v", got)
	}
}
