package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// Tests of requests racing on one database. On SQLite the single writer
// runs write transactions one at a time; on PostgreSQL (READ COMMITTED)
// they interleave, and a read-then-write must still give a result some
// serial order of the same requests could give.

// together runs fns at once, released by one gate, and waits for them.
func together(fns ...func()) {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(func() {
			<-gate
			fn()
		})
	}
	close(gate)
	wg.Wait()
}

// call is app.Do for a JSON request.
func call(app *servertest.App, method, path, token string, body any) *servertest.Response {
	return app.Do(servertest.Request{Method: method, Path: path, Token: token, Body: body})
}

// noServerErrors fails on any 5xx (a deadlock, a constraint the code did
// not expect), with the cause the server logged.
func noServerErrors(t *testing.T, app *servertest.App, what string, rs ...*servertest.Response) {
	t.Helper()
	for _, r := range rs {
		if r.Status < 500 {
			continue
		}
		cause := ""
		var p struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(r.Body, &p) == nil && p.RequestID != "" {
			for _, line := range strings.Split(app.Logs.String(), "\n") {
				if strings.Contains(line, p.RequestID) && strings.Contains(line, "error") {
					cause = line
					break
				}
			}
		}
		t.Errorf("%s: %d; logged: %s", what, r.Status, cause)
	}
}

// Proposals for one occurrence sent at once: one is pending, the others
// are 409 renegotiation_pending, as when they come one after another.
func TestConcurrentProposalsLeaveOnePending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		now := app.Clock.Now()
		const rounds, n = 8, 4
		for round := range rounds {
			p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
				map[string]any{"title": fmt.Sprint("p", round), "due_at": ts(now.Add(24 * time.Hour))})
			occ := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)
			res := make([]*servertest.Response, n)
			fns := make([]func(), n)
			for i := range fns {
				fns[i] = func() {
					res[i] = call(app, "POST", "/v1/occurrences/"+occ+"/renegotiations", ana.AccessToken,
						map[string]any{"proposed_due_at": ts(now.Add(time.Duration(48+i) * time.Hour))})
				}
			}
			together(fns...)
			noServerErrors(t, app, "propose", res...)
			created := 0
			for _, r := range res {
				if r.Status == http.StatusCreated {
					created++
				}
			}
			list := do(t, app, 200, "GET", "/v1/occurrences/"+occ+"/renegotiations", ben.AccessToken, nil)["data"].([]any)
			pending := 0
			for _, x := range list {
				if x.(map[string]any)["status"] == "pending" {
					pending++
				}
			}
			if created != 1 || pending != 1 {
				t.Fatalf("round %d: %d proposals created, %d pending; want 1 and 1", round, created, pending)
			}
		}
	})
}

// Two edits of different fields of a relationship at once both stick, and
// an edit racing an archive does not bring the relationship back.
func TestConcurrentRelationshipEditsLoseNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, _, rel := pair(t, app)
		for round := range 10 {
			name, target := fmt.Sprint("name ", round), 0.5+float64(round)/100
			var r1, r2 *servertest.Response
			together(
				func() {
					r1 = call(app, "PATCH", "/v1/relationships/"+rel, ana.AccessToken, map[string]any{"name": name})
				},
				func() {
					r2 = call(app, "PATCH", "/v1/relationships/"+rel, ana.AccessToken,
						map[string]any{"settings": map[string]any{"target_score": target}})
				})
			noServerErrors(t, app, "patch", r1, r2)
			if r1.Status != 200 || r2.Status != 200 {
				t.Fatalf("round %d: %d %s / %d %s", round, r1.Status, r1.Body, r2.Status, r2.Body)
			}
			got := do(t, app, 200, "GET", "/v1/relationships/"+rel, ana.AccessToken, nil)
			if got["name"] != name || got["settings"].(map[string]any)["target_score"] != target {
				t.Errorf("round %d: after both edits name %v, target %v; want %q and %v",
					round, got["name"], got["settings"].(map[string]any)["target_score"], name, target)
				break
			}
		}
		for round := range 10 {
			r := do(t, app, 201, "POST", "/v1/relationships", ana.AccessToken, map[string]any{"name": "R", "time_zone": "UTC"})["id"].(string)
			var edit, archive *servertest.Response
			together(
				func() {
					edit = call(app, "PATCH", "/v1/relationships/"+r, ana.AccessToken, map[string]any{"name": "renamed"})
				},
				func() { archive = call(app, "DELETE", "/v1/relationships/"+r, ana.AccessToken, nil) })
			noServerErrors(t, app, "edit/archive", edit, archive)
			if archive.Status != http.StatusNoContent {
				t.Fatalf("round %d: archive %d %s", round, archive.Status, archive.Body)
			}
			if got := do(t, app, 200, "GET", "/v1/relationships/"+r, ana.AccessToken, nil); got["status"] != "archived" {
				t.Errorf("round %d: archived (204) and edited (%d) at once: status %v", round, edit.Status, got["status"])
				break
			}
		}
	})
}

