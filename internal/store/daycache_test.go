package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/store/storetest"
	"gorm.io/gorm"
)

// Rollup rows kept in memory are used only while no write has changed the
// subject's rows, including writes through another handle on the same
// database (another instance, on PostgreSQL).
func TestDaysBetweenSeesEveryWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		openDB := func() *DB {
			return openMigrated(t, b, Options{SQLiteShared: true})
		}
		writer, reader := openDB(), openDB()
		w, _ := writer.SQL()
		seedUserAndRelationship(t, w)
		day := func(subject, d string, kept int) scoring.Day {
			end, _ := time.Parse(time.DateOnly, d)
			end = end.Add(24 * time.Hour)
			return scoring.Day{RelationshipID: "rel_a", Subject: subject, Day: d, End: end,
				Own: score.Summary{Ref: end, Counts: score.Counts{Kept: kept}}, Cum: score.Summary{Ref: end}}
		}
		put := func(days ...scoring.Day) {
			t.Helper()
			if err := writer.Scores().PutDays(ctx, days); err != nil {
				t.Fatal(err)
			}
		}
		read := func(from, to string) []scoring.Day {
			t.Helper()
			rows, err := reader.Scores().DaysBetween(ctx, "rel_a", "usr_a", from, to)
			if err != nil {
				t.Fatal(err)
			}
			return rows
		}
		kept := func(rows []scoring.Day) []int {
			out := []int{}
			for _, r := range rows {
				out = append(out, r.Own.Counts.Kept)
			}
			return out
		}
		same := func(got []scoring.Day, want ...int) {
			t.Helper()
			if g := kept(got); len(g) != len(want) || func() bool {
				for i := range g {
					if g[i] != want[i] {
						return true
					}
				}
				return false
			}() {
				t.Fatalf("kept per day %v, want %v", g, want)
			}
		}

		put(day("usr_a", "2026-01-01", 1), day("usr_a", "2026-01-02", 2), day("usr_a", "2026-01-03", 3), day("rel_a_promise", "2026-01-02", 9))
		first := read("2026-01-01", "2026-01-31")
		same(first, 1, 2, 3)
		again := read("2026-01-01", "2026-01-31")
		if &again[0] != &first[0] {
			t.Fatal("an unchanged subject was read from the database again")
		}
		if sub := read("2026-01-02", "2026-01-02"); len(sub) != 1 || &sub[0] != &first[1] {
			t.Fatalf("a range inside the kept one: %v", kept(sub))
		}
		wider := read("2025-12-01", "2026-01-31") // from the database, kept instead
		same(wider, 1, 2, 3)
		if &wider[0] == &first[0] {
			t.Fatal("a wider range came from the narrower rows kept")
		}
		first = wider

		put(day("rel_a_promise", "2026-01-02", 8)) // another subject's write
		if again := read("2026-01-01", "2026-01-31"); &again[0] != &first[0] {
			t.Fatal("a write to another subject dropped the kept rows")
		}
		put(day("usr_a", "2026-01-02", 5))
		same(read("2026-01-01", "2026-01-31"), 1, 5, 3)
		if err := writer.Scores().DeleteDay(ctx, "rel_a", "usr_a", "2026-01-01"); err != nil {
			t.Fatal(err)
		}
		same(read("2026-01-01", "2026-01-31"), 5, 3)

		// A write rolled back leaves the rows, and reads after it, as they were.
		_ = writer.inTx(ctx, func(tx *gorm.DB) error {
			if err := writer.Scores().inTx(tx).PutDays(ctx, []scoring.Day{day("usr_a", "2026-01-03", 7)}); err != nil {
				t.Fatal(err)
			}
			return errRollback
		})
		same(read("2026-01-01", "2026-01-31"), 5, 3)
	})
}

var errRollback = rollback{}

type rollback struct{}

func (rollback) Error() string { return "roll back" }

