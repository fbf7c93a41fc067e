package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/store/storetest"
	"gorm.io/gorm"
)

// Once an account's erasure has committed, no check calls it active,
// though checks race with the erasure and remember what they read.
func TestActiveAfterErasure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := openMigrated(t, b, Options{})
		w, _ := db.SQL()
		const users = 100
		for i := range users {
			if _, err := w.Exec(fmt.Sprintf(`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at)
				VALUES ('usr_%03d', '%d@x', '%d@x', 'U', 'UTC', 'h', 0, 0)`, i, i, i)); err != nil {
				t.Fatal(err)
			}
		}
		accounts := db.Accounts()
		erase := func(id string) {
			t.Helper()
			err := accounts.InTx(ctx, func(tx account.Store) error {
				u, err := tx.UserByID(ctx, id)
				if err != nil {
					return err
				}
				now := time.Now()
				u.DeletedAt = &now
				return tx.EraseUser(ctx, u)
			})
			if err != nil {
				t.Fatal(err)
			}
		}

		// A check that read the account before its erasure committed, and
		// would remember it after: it must not.
		read, erased := make(chan struct{}), make(chan struct{})
		afterActiveRead = func(id string) {
			if id == "usr_000" {
				close(read)
				<-erased
			}
		}
		t.Cleanup(func() { afterActiveRead = nil })
		var racing sync.WaitGroup
		racing.Go(func() {
			if ok, err := accounts.Active(ctx, "usr_000"); err != nil || !ok {
				t.Errorf("the check before the erasure: %v %v", ok, err)
			}
		})
		<-read
		erase("usr_000")
		close(erased)
		racing.Wait()
		for range 100 {
			if ok, err := accounts.Active(ctx, "usr_000"); err != nil || ok {
				t.Fatalf("after a racing check: active %v (%v)", ok, err)
			}
		}
		afterActiveRead = nil

		for i := 1; i < users; i++ {
			id := fmt.Sprintf("usr_%03d", i)
			if ok, err := accounts.Active(ctx, id); err != nil || !ok {
				t.Fatalf("%s before: %v %v", id, ok, err)
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for !stop.Load() {
						if _, err := accounts.Active(ctx, id); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			erase(id)
			for range 20 {
				if ok, err := accounts.Active(ctx, id); err != nil || ok {
					t.Fatalf("%s while checks race: active %v (%v)", id, ok, err)
				}
			}
			stop.Store(true)
			wg.Wait()
			if ok, err := accounts.Active(ctx, id); err != nil || ok {
				t.Fatalf("%s after: active %v (%v)", id, ok, err)
			}
		}
	})
}

