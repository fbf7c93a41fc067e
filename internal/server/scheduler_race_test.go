package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/schedule"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// allPages follows next_cursor through a list.
func allPages(t *testing.T, app *servertest.App, token, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for range 100 {
		p := path + "?limit=100"
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		page := do(t, app, 200, "GET", p, token, nil)
		for _, x := range page["data"].([]any) {
			out = append(out, x.(map[string]any))
		}
		if page["next_cursor"] == nil {
			return out
		}
		cursor = page["next_cursor"].(string)
	}
	t.Fatalf("%s: paging does not end", path)
	return nil
}

// Two instances running the scheduler over one database at the same time
// change each row once: every overdue occurrence is missed once, every
// unanswered follow-through accepted once, no recurring instance doubled.
func TestSchedulersRacing(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		schedulersRacing(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)})
	})
	t.Run("postgres", func(t *testing.T) {
		schedulersRacing(t, storetest.Backend{Name: "postgres", DSN: storetest.Postgres(t)})
	})
}

func schedulersRacing(t *testing.T, b storetest.Backend) {
	const oneOffs, recurring, rounds = 30, 3, 3
	app1, app2 := servertest.New(t, b), servertest.New(t, b)
	// The same time on both instances.
	app2.Clock.Advance(app1.Clock.Now().Sub(app2.Clock.Now()))
	ana, _, rel := pair(t, app1)
	now := app1.Clock.Now()

	var promises []string
	unverified := map[string]bool{} // follow-through id → still to accept
	for i := range oneOffs {
		p := do(t, app1, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "One-off", "due_at": ts(now.Add(time.Duration(i+1) * time.Minute)),
		})["id"].(string)
		promises = append(promises, p)
		if i%3 == 0 {
			occ := occurrencesOf(t, app1, ana.AccessToken, p, "")[0]["id"].(string)
			ft := do(t, app1, 201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", ana.AccessToken, map[string]any{"outcome": "kept"})
			unverified[ft["id"].(string)] = true
		}
	}
	for range recurring {
		promises = append(promises, do(t, app1, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Daily walk", "recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "07:30"},
		})["id"].(string))
	}

	// Past every due time plus grace, and past the 72-hour dispute window;
	// far enough that the recurring promises need materializing again.
	const ahead = 80 * time.Hour
	later(t, app1, ahead, &ana)
	app2.Clock.Advance(ahead)
	now = app1.Clock.Now()

	var mu sync.Mutex
	var total schedule.Report
	var wg sync.WaitGroup
	for _, app := range []*servertest.App{app1, app2, app1, app2} {
		wg.Go(func() {
			for range rounds {
				r, err := app.Server.Scheduler.RunOnce(context.Background())
				if err != nil {
					t.Errorf("%s scheduler: %v", b.Name, err)
					return
				}
				mu.Lock()
				total.Missed += r.Missed
				total.Accepted += r.Accepted
				total.Materialized += r.Materialized
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	// Every follow-through of the relationship, by occurrence.
	fts := map[string][]map[string]any{}
	for _, f := range allPages(t, app1, ana.AccessToken, "/v1/relationships/"+rel+"/follow-throughs") {
		fts[f["occurrence_id"].(string)] = append(fts[f["occurrence_id"].(string)], f)
		if unverified[f["id"].(string)] {
			if f["verification"] != "accepted" {
				t.Errorf("follow-through %s left %v past the dispute window", f["id"], f["verification"])
			}
			delete(unverified, f["id"].(string))
		}
	}
	if len(unverified) != 0 {
		t.Errorf("follow-throughs gone: %v", unverified)
	}

	overdue := 0
	grace := time.Hour
	for _, p := range promises {
		seen := map[string]string{}
		for _, o := range allPages(t, app1, ana.AccessToken, "/v1/promises/"+p+"/occurrences") {
			id, orig := o["id"].(string), o["original_due_at"].(string)
			if other, dup := seen[orig]; dup {
				t.Errorf("promise %s: occurrences %s and %s are both the instance of %s", p, other, id, orig)
			}
			seen[orig] = id
			due, _ := time.Parse(time.RFC3339, o["due_at"].(string))
			var system int
			for _, f := range fts[id] {
				if f["recorded_by"] == "system" {
					system++
				}
			}
			switch {
			case len(fts[id]) > 0 && fts[id][0]["recorded_by"] != "system":
				// Ana's account stands; the scheduler must not have missed it.
				if system != 0 || len(fts[id]) != 1 {
					t.Errorf("occurrence %s with Ana's account: follow-throughs %v", id, fts[id])
				}
			case due.Add(grace).Before(now):
				overdue++
				if o["status"] != "resolved" || o["outcome"] != "missed" || system != 1 || len(fts[id]) != 1 {
					t.Errorf("overdue occurrence %s: %s/%v with %d system misses of %d follow-throughs, want missed exactly once",
						id, o["status"], o["outcome"], system, len(fts[id]))
				}
			default:
				if o["status"] == "resolved" || len(fts[id]) != 0 {
					t.Errorf("occurrence %s due %s scored before its time: %v", id, due, fts[id])
				}
			}
		}
	}
	// Cross-check through the per-occurrence route for the one-offs.
	for _, p := range promises[:oneOffs] {
		occ := occurrencesOf(t, app1, ana.AccessToken, p, "")[0]
		list := do(t, app1, 200, "GET", "/v1/occurrences/"+occ["id"].(string)+"/follow-throughs", ana.AccessToken, nil)["data"].([]any)
		if len(list) != 1 {
			t.Errorf("occurrence %s has %d follow-throughs, want 1", occ["id"], len(list))
		}
	}
	t.Logf("%s: %d overdue occurrences, %+v", b.Name, overdue, total)
	if overdue <= oneOffs-oneOffs/3 {
		t.Fatalf("only %d overdue occurrences: the recurring promises had none?", overdue)
	}
	if total.Missed != overdue || total.Accepted != (oneOffs+2)/3 {
		t.Errorf("schedulers report %d missed and %d accepted, want %d and %d", total.Missed, total.Accepted, overdue, (oneOffs+2)/3)
	}
}
