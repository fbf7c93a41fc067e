// Package benchseed writes a long follow-through history straight into the
// tables, for load tests and benchmarks: the API would take hours for a
// million follow-throughs. The benchmarks (internal/server/bench_test.go)
// and the load harness (cmd/troth-bench) both seed with it, so their
// histories have the same shape; see docs/performance.md.
package benchseed

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/store"
	"github.com/troth-app/troth/internal/wire"
)

// The shape of a seeded history: the last year (and today) is the same for
// every size; the rest is spread over the three years before it.
const (
	benchRecentDays   = 366 // days (today included) at benchRecentPerDay
	benchRecentPerDay = 8
	benchOlderDays    = 3 * 365
	benchPromises     = 8
	benchBreachAgo    = 45 * 24 * time.Hour
	benchOpenAhead    = 60 // days of open occurrences materialized ahead
	benchRowsPerStmt  = 500
	benchItemsPerTx   = 25_000 // an occurrence and its follow-through each: 50,000 rows
	// The events of the follow-throughs recorded in the last benchEventDays
	// are seeded too: a server in service keeps that long of them (the
	// default TROTH_EVENT_RETENTION), and its planner's statistics count them.
	benchEventDays = 90
)

// PoolPerDay is how many of OpenPool's occurrences fall on each day.
const PoolPerDay = benchRecentPerDay

// MinHistory is the smallest history History accepts: the recent year.
const MinHistory = benchRecentDays * benchRecentPerDay

// Seeded is what History wrote.
type Seeded struct {
	Promises []string     // the daily promises ana made to ben
	Items    []score.Item // the scored items, for checking rollups
	BreachID string       // the major breach, BreachAgo before now
}

// BreachAgo is how long before now History dates its breach.
const BreachAgo = benchBreachAgo

// History writes ana's history in relationship relID: daily promises
// to ben whose n resolved occurrences (each with its follow-through) are
// spread over four years, open occurrences materialized 60 days ahead,
// weekly check-ins by ben over the last year, and a major breach 45 days
// before now. The caller rebuilds the rollups (scoring.Rebuild).
func History(ctx context.Context, db *store.DB, relID, ana, ben string, n int, now time.Time) (Seeded, error) {
	breach := id.New(id.Breach)
	items, promises, err := seedHistory(ctx, db, relID, ana, ben, breach, n, now)
	return Seeded{Promises: promises, Items: items, BreachID: breach}, err
}

// OpenPool writes k open occurrences of the given promises, due beyond
// the materialized window (from 62 days ahead on, eight a day, so that a
// follow-through on one refreshes a day holding as many items as a day of
// the history does, and the scheduler never scores them missed), and
// returns their ids in due order: each takes one follow-through.
func OpenPool(ctx context.Context, db *store.DB, relID, ana, ben string, promises []string, k int, now time.Time) ([]string, error) {
	w, _ := db.SQL()
	seed := &seedTx{db: w, ph: Placeholders(db.Dialect())}
	defer seed.rollback()
	occs := seed.table("occurrences", []string{"id", "relationship_id", "promise_id", "promisor_id", "promisee_id", "due_at", "original_due_at",
		"status", "outcome", "follow_through_id", "created_at", "updated_at"})
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return nil, err
	}
	l := now.In(loc)
	first := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, benchOpenAhead+2)
	ids := make([]string, 0, k)
	nowUS := now.UTC().UnixMicro()
	for i := range k {
		// Half past every third hour: clear of the whole-hour dues of
		// the daily promises.
		day := first.AddDate(0, 0, i/benchRecentPerDay)
		due := day.Add(time.Duration(i%benchRecentPerDay)*3*time.Hour + 90*time.Minute).UnixMicro()
		oid := id.New(id.Occurrence)
		if err := occs.add(ctx, oid, relID, promises[i%len(promises)], ana, ben, due, due, promise.OccOpen, nil, nil, nowUS, nowUS); err != nil {
			return nil, err
		}
		ids = append(ids, oid)
	}
	return ids, seed.commit(ctx)
}

