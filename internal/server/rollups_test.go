package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/benchseed"
	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// The rollup rows that writes leave behind are the rows a rebuild from the
// raw history makes, column for column and to the last bit of every sum:
// follow-throughs recorded in and out of time order on crowded days (a
// follow-through later than the rest of its day is folded into the stored
// row, an earlier one makes the day be read again), the scheduler's
// misses, and breaches and check-ins between them.
func TestRollupsEqualARebuildRowForRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, ben, rel := pair(t, app)
		rng := rand.New(rand.NewPCG(3, 17))
		now := app.Clock.Now()
		// Three crowded days before today: eight promises due on each,
		// three hours apart.
		var occs []string
		for d := 1; d <= 3; d++ {
			day := now.Add(-time.Duration(d) * 24 * time.Hour).Truncate(24 * time.Hour)
			occs = append(occs, oneOffsAt(t, app, rel, ana, day, 8, 3*time.Hour)...)
		}
		// Most in time order, a quarter swapped with a later one.
		for i := range occs {
			if rng.IntN(4) == 0 {
				j := i + rng.IntN(len(occs)-i)
				occs[i], occs[j] = occs[j], occs[i]
			}
		}
		for i, occ := range occs {
			switch rng.IntN(12) {
			case 0:
				do(t, app, 201, "POST", "/v1/relationships/"+rel+"/breaches", ben.AccessToken, map[string]any{
					"member_id": ana.ID, "description": "x", "severity": "major",
					"occurred_at": ts(now.Add(-time.Duration(rng.IntN(72)) * time.Hour))})
			case 1:
				do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ben.AccessToken, map[string]any{
					"subject_id": ana.ID, "felt_trust": 1 + rng.IntN(10)})
			}
			if i%7 == 6 {
				continue // left open: the scheduler scores it missed
			}
			recorder := []servertest.User{ana, ben}[rng.IntN(2)]
			do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", recorder.AccessToken,
				map[string]any{"outcome": []string{"kept", "partial", "missed"}[rng.IntN(3)]})
		}
		// Two check-ins today, a day of no other item: the first makes
		// its row, the second is folded into it.
		for _, felt := range []int{4, 9} {
			do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ben.AccessToken, map[string]any{
				"subject_id": ana.ID, "felt_trust": felt})
		}
		later(t, app, 2*time.Hour, &ana, &ben) // past the grace of the last ones
		tick(t, app)

		written := scoreDayRows(t, app, rel)
		if len(written) < 6 {
			t.Fatalf("%d rollup rows: too few to prove anything", len(written))
		}
		if err := app.Server.DB.RebuildRollups(context.Background()); err != nil {
			t.Fatal(err)
		}
		rebuilt := scoreDayRows(t, app, rel)
		if !slices.Equal(written, rebuilt) {
			for i := range min(len(written), len(rebuilt)) {
				if written[i] != rebuilt[i] {
					t.Fatalf("row %d as written:\n%s\nas rebuilt:\n%s", i, written[i], rebuilt[i])
				}
			}
			t.Fatalf("%d rows written, %d rebuilt", len(written), len(rebuilt))
		}
	})
}

// oneOffsAt makes n one-off promises from promisor due step apart from
// first, and returns their occurrences.
func oneOffsAt(t *testing.T, app *servertest.App, rel string, promisor servertest.User, first time.Time, n int, step time.Duration) []string {
	t.Helper()
	occs := make([]string, n)
	for i := range occs {
		p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", promisor.AccessToken,
			map[string]any{"title": fmt.Sprint("p", i), "due_at": ts(first.Add(time.Duration(i) * step))})
		occs[i] = occurrencesOf(t, app, promisor.AccessToken, p["id"].(string), "")[0]["id"].(string)
	}
	return occs
}

