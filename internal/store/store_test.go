package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/store"
	"github.com/troth-app/troth/internal/store/storetest"
)

func open(t *testing.T, b storetest.Backend) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), b.DSN, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func newUser(email string) account.User {
	now := time.Now().UTC()
	return account.User{ID: id.New(id.User), Email: email, DisplayName: "X", TimeZone: "UTC", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
}

// Driver errors become the same fault codes on both engines.
func TestErrorTranslation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		s := open(t, b).Accounts()
		u := newUser("Zoe@example.com")
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		dup := newUser("zoe@EXAMPLE.com")
		err := s.CreateUser(ctx, dup)
		if fe, ok := fault.As(err); !ok || fe.Kind != fault.KindConflict || fe.Code != "already_exists" {
			t.Fatalf("unique violation: %v, want conflict already_exists", err)
		}
		_, err = s.UserByID(ctx, "usr_missing")
		if fe, ok := fault.As(err); !ok || fe.Kind != fault.KindNotFound || fe.Code != "not_found" {
			t.Fatalf("no rows: %v, want not_found", err)
		}
		if got, err := s.UserByEmailKey(ctx, "zoe@example.com"); err != nil || got.ID != u.ID || !got.CreatedAt.Equal(u.CreatedAt.Truncate(time.Microsecond)) {
			t.Fatalf("by email: %+v %v", got, err)
		}
	})
}

// A failed transaction leaves nothing behind.
func TestTransactionRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		s := open(t, b).Accounts()
		u := newUser("roll@example.com")
		err := s.InTx(ctx, func(tx account.Store) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			return fault.Conflict("boom", "forced")
		})
		if !fault.Is(err, "boom") {
			t.Fatalf("InTx returned %v", err)
		}
		if _, err := s.UserByID(ctx, u.ID); !fault.Is(err, "not_found") {
			t.Fatalf("user survived a rolled-back transaction: %v", err)
		}
	})
}

// Migrating twice applies nothing the second time; two instances migrating
// at once apply each migration once.
func TestMigrateIsIdempotentAndSafeConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		ms, err := store.Migrations(store.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		dbs := make([]*store.DB, 3)
		for i := range dbs {
			if dbs[i], err = store.Open(ctx, b.DSN, store.Options{}); err != nil {
				t.Fatal(err)
			}
			defer dbs[i].Close()
		}
		var wg sync.WaitGroup
		applied := make([][]int, len(dbs))
		errs := make([]error, len(dbs))
		for i, db := range dbs {
			wg.Go(func() { applied[i], errs[i] = db.Migrate(ctx) })
		}
		wg.Wait()
		total := 0
		for i := range dbs {
			if errs[i] != nil {
				t.Fatalf("instance %d: %v", i, errs[i])
			}
			total += len(applied[i])
		}
		if total != len(ms) {
			t.Fatalf("applied %d migrations in all, want %d", total, len(ms))
		}
		again, err := dbs[0].Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, %v", again, err)
		}
		if v, err := dbs[0].SchemaVersion(ctx); err != nil || v != len(ms) {
			t.Fatalf("schema version %d %v, want %d", v, err, len(ms))
		}
	})
}

// Both dialects carry the same migrations.
func TestDialectsHaveTheSameMigrations(t *testing.T) {
	a, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			t.Errorf("migration %d: %s vs %s", i+1, a[i].Name, b[i].Name)
		}
	}
}

// The SQLite connection settings are the durable ones.
func TestSQLitePragmas(t *testing.T) {
	db := open(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)})
	w, r := db.SQL()
	for name, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := w.QueryRow("PRAGMA " + name).Scan(&got); err != nil || got != want {
			t.Errorf("writer PRAGMA %s = %q (%v), want %q", name, got, err, want)
		}
	}
	if w.Stats().MaxOpenConnections != 1 {
		t.Errorf("writer pool allows %d connections, want 1", w.Stats().MaxOpenConnections)
	}
	if _, err := r.Exec("CREATE TABLE nope (x int)"); err == nil {
		t.Error("a reader connection could write")
	}
}