// An edit of a one-off promise racing the follow-through that completes it,
// or the DELETE that cancels it, neither undoes the completion or the
// cancellation nor loses the edit.
func TestConcurrentPromiseEditKeepsStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		due := app.Clock.Now().Add(-time.Hour)
		for round := range 12 {
			p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
				map[string]any{"title": "before", "due_at": ts(due)})["id"].(string)
			occ := occurrencesOf(t, app, ana.AccessToken, p, "")[0]["id"].(string)
			title := fmt.Sprint("after ", round)
			var edit, other *servertest.Response
			cancel := round%2 == 1
			together(
				func() { edit = call(app, "PATCH", "/v1/promises/"+p, ana.AccessToken, map[string]any{"title": title}) },
				func() {
					if cancel {
						other = call(app, "DELETE", "/v1/promises/"+p, ana.AccessToken, nil)
					} else {
						other = call(app, "POST", "/v1/occurrences/"+occ+"/follow-throughs", ben.AccessToken, map[string]any{"outcome": "kept"})
					}
				})
			noServerErrors(t, app, fmt.Sprintf("round %d edit/%s", round, map[bool]string{true: "cancel", false: "follow-through"}[cancel]), edit, other)
			got := do(t, app, 200, "GET", "/v1/promises/"+p, ana.AccessToken, nil)
			want := "completed"
			if cancel {
				want = "cancelled"
			}
			if other.Status < 300 && got["status"] != want {
				t.Errorf("round %d: edit (%d) raced %s (%d): status %v, want %s", round, edit.Status, want, other.Status, got["status"], want)
			}
			if edit.Status == 200 && got["title"] != title {
				t.Errorf("round %d: edit answered 200 but the title is %v", round, got["title"])
			}
		}
	})
}

// A promise Ana makes while Ben accepts her invite is Ben's to answer,
// like every promise made before or after he joined.
func TestPromiseMadeWhilePartnerJoins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana := app.Register("Ana")
		for round := range 4 {
			ben := app.Register(fmt.Sprint("Ben", round))
			rel := do(t, app, 201, "POST", "/v1/relationships", ana.AccessToken, map[string]any{"name": "A&B", "time_zone": "UTC", "partner_name": "Ben"})["id"].(string)
			code := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil)["code"].(string)
			const n = 16
			res := make([]*servertest.Response, n)
			var accept *servertest.Response
			fns := []func(){func() { accept = call(app, "POST", "/v1/invites/"+code+"/accept", ben.AccessToken, nil) }}
			for i := range n {
				fns = append(fns, func() {
					res[i] = call(app, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
						map[string]any{"title": fmt.Sprint("p", i), "due_at": ts(app.Clock.Now().Add(time.Hour))})
				})
			}
			together(fns...)
			noServerErrors(t, app, "create/accept", append(res, accept)...)
			if accept.Status != 200 {
				t.Fatalf("accept: %d %s", accept.Status, accept.Body)
			}
			for _, r := range res {
				if r.Status != 201 {
					t.Fatalf("create: %d %s", r.Status, r.Body)
				}
				id := r.Map(t)["id"].(string)
				if p := do(t, app, 200, "GET", "/v1/promises/"+id, ana.AccessToken, nil); p["promisee_id"] != ben.ID {
					t.Errorf("round %d: promise %s made as Ben joined has promisee %v, want Ben", round, id, p["promisee_id"])
				}
			}
		}
	})
}

// A promise to Ben that Ana makes while Ben leaves is cancelled with the
// others: no active promise is left to someone who left.
func TestPromiseMadeWhilePartnerLeaves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		for round := range 4 {
			ana, ben, rel := pair(t, app)
			const n = 16
			res := make([]*servertest.Response, n)
			var leave *servertest.Response
			fns := []func(){func() { leave = call(app, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil) }}
			for i := range n {
				fns = append(fns, func() {
					res[i] = call(app, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
						map[string]any{"title": fmt.Sprint("p", i), "due_at": ts(app.Clock.Now().Add(time.Hour))})
				})
			}
			together(fns...)
			noServerErrors(t, app, "create/leave", append(res, leave)...)
			if leave.Status != http.StatusNoContent {
				t.Fatalf("leave: %d %s", leave.Status, leave.Body)
			}
			for _, p := range allPages(t, app, ana.AccessToken, "/v1/relationships/"+rel+"/promises") {
				if p["status"] == "active" && p["promisee_id"] == ben.ID {
					t.Errorf("round %d: promise %s to Ben is active after he left", round, p["id"])
				}
			}
		}
	})
}