// scoreDayRows reads a relationship's rollup rows, every column, each row
// formatted (floats in the shortest form that reads back the same bits).
func scoreDayRows(t *testing.T, app *servertest.App, rel string) []string {
	t.Helper()
	w, _ := app.Server.DB.SQL()
	q := "SELECT * FROM score_days WHERE relationship_id = ? ORDER BY subject, day"
	rows, err := w.Query(benchseed.Placeholders(app.Server.DB.Dialect())(q), rel)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := ""
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				vals[i] = string(b)
			}
			line += fmt.Sprintf("%s=%v ", c, vals[i])
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// overdueHook runs hook after the scheduler has read its overdue
// occurrences and before it scores them, each in a transaction of its own.
type overdueHook struct {
	promise.Store
	hook func()
}

func (h overdueHook) OverdueOccurrences(ctx context.Context, now time.Time, limit int) ([]promise.Occurrence, error) {
	os, err := h.Store.OverdueOccurrences(ctx, now, limit)
	if h.hook != nil && len(os) > 0 {
		h.hook()
	}
	return os, err
}

// A proposal waiting while its occurrence's time and grace pass is
// accepted as a late one is: the original time stood, so the occurrence is
// missed, and the new time gets a new occurrence. So it is whether the
// scheduler scores the miss first or the acceptance does, even when the
// acceptance comes between the scheduler's read of what is overdue and its
// scoring (a reviewer's finding: the acceptance moved the overdue
// occurrence, the scheduler then scored the copy it had read, and the
// rollup of the day it had left took the miss).
func TestAcceptingAfterTheGraceMissesAndReplaces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		for _, order := range []string{"scheduler first", "acceptance first", "acceptance inside the scheduler's step"} {
			app := servertest.New(t, b)
			ana, ben, rel := pair(t, app)
			now := app.Clock.Now()
			p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
				map[string]any{"title": "p", "due_at": ts(now.Add(time.Hour))})
			occ := occurrencesOf(t, app, ana.AccessToken, p["id"].(string), "")[0]["id"].(string)
			rn := do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/renegotiations", ana.AccessToken,
				map[string]any{"proposed_due_at": ts(now.Add(72 * time.Hour))})["id"].(string)
			later(t, app, 3*time.Hour, &ana, &ben) // past its time and grace, still open
			accept := func() { do(t, app, 200, "POST", "/v1/renegotiations/"+rn+"/accept", ben.AccessToken, nil) }
			switch order {
			case "scheduler first":
				tick(t, app)
				accept()
			case "acceptance first":
				accept()
				tick(t, app)
			default:
				svc := promise.NewService(overdueHook{Store: app.Server.DB.Promises(), hook: accept}, app.Clock.Now)
				if _, err := svc.MissOverdue(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			o := do(t, app, 200, "GET", "/v1/occurrences/"+occ, ana.AccessToken, nil)
			r := do(t, app, 200, "GET", "/v1/renegotiations/"+rn, ana.AccessToken, nil)
			if o["status"] != "resolved" || o["outcome"] != "missed" || o["due_at"] != ts(now.Add(time.Hour)) || r["new_occurrence_id"] == nil {
				t.Fatalf("%s: the occurrence %s %v due %s, the proposal's new occurrence %v; want missed at its time, and a new one",
					order, o["status"], o["outcome"], o["due_at"], r["new_occurrence_id"])
			}
			next := do(t, app, 200, "GET", "/v1/occurrences/"+r["new_occurrence_id"].(string), ana.AccessToken, nil)
			if next["status"] != "open" || next["due_at"] != ts(now.Add(72*time.Hour)) || next["replaces_id"] != occ {
				t.Fatalf("%s: the new occurrence %v", order, next)
			}
			s := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/members/"+ana.ID+"/score", ana.AccessToken, nil)
			if missed := s["counts"].(map[string]any)["missed"]; missed != 1.0 {
				t.Fatalf("%s: %v missed in the score, want 1", order, missed)
			}
			written := scoreDayRows(t, app, rel)
			if err := app.Server.DB.RebuildRollups(context.Background()); err != nil {
				t.Fatal(err)
			}
			if rebuilt := scoreDayRows(t, app, rel); !slices.Equal(written, rebuilt) {
				t.Fatalf("%s: rows as written:\n%v\nas rebuilt:\n%v", order, written, rebuilt)
			}
		}
	})
}
