package store

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/store/storetest"
)

// A read on SQLite whose context can be cancelled starts no goroutine.
// database/sql starts one a query to watch such a context (Rows.awaitDone);
// a timeline runs seven statements, and under load those goroutines, queued
// ahead of the connections the network had readied, kept requests waiting
// to be scheduled (docs/performance.md).
func TestSQLiteReadsStartNoGoroutine(t *testing.T) {
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := db.querierFor(db.r)
	read := func() func() {
		t.Helper()
		rows, err := q.query(ctx, `SELECT 1`)
		if err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	read()() // the pool's connection and its helpers exist from here on
	before := runtime.NumGoroutine()
	done := read()
	during := runtime.NumGoroutine()
	done()
	if during != before {
		t.Fatalf("goroutines: %d while the rows were open, %d before", during, before)
	}
	cancel() // a read whose request has ended does not start
	if _, err := q.query(ctx, `SELECT 1`); !errors.Is(err, context.Canceled) {
		t.Fatalf("a read with an ended context: %v", err)
	}
}

// The latest breach is a step along an index: no scan of the table, no
// sort (migration 0014). Without id in the index, every timeline sorted
// the member's breaches; without a relationship-and-time index, a timeline
// that names no member scanned every relationship's breaches.
func TestLatestBreachWalksAnIndex(t *testing.T) {
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{})
	for _, c := range []struct {
		q    string
		args []any
	}{
		{latestBreachSQL, []any{"rel_a", int64(1)}},
		{latestMemberBreachSQL, []any{"rel_a", int64(1), "usr_a"}},
	} {
		got := queryPlan(t, db, c.q, c.args...)
		if !strings.Contains(got, "USING COVERING INDEX breaches_") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("%s\nplan: %s", c.q, got)
		}
	}
}

// The proposals of a promise still pending are found through the partial
// index of migration 0015, not by walking the relationship's.
func TestPendingRenegotiationsUseTheirIndex(t *testing.T) {
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{})
	q := db.r.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var rows []renegotiationRow
		return pendingOf(tx, "rel_a", "prm_a", &rows)
	})
	if got := queryPlan(t, db, q); !strings.Contains(got, "USING INDEX renegotiations_pending") {
		t.Errorf("%s\nplan: %s", q, got)
	}
}

// queryPlan is SQLite's plan for q, its steps joined by "; ".
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	var plan []string
	err := scanAll(context.Background(), db.querierFor(db.r), func(rows *sql.Rows) error {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return err
		}
		plan = append(plan, detail)
		return nil
	}, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}
