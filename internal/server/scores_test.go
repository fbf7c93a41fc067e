package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// keptOn makes a one-off promise from ana due at `due` and has ben (the
// promisee) record it kept at the due time: confirmed, on time.
func keptOn(t *testing.T, app *servertest.App, rel string, ana, ben servertest.User, due time.Time, outcome string, recorder servertest.User) string {
	t.Helper()
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "p " + due.String(), "due_at": ts(due)})
	occ := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)
	return do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", recorder.AccessToken,
		map[string]any{"outcome": outcome, "occurred_at": ts(due)})["id"].(string)
}

// The specification's worked examples, through the API.
func TestScoreWorkedExamples(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now().Truncate(time.Second)
		app.Clock.Advance(now.Sub(app.Clock.Now()))
		for _, back := range []int{0, 30, 60} {
			keptOn(t, app, rel, ana, ben, now.AddDate(0, 0, -back), "kept", ben)
		}
		s := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/members/"+ana.ID+"/score", ben.AccessToken, nil)
		if s["score"] != 0.7333 || s["level"] != "rebuilding" || s["evidence"] != 3.75 || s["member_id"] != ana.ID ||
			s["current_streak"] != 3.0 || s["longest_streak"] != 3.0 || s["counts"].(map[string]any)["kept"] != 3.0 {
			t.Fatalf("three kept: %v", s)
		}
		keptOn(t, app, rel, ana, ben, now.AddDate(0, 0, -10), "missed", ana) // unverified: ana recorded it
		s = do(t, app, 200, "GET", "/v1/relationships/"+rel+"/members/"+ana.ID+"/score", ana.AccessToken, nil)
		if s["score"] != 0.6632 || s["evidence"] != 4.1469 || s["current_streak"] != 1.0 || s["longest_streak"] != 2.0 {
			t.Fatalf("with an unverified miss: %v", s)
		}
		counts := s["counts"].(map[string]any)
		if counts["missed"] != 1.0 || counts["unverified"] != 1.0 || counts["kept"] != 3.0 {
			t.Fatalf("counts %v", counts)
		}
		// Ben's own score: nothing promised, the prior.
		list := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/scores", ana.AccessToken, nil)["data"].([]any)
		if len(list) != 2 {
			t.Fatalf("scores %v", list)
		}
		for _, x := range list {
			m := x.(map[string]any)
			if m["member_id"] == ben.ID && (m["score"] != 0.5 || m["evidence"] != 2.0 || m["level"] != "fragile") {
				t.Fatalf("empty history: %v", m)
			}
		}
		// As it stood 20 days ago: the items due then (T-30, T-60).
		at := now.AddDate(0, 0, -20)
		s = do(t, app, 200, "GET", "/v1/relationships/"+rel+"/members/"+ana.ID+"/score?at="+ts(at), ana.AccessToken, nil)
		want := score.Evaluate([]score.Item{
			score.OccurrenceItem(now.AddDate(0, 0, -30), now.AddDate(0, 0, -30), time.Hour, "kept", "confirmed", false),
			score.OccurrenceItem(now.AddDate(0, 0, -60), now.AddDate(0, 0, -60), time.Hour, "kept", "confirmed", false),
		}, at, 30)
		if s["score"] != score.Round4(want.Score) || s["evaluated_at"] != ts(at) {
			t.Fatalf("at T-20d: %v, want %v", s, score.Round4(want.Score))
		}
	})
}

