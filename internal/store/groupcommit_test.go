package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/store/storetest"
)

// openTemp opens a fresh, migrated SQLite database for one test.
func openTemp(tb testing.TB) *DB {
	tb.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(tb.TempDir(), "troth.db"), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

// Concurrent writes share batches: each one's work commits or rolls back
// on its own (an error or a panic undoes only that request's rows), and a
// request returns only once its rows are committed.
//
// A request may also run a statement that fails and go on (case 5): on
// PostgreSQL that leaves the transaction refusing every other statement,
// so the request fails, alone; on SQLite it commits.
func TestGroupCommitIsolatesRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) { groupCommitIsolates(t, b) })
}

// openBackend opens b's database, not migrated, for one test.
func openBackend(t *testing.T, b storetest.Backend, opt Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), b.DSN, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openMigrated opens b's database, migrated, for one test.
func openMigrated(t *testing.T, b storetest.Backend, opt Options) *DB {
	t.Helper()
	db := openBackend(t, b, opt)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// seedUserAndRelationship writes user usr_a and relationship rel_a (UTC,
// half-life 30 days), created by usr_a, with no member.
func seedUserAndRelationship(t *testing.T, w *sql.DB) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at) VALUES ('usr_a', 'a@x', 'a@x', 'A', 'UTC', 'h', 0, 0)`,
		`INSERT INTO relationships (id, name, time_zone, half_life_days, grace_minutes, dispute_window_hours, remind_minutes, target_score, patience_days, status, created_by, created_at, updated_at) VALUES ('rel_a', 'R', 'UTC', 30, 60, 72, 0, 80, 90, 'active', 'usr_a', 0, 0)`,
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func groupCommitIsolates(t *testing.T, b storetest.Backend) {
	ctx := context.Background()
	db := openBackend(t, b, Options{})
	w, r := db.SQL()
	if _, err := w.ExecContext(ctx, `CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	const writers = 200
	var wg sync.WaitGroup
	results := make([]error, writers)
	panics := make([]any, writers)
	for i := range writers {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			results[i] = db.inTx(ctx, func(tx *gorm.DB) error {
				// Two rows a request, so that a rollback must undo both.
				for _, k := range []string{fmt.Sprint("a", i), fmt.Sprint("b", i)} {
					if err := tx.Exec(`INSERT INTO t (k, n) VALUES (?, ?)`, k, i).Error; err != nil {
						return err
					}
				}
				switch i % 10 {
				case 3:
					return errBoom
				case 5:
					_ = tx.Exec(`INSERT INTO t (k, n) VALUES (?, ?)`, fmt.Sprint("a", i), i).Error // a duplicate key
				case 7:
					panic(fmt.Sprint("panic ", i))
				}
				return nil
			})
			// Acknowledged: a reader sees both rows now; failed: none.
			var n int
			if err := r.QueryRowContext(ctx, reboundSQL(db.dialect, `SELECT COUNT(*) FROM t WHERE n = ?`, []any{i}), i).Scan(&n); err != nil {
				results[i] = err
			} else if want := map[bool]int{true: 2, false: 0}[results[i] == nil]; n != want {
				results[i] = fmt.Errorf("returned %v, but a reader sees %d rows", results[i], n)
			}
		})
	}
	wg.Wait()
	for i := range writers {
		switch i % 10 {
		case 3:
			if !errors.Is(results[i], errBoom) {
				t.Errorf("request %d: %v, want its own error", i, results[i])
			}
		case 7:
			if panics[i] != fmt.Sprint("panic ", i) {
				t.Errorf("request %d: panic %v, want its own", i, panics[i])
			}
		case 5:
			if (results[i] == nil) != (db.dialect == SQLite) || panics[i] != nil {
				t.Errorf("request %d on %s: %v / %v", i, b.Name, results[i], panics[i])
			}
		default:
			if results[i] != nil || panics[i] != nil {
				t.Errorf("request %d: %v / %v", i, results[i], panics[i])
			}
		}
	}
	var n int
	if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	want := 2 * writers * 7 / 10
	if db.dialect == SQLite {
		want += 2 * writers / 10
	}
	if n != want {
		t.Errorf("%d rows committed, want %d (the failed requests' rows rolled back, every other kept)", n, want)
	}
}

