package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/wire"
)

type scoreDayRow struct {
	RelationshipID string `gorm:"primaryKey"`
	Subject        string `gorm:"primaryKey"`
	Day            string `gorm:"primaryKey"`
	DayEnd         int64
	LastT          int64
	A, B           float64
	Kept           int
	KeptLate       int
	Partial        int
	Missed         int
	Disputed       int
	Unverified     int
	Breaches       int
	Skipped        int
	RunN           int
	RunPrefix      int
	RunSuffix      int
	RunMax         int
	FeltSum        int
	FeltN          int
	Ca, Cb         float64
	CKept          int
	CKeptLate      int
	CPartial       int
	CMissed        int
	CDisputed      int
	CUnverified    int
	CBreaches      int
	CSkipped       int
	CRunN          int
	CRunPrefix     int
	CRunSuffix     int
	CRunMax        int
}

func (scoreDayRow) TableName() string { return "score_days" }

func fromDay(d scoring.Day) scoreDayRow {
	o, c := d.Own, d.Cum
	return scoreDayRow{
		RelationshipID: d.RelationshipID, Subject: d.Subject, Day: d.Day, DayEnd: micros(d.End), LastT: micros(d.Last),
		A: o.Sums.A, B: o.Sums.B, Kept: o.Counts.Kept, KeptLate: o.Counts.KeptLate, Partial: o.Counts.Partial,
		Missed: o.Counts.Missed, Disputed: o.Counts.Disputed, Unverified: o.Counts.Unverified, Breaches: o.Counts.Breaches,
		Skipped: d.Skipped, RunN: o.Run.N, RunPrefix: o.Run.Prefix, RunSuffix: o.Run.Suffix, RunMax: o.Run.Max,
		FeltSum: d.FeltSum, FeltN: d.FeltN,
		Ca: c.Sums.A, Cb: c.Sums.B, CKept: c.Counts.Kept, CKeptLate: c.Counts.KeptLate, CPartial: c.Counts.Partial,
		CMissed: c.Counts.Missed, CDisputed: c.Counts.Disputed, CUnverified: c.Counts.Unverified, CBreaches: c.Counts.Breaches,
		CSkipped: d.CumSkipped, CRunN: c.Run.N, CRunPrefix: c.Run.Prefix, CRunSuffix: c.Run.Suffix, CRunMax: c.Run.Max,
	}
}

func toDay(r scoreDayRow) scoring.Day {
	end := fromMicros(r.DayEnd)
	return scoring.Day{
		RelationshipID: r.RelationshipID, Subject: r.Subject, Day: r.Day, End: end, Last: fromMicros(r.LastT),
		Own: score.Summary{Ref: end, Sums: score.Sums{A: r.A, B: r.B},
			Counts: score.Counts{Kept: r.Kept, KeptLate: r.KeptLate, Partial: r.Partial, Missed: r.Missed,
				Disputed: r.Disputed, Unverified: r.Unverified, Breaches: r.Breaches},
			Run: score.Run{N: r.RunN, Prefix: r.RunPrefix, Suffix: r.RunSuffix, Max: r.RunMax}},
		Skipped: r.Skipped, FeltSum: r.FeltSum, FeltN: r.FeltN,
		Cum: score.Summary{Ref: end, Sums: score.Sums{A: r.Ca, B: r.Cb},
			Counts: score.Counts{Kept: r.CKept, KeptLate: r.CKeptLate, Partial: r.CPartial, Missed: r.CMissed,
				Disputed: r.CDisputed, Unverified: r.CUnverified, Breaches: r.CBreaches},
			Run: score.Run{N: r.CRunN, Prefix: r.CRunPrefix, Suffix: r.CRunSuffix, Max: r.CRunMax}},
		CumSkipped: r.CSkipped,
	}
}

// Scores implements scoring.ReadStore (and scoring.Store inside a
// transaction).
type Scores struct {
	db   *DB
	w, r *gorm.DB
}

// Scores returns the score store.
func (db *DB) Scores() *Scores {
	return &Scores{db: db, w: db.w, r: db.r}
}

func (s *Scores) inTx(tx *gorm.DB) *Scores {
	return &Scores{db: s.db, w: tx, r: tx}
}

// Relationship implements scoring.Store: what scores need, in one
// statement on one index. Names are left out (the relationship's, its
// partner's and its members'): no score shows them, and every read of a
// score starts here.
//
// Outside a transaction and in the writer's, on SQLite held to itself,
// the last one read is reused while the tables stay unchanged (relCache).
func (s *Scores) Relationship(ctx context.Context, relID string) (relationship.Relationship, error) {
	if s.r != s.db.r && s.r != s.w { // a read-only transaction: its own snapshot
		return s.readRelationship(ctx, relID)
	}
	// The copy kept is good inside the writer's transaction too, while
	// that transaction has changed none of its tables (relCache).
	return s.cachedRelationship(ctx, relID)
}