func TestScoreMovesWithVerdictsBreachesAndSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()
		path := "/v1/relationships/" + rel + "/members/" + ana.ID + "/score"
		ft := keptOn(t, app, rel, ana, ben, now.Add(-time.Hour), "kept", ana)
		unverified := do(t, app, 200, "GET", path, ana.AccessToken, nil)
		do(t, app, 200, "POST", "/v1/follow-throughs/"+ft+"/dispute", ben.AccessToken, map[string]any{"reason": "no"})
		disputed := do(t, app, 200, "GET", path, ana.AccessToken, nil)
		if disputed["score"].(float64) >= unverified["score"].(float64) || disputed["counts"].(map[string]any)["disputed"] != 1.0 {
			t.Fatalf("dispute did not lower the score: %v → %v", unverified, disputed)
		}
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
			"member_id": ana.ID, "description": "lied", "severity": "severe", "occurred_at": ts(now.Add(-30 * time.Minute))})
		breached := do(t, app, 200, "GET", path, ana.AccessToken, nil)
		if breached["score"].(float64) >= disputed["score"].(float64) || breached["counts"].(map[string]any)["breaches"] != 1.0 {
			t.Fatalf("breach did not lower the score: %v", breached)
		}
		// (0.5·2 + 0) / (2 + 1·d + 5·d') with d ≈ 1: about 0.125.
		if s := breached["score"].(float64); s < 0.12 || s > 0.13 {
			t.Fatalf("after a severe breach: %v", s)
		}
		// A new half-life recomputes everything: the same score at once
		// (items are recent), a different one later.
		do(t, app, 200, "PATCH", "/v1/relationships/"+rel, ana.AccessToken, map[string]any{"settings": map[string]any{"half_life_days": 7}})
		later(t, app, 14*24*time.Hour, &ana, &ben)
		short := do(t, app, 200, "GET", path, ana.AccessToken, nil)["score"].(float64)
		do(t, app, 200, "PATCH", "/v1/relationships/"+rel, ana.AccessToken, map[string]any{"settings": map[string]any{"half_life_days": 365}})
		long := do(t, app, 200, "GET", path, ana.AccessToken, nil)["score"].(float64)
		if !(short > long) {
			t.Fatalf("a short half-life forgets faster: H=7 gives %v, H=365 %v", short, long)
		}
	})
}

// After random histories, the incremental aggregates equal a full
// recomputation from the raw history to 1e-9.
func TestIncrementalEqualsFullRecomputation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		rng := rand.New(rand.NewPCG(7, 11))
		start := app.Clock.Now()
		var fts, promises []string
		for i := range 60 {
			due := start.Add(-time.Duration(rng.Float64() * float64(200*24*time.Hour)))
			switch op := rng.IntN(10); {
			case op < 6:
				recorder := ana
				if rng.IntN(2) == 0 {
					recorder = ben
				}
				outcome := []string{"kept", "partial", "missed"}[rng.IntN(3)]
				p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": fmt.Sprint("p", i), "due_at": ts(due)})
				promises = append(promises, p["id"].(string))
				occ := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)
				occurred := due.Add(time.Duration(rng.IntN(3)) * time.Hour)
				if occurred.After(app.Clock.Now()) {
					occurred = app.Clock.Now()
				}
				ft := do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", recorder.AccessToken,
					map[string]any{"outcome": outcome, "occurred_at": ts(occurred)})
				if ft["verification"] == "unverified" {
					fts = append(fts, ft["id"].(string))
				}
			case op < 8 && len(fts) > 0:
				id := fts[len(fts)-1]
				fts = fts[:len(fts)-1]
				if rng.IntN(2) == 0 {
					do(t, app, 200, "POST", "/v1/follow-throughs/"+id+"/confirm", ben.AccessToken, nil)
				} else {
					do(t, app, 200, "POST", "/v1/follow-throughs/"+id+"/dispute", ben.AccessToken, map[string]any{"reason": "no"})
				}
			case op == 8:
				do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
					"member_id": ana.ID, "description": "x", "severity": []string{"minor", "major", "severe"}[rng.IntN(3)], "occurred_at": ts(due)})
			default:
				later(t, app, time.Duration(rng.IntN(48))*time.Hour, &ana, &ben)
				tick(t, app)
			}
		}
		later(t, app, 80*time.Hour, &ana, &ben) // past every dispute window
		tick(t, app)

		// Members, and each promise (a follow-through refreshes its
		// promisor's rollups and the promise's together).
		for _, subject := range append([]string{ana.ID, ben.ID}, promises...) {
			if n := rollupsMatchHistory(t, app, rel, subject, 30); subject == ana.ID && n < 20 {
				t.Fatalf("only %d items: the random history is too thin to prove anything", n)
			}
		}
	})
}

