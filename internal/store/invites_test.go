package store

import (
	"context"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/store/storetest"
)

// Migration 0018 gives the invites made before it an id each, in the
// order they were made, so that members can list and revoke them; on
// PostgreSQL the column then refuses NULL.
func TestInviteIDsMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		db := openMigrated(t, b, Options{})
		w, _ := db.SQL()
		seedUserAndRelationship(t, w)
		if b.Name == "postgres" { // as the column was before the step
			if _, err := w.Exec(`ALTER TABLE invites ALTER COLUMN id DROP NOT NULL`); err != nil {
				t.Fatal(err)
			}
		}
		exp := time.Now().Add(time.Hour).UnixMicro()
		// Made in the order c, a, b; b is used already.
		for _, r := range []struct {
			hash      string
			createdAt int64
			usedAt    *int64
		}{{"a", 20, nil}, {"b", 30, new(int64(31))}, {"c", 10, nil}} {
			var usedBy *string
			if r.usedAt != nil {
				usedBy = new("usr_a")
			}
			if _, err := w.Exec(`INSERT INTO invites (relationship_id, code_hash, created_by, created_at, expires_at, used_at, used_by)
				VALUES ('rel_a', $1, 'usr_a', $2, $3, $4, $5)`, []byte(r.hash), r.createdAt, exp, r.usedAt, usedBy); err != nil {
				t.Fatal(err)
			}
		}
		runStep(t, db, "invite_ids")

		ids := map[string]string{}
		rows, err := w.Query(`SELECT code_hash, id FROM invites`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var hash []byte
			var inv string
			if err := rows.Scan(&hash, &inv); err != nil {
				t.Fatal(err)
			}
			if !id.Valid(inv, id.Invite) {
				t.Errorf("invite %s: id %q", hash, inv)
			}
			ids[string(hash)] = inv
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if !(ids["c"] < ids["a"] && ids["a"] < ids["b"]) {
			t.Errorf("ids %v are not in the order the invites were made", ids)
		}
		if fresh := id.New(id.Invite); fresh <= ids["b"] {
			t.Errorf("a new invite's id %s sorts before the old ones %v", fresh, ids)
		}

		rels := db.Relationships()
		pending, err := rels.PendingInvites(ctx, "rel_a", time.Now(), page.Request{Limit: 10})
		if err != nil || len(pending) != 2 || pending[0].ID != ids["c"] || pending[1].ID != ids["a"] {
			t.Fatalf("pending %+v, %v; want c then a of %v", pending, err, ids)
		}
		if err := rels.RevokeInvite(ctx, "rel_a", ids["c"], time.Now()); err != nil {
			t.Fatalf("revoke an invite made before: %v", err)
		}
		if used, err := rels.UseInvite(ctx, []byte("c"), "usr_a", time.Now()); used || err != nil {
			t.Errorf("a revoked invite was used: %v, %v", used, err)
		}

		if b.Name == "postgres" {
			if _, err := w.Exec(`INSERT INTO invites (relationship_id, code_hash, created_by, created_at, expires_at) VALUES ('rel_a', $1, 'usr_a', 40, $2)`,
				[]byte("d"), exp); err == nil {
				t.Error("an invite without an id was written")
			}
		}
	})
}