// cachedRelationship is Relationship through relCache, where there is one.
func (s *Scores) cachedRelationship(ctx context.Context, relID string) (relationship.Relationship, error) {
	cache := s.db.rels
	if cache == nil {
		return s.readRelationship(ctx, relID)
	}
	rel, snap, ok := cache.get(relID, func(relationship.Relationship) bool { return true })
	if ok {
		return cloneRel(rel), nil
	}
	rel, err := s.readRelationship(ctx, relID)
	if err == nil {
		if afterRelationshipRead != nil {
			afterRelationshipRead(relID)
		}
		cache.put(relID, cloneRel(rel), snap)
	}
	return rel, err
}

func (s *Scores) readRelationship(ctx context.Context, relID string) (relationship.Relationship, error) {
	var rel relationship.Relationship
	found := false
	var r relationshipRow
	var member *string
	var joined *int64
	err := scanAll(ctx, s.db.querierFor(s.r), func(rows *sql.Rows) error {
		if err := rows.Scan(&r.ID, &r.TimeZone, &r.HalfLifeDays, &r.GraceMinutes, &r.DisputeWindowHours,
			&r.RemindMinutes, &r.TargetScore, &r.PatienceDays, &r.Status, &r.CreatedBy, &r.CreatedAt,
			&r.UpdatedAt, &r.ArchivedAt, &member, &joined); err != nil {
			return err
		}
		if !found {
			rel, found = toRelationship(r), true
		}
		if member != nil {
			rel.Members = append(rel.Members, relationship.Member{RelationshipID: r.ID, UserID: *member, JoinedAt: fromMicros(*joined)})
		}
		return nil
	}, `SELECT r.id, r.time_zone, r.half_life_days, r.grace_minutes, r.dispute_window_hours, r.remind_minutes,
			r.target_score, r.patience_days, r.status, r.created_by, r.created_at, r.updated_at, r.archived_at,
			m.user_id, m.joined_at
		FROM relationships r LEFT JOIN relationship_members m ON m.relationship_id = r.id AND m.left_at IS NULL
		WHERE r.id = ?`, relID)
	if err == nil && !found {
		err = sql.ErrNoRows
	}
	// In the order Relationships.Get gives them.
	slices.SortFunc(rel.Members, func(a, b relationship.Member) int {
		if c := a.JoinedAt.Compare(b.JoinedAt); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return rel, translate(err, "relationship")
}

// subjectColumn is the occurrences column a subject is matched on.
func subjectColumn(subject string) string {
	if scoring.IsMember(subject) {
		return "promisor_id"
	}
	return "promise_id"
}

// Content implements scoring.Store, in one statement: every write
// refreshes a day from it.
func (s *Scores) Content(ctx context.Context, rel relationship.Relationship, subject string, from, to time.Time) (scoring.Content, error) {
	c, _, _, err := s.dayContent(ctx, rel, subject, "", from, to, false)
	return c, err
}

// MemberContent implements scoring.Store, in one statement.
func (s *Scores) MemberContent(ctx context.Context, rel relationship.Relationship, member, promiseID string, from, to time.Time) (scoring.Content, scoring.Content, error) {
	c, pc, _, err := s.dayContent(ctx, rel, member, promiseID, from, to, false)
	return c, pc, err
}

// Today implements scoring.Store, in one statement: a score reads it on
// every request.
func (s *Scores) Today(ctx context.Context, rel relationship.Relationship, subject string, from, to time.Time) (scoring.Content, int, error) {
	c, _, open, err := s.dayContent(ctx, rel, subject, "", from, to, true)
	return c, open, err
}

// dayContent reads a subject's scored items and skipped occurrences in
// [from, to) and a member's breaches, with one UNION ALL: with today set,
// also the count of open occurrences due before to (a score); otherwise
// the check-ins about a member (a rollup keeps felt trust). With a
// member's promiseID, the items and skips of that promise also make up
// the second content returned.
func (s *Scores) dayContent(ctx context.Context, rel relationship.Relationship, subject, promiseID string, from, to time.Time, today bool) (scoring.Content, scoring.Content, int, error) {
	const (
		kindItem = iota
		kindSkipped
		kindBreach
		kindOpen
		kindCheckIn
	)
	var c, pc scoring.Content
	open := 0
	col := subjectColumn(subject)
	grace := scoring.Grace(rel)
	f, t := micros(from), micros(to)
	q := `SELECT 0, o.due_at, o.id, f.occurred_at, f.outcome, f.verification, f.recorded_by, o.promise_id
			FROM occurrences o JOIN follow_throughs f ON f.id = o.follow_through_id
			WHERE o.relationship_id = ? AND o.` + col + ` = ? AND o.status = ? AND o.due_at >= ? AND o.due_at < ?
		UNION ALL SELECT 1, due_at, id, 0, '', '', '', promise_id FROM occurrences
			WHERE relationship_id = ? AND ` + col + ` = ? AND status = ? AND due_at >= ? AND due_at < ?`
	args := []any{rel.ID, subject, promise.OccResolved, f, t, rel.ID, subject, promise.OccSkipped, f, t}
	if scoring.IsMember(subject) {
		q += `
		UNION ALL SELECT 2, occurred_at, id, 0, severity, '', '', '' FROM breaches
			WHERE relationship_id = ? AND member_id = ? AND occurred_at >= ? AND occurred_at < ?`
		args = append(args, rel.ID, subject, f, t)
	}
	if today {
		q += `
		UNION ALL SELECT 3, COUNT(*), '', 0, '', '', '', '' FROM occurrences
			WHERE relationship_id = ? AND ` + col + ` = ? AND status = ? AND due_at < ?`
		args = append(args, rel.ID, subject, promise.OccOpen, t)
	} else if scoring.IsMember(subject) {
		q += `
		UNION ALL SELECT 4, created_at, id, felt_trust, '', '', '', '' FROM check_ins
			WHERE relationship_id = ? AND subject_id = ? AND created_at >= ? AND created_at < ?`
		args = append(args, rel.ID, subject, f, t)
	}
	q += `
		ORDER BY 1, 2, 3`
	err := scanAll(ctx, s.db.querierFor(s.r), func(rows *sql.Rows) error {
		var kind int
		var at, n int64
		var key, outcome, verification, recordedBy, prm string
		if err := rows.Scan(&kind, &at, &key, &n, &outcome, &verification, &recordedBy, &prm); err != nil {
			return err
		}
		ofPromise := promiseID != "" && prm == promiseID
		switch kind {
		case kindItem:
			it := occurrenceItem(at, n, grace, outcome, verification, recordedBy)
			c.Items = append(c.Items, it)
			if ofPromise {
				pc.Items = append(pc.Items, it)
			}
		case kindSkipped:
			c.Skipped = append(c.Skipped, fromMicros(at))
			if ofPromise {
				pc.Skipped = append(pc.Skipped, fromMicros(at))
			}
		case kindBreach:
			c.Items = append(c.Items, score.BreachItem(fromMicros(at), outcome))
		case kindOpen:
			open = int(at)
		case kindCheckIn:
			c.Felt = append(c.Felt, scoring.Felt{At: fromMicros(at), Value: int(n)})
		}
		return nil
	}, q, args...)
	return c, pc, open, translate(err, "occurrence")
}

// occurrenceItem is what a resolved occurrence due at due (µs) scores, by
// its follow-through's occurred_at (µs), outcome, verification and
// recorded_by: as a day's content reads it, and as a follow-through just
// recorded is folded into the rollups (they must agree to the bit).
func occurrenceItem(due, occurred int64, grace time.Duration, outcome, verification, recordedBy string) score.Item {
	return score.OccurrenceItem(fromMicros(due), fromMicros(occurred), grace, outcome, verification, recordedBy == promise.System)
}

const scoreDayColumns = `relationship_id, subject, day, day_end, a, b, kept, kept_late, partial, missed, disputed,
	unverified, breaches, skipped, run_n, run_prefix, run_suffix, run_max, felt_sum, felt_n, ca, cb, c_kept,
	c_kept_late, c_partial, c_missed, c_disputed, c_unverified, c_breaches, c_skipped, c_run_n, c_run_prefix,
	c_run_suffix, c_run_max, last_t`

// nScoreDayColumns is how many columns scoreDayColumns names (scanDay
// reads them all).
var nScoreDayColumns = len(strings.Split(scoreDayColumns, ","))

// scanDay reads a row of scoreDayColumns. The values are scanned as
// they come (database/sql converts an int64 into an *int by formatting and
// parsing it) and converted here: a timeline reads hundreds of rows.
func scanDay(rows *sql.Rows, v *values) (scoring.Day, error) {
	if err := rows.Scan(v.ptrs...); err != nil {
		return scoring.Day{}, err
	}
	x := v.vals
	var r scoreDayRow
	r.RelationshipID, r.Subject, r.Day = asString(x[0]), asString(x[1]), asString(x[2])
	r.DayEnd, r.A, r.B = asInt64(x[3]), asFloat(x[4]), asFloat(x[5])
	for k, f := range []*int{&r.Kept, &r.KeptLate, &r.Partial, &r.Missed, &r.Disputed, &r.Unverified, &r.Breaches,
		&r.Skipped, &r.RunN, &r.RunPrefix, &r.RunSuffix, &r.RunMax, &r.FeltSum, &r.FeltN} {
		*f = int(asInt64(x[6+k]))
	}
	r.Ca, r.Cb = asFloat(x[20]), asFloat(x[21])
	for k, f := range []*int{&r.CKept, &r.CKeptLate, &r.CPartial, &r.CMissed, &r.CDisputed, &r.CUnverified,
		&r.CBreaches, &r.CSkipped, &r.CRunN, &r.CRunPrefix, &r.CRunSuffix, &r.CRunMax} {
		*f = int(asInt64(x[22+k]))
	}
	r.LastT = asInt64(x[34])
	return toDay(r), nil
}

// values is a scan buffer reused across rows: Scan(v.ptrs...) leaves each
// column's value in v.vals, as the driver gave it.
type values struct{ vals, ptrs []any }

func newValues(n int) *values {
	v := &values{vals: make([]any, n), ptrs: make([]any, n)}
	for i := range v.vals {
		v.ptrs[i] = &v.vals[i]
	}
	return v
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func asInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return 0
}

// cumColumns are the columns of a rollup row a score, a refresh or a
// timeline reads of the row before: its day, end, last item and cumulative
// part. scanCum reads them from v.
const cumColumns = `day, day_end, last_t, ca, cb, c_kept, c_kept_late, c_partial, c_missed, c_disputed, c_unverified,
	c_breaches, c_skipped, c_run_n, c_run_prefix, c_run_suffix, c_run_max`

const nCumColumns = 17

func scanCum(v []any, relID, subject string) scoring.Day {
	end := fromMicros(asInt64(v[1]))
	n := func(i int) int { return int(asInt64(v[i])) }
	return scoring.Day{RelationshipID: relID, Subject: subject, Day: asString(v[0]), End: end, Last: fromMicros(asInt64(v[2])),
		Cum: score.Summary{Ref: end, Sums: score.Sums{A: asFloat(v[3]), B: asFloat(v[4])},
			Counts: score.Counts{Kept: n(5), KeptLate: n(6), Partial: n(7), Missed: n(8), Disputed: n(9),
				Unverified: n(10), Breaches: n(11)},
			Run: score.Run{N: n(13), Prefix: n(14), Suffix: n(15), Max: n(16)}},
		CumSkipped: n(12),
	}
}

// DayBefore implements scoring.Store.
func (s *Scores) DayBefore(ctx context.Context, relID, subject, day string) (scoring.Day, bool, error) {
	buf := newValues(nCumColumns)
	err := s.db.queryRow(ctx, s.r, `SELECT `+cumColumns+` FROM score_days WHERE relationship_id = ? AND subject = ? AND day < ? ORDER BY day DESC LIMIT 1`,
		[]any{relID, subject, day}, buf.ptrs...)
	if errors.Is(err, sql.ErrNoRows) {
		return scoring.Day{}, false, nil
	}
	if err != nil {
		return scoring.Day{}, false, translate(err, "score day")
	}
	return scanCum(buf.vals, relID, subject), true, nil
}

// Latest implements scoring.Store, in one statement: nearly every score
// read is this one statement. The count always comes back (one row); the
// rollup's columns are NULL when the subject has no row yet.
//
// Outside a transaction, on SQLite held to itself, what was read is reused
// while the tables stay unchanged and no open occurrence has fallen due
// since (latestCache).
func (s *Scores) Latest(ctx context.Context, relID, subject, day string, openBefore time.Time) (scoring.Day, bool, int, error) {
	cache, before := s.db.latest, micros(openBefore)
	if cache == nil || s.r != s.db.r { // inside a transaction: see its own writes
		e, err := s.readLatest(ctx, relID, subject, day, before)
		return e.row, e.found, e.open, err
	}
	k := latestKey{relID, subject, day}
	e, snap, ok := cache.get(k, func(e latestEntry) bool { return before >= e.from && before < e.until })
	if ok {
		return e.row, e.found, e.open, nil
	}
	e, err := s.readLatest(ctx, relID, subject, day, before)
	if err == nil {
		if afterLatestRead != nil {
			afterLatestRead()
		}
		cache.put(k, e, snap)
	}
	return e.row, e.found, e.open, err
}

// readLatest reads Latest's row and open count, and when the count will
// next change: the due time of the first open occurrence due at or after
// before (none: never, short of a write).
func (s *Scores) readLatest(ctx context.Context, relID, subject, day string, before int64) (latestEntry, error) {
	e := latestEntry{from: before, until: math.MaxInt64}
	buf := newValues(2 + nCumColumns)
	col := subjectColumn(subject)
	err := scanAll(ctx, s.db.querierFor(s.r), func(rows *sql.Rows) error {
		if err := rows.Scan(buf.ptrs...); err != nil {
			return err
		}
		e.open = int(asInt64(buf.vals[0]))
		if buf.vals[1] != nil {
			e.until = asInt64(buf.vals[1])
		}
		if e.found = buf.vals[2] != nil; e.found {
			e.row = scanCum(buf.vals[2:], relID, subject)
		}
		return nil
	}, `SELECT o.n, o.next, d.* FROM
		(SELECT (SELECT COUNT(*) FROM occurrences
			WHERE relationship_id = ? AND `+col+` = ? AND status = ? AND due_at < ?) AS n,
		(SELECT MIN(due_at) FROM occurrences
			WHERE relationship_id = ? AND `+col+` = ? AND status = ? AND due_at >= ?) AS next) o
		LEFT JOIN (SELECT `+cumColumns+` FROM score_days
			WHERE relationship_id = ? AND subject = ? AND day <= ? ORDER BY day DESC LIMIT 1) d ON 1 = 1`,
		relID, subject, promise.OccOpen, before, relID, subject, promise.OccOpen, before, relID, subject, day)
	return e, translate(err, "score day")
}

// DaysAroundAll implements scoring.Store, in one statement: every write
// refreshes from it (a follow-through, its member and its promise).
func (s *Scores) DaysAroundAll(ctx context.Context, relID string, subjects []string, day string) ([]scoring.Around, error) {
	args := make([]any, 0, 6*len(subjects))
	for _, subject := range subjects {
		args = append(args, relID, subject, relID, subject, day, day)
	}
	out := make([]scoring.Around, len(subjects))
	at := make(map[string]int, len(subjects))
	for i, subject := range subjects {
		at[subject] = i
	}
	v := newValues(nScoreDayColumns)
	err := scanAll(ctx, s.db.querierFor(s.r), func(rows *sql.Rows) error {
		d, err := scanDay(rows, v)
		if err != nil {
			return err
		}
		a := &out[at[d.Subject]]
		if d.Day < day {
			a.Prev, a.HasPrev = d, true
		} else {
			a.From = append(a.From, d)
		}
		return nil
	}, daysAroundSQL(len(subjects)), args...)
	return out, translate(err, "score day")
}

// DayOf implements scoring.Store.
func (s *Scores) DayOf(ctx context.Context, relID, subject, day string) (scoring.Day, bool, error) {
	var d scoring.Day
	found := false
	v := newValues(nScoreDayColumns)
	err := scanAll(ctx, s.db.querierFor(s.r), func(rows *sql.Rows) error {
		var err error
		d, err = scanDay(rows, v)
		found = err == nil
		return err
	}, `SELECT `+scoreDayColumns+` FROM score_days WHERE relationship_id = ? AND subject = ? AND day = ?`, relID, subject, day)
	return d, found, translate(err, "score day")
}

// daysAroundSQL reads the rows around a day of n subjects.
func daysAroundSQL(n int) string {
	if n < len(daysAroundSQLs) {
		return daysAroundSQLs[n]
	}
	return buildDaysAroundSQL(n)
}

var daysAroundSQLs = [3]string{"", buildDaysAroundSQL(1), buildDaysAroundSQL(2)}

func buildDaysAroundSQL(n int) string {
	one := `SELECT ` + scoreDayColumns + ` FROM score_days WHERE relationship_id = ? AND subject = ? AND day >= COALESCE(
			(SELECT MAX(day) FROM score_days WHERE relationship_id = ? AND subject = ? AND day < ?), ?)`
	return strings.TrimSuffix(strings.Repeat(one+" UNION ALL ", n), " UNION ALL ") + " ORDER BY subject, day"
}

// DaysBetween implements scoring.Store: the columns a timeline reads.
// Outside a transaction the rows come from memory while the subject's
// version is unchanged (daycache.go); the slice is then shared, and no
// caller writes to it.
func (s *Scores) DaysBetween(ctx context.Context, relID, subject, from, to string) ([]scoring.Day, error) {
	d, err := s.dayRange(ctx, relID, subject, from, to, false)
	return d.Rows, err
}

// DaysWithBefore implements scoring.ReadStore: DayBefore(from) and
// DaysBetween(from, to) at once, the row before kept in memory with the
// rows when the range starts where the kept one does.
func (s *Scores) DaysWithBefore(ctx context.Context, relID, subject, from, to string) (scoring.DayRange, error) {
	return s.dayRange(ctx, relID, subject, from, to, true)
}

// dayRange reads a subject's rows from ≤ day ≤ to, and the row before
// them when before is set, through the day cache where it may.
func (s *Scores) dayRange(ctx context.Context, relID, subject, from, to string, before bool) (scoring.DayRange, error) {
	read := func() (d scoring.DayRange, err error) {
		if before {
			if d.Before, d.HasBefore, err = s.DayBefore(ctx, relID, subject, from); err != nil {
				return d, err
			}
		}
		d.Rows, err = s.daysBetween(ctx, relID, subject, from, to)
		return d, err
	}
	if s.r != s.db.r {
		return read() // inside a transaction: see its own writes
	}
	v, ok, err := s.scoreVersion(ctx, relID, subject)
	if err != nil {
		return scoring.DayRange{}, translate(err, "score day")
	}
	if !ok {
		return read()
	}
	key := dayKey{relID, subject}
	if e, rows, ok := s.db.days.get(key, v, from, to); ok {
		d := scoring.DayRange{Rows: rows, Version: v, Versioned: true}
		switch {
		case !before:
		case e.knowsBefore && e.from == from:
			d.Before, d.HasBefore = e.before, e.hasBefore
		default:
			d.Before, d.HasBefore, err = s.DayBefore(ctx, relID, subject, from)
		}
		return d, err
	}
	// Read after the version: rows newer than it are kept under it at
	// worst, and then no later read finds that version again.
	d, err := read()
	if err != nil {
		return d, err
	}
	d.Version, d.Versioned = v, true
	s.db.days.put(key, &dayEntry{version: v, from: from, to: to, rows: d.Rows[:len(d.Rows):len(d.Rows)],
		before: d.Before, hasBefore: d.HasBefore, knowsBefore: before})
	return d, nil
}

// daysBetween reads DaysBetween's rows from the database.
func (s *Scores) daysBetween(ctx context.Context, relID, subject, from, to string) ([]scoring.Day, error) {
	var out []scoring.Day
	buf := newValues(17)
	v := buf.vals
	err := scanAll(ctx, s.db.querierFor(s.r), func(rows *sql.Rows) error {
		if err := rows.Scan(buf.ptrs...); err != nil {
			return err
		}
		end := fromMicros(asInt64(v[1]))
		n := func(i int) int { return int(asInt64(v[i])) }
		out = append(out, scoring.Day{RelationshipID: relID, Subject: subject, Day: asString(v[0]), End: end,
			Last: fromMicros(asInt64(v[16])),
			Own: score.Summary{Ref: end,
				Counts: score.Counts{Kept: n(2), KeptLate: n(3), Partial: n(4), Missed: n(5), Disputed: n(6), Breaches: n(7)},
				Run:    score.Run{N: n(8), Prefix: n(9), Suffix: n(10), Max: n(11)}},
			FeltSum: n(12), FeltN: n(13),
			Cum: score.Summary{Ref: end, Sums: score.Sums{A: asFloat(v[14]), B: asFloat(v[15])}},
		})
		return nil
	}, `SELECT day, day_end, kept, kept_late, partial, missed, disputed, breaches, run_n, run_prefix, run_suffix, run_max,
			felt_sum, felt_n, ca, cb, last_t
		FROM score_days WHERE relationship_id = ? AND subject = ? AND day >= ? AND day <= ? ORDER BY day`,
		relID, subject, from, to)
	return out, translate(err, "score day")
}

// PutDays implements scoring.Store: an upsert by hand-written SQL, a few
// rows a statement (a write refreshes a row or a few; a rebuild, a row per
// active day of a history).
func (s *Scores) PutDays(ctx context.Context, days []scoring.Day) error {
	const perStmt = 25
	all := days
	for len(days) > 0 {
		n := min(len(days), perStmt)
		args := make([]any, 0, n*35)
		for _, d := range days[:n] {
			r := fromDay(d)
			args = append(args, r.RelationshipID, r.Subject, r.Day, r.DayEnd, r.A, r.B, r.Kept, r.KeptLate, r.Partial,
				r.Missed, r.Disputed, r.Unverified, r.Breaches, r.Skipped, r.RunN, r.RunPrefix, r.RunSuffix, r.RunMax,
				r.FeltSum, r.FeltN, r.Ca, r.Cb, r.CKept, r.CKeptLate, r.CPartial, r.CMissed, r.CDisputed,
				r.CUnverified, r.CBreaches, r.CSkipped, r.CRunN, r.CRunPrefix, r.CRunSuffix, r.CRunMax, r.LastT)
		}
		if err := s.db.execSQL(ctx, s.w, putDaysSQL(n), args...); err != nil {
			return translate(err, "score day")
		}
		days = days[n:]
	}
	return s.bumpVersions(ctx, all)
}

// putDaysSQL is the upsert of n rollup rows.
func putDaysSQL(n int) string {
	if q, ok := putDaysSQLs.Load(n); ok {
		return q.(string)
	}
	q := buildPutDaysSQL(n)
	putDaysSQLs.Store(n, q)
	return q
}

var putDaysSQLs sync.Map // n → putDaysSQL(n)

func buildPutDaysSQL(n int) string {
	row := "(" + strings.Repeat("?, ", 34) + "?)"
	var set []string
	for _, c := range strings.Split(scoreDayColumns, ",") {
		c = strings.TrimSpace(c)
		if c != "relationship_id" && c != "subject" && c != "day" {
			set = append(set, c+" = excluded."+c)
		}
	}
	return "INSERT INTO score_days (" + scoreDayColumns + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") +
		" ON CONFLICT (relationship_id, subject, day) DO UPDATE SET " + strings.Join(set, ", ")
}

// DeleteDays implements scoring.Store, in one statement (a rebuild starts
// with it).
func (s *Scores) DeleteDays(ctx context.Context, relID, subject string) error {
	if err := s.db.execSQL(ctx, s.w, `DELETE FROM score_days WHERE relationship_id = ? AND subject = ?`, relID, subject); err != nil {
		return translate(err, "score day")
	}
	return s.bumpKeys(ctx, []dayKey{{relID, subject}})
}

// DeleteDay implements scoring.Store.
func (s *Scores) DeleteDay(ctx context.Context, relID, subject, day string) error {
	err := s.w.WithContext(ctx).Where("relationship_id = ? AND subject = ? AND day = ?", relID, subject, day).Delete(&scoreDayRow{}).Error
	if err != nil {
		return translate(err, "score day")
	}
	return s.bumpKeys(ctx, []dayKey{{relID, subject}})
}

// PromiseRelationship implements scoring.ReadStore.
func (s *Scores) PromiseRelationship(ctx context.Context, promiseID string) (string, error) {
	var row promiseRow
	err := s.r.WithContext(ctx).Select("relationship_id").Where("id = ?", promiseID).Take(&row).Error
	return row.RelationshipID, translate(err, "promise")
}

// The latest breach at or before an instant, of any member or of one: a
// step back along breaches_time or breaches_member_time (migration 0014).
const (
	latestBreachSQL = `SELECT occurred_at, member_id FROM breaches WHERE relationship_id = ? AND occurred_at <= ?
		ORDER BY occurred_at DESC, id DESC LIMIT 1`
	latestMemberBreachSQL = `SELECT occurred_at, member_id FROM breaches WHERE relationship_id = ? AND occurred_at <= ? AND member_id = ?
		ORDER BY occurred_at DESC, id DESC LIMIT 1`
)

// LatestBreach implements scoring.ReadStore. Every timeline reads it:
// hand-written SQL.
func (s *Scores) LatestBreach(ctx context.Context, relID, memberID string, t time.Time) (time.Time, string, bool, error) {
	q, args := latestBreachSQL, []any{relID, micros(t)}
	if memberID != "" {
		q, args = latestMemberBreachSQL, append(args, memberID)
	}
	var at int64
	var who string
	err := s.db.queryRow(ctx, s.r, q, args, &at, &who)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, "", false, nil
	}
	if err != nil {
		return time.Time{}, "", false, translate(err, "breach")
	}
	return fromMicros(at), who, true, nil
}

// DueCount implements scoring.ReadStore. Outside a transaction, on SQLite
// held to itself, a count is reused while it holds (dueCache).
func (s *Scores) DueCount(ctx context.Context, relID, memberID string, from, to time.Time) (int, error) {
	f, t := micros(from), micros(to)
	cache := s.db.due
	if cache == nil || s.r != s.db.r {
		e, err := s.readDueCount(ctx, relID, memberID, f, t)
		return e.n, err
	}
	k := dueKey{relID, memberID, t - f}
	e, snap, ok := cache.get(k, func(e dueEntry) bool { return t >= e.to && t-e.to <= e.maxShift })
	if ok {
		return e.n, nil
	}
	e, err := s.readDueCount(ctx, relID, memberID, f, t)
	if err == nil {
		cache.put(k, e, snap)
	}
	return e.n, err
}

// readDueCount counts the member's open and resolved occurrences due in
// [from, to), and how far the window may slide before that count can
// change: to the first such occurrence due at or after to, or at or after
// from (one seek along occurrences_promisor_status_due for each status).
func (s *Scores) readDueCount(ctx context.Context, relID, memberID string, from, to int64) (dueEntry, error) {
	e := dueEntry{from: from, to: to, maxShift: math.MaxInt64}
	var n int64
	var in1, in2, out1, out2 sql.NullInt64
	next := `(SELECT MIN(due_at) FROM occurrences WHERE relationship_id = ? AND promisor_id = ? AND status = ? AND due_at >= ?)`
	err := s.db.queryRow(ctx, s.r, `SELECT (SELECT COUNT(*) FROM occurrences
		WHERE relationship_id = ? AND promisor_id = ? AND status IN (?, ?) AND due_at >= ? AND due_at < ?), `+
		next+`, `+next+`, `+next+`, `+next,
		[]any{relID, memberID, promise.OccOpen, promise.OccResolved, from, to,
			relID, memberID, promise.OccOpen, to, relID, memberID, promise.OccResolved, to,
			relID, memberID, promise.OccOpen, from, relID, memberID, promise.OccResolved, from},
		&n, &in1, &in2, &out1, &out2)
	e.n = int(n)
	for _, v := range []struct {
		next sql.NullInt64
		base int64
	}{{in1, to}, {in2, to}, {out1, from}, {out2, from}} {
		if v.next.Valid {
			e.maxShift = min(e.maxShift, v.next.Int64-v.base)
		}
	}
	return e, translate(err, "occurrence")
}

// OpenDue implements scoring.ReadStore.
func (s *Scores) OpenDue(ctx context.Context, relID, subject string, from, to time.Time) ([]time.Time, error) {
	var out []time.Time
	err := scanAll(ctx, s.db.querierFor(s.r), func(rows *sql.Rows) error {
		var due int64
		if err := rows.Scan(&due); err != nil {
			return err
		}
		out = append(out, fromMicros(due))
		return nil
	}, `SELECT due_at FROM occurrences WHERE relationship_id = ? AND `+subjectColumn(subject)+` = ? AND status = ? AND due_at >= ? AND due_at <= ? ORDER BY due_at`,
		relID, subject, promise.OccOpen, micros(from), micros(to))
	return out, translate(err, "occurrence")
}

// Rescore refreshes the rollups of a member and a promise for a change at
// t, and records score.level_changed when the member's level now moves.
func (s *Scores) Rescore(ctx context.Context, relID, memberID, promiseID string, t, now time.Time) error {
	rel, err := s.Relationship(ctx, relID)
	if err != nil {
		return err
	}
	return s.rescore(ctx, rel, memberID, promiseID, t, now)
}

// rescore is Rescore with the relationship already read in the transaction.
func (s *Scores) rescore(ctx context.Context, rel relationship.Relationship, memberID, promiseID string, t, now time.Time) error {
	if memberID == "" {
		if promiseID != "" {
			_, err := scoring.Refresh(ctx, s, rel, promiseID, t)
			return err
		}
		return nil
	}
	ch, err := scoring.RefreshMember(ctx, s, rel, memberID, promiseID, t)
	if err != nil {
		return err
	}
	return s.levelCheck(ctx, rel, memberID, ch, now)
}

// rescoreResolved is rescore for an occurrence of memberID's promise just
// resolved from open, with the item it now scores: the refresh folds the
// item into the rollups where that gives the same rows
// (scoring.RefreshMemberAdding).
func (s *Scores) rescoreResolved(ctx context.Context, rel relationship.Relationship, memberID, promiseID string, it score.Item, now time.Time) error {
	ch, err := scoring.RefreshMemberAdding(ctx, s, rel, memberID, promiseID, it)
	if err != nil {
		return err
	}
	return s.levelCheck(ctx, rel, memberID, ch, now)
}

// rescoreCheckIn is rescore for a check-in about memberID just created,
// whose felt trust is f: the refresh folds it into the day's row
// (scoring.RefreshMemberFelt).
func (s *Scores) rescoreCheckIn(ctx context.Context, relID, memberID string, f scoring.Felt, now time.Time) error {
	rel, err := s.Relationship(ctx, relID)
	if err != nil {
		return err
	}
	ch, err := scoring.RefreshMemberFelt(ctx, s, rel, memberID, f)
	if err != nil {
		return err
	}
	return s.levelCheck(ctx, rel, memberID, ch, now)
}

// levelCheck follows a refresh of a member's rollups: it marks their
// milestones for a look, and records score.level_changed when their level
// now moves.
func (s *Scores) levelCheck(ctx context.Context, rel relationship.Relationship, memberID string, ch scoring.Change, now time.Time) error {
	relID := rel.ID
	if err := s.markDirty(ctx, relID, memberID); err != nil {
		return err
	}
	// The level the rollups give now, before and after the refresh
	// (reading today's raw items would already see the change): a cheap
	// first look, on every write.
	before, after := ch.LevelsAt(rel, now)
	if after.Level == before.Level {
		return nil
	}
	// The event carries the score as GET …/score gives it now, counts and
	// streaks included; it is read again, exactly, when the level may have
	// moved.
	exact, _, err := scoring.At(ctx, s, rel, memberID, now)
	if err != nil {
		return err
	}
	// The level before, as GET …/score gave it, where the old rows tell it
	// (the quick look counts items due later today, and may disagree).
	if eb, ok := ch.ExactBefore(rel, now); ok {
		before = eb
	}
	if exact.Level == before.Level {
		return nil
	}
	return s.db.emit(ctx, s.w, event.Event{Type: event.ScoreLevelChanged, RelationshipID: relID, ActorID: "system", CreatedAt: now},
		levelChange{Score: wire.Score(exact), PreviousLevel: before.Level, RelationshipID: relID})
}

// levelChange is the data of score.level_changed: the score now, the
// level it left, and the relationship (a webhook's body names no other).
type levelChange struct {
	api.Score
	PreviousLevel  string `json:"previous_level"`
	RelationshipID string `json:"relationship_id"`
}

type milestoneRow struct {
	RelationshipID string `gorm:"primaryKey"`
	MemberID       string `gorm:"primaryKey"`
	PeriodStart    int64  `gorm:"primaryKey"`
	Name           string `gorm:"primaryKey"`
	ReachedAt      int64
}

func (milestoneRow) TableName() string { return "milestones" }

type dirtyRow struct {
	RelationshipID string `gorm:"primaryKey"`
	MemberID       string `gorm:"primaryKey"`
}

func (dirtyRow) TableName() string { return "score_dirty" }

// markDirty notes, in the change's transaction, that a member's milestones
// need a look.
func (s *Scores) markDirty(ctx context.Context, relID, memberID string) error {
	err := s.db.execSQL(ctx, s.w, `INSERT INTO score_dirty (relationship_id, member_id) VALUES (?, ?)
		ON CONFLICT (relationship_id, member_id) DO NOTHING`, relID, memberID)
	return translate(err, "score")
}

// DirtyMembers implements scoring.MilestoneStore.
func (s *Scores) DirtyMembers(ctx context.Context, limit int) ([]scoring.Dirty, error) {
	var rows []dirtyRow
	err := s.r.WithContext(ctx).Order("relationship_id, member_id").Limit(limit).Find(&rows).Error
	out := make([]scoring.Dirty, len(rows))
	for i, r := range rows {
		out[i] = scoring.Dirty{RelationshipID: r.RelationshipID, MemberID: r.MemberID}
	}
	return out, translate(err, "score")
}

// ClearDirty implements scoring.MilestoneStore.
func (s *Scores) ClearDirty(ctx context.Context, d scoring.Dirty) (bool, error) {
	res := s.w.WithContext(ctx).Where("relationship_id = ? AND member_id = ?", d.RelationshipID, d.MemberID).Delete(&dirtyRow{})
	return res.RowsAffected == 1, translate(res.Error, "score")
}

// RecordMilestones implements scoring.MilestoneStore.
func (s *Scores) RecordMilestones(ctx context.Context, d scoring.Dirty, periodStart time.Time, ms []scoring.Milestone, now time.Time) (int, error) {
	n := 0
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		for _, m := range ms {
			row := milestoneRow{RelationshipID: d.RelationshipID, MemberID: d.MemberID, PeriodStart: micros(periodStart),
				Name: m.Name, ReachedAt: micros(m.ReachedAt)}
			res := tx.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue
			}
			n++
			data := api.Milestone{Name: m.Name, ReachedAt: m.ReachedAt}
			if err := s.db.emit(ctx, tx, event.Event{Type: event.MilestoneReached, RelationshipID: d.RelationshipID, ActorID: "system", CreatedAt: now},
				milestoneReached{MemberID: d.MemberID, RelationshipID: d.RelationshipID, PeriodStartedAt: periodStart, Milestone: data}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, translate(err, "milestone")
}

// milestoneReached is the data of milestone.reached.
type milestoneReached struct {
	api.Milestone
	MemberID        string    `json:"member_id"`
	RelationshipID  string    `json:"relationship_id"`
	PeriodStartedAt time.Time `json:"period_started_at"`
}