// Follow-throughs recorded at once for one member land on the same rollup
// row; each transaction's refresh must see the others' items, so that the
// rows still equal a recomputation from the whole history (on PostgreSQL
// the writes really run concurrently).
func TestConcurrentFollowThroughsLoseNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		due := app.Clock.Now().Add(-20 * time.Hour)
		const n = 24
		occs := oneOffs(t, app, rel, ana, due, n)
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i, occ := range occs {
			wg.Go(func() {
				outcome := []string{"kept", "partial", "missed"}[i%3]
				res := app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occ + "/follow-throughs",
					Token: ben.AccessToken, Body: map[string]any{"outcome": outcome, "occurred_at": ts(due.Add(time.Duration(i) * time.Minute))}})
				statuses[i] = res.Status
			})
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusCreated {
				t.Fatalf("follow-through %d: status %d", i, s)
			}
		}
		// Two days on, the score reads the day's finished rollup row.
		later(t, app, 48*time.Hour, &ana, &ben)
		if got := rollupsMatchHistory(t, app, rel, ana.ID, 30); got != n {
			t.Fatalf("%d items, want %d", got, n)
		}
	})
}

// rebuilding makes a pair whose Ana broke a promise 20 days ago (a major
// breach recorded by Ben), kept one every other day since, and got a
// check-in of 4 from Ben.
func rebuilding(t *testing.T, app *servertest.App) (ana, ben servertest.User, rel string) {
	t.Helper()
	ana, ben, rel = pair(t, app)
	now := app.Clock.Now()
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
		"member_id": ana.ID, "description": "broke a promise", "severity": "major", "occurred_at": ts(now.AddDate(0, 0, -20))})
	for d := 19; d >= 1; d -= 2 {
		keptOn(t, app, rel, ana, ben, now.AddDate(0, 0, -d), "kept", ben)
	}
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ben.AccessToken, map[string]any{"subject_id": ana.ID, "felt_trust": 4})
	return ana, ben, rel
}

func TestTimeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := rebuilding(t, app)
		now := app.Clock.Now()
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ben.AccessToken, map[string]any{"subject_id": ana.ID, "felt_trust": 7})
		// Something scheduled, for the projection's cadence.
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Sunday call", "recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": "20:00"}})

		tl := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline", ben.AccessToken, nil)
		if tl["member_id"] != ana.ID || tl["bucket"] != "day" {
			t.Fatalf("defaults: %v", tl["member_id"])
		}
		points := tl["points"].([]any)
		if len(points) != 21 {
			t.Fatalf("%d daily points since a breach 20 days ago, want 21", len(points))
		}
		last := points[len(points)-1].(map[string]any)
		if last["felt_trust"] != 5.5 || last["score"] != tl["current"].(map[string]any)["score"] {
			t.Fatalf("last point %v, current %v", last, tl["current"])
		}
		first := points[0].(map[string]any)
		if first["felt_trust"] != nil {
			t.Fatalf("felt trust on a day without check-ins: %v", first)
		}
		kept := 0.0
		for _, p := range points {
			kept += p.(map[string]any)["kept"].(float64)
		}
		if kept != 10 {
			t.Fatalf("%v kept in the points, want 10", kept)
		}
		// The score climbs after the breach.
		if first["score"].(float64) >= last["score"].(float64) {
			t.Fatalf("score did not recover: %v → %v", first["score"], last["score"])
		}
		names := map[string]bool{}
		for _, m := range tl["milestones"].([]any) {
			names[m.(map[string]any)["name"].(string)] = true
		}
		if !names["first_kept"] || !names["streak_7"] || names["streak_30"] {
			t.Fatalf("milestones %v", names)
		}
		pat := tl["patience"].(map[string]any)
		if pat["elapsed_days"] != 20.0 || pat["remaining_days"] != 70.0 {
			t.Fatalf("patience %v", pat)
		}
		pr := tl["projection"].(map[string]any)
		if pr["cadence"] == 0.0 || (pr["estimated_date"] == nil && pr["reason"] == nil) {
			t.Fatalf("projection %v", pr)
		}

		// The hand-written body and ?pretty's indented one (encoding/json)
		// hold the same JSON.
		plain := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/timeline?member=" + ana.ID, Token: ana.AccessToken})
		pretty := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/timeline?pretty&member=" + ana.ID, Token: ana.AccessToken})
		var compact bytes.Buffer
		if err := json.Compact(&compact, pretty.Body); err != nil || !bytes.Contains(pretty.Body, []byte("\n  ")) ||
			compact.String() != strings.TrimSuffix(string(plain.Body), "\n") {
			t.Fatalf("?pretty (%v):\n%s\nplain:\n%s", err, pretty.Body, plain.Body)
		}

		week := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?bucket=week&member="+ana.ID, ana.AccessToken, nil)
		if n := len(week["points"].([]any)); n < 3 || n > 5 {
			t.Fatalf("%d weekly points over 20 days", n)
		}

		bad := map[string]int{
			"from=" + ts(now) + "&to=" + ts(now.AddDate(0, 0, -1)): http.StatusUnprocessableEntity,
			"from=" + ts(now.AddDate(-3, 0, 0)):                    http.StatusBadRequest, // 1096 daily points
			"member=usr_01m8et4gb1mbr10c90jhdqr3s3":                http.StatusUnprocessableEntity,
			"bucket=month":                                         http.StatusUnprocessableEntity,
			"from=yesterday":                                       http.StatusBadRequest,
			"to=" + ts(now.Add(time.Hour)):                         http.StatusUnprocessableEntity,
		}
		for q, want := range bad {
			res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/timeline?" + q, Token: ana.AccessToken})
			if res.Status != want {
				t.Errorf("?%s: %d, want %d (%s)", q, res.Status, want, res.Body)
			}
		}
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/timeline?bucket=week&from=" + ts(now.AddDate(-3, 0, 0)), Token: ana.AccessToken}); res.Status != http.StatusOK {
			t.Errorf("three years by week: %d", res.Status)
		}
		for _, q := range []string{"at=soon", "at=" + ts(now.Add(time.Hour))} {
			res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/members/" + ana.ID + "/score?" + q, Token: ana.AccessToken})
			if res.Status != http.StatusBadRequest && res.Status != http.StatusUnprocessableEntity {
				t.Errorf("score ?%s: %d", q, res.Status)
			}
		}
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/members/usr_01m8et4gb1mbr10c90jhdqr3s3/score", Token: ana.AccessToken}); res.Status != http.StatusNotFound {
			t.Errorf("score of a non-member: %d", res.Status)
		}
	})
}

