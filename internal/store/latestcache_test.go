package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/store/storetest"
)

// What a score read starts from (Scores.Latest), kept in memory, is read
// again once a write to the rollups or the occurrences has ended; a read
// from before a write committed is not kept after it; and the open count
// moves when an open occurrence falls due, with no write at all.
func TestLatestSeesEveryChange(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{})
	if db.latest == nil {
		t.Fatal("no latest cache on SQLite held to itself")
	}
	w, _ := db.SQL()
	seedUserAndRelationship(t, w)
	scores := db.Scores()
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	put := func(a float64) {
		t.Helper()
		err := db.inTx(ctx, func(tx *gorm.DB) error {
			return scores.inTx(tx).PutDays(ctx, []scoring.Day{{RelationshipID: "rel_a", Subject: "usr_a", Day: "2026-03-01",
				End: day0.Add(24 * time.Hour), Own: score.Summary{Ref: day0.Add(24 * time.Hour)},
				Cum: score.Summary{Ref: day0.Add(24 * time.Hour), Sums: score.Sums{A: a, B: a}}}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(at time.Time, a float64, open int) {
		t.Helper()
		for range 3 { // read, then kept
			row, found, n, err := scores.Latest(ctx, "rel_a", "usr_a", "2026-03-05", at)
			if err != nil || !found || row.Cum.Sums.A != a || n != open {
				t.Fatalf("at %v: A %v, open %d (found %v, %v); want A %v, open %d", at, row.Cum.Sums.A, n, found, err, a, open)
			}
		}
	}
	noon := day0.Add(4*24*time.Hour + 12*time.Hour)
	put(1)
	want(noon, 1, 0)
	put(2)
	want(noon, 2, 0)

	// Two open occurrences, due at 13:00 and 15:00: the count moves as
	// each falls due, though nothing is written.
	for i, q := range []string{
		`INSERT INTO promises (id, relationship_id, promisor_id, title, details, kind, status, created_at, updated_at) VALUES ('prm_a', 'rel_a', 'usr_a', 't', '', 'one_off', 'active', 0, 0)`,
		`INSERT INTO occurrences (id, relationship_id, promise_id, promisor_id, due_at, original_due_at, status, created_at, updated_at) VALUES ('occ_a', 'rel_a', 'prm_a', 'usr_a', ?, ?, 'open', 0, 0)`,
		`INSERT INTO occurrences (id, relationship_id, promise_id, promisor_id, due_at, original_due_at, status, created_at, updated_at) VALUES ('occ_b', 'rel_a', 'prm_a', 'usr_a', ?, ?, 'open', 0, 0)`,
	} {
		due := micros(noon.Add(time.Duration(2*i-1) * time.Hour))
		args := []any{}
		if i > 0 {
			args = []any{due, due}
		}
		if _, err := w.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	want(noon, 2, 0)
	want(noon.Add(time.Hour), 2, 0) // due at 13:00: not before it
	want(noon.Add(time.Hour+time.Microsecond), 2, 1)
	want(noon.Add(3*time.Hour+time.Microsecond), 2, 2)
	want(noon, 2, 0) // an earlier instant is read for itself
	if _, err := w.Exec(`UPDATE occurrences SET status = 'resolved' WHERE id = 'occ_a'`); err != nil {
		t.Fatal(err)
	}
	want(noon.Add(3*time.Hour+time.Microsecond), 2, 1)

	// A read from before a change committed, kept after: it must not be.
	read, changed := make(chan struct{}), make(chan struct{})
	afterLatestRead = func() {
		afterLatestRead = nil
		close(read)
		<-changed
	}
	t.Cleanup(func() { afterLatestRead = nil })
	put(3) // what was kept goes
	var racing sync.WaitGroup
	racing.Go(func() {
		if _, _, _, err := scores.Latest(ctx, "rel_a", "usr_a", "2026-03-05", noon); err != nil {
			t.Error(err)
		}
	})
	<-read
	put(4)
	close(changed)
	racing.Wait()
	want(noon, 4, 0)

	// Readers racing a writer: once a change has committed, every read
	// that starts after it sees it.
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, _, _, err := scores.Latest(ctx, "rel_a", "usr_a", "2026-03-05", noon); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := 5; i <= 40; i++ {
		put(float64(i))
		want(noon, float64(i), 0)
	}
	stop.Store(true)
	wg.Wait()
}

// The projection's count of occurrences due in a sliding window, kept in
// memory, equals a fresh count at every instant: as occurrences enter the
// window at its end and leave it at its start, and after a write.
func TestDueCountSlides(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, Options{})
	if db.due == nil {
		t.Fatal("no due cache on SQLite held to itself")
	}
	w, _ := db.SQL()
	seedUserAndRelationship(t, w)
	if _, err := w.Exec(`INSERT INTO promises (id, relationship_id, promisor_id, title, details, kind, status, created_at, updated_at) VALUES ('prm_a', 'rel_a', 'usr_a', 't', '', 'recurring', 'active', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 60 {
		due := micros(start.Add(time.Duration(rng.Int64N(int64(60 * 24 * time.Hour)))))
		status := []string{"open", "resolved", "skipped"}[i%3]
		if _, err := w.Exec(`INSERT INTO occurrences (id, relationship_id, promise_id, promisor_id, due_at, original_due_at, status, created_at, updated_at)
			VALUES (?, 'rel_a', 'prm_a', 'usr_a', ?, ?, ?, 0, 0)`, fmt.Sprint("occ_", i), due, due, status); err != nil {
			t.Fatal(err)
		}
	}
	scores := db.Scores()
	window := 7 * 24 * time.Hour
	hits := 0
	ahead := false // the window before the instant, or (the projection's second count) after it
	check := func(at time.Time) {
		t.Helper()
		w := [2]time.Time{at.Add(-window), at}
		if ahead {
			w = [2]time.Time{at, at.Add(window)}
		}
		{
			to := micros(w[1])
			if _, _, ok := db.due.get(dueKey{"rel_a", "usr_a", to - micros(w[0])}, func(e dueEntry) bool { return to >= e.to && to-e.to <= e.maxShift }); ok {
				hits++
			}
			got, err := scores.DueCount(ctx, "rel_a", "usr_a", w[0], w[1])
			if err != nil {
				t.Fatal(err)
			}
			want, err := scores.readDueCount(ctx, "rel_a", "usr_a", micros(w[0]), micros(w[1]))
			if err != nil {
				t.Fatal(err)
			}
			if got != want.n {
				t.Fatalf("[%v, %v): %d kept, %d counted", w[0], w[1], got, want.n)
			}
		}
	}
	// To the microsecond at each occurrence's due time: as it enters the
	// window at its end, and as it leaves at its start.
	rows, err := w.Query(`SELECT due_at FROM occurrences ORDER BY due_at`)
	if err != nil {
		t.Fatal(err)
	}
	var dues []int64
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		dues = append(dues, d)
	}
	rows.Close()
	for _, ahead = range []bool{false, true} {
		for _, d := range dues {
			due := fromMicros(d)
			for _, at := range []time.Time{due.Add(-window - time.Microsecond), due.Add(-window), due.Add(-window + time.Microsecond),
				due.Add(-time.Microsecond), due, due.Add(time.Microsecond),
				due.Add(window - time.Microsecond), due.Add(window), due.Add(window + time.Microsecond)} {
				check(at)
			}
		}
	}
	ahead = false
	if hits == 0 {
		t.Fatal("no count was kept")
	}
	at := start
	for range 400 {
		at = at.Add(time.Duration(rng.Int64N(int64(6 * time.Hour))))
		check(at)
		if rng.IntN(40) == 0 { // a write now and then: what was kept goes
			if _, err := w.Exec(`UPDATE occurrences SET status = 'resolved' WHERE status = 'skipped' AND id = (SELECT MIN(id) FROM occurrences WHERE status = 'skipped')`); err != nil {
				t.Fatal(err)
			}
		}
	}
}