// The same transition requested twice at once happens once: one
// member.left, one promise.cancelled.
func TestConcurrentRepeatsEmitOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		const n = 4
		for range 3 {
			p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
				map[string]any{"title": "x", "due_at": ts(app.Clock.Now().Add(time.Hour))})["id"].(string)
			fns := make([]func(), n)
			res := make([]*servertest.Response, n)
			for i := range fns {
				fns[i] = func() { res[i] = call(app, "DELETE", "/v1/promises/"+p, ana.AccessToken, nil) }
			}
			together(fns...)
			noServerErrors(t, app, "cancel", res...)
		}
		fns := make([]func(), n)
		res := make([]*servertest.Response, n)
		for i := range fns {
			fns[i] = func() { res[i] = call(app, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil) }
		}
		together(fns...)
		noServerErrors(t, app, "leave", res...)
		if es, _ := feed(t, app, ana.AccessToken, "", "&types=promise.cancelled"); len(es) != 3 {
			t.Errorf("%d promise.cancelled events for 3 promises cancelled", len(es))
		}
		if es, _ := feed(t, app, ana.AccessToken, "", "&types=member.left"); len(es) != 1 {
			t.Errorf("%d member.left events for one departure", len(es))
		}
	})
}

// The scheduler extending a recurring promise while its promisor cancels
// it neither revives the promise nor opens occurrences after the cancel.
func TestMaterializeRacingCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, _, rel := pair(t, app)
		const rounds, n = 3, 16
		for round := range rounds {
			ps := make([]string, n)
			for i := range ps {
				ps[i] = do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
					"title": "Daily walk", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "07:30"}})["id"].(string)
			}
			// Two days on, every promise needs extending.
			later(t, app, 49*time.Hour, &ana)
			cancelled := app.Clock.Now()
			fns := []func(){func() {
				if _, err := app.Server.Scheduler.RunOnce(context.Background()); err != nil {
					t.Errorf("scheduler: %v", err)
				}
			}}
			res := make([]*servertest.Response, n)
			for i, p := range ps {
				fns = append(fns, func() {
					// Staggered so that cancels land all through the scheduler's pass.
					time.Sleep(time.Duration(i) * time.Millisecond)
					res[i] = call(app, "DELETE", "/v1/promises/"+p, ana.AccessToken, nil)
				})
			}
			together(fns...)
			noServerErrors(t, app, "cancel", res...)
			for i, p := range ps {
				if res[i].Status != http.StatusNoContent {
					t.Fatalf("cancel %s: %d %s", p, res[i].Status, res[i].Body)
				}
				if got := do(t, app, 200, "GET", "/v1/promises/"+p, ana.AccessToken, nil); got["status"] != "cancelled" {
					t.Errorf("round %d: promise %s cancelled (204) while the scheduler ran is %v", round, p, got["status"])
				}
				for _, o := range allPages(t, app, ana.AccessToken, "/v1/promises/"+p+"/occurrences") {
					due, _ := time.Parse(time.RFC3339, o["due_at"].(string))
					if o["status"] == "open" && !due.Before(cancelled) {
						t.Errorf("round %d: promise %s: occurrence due %s open after the cancel", round, p, o["due_at"])
						break
					}
				}
			}
		}
	})
}

// Follow-throughs recorded while the half-life changes leave rollups that
// agree with a full recomputation under the new half-life: a rescore must
// not use settings read before a RescoreAll committed.
func TestFollowThroughsRacingHalfLifeChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		due := app.Clock.Now().Add(-20 * time.Hour)
		const n = 16
		occs := oneOffs(t, app, rel, ana, due, n)
		res := make([]*servertest.Response, n)
		var patch *servertest.Response
		fns := []func(){func() {
			time.Sleep(5 * time.Millisecond)
			patch = call(app, "PATCH", "/v1/relationships/"+rel, ana.AccessToken, map[string]any{"settings": map[string]any{"half_life_days": 7}})
		}}
		for i, occ := range occs {
			fns = append(fns, func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				res[i] = call(app, "POST", "/v1/occurrences/"+occ+"/follow-throughs", ben.AccessToken,
					map[string]any{"outcome": []string{"kept", "partial", "missed"}[i%3], "occurred_at": ts(due.Add(time.Duration(i) * time.Minute))})
			})
		}
		together(fns...)
		noServerErrors(t, app, "follow-through/patch", append(res, patch)...)
		if patch.Status != 200 {
			t.Fatalf("patch: %d %s", patch.Status, patch.Body)
		}
		later(t, app, 48*time.Hour, &ana, &ben)
		rollupsMatchHistory(t, app, rel, ana.ID, 7)
	})
}