// A milestone is reached at the item that reached it, not at the end of
// its day, and not at now for today's: its reached_at stays put from one
// read to the next. The miss-free stretch counts from the breach's time.
func TestMilestonesReachedAtTheirItem(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	now := app.Clock.Now().Truncate(time.Second)
	app.Clock.Advance(now.Sub(app.Clock.Now()))
	breach := now.AddDate(0, 0, -40).Add(-3 * time.Hour)
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
		"member_id": ana.ID, "description": "broke a promise", "severity": "minor", "occurred_at": ts(breach)})
	first := now.AddDate(0, 0, -35)
	keptOn(t, app, rel, ana, ben, first, "kept", ben)
	today := now.Add(-2 * time.Hour)
	if today.YearDay() != now.YearDay() {
		today = now.Add(-time.Minute)
	}
	keptOn(t, app, rel, ana, ben, today, "kept", ben)
	reached := func() map[string]string {
		out := map[string]string{}
		for _, m := range do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?member="+ana.ID, ben.AccessToken, nil)["milestones"].([]any) {
			out[m.(map[string]any)["name"].(string)] = m.(map[string]any)["reached_at"].(string)
		}
		return out
	}
	got := reached()
	for name, want := range map[string]time.Time{"first_kept": first, "miss_free_30d": breach.AddDate(0, 0, 30)} {
		if got[name] != want.UTC().Format(time.RFC3339) {
			t.Errorf("%s reached at %s, want %s", name, got[name], ts(want))
		}
	}
	app.Clock.Advance(time.Minute)
	if again := reached(); !maps.Equal(got, again) {
		t.Errorf("milestones moved with the clock:\n%v\n%v", got, again)
	}
}