// A relationship kept in memory for scores is read again once a write to
// the relationships or their members has ended, whichever way it ended.
func TestScoresRelationshipSeesEveryChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := openMigrated(t, b, Options{})
		w, _ := db.SQL()
		exec := func(q string) {
			t.Helper()
			if _, err := w.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		seedUserAndRelationship(t, w)
		exec(`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at) VALUES ('usr_b', 'b@x', 'b@x', 'B', 'UTC', 'h', 0, 0)`)
		exec(`INSERT INTO relationship_members (relationship_id, user_id, role, joined_at) VALUES ('rel_a', 'usr_a', 'owner', 1)`)
		scores := db.Scores()
		want := func(halfLife int, members ...string) {
			t.Helper()
			for range 3 { // read, then kept
				rel, err := scores.Relationship(ctx, "rel_a")
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, m := range rel.Members {
					got = append(got, m.UserID)
				}
				if rel.Settings.HalfLifeDays != halfLife || !slices.Equal(got, members) {
					t.Fatalf("half-life %d, members %v; want %d, %v", rel.Settings.HalfLifeDays, got, halfLife, members)
				}
			}
		}
		inTx := func(fn func(tx *gorm.DB) error) error { return db.inTx(ctx, fn) }

		want(30, "usr_a")
		exec(`UPDATE relationships SET half_life_days = 7 WHERE id = 'rel_a'`) // one statement, on its own
		want(7, "usr_a")
		if err := inTx(func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO relationship_members (relationship_id, user_id, role, joined_at) VALUES ('rel_a', 'usr_b', 'member', 2)`).Error
		}); err != nil {
			t.Fatal(err)
		}
		want(7, "usr_a", "usr_b")
		errUndo := errors.New("undo")
		if err := inTx(func(tx *gorm.DB) error {
			if err := tx.Exec(`UPDATE relationship_members SET left_at = 3 WHERE user_id = 'usr_b'`).Error; err != nil {
				return err
			}
			return errUndo
		}); !errors.Is(err, errUndo) {
			t.Fatal(err)
		}
		want(7, "usr_a", "usr_b")
		if err := inTx(func(tx *gorm.DB) error {
			return tx.Exec(`UPDATE relationship_members SET left_at = 3 WHERE user_id = 'usr_b'`).Error
		}); err != nil {
			t.Fatal(err)
		}
		want(7, "usr_a")

		// A read from before a change committed, kept after: it must not be.
		if db.rels != nil { // nothing is kept on PostgreSQL
			read, changed := make(chan struct{}), make(chan struct{})
			afterRelationshipRead = func(string) {
				close(read)
				<-changed
			}
			t.Cleanup(func() { afterRelationshipRead = nil })
			exec(`UPDATE relationships SET half_life_days = 8 WHERE id = 'rel_a'`) // the kept copy goes
			var racing sync.WaitGroup
			racing.Go(func() {
				if _, err := scores.Relationship(ctx, "rel_a"); err != nil {
					t.Error(err)
				}
			})
			<-read
			afterRelationshipRead = nil
			exec(`UPDATE relationships SET half_life_days = 9 WHERE id = 'rel_a'`)
			close(changed)
			racing.Wait()
			want(9, "usr_a")
		}

		// Readers racing a writer: once a change has committed, every read
		// that starts after it sees it.
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for !stop.Load() {
					if _, err := scores.Relationship(ctx, "rel_a"); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for i := 1; i <= 50; i++ {
			if err := inTx(func(tx *gorm.DB) error {
				return tx.Exec(`UPDATE relationships SET half_life_days = ? WHERE id = 'rel_a'`, i).Error
			}); err != nil {
				t.Fatal(err)
			}
			rel, err := scores.Relationship(ctx, "rel_a")
			if err != nil || rel.Settings.HalfLifeDays != i {
				t.Fatalf("after setting %d: %d (%v)", i, rel.Settings.HalfLifeDays, err)
			}
		}
		stop.Store(true)
		wg.Wait()
	})
}

// A write through QueryContext (RETURNING) commits when its rows close,
// though SQLite calls the connection in autocommit mode before: another
// call on the connection meanwhile must not settle the tables.
func TestScoresRelationshipAfterAReturningWrite(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{})
	w, _ := db.SQL()
	seedUserAndRelationship(t, w)
	halfLife := func() int {
		t.Helper()
		rel, err := db.Scores().Relationship(ctx, "rel_a")
		if err != nil {
			t.Fatal(err)
		}
		return rel.Settings.HalfLifeDays
	}
	halfLife()
	conn, err := w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `UPDATE relationships SET half_life_days = 5 WHERE id = 'rel_a' RETURNING id`)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	if _, err := conn.ExecContext(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	if got := halfLife(); got != 30 { // not committed yet
		t.Fatalf("before the rows close: %d", got)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if got := halfLife(); got != 5 {
		t.Fatalf("after the write committed: half-life %d, want 5", got)
	}
}

// Opened twice in one process, a file's writes through one DB are seen
// through the other: nothing is kept in memory then.
func TestTwoOpensOfOneFileKeepNothing(t *testing.T) {
	ctx := context.Background()
	path := storetest.SQLite(t)
	first := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: path}, Options{})
	w, _ := first.SQL()
	seedUserAndRelationship(t, w)
	halfLife := func(db *DB) int {
		t.Helper()
		rel, err := db.Scores().Relationship(ctx, "rel_a")
		if err != nil {
			t.Fatal(err)
		}
		return rel.Settings.HalfLifeDays
	}
	active := func(db *DB) bool {
		t.Helper()
		ok, err := db.Accounts().Active(ctx, "usr_a")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	halfLife(first)
	active(first)
	second := openBackend(t, storetest.Backend{Name: "sqlite", DSN: path}, Options{})
	w2, _ := second.SQL()
	if _, err := w2.Exec(`UPDATE relationships SET half_life_days = 12 WHERE id = 'rel_a'`); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Exec(`UPDATE users SET deleted_at = 1 WHERE id = 'usr_a'`); err != nil {
		t.Fatal(err)
	}
	if got := halfLife(first); got != 12 {
		t.Fatalf("half-life through the first DB: %d, want 12", got)
	}
	if active(first) {
		t.Fatal("an account erased through the second DB is active through the first")
	}
}

// Inside the writer's transaction, promises and scores read a
// relationship from the copy kept only while that transaction has changed
// none of its tables; after its own change, from the database, and so
// they see it.
func TestPromisesRelationshipInTheWritersTransaction(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{})
	w, _ := db.SQL()
	seedUserAndRelationship(t, w)
	if _, err := w.Exec(`INSERT INTO relationship_members (relationship_id, user_id, role, joined_at) VALUES ('rel_a', 'usr_a', 'owner', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Scores().Relationship(ctx, "rel_a"); err != nil { // kept
		t.Fatal(err)
	}
	type reader interface {
		Relationship(ctx context.Context, relID string) (relationship.Relationship, error)
	}
	halfLife := func(p reader) int {
		t.Helper()
		rel, err := p.Relationship(ctx, "rel_a")
		if err != nil {
			t.Fatal(err)
		}
		return rel.Settings.HalfLifeDays
	}
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		readers := []reader{&Promises{db: db, w: tx, r: tx}, db.Scores().inTx(tx)}
		for _, p := range readers {
			if got := halfLife(p); got != 30 {
				t.Errorf("%T before the change: %d", p, got)
			}
		}
		if err := tx.Exec(`UPDATE relationships SET half_life_days = 12 WHERE id = 'rel_a'`).Error; err != nil {
			return err
		}
		for _, p := range readers {
			if got := halfLife(p); got != 12 {
				t.Errorf("%T after its own change, inside the transaction: %d, want 12", p, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := halfLife(db.Promises()); got != 12 {
		t.Fatalf("after the commit: %d", got)
	}
}
