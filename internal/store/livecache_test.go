package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/store/storetest"
)

// Once an account's erasure has committed, no check calls it active,
// though checks race with the erasure and remember what they read.
func TestActiveAfterErasure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := openBackend(t, b, Options{})
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
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