// A disputed account counts in its point as a miss, which it scores as:
// the occurrence is not left out of every count. (Kept an hour after it
// was due, it is late before the dispute.)
func TestTimelineCountsADisputeAsMissed(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "due_at": ts(app.Clock.Now().Add(-time.Hour))})
	occ := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)
	ft := do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", ana.AccessToken, map[string]any{"outcome": "kept"})["id"].(string)
	count := func() map[string]any {
		points := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?member="+ana.ID, ben.AccessToken, nil)["points"].([]any)
		last := points[len(points)-1].(map[string]any)
		return map[string]any{"kept": last["kept"].(float64) + last["late"].(float64), "missed": last["missed"]}
	}
	if c := count(); c["kept"] != 1.0 || c["missed"] != 0.0 {
		t.Fatalf("before the dispute: %v", c)
	}
	do(t, app, 200, "POST", "/v1/follow-throughs/"+ft+"/dispute", ben.AccessToken, map[string]any{"reason": "no call came"})
	if c := count(); c["kept"] != 0.0 || c["missed"] != 1.0 {
		t.Fatalf("after the dispute: %v, want it missed", c)
	}
}

// A timeline asked for the instant a breach is recorded has one point.
// A timeline that ends before the latest breach, without a from, starts
// at the breach before it: the period in force at its end.
func TestTimelineEndingBeforeTheLatestBreach(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := rebuilding(t, app) // a breach 20 days ago
	now := app.Clock.Now()
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
		"member_id": ana.ID, "description": "again", "severity": "minor", "occurred_at": ts(now.AddDate(0, 0, -5))})
	tl := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?to="+ts(now.AddDate(0, 0, -10)), ben.AccessToken, nil)
	if from, _ := time.Parse(time.RFC3339Nano, tl["from"].(string)); !from.Equal(now.AddDate(0, 0, -20).Truncate(time.Second)) {
		t.Fatalf("from %v, want the first breach's time %v", tl["from"], now.AddDate(0, 0, -20))
	}
	if n := len(tl["points"].([]any)); n != 11 {
		t.Fatalf("%d points from the first breach to 10 days ago, want 11", n)
	}
}

func TestTimelineRightAfterBreach(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
		"member_id": ana.ID, "description": "x", "severity": "minor"})
	tl := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline", ben.AccessToken, nil)
	if n := len(tl["points"].([]any)); n != 1 {
		t.Fatalf("%d points, want 1", n)
	}
}

// rollupsMatchHistory fails unless a subject's score now, read from the
// rollups (scoring.At), equals its recomputation from every item it has
// (score.Evaluate with halfLife): score and evidence to 1e-9, counts and
// streaks exactly. It returns how many items there were.
func rollupsMatchHistory(t *testing.T, app *servertest.App, rel, subject string, halfLife float64) int {
	t.Helper()
	ctx := context.Background()
	st := app.Server.DB.Scores()
	now := app.Clock.Now()
	relation, err := st.Relationship(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	incremental, _, err := scoring.At(ctx, st, relation, subject, now)
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.Content(ctx, relation, subject, time.Unix(0, 0), now.Add(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	full := score.Evaluate(all.Items, now, halfLife)
	if math.Abs(incremental.Score-full.Score) > 1e-9 || math.Abs(incremental.Evidence-full.Evidence) > 1e-9 ||
		incremental.Counts != full.Counts || incremental.CurrentStreak != full.CurrentStreak || incremental.LongestStreak != full.LongestStreak {
		t.Fatalf("%s, %d items: from the rollups %+v\nfrom the history %+v", subject, len(all.Items), incremental.Result, full)
	}
	return len(all.Items)
}

// oneOffs makes n one-off promises from promisor, all due at due, and
// returns their occurrences.
func oneOffs(t *testing.T, app *servertest.App, rel string, promisor servertest.User, due time.Time, n int) []string {
	t.Helper()
	occs := make([]string, n)
	for i := range occs {
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", promisor.AccessToken,
			map[string]any{"title": fmt.Sprint("p", i), "due_at": ts(due)})
		occs[i] = occurrencesOf(t, app, promisor.AccessToken, p["id"].(string), "")[0]["id"].(string)
	}
	return occs
}

// RebuildRollups (which migration 0013 runs once) builds every rollup again
// from the items: rows that disagree with them are replaced.
func TestRebuildRollupsRepairsThem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()
		for i := range 5 {
			keptOn(t, app, rel, ana, ben, now.Add(-time.Duration(30*i+30)*time.Hour), "kept", ben)
		}
		later(t, app, 48*time.Hour, &ana, &ben)
		kept := func() any {
			s := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/members/"+ana.ID+"/score", ana.AccessToken, nil)
			return s["counts"].(map[string]any)["kept"]
		}
		w, _ := app.Server.DB.SQL()
		if _, err := w.Exec(`UPDATE score_days SET kept = kept + 5, c_kept = c_kept + 5`); err != nil {
			t.Fatal(err)
		}
		if got := kept(); got == 5.0 {
			t.Fatalf("kept %v: the rows were not changed", got)
		}
		if err := app.Server.DB.RebuildRollups(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := kept(); got != 5.0 {
			t.Fatalf("kept %v after the rebuild, want 5", got)
		}
		rollupsMatchHistory(t, app, rel, ana.ID, 30)
	})
}

