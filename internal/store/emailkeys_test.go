package store

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/idempotency"

	"github.com/troth-app/troth/internal/store/storetest"
)

// Migration 0016 writes every email key as account.EmailKey makes it,
// except where another account holds that key already.
func TestEmailKeysNormalized(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
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
		runStep(t, db, "email_keys_normalized")
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

// Migration 0017 keeps an Idempotency-Key record made before it as the
// key's digest with the answer sealed by the key, so that a retry after
// the upgrade replays it; a record kept as a digest already is left alone.
func TestIdempotencySealedMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := openMigrated(t, b, Options{})
		w, _ := db.SQL()
		digest := idempotency.Digest("k-new")
		now := strconv.FormatInt(time.Now().UnixMicro(), 10) // kept within the TTL
		for _, q := range []string{
			`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at) VALUES ('usr_a', 'a@x', 'a@x', 'A', 'UTC', 'h', 1, 1)`,
			`INSERT INTO idempotency_keys (user_id, idem_key, request_hash, status, response_status, response_headers, response_body, created_at, locked_at)
				VALUES ('usr_a', 'k-old', 'h', 'complete', 201, '{}', '{"secret":"troth_sk_x"}', ` + now + `, ` + now + `),
				('usr_a', 'k-flight', 'h', 'in_flight', NULL, NULL, NULL, ` + now + `, ` + now + `),
				('usr_a', '` + digest + `', 'h', 'complete', 201, '{}', 'sealed already', ` + now + `, ` + now + `)`,
		} {
			if _, err := w.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		runStep(t, db, "idempotency_sealed")
		rec, found, err := db.Idempotency().Begin(ctx, idempotency.Record{UserID: "usr_a", Key: idempotency.Digest("k-old"),
			RequestHash: []byte("x"), Status: idempotency.StatusInFlight, CreatedAt: time.Now(), LockedAt: time.Now()})
		if err != nil || found || rec == nil {
			t.Fatalf("the old record under its digest: %+v started %v, %v", rec, found, err)
		}
		body, err := idempotency.Open("usr_a", "k-old", rec.Response.Body)
		if err != nil || string(body) != `{"secret":"troth_sk_x"}` {
			t.Errorf("opened %q, %v", body, err)
		}
		var n int
		if err := w.QueryRow(`SELECT COUNT(*) FROM idempotency_keys WHERE idem_key IN ('k-old', 'k-flight')`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d records still under their raw key (%v)", n, err)
		}
		var kept []byte
		if err := w.QueryRow(`SELECT response_body FROM idempotency_keys WHERE idem_key = '` + digest + `'`).Scan(&kept); err != nil || string(kept) != "sealed already" {
			t.Errorf("a digest's record: %q, %v", kept, err)
		}
	})
}

// runStep runs a migration's Go step in a transaction of its own, as
// Migrate does after the migration's SQL.
func runStep(t *testing.T, db *DB, name string) {
	t.Helper()
	ctx := context.Background()
	w, _ := db.SQL()
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrationSteps[name](ctx, db, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