// seedHistory writes ana's history: benchPromises daily promises whose n
// resolved occurrences (each with its follow-through) are spread over four
// years, open occurrences materialized benchOpenAhead days ahead, weekly
// check-ins by ben over the last year, and a major breach benchBreachAgo
// before now. It returns the scored items, for checking the rollups.
func seedHistory(ctx context.Context, db *store.DB, relID, ana, ben, breachID string, n int, now time.Time) ([]score.Item, []string, error) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return nil, nil, err
	}
	w, _ := db.SQL()
	ph := Placeholders(db.Dialect())
	now = now.UTC().Truncate(time.Microsecond)
	l := now.In(loc)
	today := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	firstDay := today.AddDate(0, 0, -(benchRecentDays - 1 + benchOlderDays))
	us := func(t time.Time) int64 { return t.UnixMicro() }

	// Due times: the recent year at a fixed rate, the rest spread evenly
	// over the older days (whatever does not fit today's past hours).
	var recent []int64
	for d := 0; d < benchRecentDays; d++ {
		recent = append(recent, dayDues(today.AddDate(0, 0, d-benchRecentDays+1), benchRecentPerDay, now)...)
	}
	older := n - len(recent)
	if older < 0 {
		return nil, nil, fmt.Errorf("a history of %d is shorter than the recent year's %d", n, len(recent))
	}
	dues := make([]int64, 0, n)
	for d := 0; d < benchOlderDays; d++ {
		k := (d+1)*older/benchOlderDays - d*older/benchOlderDays
		dues = append(dues, dayDues(firstDay.AddDate(0, 0, d), k, now)...)
	}
	dues = append(dues, recent...)

	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = tx.Rollback() }()
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, ph(q), args...)
		return err
	}
	// The relationship began with the history.
	if err := exec("UPDATE relationships SET created_at = ?, updated_at = ? WHERE id = ?", us(firstDay), us(firstDay), relID); err != nil {
		return nil, nil, err
	}
	promises := make([]string, benchPromises)
	for i := range promises {
		promises[i] = id.New(id.Promise)
		if err := exec(`INSERT INTO promises (id, relationship_id, promisor_id, promisee_id, title, details, kind, rrule, time_zone,
			local_time, starts_on, status, materialized_until, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			promises[i], relID, ana, ben, fmt.Sprintf("Daily promise %d", i+1), "", promise.KindRecurring, "FREQ=DAILY",
			"Europe/Berlin", "08:00", firstDay.Format(time.DateOnly), promise.StatusActive,
			us(today.AddDate(0, 0, benchOpenAhead)), us(firstDay), us(firstDay)); err != nil {
			return nil, nil, err
		}
	}
	if err := exec("INSERT INTO breaches (id, relationship_id, member_id, recorded_by, description, severity, occurred_at, created_at) VALUES (?,?,?,?,?,?,?,?)",
		breachID, relID, ana, ben, "seeded breach", "major", us(now.Add(-benchBreachAgo)), us(now.Add(-benchBreachAgo))); err != nil {
		return nil, nil, err
	}
	items := []score.Item{score.BreachItem(now.Add(-benchBreachAgo), "major")}
	for d := 0; d < benchRecentDays; d += 7 {
		at := today.AddDate(0, 0, -d).Add(20 * time.Hour)
		if at.After(now) {
			continue
		}
		if err := exec("INSERT INTO check_ins (id, relationship_id, author_id, subject_id, felt_trust, note, created_at) VALUES (?,?,?,?,?,?,?)",
			id.New(id.CheckIn), relID, ben, ana, 3+d%7, "", us(at)); err != nil {
			return nil, nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, err
	}

	occCols := []string{"id", "relationship_id", "promise_id", "promisor_id", "promisee_id", "due_at", "original_due_at",
		"status", "outcome", "follow_through_id", "created_at", "updated_at"}
	ftCols := []string{"id", "relationship_id", "occurrence_id", "promise_id", "outcome", "occurred_at", "note",
		"recorded_by", "verification", "dispute_reason", "accept_after", "verified_at", "created_at", "updated_at"}
	seed := &seedTx{db: w, ph: ph}
	defer seed.rollback()
	occs := seed.table("occurrences", occCols)
	fts := seed.table("follow_throughs", ftCols)
	evs := seed.table("events", []string{"id", "type", "relationship_id", "user_id", "actor_id", "data", "created_at"})
	keptFrom := now.Add(-benchEventDays * 24 * time.Hour)
	grace := time.Hour
	rng := mrand.New(mrand.NewPCG(1, 2))
	items = slices.Grow(items, len(dues))
	for i, due := range dues {
		if i > 0 && i%benchItemsPerTx == 0 {
			if err := seed.commit(ctx); err != nil {
				return nil, nil, err
			}
		}
		dueT := time.UnixMicro(due).UTC()
		outcome, occurred, recordedBy, verification, system := benchOutcome(rng, dueT, now, grace, ana, ben)
		var disputeReason, acceptAfter, verifiedAt any
		if verification == promise.Disputed {
			disputeReason = "that is not what happened"
		}
		if recordedBy == ana {
			acceptAfter = us(occurred.Add(72 * time.Hour))
		}
		if verification != promise.Unverified {
			verifiedAt = us(occurred.Add(time.Hour))
		}
		occID, ftID, prm := id.New(id.Occurrence), id.New(id.FollowThru), promises[i%benchPromises]
		if err := occs.add(ctx, occID, relID, prm, ana, ben, due, due, promise.OccResolved, outcome, ftID, us(occurred), us(occurred)); err != nil {
			return nil, nil, err
		}
		if err := fts.add(ctx, ftID, relID, occID, prm, outcome, us(occurred), "", recordedBy, verification,
			disputeReason, acceptAfter, verifiedAt, us(occurred), us(occurred)); err != nil {
			return nil, nil, err
		}
		if occurred.After(keptFrom) {
			ft := promise.FollowThrough{ID: ftID, RelationshipID: relID, OccurrenceID: occID, PromiseID: prm, Outcome: outcome,
				OccurredAt: occurred, RecordedBy: recordedBy, Verification: verification, CreatedAt: occurred, UpdatedAt: occurred}
			data, err := json.Marshal(wire.Snapshot(ft))
			if err != nil {
				return nil, nil, err
			}
			if err := evs.add(ctx, id.New(id.Event), event.FollowThroughRecorded, relID, nil, recordedBy, string(data), us(occurred)); err != nil {
				return nil, nil, err
			}
		}
		items = append(items, score.OccurrenceItem(dueT, occurred, grace, outcome, verification, system))
	}
	// Occurrences materialized ahead, still open.
	for d := 0; d <= benchOpenAhead; d++ {
		for _, due := range dayDues(today.AddDate(0, 0, d), benchRecentPerDay, today.AddDate(0, 0, benchOpenAhead+2)) {
			if due <= us(now) {
				continue
			}
			if err := occs.add(ctx, id.New(id.Occurrence), relID, promises[int(due/1e6)%benchPromises], ana, ben, due, due,
				promise.OccOpen, nil, nil, us(now), us(now)); err != nil {
				return nil, nil, err
			}
		}
	}
	return items, promises, seed.commit(ctx)
}

// dayDues spreads k due times evenly over a local day, keeping those before
// limit.
func dayDues(day time.Time, k int, limit time.Time) []int64 {
	start, end := day, day.AddDate(0, 0, 1)
	span := end.Sub(start)
	out := make([]int64, 0, k)
	for j := 0; j < k; j++ {
		due := start.Add(time.Duration((int64(j)*2 + 1) * int64(span) / int64(2*k))).Truncate(time.Microsecond)
		if due.Before(limit) {
			out = append(out, due.UnixMicro())
		}
	}
	return out
}

// benchOutcome draws what happened to an occurrence: mostly kept on time,
// some late, partial or missed (half of the misses by the system), recorded
// by either member, with verdicts in proportion; an account of the
// promisor's older than the dispute window has been accepted.
func benchOutcome(rng *mrand.Rand, due, now time.Time, grace time.Duration, ana, ben string) (outcome string, occurred time.Time, recordedBy, verification string, system bool) {
	switch r := rng.Float64(); {
	case r < 0.78:
		outcome, occurred = promise.Kept, due.Add(-time.Duration(rng.IntN(30))*time.Minute)
	case r < 0.83:
		outcome, occurred = promise.Kept, due.Add(3*time.Hour)
	case r < 0.91:
		outcome, occurred = promise.Partial, due
	case r < 0.955:
		outcome, occurred = promise.Missed, due
	default:
		return promise.Missed, due.Add(grace), promise.System, promise.Confirmed, true
	}
	switch r := rng.Float64(); {
	case r < 0.60:
		recordedBy, verification = ben, promise.Confirmed
	case r < 0.97:
		recordedBy, verification = ana, promise.Accepted
		if now.Sub(occurred) < 72*time.Hour {
			verification = promise.Unverified
		}
	default:
		recordedBy, verification = ana, promise.Disputed
	}
	if occurred.After(now) {
		occurred = now
	}
	return outcome, occurred, recordedBy, verification, false
}

// Placeholders rewrites ? into $n for PostgreSQL.
func Placeholders(d store.Dialect) func(string) string {
	if d != store.Postgres {
		return func(q string) string { return q }
	}
	return func(q string) string {
		var sb strings.Builder
		n := 0
		for _, r := range q {
			if r == '?' {
				n++
				fmt.Fprintf(&sb, "$%d", n)
				continue
			}
			sb.WriteRune(r)
		}
		return sb.String()
	}
}

// seedTx writes rows through batchers in transactions of up to
// benchRowsPerTx rows each (SQLite has one writer connection: one
// transaction at a time).
type seedTx struct {
	db      *sql.DB
	ph      func(string) string
	tx      *sql.Tx
	batches []*batcher
}

// batcher writes a table's rows as multi-row INSERTs of benchRowsPerStmt rows.
type batcher struct {
	seed  *seedTx
	table string
	cols  []string
	args  []any
	stmt  *sql.Stmt
}

func (s *seedTx) table(table string, cols []string) *batcher {
	b := &batcher{seed: s, table: table, cols: cols}
	s.batches = append(s.batches, b)
	return b
}

// commit writes what the batchers hold (in the order they were made, for
// foreign keys) and commits.
func (s *seedTx) commit(ctx context.Context) error {
	for _, b := range s.batches {
		if err := b.flush(ctx); err != nil {
			return err
		}
		if b.stmt != nil {
			b.stmt.Close()
			b.stmt = nil
		}
	}
	if s.tx == nil {
		return nil
	}
	err := s.tx.Commit()
	s.tx = nil
	return err
}

func (s *seedTx) rollback() {
	if s.tx != nil {
		_ = s.tx.Rollback()
	}
}

func (b *batcher) insertSQL(rows int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(b.cols)), ",") + ")"
	return b.seed.ph("INSERT INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+",", rows), ","))
}

func (b *batcher) add(ctx context.Context, vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) < benchRowsPerStmt*len(b.cols) {
		return nil
	}
	return b.flush(ctx)
}

func (b *batcher) flush(ctx context.Context) error {
	if len(b.args) == 0 {
		return nil
	}
	s := b.seed
	if s.tx == nil {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		s.tx = tx
	}
	var err error
	if rows := len(b.args) / len(b.cols); rows == benchRowsPerStmt {
		if b.stmt == nil {
			if b.stmt, err = s.tx.PrepareContext(ctx, b.insertSQL(rows)); err != nil {
				return err
			}
		}
		_, err = b.stmt.ExecContext(ctx, b.args...)
	} else {
		_, err = s.tx.ExecContext(ctx, b.insertSQL(rows), b.args...)
	}
	b.args = b.args[:0]
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	return nil
}