// score.level_changed carries the score as GET …/score gives it at the
// same instant: score, evidence, counts and streaks.
func TestLevelChangedCarriesTheScore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()
		var e map[string]any
		for i := 1; e == nil && i <= 10; i++ {
			keptOn(t, app, rel, ana, ben, now.Add(-time.Duration(i)*time.Hour), "kept", ben)
			es, _ := feed(t, app, ben.AccessToken, "", "&types=score.level_changed")
			if len(es) > 0 {
				e = es[0]
			}
		}
		if e == nil {
			t.Fatal("no score.level_changed after ten kept promises")
		}
		got := e["data"].(map[string]any)
		want := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/members/"+ana.ID+"/score", ben.AccessToken, nil)
		if got["previous_level"] == want["level"] {
			t.Errorf("previous_level %v is the level now", got["previous_level"])
		}
		if got["relationship_id"] != rel {
			t.Errorf("relationship_id %v, want %s", got["relationship_id"], rel)
		}
		delete(got, "previous_level")
		delete(got, "relationship_id")
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("the event's score differs from GET …/score (-get +event):\n%s", d)
		}
	})
}

// A timeline's last point counts the items due up to its `to`, as its
// score does: not the rest of that day's.
func TestLastPointCountsUpToTo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		berlin, _ := time.LoadLocation("Europe/Berlin")
		y, m, d := app.Clock.Now().In(berlin).AddDate(0, 0, -3).Date()
		at := func(h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, berlin) }
		keptOn(t, app, rel, ana, ben, at(10), "kept", ben)
		keptOn(t, app, rel, ana, ben, at(20), "kept", ben)
		keptOn(t, app, rel, ana, ben, at(21), "missed", ben)
		tl := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?member="+ana.ID+"&from="+ts(at(0).Add(-time.Hour))+"&to="+ts(at(15)), ben.AccessToken, nil)
		points := tl["points"].([]any)
		last := points[len(points)-1].(map[string]any)
		if last["kept"] != 1.0 || last["missed"] != 0.0 || last["score"] != tl["current"].(map[string]any)["score"] {
			t.Fatalf("last point %v, current %v; want the one item due by to", last, tl["current"])
		}
		if c := tl["current"].(map[string]any)["counts"].(map[string]any); c["kept"] != 1.0 || c["missed"] != 0.0 {
			t.Fatalf("current counts %v", c)
		}
	})
}

