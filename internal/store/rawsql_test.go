package store

import (
	"context"
	"runtime"
	"testing"

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
}
