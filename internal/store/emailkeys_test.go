package store

import (
	"context"
	"testing"

	"github.com/troth-app/troth/internal/store/storetest"
)

// Migration 0016 writes every email key as account.EmailKey makes it,
// except where another account holds that key already.
func TestEmailKeysNormalized(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := openMigrated(t, b, Options{})
		w, _ := db.SQL()
		// As keys were made before: the address in lower case.
		if _, err := w.Exec(`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at) VALUES
			('usr_a', 'A` + "\u0308" + `nne@x.de', 'a` + "\u0308" + `nne@x.de', 'A', 'UTC', 'h', 1, 1),
			('usr_b', 'bob@XN--MNCHEN-3YA.de', 'bob@xn--mnchen-3ya.de', 'B', 'UTC', 'h', 2, 2),
			('usr_c', '` + "\u00e4" + `nne@x.de', '` + "\u00e4" + `nne@x.de', 'C', 'UTC', 'h', 3, 3),
			('usr_d', 'dan@x.de', 'dan@x.de', 'D', 'UTC', 'h', 4, 4)`); err != nil {
			t.Fatal(err)
		}
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := migrationSteps["email_keys_normalized"](ctx, db, tx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{
			"usr_a": "a\u0308nne@x.de", // usr_c holds änne@x.de: kept as it was
			"usr_b": "bob@m\u00fcnchen.de",
			"usr_c": "\u00e4nne@x.de",
			"usr_d": "dan@x.de",
		} {
			var key string
			if err := w.QueryRow(`SELECT email_key FROM users WHERE id = '` + id + `'`).Scan(&key); err != nil || key != want {
				t.Errorf("%s: key %q (%v), want %q", id, key, err, want)
			}
		}
	})
}
