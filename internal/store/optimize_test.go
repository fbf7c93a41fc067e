package store

import (
	"context"
	"strings"
	"testing"

	"github.com/troth-app/troth/internal/store/storetest"
)

// Statistics gathered while a table was tiny make SQLite scan it where
// a key would do: the dispatcher's next events, found by a range of seq,
// walked the whole events table. Optimize (run by the scheduler) gathers
// them again once the table has grown, and the readers plan with them.
func TestOptimizeFollowsGrowth(t *testing.T) {
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{SQLiteReaders: 1})
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if _, err := db.sqlW.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const next = `SELECT seq FROM events WHERE seq > ? ORDER BY seq LIMIT 200`
	exec(`INSERT INTO events (id, type, actor_id, data, created_at) VALUES ('e1', 't', 'a', '{}', 0), ('e2', 't', 'a', '{}', 0)`)
	if err := db.Optimize(ctx); err != nil {
		t.Fatal(err)
	}
	// Twice: the reader that plans the second time has these statistics
	// and goes back to the pool.
	for range 2 {
		if plan := queryPlan(t, db, next, 1); plan != "SCAN events" {
			// Not a failure of troth's, but the premise of this test:
			// SQLite plans differently now, and the test should say so.
			t.Fatalf("with two events analyzed, the plan is %q; the test expects the scan it guards against", plan)
		}
	}
	exec(`WITH RECURSIVE s(x) AS (SELECT 3 UNION ALL SELECT x + 1 FROM s WHERE x < 5000)
		INSERT INTO events (id, type, actor_id, data, created_at) SELECT 'e' || x, 't', 'a', '{}', 0 FROM s`)
	if err := db.Optimize(ctx); err != nil {
		t.Fatal(err)
	}
	if plan := queryPlan(t, db, next, 1); !strings.Contains(plan, "USING INTEGER PRIMARY KEY") {
		t.Fatalf("after the events grew and Optimize ran, the plan is %q", plan)
	}
}