// A request whose context is cancelled before its turn writes nothing.
func TestGroupCommitSkipsCancelled(t *testing.T) {
	db := openTemp(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := db.inTx(cancelled, func(tx *gorm.DB) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("cancelled request: err %v, ran %v", err, ran)
	}
}

// A request whose context is cancelled while its statement runs (its
// client went away) does not take the batch down with it: the other
// requests of the batch commit. On PostgreSQL a cancelled statement ends
// the connection, so the batch's statements must not pass it on.
func TestGroupCommitOutlivesACancelledRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db, r := withTableT(t, b)
		slow := `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT COUNT(*) FROM c`
		if db.dialect == Postgres {
			slow = `SELECT pg_sleep(0.3)`
		}
		// A first request holds the writer while the others queue, so that
		// they share the next batch.
		var wg sync.WaitGroup
		release := holdWriter(&wg, db, func(*gorm.DB) error { return nil })
		results := make([]error, 5)
		for i := range results {
			wg.Go(func() {
				results[i] = db.inTx(ctx, func(tx *gorm.DB) error {
					if i == 2 {
						cctx, cancel := context.WithCancel(ctx)
						time.AfterFunc(50*time.Millisecond, cancel)
						return db.execSQL(cctx, tx, slow)
					}
					return db.execSQL(ctx, tx, `INSERT INTO t (k) VALUES (?)`, fmt.Sprint("k", i))
				})
			})
		}
		time.Sleep(100 * time.Millisecond) // all five queued
		release()
		wg.Wait()
		for i, err := range results {
			if i != 2 && err != nil {
				t.Errorf("request %d failed with the cancelled one: %v", i, err)
			}
		}
		var n int
		if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 4 {
			t.Fatalf("%d rows committed (%v), want 4", n, err)
		}
	})
}

// On SQLite a batch's reads start no goroutine: the batch runs on the
// writer's connection rather than as a *sql.Tx, for which database/sql
// watches every query's rows on a goroutine of their own (a transaction's
// context can always be cancelled), in the serial path of every write.
func TestSQLiteBatchReadsStartNoGoroutine(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		q := db.querierFor(tx)
		for range 2 { // the first read's helpers, if any, exist from then on
			before := runtime.NumGoroutine()
			rows, err := q.query(ctx, `SELECT 1`)
			if err != nil {
				return err
			}
			during := runtime.NumGoroutine()
			if err := rows.Close(); err != nil {
				return err
			}
			if during != before {
				return fmt.Errorf("goroutines: %d while the rows were open, %d before", during, before)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Work that hands its transaction to River (inSQLTx) gets a *sql.Tx, also
// when it shares a batch with work that runs on the writer's connection;
// both commit, and a failed request of such a batch is undone alone.
func TestGroupCommitGivesRiverASQLTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db, r := withTableT(t, b)
		insert := func(tx *gorm.DB, k string) error {
			return db.execSQL(ctx, tx, `INSERT INTO t (k) VALUES (?)`, k)
		}
		var wg sync.WaitGroup
		release := holdWriter(&wg, db, func(tx *gorm.DB) error { return insert(tx, "first") })
		var plain, river, failed error
		wg.Go(func() { plain = db.inTx(ctx, func(tx *gorm.DB) error { return insert(tx, "plain") }) })
		wg.Go(func() {
			river = db.inSQLTx(ctx, func(tx *gorm.DB) error {
				if _, err := sqlTx(tx); err != nil {
					return err
				}
				return insert(tx, "river")
			})
		})
		wg.Go(func() {
			failed = db.inTx(ctx, func(tx *gorm.DB) error {
				if err := insert(tx, "undone"); err != nil {
					return err
				}
				return errors.New("undo me")
			})
		})
		for queued := 0; queued < 3; time.Sleep(time.Millisecond) {
			db.batches.mu.Lock()
			queued = len(db.batches.queue)
			db.batches.mu.Unlock()
		}
		release()
		wg.Wait()
		if plain != nil || river != nil || failed == nil {
			t.Fatalf("plain: %v, river: %v, failed: %v", plain, river, failed)
		}
		var keys []string
		rows, err := r.QueryContext(ctx, `SELECT k FROM t ORDER BY k`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		if got := strings.Join(keys, ","); got != "first,plain,river" {
			t.Fatalf("committed %s, want first,plain,river", got)
		}
	})
}

// withTableT opens a database of backend b with a table t (k TEXT PRIMARY
// KEY), and returns it and its readers.
func withTableT(t *testing.T, b storetest.Backend) (*DB, *sql.DB) {
	t.Helper()
	db := openBackend(t, b, Options{})
	w, r := db.SQL()
	if _, err := w.ExecContext(context.Background(), `CREATE TABLE t (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return db, r
}

// holdWriter starts a request that holds the writer until release is
// called and then runs work, so that the requests queued meanwhile share
// the next batch.
func holdWriter(wg *sync.WaitGroup, db *DB, work func(tx *gorm.DB) error) (release func()) {
	holding, released := make(chan struct{}), make(chan struct{})
	wg.Go(func() {
		_ = db.inTx(context.Background(), func(tx *gorm.DB) error {
			close(holding)
			<-released
			return work(tx)
		})
	})
	<-holding
	return func() { close(released) }
}