// An endpoint's PATCH and a secret rotation at once keep both: the new
// description and the rotated secret (the old one kept as previous).
func TestWebhookEditRacingRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, hookOpts())
		ana := app.Register("Ana")
		id, _ := createHook(t, app, ana.AccessToken, map[string]any{"url": "http://127.0.0.1:9/hook"})
		for round := range 10 {
			desc := fmt.Sprint("round ", round)
			app.Clock.Advance(time.Minute) // each rotation's overlap ends at another time
			var edit, rotate *servertest.Response
			together(
				func() {
					edit = call(app, "PATCH", "/v1/webhooks/"+id, ana.AccessToken, map[string]any{"description": desc})
				},
				func() { rotate = call(app, "POST", "/v1/webhooks/"+id+"/rotate-secret", ana.AccessToken, nil) })
			noServerErrors(t, app, "edit/rotate", edit, rotate)
			if edit.Status != 200 || rotate.Status != 200 {
				t.Fatalf("round %d: %d %s / %d %s", round, edit.Status, edit.Body, rotate.Status, rotate.Body)
			}
			got := do(t, app, 200, "GET", "/v1/webhooks/"+id, ana.AccessToken, nil)
			if got["description"] != desc {
				t.Fatalf("round %d: description %v after PATCH answered 200 (rotation lost it)", round, got["description"])
			}
			// The rotation answers with nanoseconds, the store keeps microseconds.
			want, _ := time.Parse(time.RFC3339Nano, rotate.Map(t)["previous_secret_expires_at"].(string))
			if s, _ := got["previous_secret_expires_at"].(string); s != want.Truncate(time.Microsecond).Format(time.RFC3339Nano) {
				t.Fatalf("round %d: previous secret expires %v, want %v from the rotation (the PATCH undid it)",
					round, got["previous_secret_expires_at"], want)
			}
		}
	})
}

// A check-in or a breach racing an archive or a departure is either
// recorded before it, in the feed's order, or refused: never written into
// a relationship already archived, or about a member already gone.
func TestTrustRecordsRacingArchiveAndLeave(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		for round := range 8 {
			ana, ben, rel := pair(t, app)
			var rec, end *servertest.Response
			leave := round%2 == 1
			together(
				func() {
					if round%4 < 2 {
						rec = call(app, "POST", "/v1/relationships/"+rel+"/check-ins", ana.AccessToken,
							map[string]any{"subject_id": ben.ID, "felt_trust": 5})
					} else {
						rec = call(app, "POST", "/v1/relationships/"+rel+"/breaches", ana.AccessToken,
							map[string]any{"member_id": ben.ID, "description": "x", "severity": "minor"})
					}
				},
				func() {
					if leave {
						end = call(app, "DELETE", "/v1/relationships/"+rel+"/members/me", ben.AccessToken, nil)
					} else {
						end = call(app, "DELETE", "/v1/relationships/"+rel, ana.AccessToken, nil)
					}
				})
			noServerErrors(t, app, "record/end", rec, end)
			if end.Status >= 300 {
				t.Fatalf("round %d: archive or leave %d %s", round, end.Status, end.Body)
			}
			if rec.Status != http.StatusCreated {
				continue // refused: it came after
			}
			events, _ := feed(t, app, ana.AccessToken, "", "")
			recorded, ended := -1, -1
			for i, e := range events {
				if e["relationship_id"] != rel {
					continue
				}
				switch data, _ := e["data"].(map[string]any); {
				case e["type"] == "check_in.recorded" || e["type"] == "breach.recorded":
					recorded = i
				case e["type"] == "member.left" || (e["type"] == "relationship.updated" && data["status"] == "archived"):
					ended = i
				}
			}
			if recorded < 0 || ended < 0 || recorded > ended {
				t.Fatalf("round %d (leave %v): recorded (201) at feed position %d, archive or leave at %d", round, leave, recorded, ended)
			}
		}
	})
}