// A milestone is never reached before its period began, even when the
// item that reached it was due earlier that day.
func TestMilestonesNotBeforeThePeriod(t *testing.T) {
	app := sqliteApp(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := app.Clock.Now().In(berlin)
	noon := time.Date(now.Year(), now.Month(), now.Day()+1, 12, 0, 0, 0, berlin)
	app.Clock.Advance(noon.Sub(now))
	ana, ben, rel := pair(t, app)
	created, _ := time.Parse(time.RFC3339Nano, do(t, app, 200, "GET", "/v1/relationships/"+rel, ana.AccessToken, nil)["created_at"].(string))
	keptOn(t, app, rel, ana, ben, created.Add(-time.Hour), "kept", ben)
	tl := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?member="+ana.ID, ben.AccessToken, nil)
	ms := tl["milestones"].([]any)
	if len(ms) == 0 {
		t.Fatal("no milestone after a kept promise")
	}
	for _, m := range ms {
		at, _ := time.Parse(time.RFC3339Nano, m.(map[string]any)["reached_at"].(string))
		if at.Before(created) {
			t.Errorf("%v reached at %v, before the period began at %v", m.(map[string]any)["name"], at, created)
		}
	}
}

// The first point counts all of its bucket, as every other does, whatever
// instant of it `from` names: a week's items from its Monday, a day's open
// occurrences from its midnight.
func TestTimelineFirstBucketIsWhole(t *testing.T) {
	app := sqliteApp(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ana, ben, rel := pair(t, app)
	now := app.Clock.Now().In(berlin)
	d := now.AddDate(0, 0, -14)
	monday := time.Date(d.Year(), d.Month(), d.Day()-(int(d.Weekday())+6)%7, 0, 0, 0, 0, berlin)
	for _, day := range []int{0, 2, 4} { // Monday, Wednesday, Friday
		keptOn(t, app, rel, ana, ben, monday.AddDate(0, 0, day).Add(10*time.Hour), "kept", ben)
	}
	first := func(bucket string, from time.Time) map[string]any {
		q := url.Values{"member": {ana.ID}, "bucket": {bucket}, "from": {ts(from)}}
		return do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?"+q.Encode(), ben.AccessToken, nil)["points"].([]any)[0].(map[string]any)
	}
	for _, from := range []time.Time{monday, monday.AddDate(0, 0, 2).Add(12 * time.Hour), monday.AddDate(0, 0, 6)} {
		if p := first("week", from); p["date"] != monday.Format(time.DateOnly) || p["kept"] != 3.0 {
			t.Errorf("from %v: first week %v kept %v, want %s with 3", from, p["date"], p["kept"], monday.Format(time.DateOnly))
		}
	}

	// An occurrence due five minutes ago, still open; the timeline asked
	// from a minute ago.
	due := app.Clock.Now().Add(-5 * time.Minute)
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "call", "due_at": ts(due)})
	q := url.Values{"member": {ana.ID}, "from": {ts(app.Clock.Now().Add(-time.Minute))}}
	tl := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?"+q.Encode(), ben.AccessToken, nil)
	points := tl["points"].([]any)
	last := points[len(points)-1].(map[string]any)
	if due.In(berlin).YearDay() == app.Clock.Now().In(berlin).YearDay() && last["open"] != 1.0 {
		t.Errorf("today's point: open %v, want the occurrence due %v (current: %v)", last["open"], due, tl["current"])
	}
}

// Milestones count from the breach that began the period: a promise kept
// earlier the same day earns nothing in it, and a miss-free stretch is
// reached only once a promise has been kept in it.
func TestMilestonesSinceTheBreachItself(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	now := app.Clock.Now().Truncate(time.Second)
	app.Clock.Advance(now.Sub(app.Clock.Now()))
	breach := now.AddDate(0, 0, -40)
	keptOn(t, app, rel, ana, ben, breach.Add(-time.Hour), "kept", ben)
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
		"member_id": ana.ID, "description": "late again", "severity": "minor", "occurred_at": ts(breach)})
	reached := func() map[string]string {
		out := map[string]string{}
		for _, m := range do(t, app, 200, "GET", "/v1/relationships/"+rel+"/timeline?member="+ana.ID, ben.AccessToken, nil)["milestones"].([]any) {
			out[m.(map[string]any)["name"].(string)] = m.(map[string]any)["reached_at"].(string)
		}
		return out
	}
	if got := reached(); got["first_kept"] != "" || got["miss_free_30d"] != "" {
		t.Fatalf("milestones from a promise kept before the breach: %v", got)
	}
	later := breach.AddDate(0, 0, 33)
	keptOn(t, app, rel, ana, ben, later, "kept", ben)
	got := reached()
	for _, name := range []string{"first_kept", "miss_free_30d"} {
		if got[name] != ts(later) {
			t.Errorf("%s reached at %q, want the promise kept at %s", name, got[name], ts(later))
		}
	}

	// A promise kept on the breach's day after it counts (the first day,
	// made anew from its items, is not kept past a change to them).
	berlin, _ := time.LoadLocation("Europe/Berlin") // the relationship's zone
	if soon := breach.Add(time.Minute); soon.In(berlin).YearDay() == breach.In(berlin).YearDay() {
		keptOn(t, app, rel, ana, ben, soon, "kept", ben)
		if got := reached()["first_kept"]; got != ts(soon) {
			t.Errorf("first_kept reached at %q, want the promise kept at %s, a minute after the breach", got, ts(soon))
		}
	}
}
