package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkReprepare shows why SQLite binds are cast (sqliteDialector,
// rebind): the same rollup lookup with a bare ? in its equality terms is
// prepared again on every execution, the cast one is not.
//
//	go test -run '^$' -bench Reprepare ./internal/store/
func BenchmarkReprepare(b *testing.B) {
	ctx := context.Background()
	db := benchPair(b)
	w, r := db.SQL()
	for d := range 365 {
		day := fmt.Sprintf("2026-%02d-%02d", 1+d/31%12, 1+d%28)
		if _, err := w.ExecContext(ctx, `INSERT OR IGNORE INTO score_days (`+scoreDayColumns+`) VALUES ('rel_a', 'usr_a', ?, 0,
			0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0)`, day); err != nil {
			b.Fatal(err)
		}
	}
	const q = `SELECT ` + scoreDayColumns + ` FROM score_days WHERE relationship_id = ? AND subject = ? AND day < ? ORDER BY day DESC LIMIT 1`
	args := []any{"rel_a", "usr_a", "2026-06-15"}
	for _, c := range []struct{ name, sql string }{
		{"bare", q},
		{"cast", rebind(SQLite, q, args)},
	} {
		b.Run(c.name, func(b *testing.B) {
			st, err := r.PrepareContext(ctx, c.sql)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			v := newValues(nScoreDayColumns)
			for b.Loop() {
				rows, err := st.QueryContext(ctx, args...)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					if _, err := scanDay(rows, v); err != nil {
						b.Fatal(err)
					}
				}
				rows.Close()
			}
		})
	}
}

func TestRebind(t *testing.T) {
	q := `SELECT x FROM t WHERE a = ? AND b IN (?, ?) AND c < ? AND d = ?`
	args := []any{"s", 1, int64(2), 1.5, nil}
	if got, want := rebind(Postgres, q, args), `SELECT x FROM t WHERE a = $1 AND b IN ($2, $3) AND c < $4 AND d = $5`; got != want {
		t.Errorf("postgres:\n got %s\nwant %s", got, want)
	}
	want := `SELECT x FROM t WHERE a = CAST(? AS TEXT) AND b IN (CAST(? AS INTEGER), CAST(? AS INTEGER)) AND c < CAST(? AS REAL) AND d = ?`
	if got := rebind(SQLite, q, args); got != want {
		t.Errorf("sqlite:\n got %s\nwant %s", got, want)
	}
}

// BenchmarkHotReads measures the statements in front of a score read, one
// by one, on a relationship of two members:
//
//	go test -run '^$' -bench HotReads -benchmem ./internal/store/
func BenchmarkHotReads(b *testing.B) {
	ctx := context.Background()
	db := benchPair(b)
	b.Run("relationship", func(b *testing.B) {
		rels := db.Relationships()
		for b.Loop() {
			if rel, err := rels.Get(ctx, "rel_a"); err != nil || len(rel.Members) != 2 {
				b.Fatal(rel, err)
			}
		}
	})
	b.Run("active", func(b *testing.B) {
		accts := db.Accounts()
		for b.Loop() {
			if ok, err := accts.Active(ctx, "usr_a"); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("latest", func(b *testing.B) {
		scores := db.Scores()
		for b.Loop() {
			if _, _, _, err := scores.Latest(ctx, "rel_a", "usr_a", "2026-06-15", time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchPair opens a temporary database holding rel_a, a relationship of
// usr_a and usr_b.
func benchPair(b *testing.B) *DB {
	b.Helper()
	db := openTemp(b)
	w, _ := db.SQL()
	for _, q := range []string{
		`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at) VALUES ('usr_a', 'a@x', 'a@x', 'A', 'UTC', 'h', 0, 0)`,
		`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at) VALUES ('usr_b', 'b@x', 'b@x', 'B', 'UTC', 'h', 0, 0)`,
		`INSERT INTO relationships (id, name, time_zone, half_life_days, grace_minutes, dispute_window_hours, remind_minutes, target_score, patience_days, status, created_by, created_at, updated_at) VALUES ('rel_a', 'R', 'UTC', 30, 60, 72, 0, 80, 90, 'active', 'usr_a', 0, 0)`,
		`INSERT INTO relationship_members (relationship_id, user_id, role, joined_at) VALUES ('rel_a', 'usr_a', 'owner', 1), ('rel_a', 'usr_b', 'member', 2)`,
	} {
		if _, err := w.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	return db
}
