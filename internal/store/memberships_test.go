package store

import (
	"testing"
	"time"

	"github.com/troth-app/troth/internal/store/storetest"
)

// Migration 0020 recovers, from the member.left events still kept, the
// periods of membership that a rejoin wrote over before past_memberships
// kept them; a member.left that ends the period relationship_members holds
// now is not one of them.
func TestMembershipPeriodsMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		db := openMigrated(t, b, Options{})
		w, _ := db.SQL()
		seedUserAndRelationship(t, w)
		at := func(us int64) string { return time.UnixMicro(us).UTC().Format(time.RFC3339Nano) }
		for _, q := range []string{
			`INSERT INTO users (id, email, email_key, display_name, time_zone, password_hash, created_at, updated_at) VALUES
				('usr_b', 'b@x', 'b@x', 'B', 'UTC', 'h', 0, 0), ('usr_c', 'c@x', 'c@x', 'C', 'UTC', 'h', 0, 0)`,
			// Ben joined at 100, left at 200 and is back since 300; Cleo
			// joined at 100 and left at 200 for good.
			`INSERT INTO relationship_members (relationship_id, user_id, role, joined_at, left_at) VALUES
				('rel_a', 'usr_a', 'owner', 0, NULL), ('rel_a', 'usr_b', 'member', 300, NULL), ('rel_a', 'usr_c', 'member', 100, 200)`,
			`INSERT INTO events (id, type, relationship_id, actor_id, data, created_at) VALUES
				('evt_1', 'member.left', 'rel_a', 'usr_b', '{"user_id":"usr_b","display_name":"B","role":"member","joined_at":"` + at(100) + `","relationship_id":"rel_a"}', 200),
				('evt_2', 'member.left', 'rel_a', 'usr_c', '{"user_id":"usr_c","display_name":"C","role":"member","joined_at":"` + at(100) + `","relationship_id":"rel_a"}', 200),
				('evt_3', 'member.left', 'rel_a', 'usr_b', '{"not":"a member"}', 250),
				('evt_4', 'member.joined', 'rel_a', 'usr_b', '{"user_id":"usr_b","joined_at":"` + at(50) + `"}', 300)`,
		} {
			if _, err := w.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		runStep(t, db, "membership_periods")
		runStep(t, db, "membership_periods") // again: nothing twice

		rows, err := w.Query(`SELECT user_id, joined_at, left_at FROM past_memberships ORDER BY user_id, joined_at`)
		if err != nil {
			t.Fatal(err)
		}
		type period struct {
			user         string
			joined, left int64
		}
		var got []period
		for rows.Next() {
			var p period
			if err := rows.Scan(&p.user, &p.joined, &p.left); err != nil {
				t.Fatal(err)
			}
			got = append(got, p)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if want := []period{{"usr_b", 100, 200}}; len(got) != 1 || got[0] != want[0] {
			t.Errorf("past memberships %v, want %v", got, want)
		}
	})
}
