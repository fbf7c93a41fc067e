package store

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// Retiring the readers while every one of them is busy fails no read:
// a request waiting for a reader gets one, old or new, never an error.
func TestRetiringReadersFailsNoRead(t *testing.T) {
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{SQLiteReaders: 2})
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				var n int
				if err := db.queryRow(ctx, db.r, `WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 500)
					SELECT COUNT(*) FROM s`, nil, &n); err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	retired := 0
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); retired++ {
		time.Sleep(time.Millisecond)
		db.statisticsChanged()
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a read failed while readers were retired: %v", err)
	}
	if reads.Load() == 0 || retired == 0 {
		t.Fatalf("%d reads, %d retirements: the test proved nothing", reads.Load(), retired)
	}
}
