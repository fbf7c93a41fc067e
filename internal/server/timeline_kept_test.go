package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// A timeline's finished points are kept with what they were built from
// (internal/scoring/finished.go). Whatever changes, a timeline from a
// service that keeps them equals one from a service that has never seen
// the relationship; and the kept points are used again exactly when
// nothing they were built from changed.
func TestTimelineKeepsOnlyWhatStillHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		app := servertest.New(t, b)
		ana, ben, rel := rebuilding(t, app)
		start := app.Clock.Now()
		kept := scoring.NewService(app.Server.DB.Scores(), app.Clock.Now)
		fortyDays := start.AddDate(0, 0, -40).Add(-5 * time.Hour)
		queries := map[string]scoring.TimelineQuery{
			"since the breach": {MemberID: ana.ID},
			"weekly":           {MemberID: ana.ID, Bucket: "week"},
			"from mid-day":     {MemberID: ana.ID, From: &fortyDays},
			"ben":              {MemberID: ben.ID, From: &fortyDays}, // no rows at all
		}
		last := map[string]*scoring.Finished{}
		// thisWeek names the weekly query when day lies in the week (the
		// last bucket) of now: a change on that day leaves its finished
		// points as they were.
		berlin, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		monday := func(t time.Time) string {
			l := t.In(berlin)
			return l.AddDate(0, 0, -(int(l.Weekday())+6)%7).Format(time.DateOnly)
		}
		thisWeek := func(day time.Time) []string {
			if monday(day) == monday(app.Clock.Now()) {
				return []string{"weekly"}
			}
			return nil
		}
		// check compares every query's timeline with a fresh service's and
		// reports whether the kept points were used again.
		all := []string{"since the breach", "weekly", "from mid-day", "ben"}
		check := func(step string, reused ...string) {
			t.Helper()
			for name, q := range queries {
				parts, err := kept.TimelineParts(ctx, ben.ID, rel, q)
				if err != nil {
					t.Fatalf("%s, %s: %v", step, name, err)
				}
				fresh, err := scoring.NewService(app.Server.DB.Scores(), app.Clock.Now).Timeline(ctx, ben.ID, rel, q)
				if err != nil {
					t.Fatal(err)
				}
				want := slices.Contains(reused, name)
				if reused := parts.Finished == last[name]; reused != want {
					t.Errorf("%s, %s: kept points used again: %v, want %v", step, name, reused, want)
				}
				last[name] = parts.Finished
				if got := parts.Whole(); !reflect.DeepEqual(got, fresh) {
					t.Fatalf("%s, %s: kept\n%+v\nfresh\n%+v", step, name, got.Points, fresh.Points)
				}
			}
		}
		// sameJSON compares the server's body (kept points' JSON written
		// once) with ?pretty's (encoding/json, every time).
		sameJSON := func(step string) {
			t.Helper()
			path := "/v1/relationships/" + rel + "/timeline?member=" + ana.ID
			plain := app.Do(servertest.Request{Method: "GET", Path: path, Token: ana.AccessToken})
			pretty := app.Do(servertest.Request{Method: "GET", Path: path + "&pretty", Token: ana.AccessToken})
			var compact bytes.Buffer
			if err := json.Compact(&compact, pretty.Body); err != nil || compact.String() != strings.TrimSuffix(string(plain.Body), "\n") {
				t.Fatalf("%s (%v):\n%s\nplain:\n%s", step, err, compact.Bytes(), plain.Body)
			}
		}

		check("first read")
		// Ben has no rollup rows, hence no version for them: nothing is kept.
		anas := []string{"since the breach", "weekly", "from mid-day"}
		check("read again", anas...)
		sameJSON("read again")
		sameJSON("read a third time")

		// Any write to ana's rows gives them a new version.
		keptOn(t, app, rel, ana, ben, start.Add(-time.Minute), "kept", ben)
		check("kept today")
		sameJSON("kept today")
		keptOn(t, app, rel, ana, ben, start.AddDate(0, 0, -5), "missed", ben)
		check("missed five days ago")
		sameJSON("missed five days ago")

		// An open occurrence due three days ago: no rollup moves, the open
		// counts do.
		late := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "late already", "due_at": ts(start.AddDate(0, 0, -3))})
		check("open three days ago", thisWeek(start.AddDate(0, 0, -3))...)
		sameJSON("open three days ago")
		// As many open occurrences as before, on another day.
		do(t, app, 204, "DELETE", "/v1/promises/"+late["id"].(string), ana.AccessToken, nil)
		do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "later still", "due_at": ts(start.AddDate(0, 0, -4))})
		check("open four days ago instead", thisWeek(start.AddDate(0, 0, -4))...)

		// Ben keeps a promise before his range, which holds no row: his rows
		// get a version, ana's stay as they were.
		keptOn(t, app, rel, ben, ana, start.AddDate(0, 0, -50), "kept", ana)
		check("ben kept before his range", anas...)
		check("ben's read again", all...)

		// The half-life changes every score.
		do(t, app, 200, "PATCH", "/v1/relationships/"+rel, ana.AccessToken, map[string]any{"settings": map[string]any{"half_life_days": 7}})
		check("half-life")
		check("half-life, again", all...)

		// The clock moves into the next bucket: one more finished point.
		later(t, app, 24*time.Hour, &ana, &ben)
		check("a day later", thisWeek(start)...)
		sameJSON("a day later")
	})
}