// Scores.Relationship, the lighter read every score starts from, gives what
// Relationships.Get does but the names: the settings and the current
// members, in the same order.
func TestScoresRelationshipMatchesGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := openMigrated(t, b, Options{})
		w, _ := db.SQL()
		for _, q := range []string{
			`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at) VALUES
				('usr_a', 'a@x', 'a@x', 'A', 'UTC', 'h', 0, 0), ('usr_b', 'b@x', 'b@x', 'B', 'UTC', 'h', 0, 0),
				('usr_c', 'c@x', 'c@x', 'C', 'UTC', 'h', 0, 0), ('usr_d', 'd@x', 'd@x', 'D', 'UTC', 'h', 0, 0)`,
			`INSERT INTO relationships (id, name, partner_name, time_zone, half_life_days, grace_minutes, dispute_window_hours, remind_minutes, target_score, patience_days, status, created_by, created_at, updated_at, archived_at) VALUES
				('rel_a', 'R', 'P', 'Europe/Paris', 21, 15, 48, 30, 70, 60, 'archived', 'usr_a', 5, 9, 9),
				('rel_b', 'S', NULL, 'UTC', 30, 60, 72, 0, 80, 90, 'active', 'usr_d', 1, 1, NULL)`,
			// joined out of id order, one of them twice at once, one gone
			`INSERT INTO relationship_members (relationship_id, user_id, role, joined_at, left_at) VALUES
				('rel_a', 'usr_a', 'owner', 7, NULL), ('rel_a', 'usr_c', 'member', 3, NULL),
				('rel_a', 'usr_b', 'member', 3, NULL), ('rel_a', 'usr_d', 'member', 1, 4)`,
		} {
			if _, err := w.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"rel_a", "rel_b"} {
			want, err := db.Relationships().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want.Name, want.PartnerName = "", nil
			for i := range want.Members {
				want.Members[i].DisplayName, want.Members[i].Role = "", ""
			}
			got, err := db.Scores().Relationship(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s (-Get +Scores.Relationship):\n%s", id, diff)
			}
		}
		if _, err := db.Scores().Relationship(ctx, "rel_none"); !fault.Is(err, "not_found") {
			t.Fatalf("a missing relationship: %v", err)
		}
	})
}

// The row before a range is kept with the range's rows, under the same
// version: a write to any of the subject's rows, the one before included,
// is seen by the next read.
func TestDaysWithBeforeSeesEveryWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		writer := openMigrated(t, b, Options{SQLiteShared: true})
		reader := openMigrated(t, b, Options{SQLiteShared: true})
		w, _ := writer.SQL()
		seedUserAndRelationship(t, w)
		put := func(d string, kept int) {
			t.Helper()
			end, _ := time.Parse(time.DateOnly, d)
			end = end.Add(24 * time.Hour)
			counts := score.Counts{Kept: kept}
			if err := writer.Scores().PutDays(ctx, []scoring.Day{{RelationshipID: "rel_a", Subject: "usr_a", Day: d, End: end,
				Own: score.Summary{Ref: end, Counts: counts}, Cum: score.Summary{Ref: end, Counts: counts}}}); err != nil {
				t.Fatal(err)
			}
		}
		read := func(from string) (int, []scoring.Day) {
			t.Helper()
			d, err := reader.Scores().DaysWithBefore(ctx, "rel_a", "usr_a", from, "2026-01-31")
			if err != nil {
				t.Fatal(err)
			}
			if !d.Versioned {
				t.Fatal("no version")
			}
			if !d.HasBefore {
				return 0, d.Rows
			}
			return d.Before.Cum.Counts.Kept, d.Rows
		}
		want := func(from string, wantBefore, wantRows int) []scoring.Day {
			t.Helper()
			before, rows := read(from)
			if before != wantBefore || len(rows) != wantRows {
				t.Fatalf("from %s: before kept %d, %d rows; want %d, %d rows", from, before, len(rows), wantBefore, wantRows)
			}
			return rows
		}

		put("2026-01-01", 1)
		put("2026-01-05", 2)
		put("2026-01-06", 3)
		first := want("2026-01-05", 1, 2)
		if again := want("2026-01-05", 1, 2); &again[0] != &first[0] {
			t.Fatal("an unchanged subject was read from the database again")
		}
		want("2026-01-06", 2, 1) // inside the kept range, another row before

		put("2026-01-01", 4) // the row before changes
		want("2026-01-05", 4, 2)
		put("2026-01-03", 7) // a row comes between
		want("2026-01-05", 7, 2)
		if err := writer.Scores().DeleteDay(ctx, "rel_a", "usr_a", "2026-01-03"); err != nil {
			t.Fatal(err)
		}
		want("2026-01-05", 4, 2)
	})
}
