package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/scoring"
)

type promiseRow struct {
	ID                string `gorm:"primaryKey"`
	RelationshipID    string
	PromisorID        string
	PromiseeID        *string
	Title             string
	Details           string
	Kind              string
	DueAt             *int64
	Rrule             *string
	TimeZone          *string
	LocalTime         *string
	StartsOn          *string
	Status            string
	MaterializedUntil *int64
	CreatedAt         int64 `gorm:"autoCreateTime:false"`
	UpdatedAt         int64 `gorm:"autoUpdateTime:false"`
}

func (promiseRow) TableName() string { return "promises" }

func fromPromise(p promise.Promise) promiseRow {
	r := promiseRow{
		ID: p.ID, RelationshipID: p.RelationshipID, PromisorID: p.PromisorID, PromiseeID: p.PromiseeID,
		Title: p.Title, Details: p.Details, Kind: p.Kind, DueAt: microsPtr(p.DueAt), Status: p.Status,
		MaterializedUntil: microsPtr(p.MaterializedUntil), CreatedAt: micros(p.CreatedAt), UpdatedAt: micros(p.UpdatedAt),
	}
	if rc := p.Recurrence; rc != nil {
		r.Rrule, r.TimeZone, r.LocalTime, r.StartsOn = &rc.RRule, &rc.TimeZone, &rc.LocalTime, &rc.StartsOn
	}
	return r
}

func toPromise(r promiseRow) promise.Promise {
	p := promise.Promise{
		ID: r.ID, RelationshipID: r.RelationshipID, PromisorID: r.PromisorID, PromiseeID: r.PromiseeID,
		Title: r.Title, Details: r.Details, Kind: r.Kind, DueAt: fromMicrosPtr(r.DueAt), Status: r.Status,
		MaterializedUntil: fromMicrosPtr(r.MaterializedUntil), CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
	}
	if r.Rrule != nil {
		p.Recurrence = &promise.Recurrence{RRule: *r.Rrule, TimeZone: deref(r.TimeZone), LocalTime: deref(r.LocalTime), StartsOn: deref(r.StartsOn)}
	}
	return p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type occurrenceRow struct {
	ID              string `gorm:"primaryKey"`
	RelationshipID  string
	PromiseID       string
	PromisorID      string
	PromiseeID      *string
	DueAt           int64
	OriginalDueAt   int64
	Status          string
	Outcome         *string
	FollowThroughID *string
	ReplacesID      *string
	CreatedAt       int64 `gorm:"autoCreateTime:false"`
	UpdatedAt       int64 `gorm:"autoUpdateTime:false"`
}

func (occurrenceRow) TableName() string { return "occurrences" }

func fromOccurrence(o promise.Occurrence) occurrenceRow {
	return occurrenceRow{
		ID: o.ID, RelationshipID: o.RelationshipID, PromiseID: o.PromiseID, PromisorID: o.PromisorID, PromiseeID: o.PromiseeID,
		DueAt: micros(o.DueAt), OriginalDueAt: micros(o.OriginalDueAt), Status: o.Status, Outcome: o.Outcome,
		FollowThroughID: o.FollowThroughID, ReplacesID: o.ReplacesID, CreatedAt: micros(o.CreatedAt), UpdatedAt: micros(o.UpdatedAt),
	}
}

func toOccurrence(r occurrenceRow) promise.Occurrence {
	return promise.Occurrence{
		ID: r.ID, RelationshipID: r.RelationshipID, PromiseID: r.PromiseID, PromisorID: r.PromisorID, PromiseeID: r.PromiseeID,
		DueAt: fromMicros(r.DueAt), OriginalDueAt: fromMicros(r.OriginalDueAt), Status: r.Status, Outcome: r.Outcome,
		FollowThroughID: r.FollowThroughID, ReplacesID: r.ReplacesID, CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
	}
}

type followThroughRow struct {
	ID             string `gorm:"primaryKey"`
	RelationshipID string
	OccurrenceID   string
	PromiseID      string
	Outcome        string
	OccurredAt     int64
	Note           string
	RecordedBy     string
	Verification   string
	DisputeReason  *string
	AcceptAfter    *int64
	VerifiedAt     *int64
	SupersededAt   *int64
	CreatedAt      int64 `gorm:"autoCreateTime:false"`
	UpdatedAt      int64 `gorm:"autoUpdateTime:false"`
}

func (followThroughRow) TableName() string { return "follow_throughs" }

func fromFollowThrough(f promise.FollowThrough) followThroughRow {
	return followThroughRow{
		ID: f.ID, RelationshipID: f.RelationshipID, OccurrenceID: f.OccurrenceID, PromiseID: f.PromiseID, Outcome: f.Outcome,
		OccurredAt: micros(f.OccurredAt), Note: f.Note, RecordedBy: f.RecordedBy, Verification: f.Verification,
		DisputeReason: f.DisputeReason, AcceptAfter: microsPtr(f.AcceptAfter), VerifiedAt: microsPtr(f.VerifiedAt),
		SupersededAt: microsPtr(f.SupersededAt), CreatedAt: micros(f.CreatedAt), UpdatedAt: micros(f.UpdatedAt),
	}
}

func toFollowThrough(r followThroughRow) promise.FollowThrough {
	return promise.FollowThrough{
		ID: r.ID, RelationshipID: r.RelationshipID, OccurrenceID: r.OccurrenceID, PromiseID: r.PromiseID, Outcome: r.Outcome,
		OccurredAt: fromMicros(r.OccurredAt), Note: r.Note, RecordedBy: r.RecordedBy, Verification: r.Verification,
		DisputeReason: r.DisputeReason, AcceptAfter: fromMicrosPtr(r.AcceptAfter), VerifiedAt: fromMicrosPtr(r.VerifiedAt),
		SupersededAt: fromMicrosPtr(r.SupersededAt), CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
	}
}

type renegotiationRow struct {
	ID              string `gorm:"primaryKey"`
	RelationshipID  string
	OccurrenceID    string
	PromiseID       string
	ProposedBy      string
	ProposedDueAt   int64
	Reason          string
	Status          string
	NewOccurrenceID *string
	CreatedAt       int64 `gorm:"autoCreateTime:false"`
	ResolvedAt      *int64
}

func (renegotiationRow) TableName() string { return "renegotiations" }

func fromRenegotiation(r promise.Renegotiation) renegotiationRow {
	return renegotiationRow{
		ID: r.ID, RelationshipID: r.RelationshipID, OccurrenceID: r.OccurrenceID, PromiseID: r.PromiseID, ProposedBy: r.ProposedBy,
		ProposedDueAt: micros(r.ProposedDueAt), Reason: r.Reason, Status: r.Status, NewOccurrenceID: r.NewOccurrenceID,
		CreatedAt: micros(r.CreatedAt), ResolvedAt: microsPtr(r.ResolvedAt),
	}
}

func toRenegotiation(r renegotiationRow) promise.Renegotiation {
	return promise.Renegotiation{
		ID: r.ID, RelationshipID: r.RelationshipID, OccurrenceID: r.OccurrenceID, PromiseID: r.PromiseID, ProposedBy: r.ProposedBy,
		ProposedDueAt: fromMicros(r.ProposedDueAt), Reason: r.Reason, Status: r.Status, NewOccurrenceID: r.NewOccurrenceID,
		CreatedAt: fromMicros(r.CreatedAt), ResolvedAt: fromMicrosPtr(r.ResolvedAt),
	}
}

type pauseRow struct {
	ID             string `gorm:"primaryKey"`
	RelationshipID string
	PromiseID      string
	StartsOn       string
	EndsOn         string
	Reason         string
	CreatedBy      string
	CreatedAt      int64 `gorm:"autoCreateTime:false"`
}

func (pauseRow) TableName() string { return "pauses" }

// Promises implements promise.Store.
type Promises struct {
	db   *DB
	w, r *gorm.DB
}

// Promises returns the promise store.
func (db *DB) Promises() *Promises {
	return &Promises{db: db, w: db.w, r: db.r}
}

// InTx implements promise.Store.
func (s *Promises) InTx(ctx context.Context, fn func(tx promise.Store) error) error {
	return s.db.inTx(ctx, func(tx *gorm.DB) error {
		return fn(&Promises{db: s.db, w: tx, r: tx})
	})
}

// Relationship implements promise.Store.
//
// What promises need of a relationship is what scores need (settings,
// status, current members' ids; no names): every write to an occurrence
// starts here. On SQLite held to itself it comes from relCache, inside
// the writer's transaction too: the tables are settled there only while
// this transaction has written nothing to them (the update hook unsettles
// them at the first write), and then the copy kept at the current
// generation is what was last committed, which is what this transaction
// would read.
func (s *Promises) Relationship(ctx context.Context, relID string) (relationship.Relationship, error) {
	sc := &Scores{db: s.db, w: s.w, r: s.r}
	if s.r != s.db.r && s.r != s.w { // a read-only transaction: its own snapshot
		return sc.readRelationship(ctx, relID)
	}
	return sc.cachedRelationship(ctx, relID)
}

// IsMember reports whether a user is a current member (trust.Store uses it).
// It is asked in every check-in's transaction: hand-written SQL.
func (s *Promises) IsMember(ctx context.Context, relID, userID string) (bool, error) {
	var n int64
	err := s.db.queryRow(ctx, s.r, `SELECT COUNT(*) FROM relationship_members
		WHERE relationship_id = ? AND user_id = ? AND left_at IS NULL`, []any{relID, userID}, &n)
	return n > 0, translate(err, "member")
}

// CreatePromise implements promise.Store.
func (s *Promises) CreatePromise(ctx context.Context, p promise.Promise) error {
	row := fromPromise(p)
	return translate(s.w.WithContext(ctx).Create(&row).Error, "promise")
}

// Promise implements promise.Store.
// It is read in every write to a promise's occurrences: hand-written SQL.
func (s *Promises) Promise(ctx context.Context, id string) (promise.Promise, error) {
	var r promiseRow
	err := s.db.queryRow(ctx, s.r, `SELECT id, relationship_id, promisor_id, promisee_id, title, details, kind, due_at,
			rrule, time_zone, local_time, starts_on, status, materialized_until, created_at, updated_at
		FROM promises WHERE id = ?`, []any{id},
		&r.ID, &r.RelationshipID, &r.PromisorID, &r.PromiseeID, &r.Title, &r.Details, &r.Kind, &r.DueAt,
		&r.Rrule, &r.TimeZone, &r.LocalTime, &r.StartsOn, &r.Status, &r.MaterializedUntil, &r.CreatedAt, &r.UpdatedAt)
	return toPromise(r), translate(err, "promise")
}

// UpdatePromise implements promise.Store.
func (s *Promises) UpdatePromise(ctx context.Context, p promise.Promise) error {
	row := fromPromise(p)
	err := s.w.WithContext(ctx).Model(&promiseRow{}).Where("relationship_id = ? AND id = ?", p.RelationshipID, p.ID).
		Select("*").Omit("id", "relationship_id", "created_at").Updates(&row).Error
	return translate(err, "promise")
}

// CompleteOneOff implements promise.Store.
func (s *Promises) CompleteOneOff(ctx context.Context, promiseID string, now time.Time) (bool, error) {
	res, err := s.db.execResult(ctx, s.w, `UPDATE promises SET status = ?, updated_at = ? WHERE id = ? AND kind = ? AND status = ?`,
		promise.StatusCompleted, micros(now), promiseID, promise.KindOneOff, promise.StatusActive)
	if err != nil {
		return false, translate(err, "promise")
	}
	n, err := res.RowsAffected()
	return n == 1, translate(err, "promise")
}

// ListPromises implements promise.Store.
func (s *Promises) ListPromises(ctx context.Context, relID string, f promise.PromiseFilter, pr page.Request) ([]promise.Promise, error) {
	q := s.r.WithContext(ctx).Where("relationship_id = ?", relID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.PromisorID != "" {
		q = q.Where("promisor_id = ?", f.PromisorID)
	}
	if f.PromiseeID != "" {
		q = q.Where("promisee_id = ?", f.PromiseeID)
	}
	if f.UpdatedSince != nil {
		q = q.Where("updated_at >= ?", micros(*f.UpdatedSince))
	}
	if len(pr.After) == 1 {
		q = q.Where("id > ?", pr.After[0])
	}
	var rows []promiseRow
	if err := q.Order("id").Limit(pr.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "promise")
	}
	out := make([]promise.Promise, len(rows))
	for i, r := range rows {
		out[i] = toPromise(r)
	}
	return out, nil
}

// PromisesToMaterialize implements promise.Store.
func (s *Promises) PromisesToMaterialize(ctx context.Context, until time.Time, limit int) ([]promise.Promise, error) {
	var rows []promiseRow
	err := s.r.WithContext(ctx).Where("kind = ? AND status = ? AND materialized_until < ?", promise.KindRecurring, promise.StatusActive, micros(until)).
		Order("materialized_until").Limit(limit).Find(&rows).Error
	out := make([]promise.Promise, len(rows))
	for i, r := range rows {
		out[i] = toPromise(r)
	}
	return out, translate(err, "promise")
}

// InsertOccurrences implements promise.Store.
func (s *Promises) InsertOccurrences(ctx context.Context, os []promise.Occurrence) error {
	if len(os) == 0 {
		return nil
	}
	rows := make([]occurrenceRow, len(os))
	for i, o := range os {
		rows[i] = fromOccurrence(o)
	}
	// An instance that exists stays as it is. A cancelled one stays
	// cancelled, and holds no instance: the unique index occurrences_instance
	// leaves cancelled rows out (migration 0019), so a later plan that falls
	// due then again gets an occurrence of its own. The conflict target
	// repeats the index's predicate word for word, as PostgreSQL needs to
	// infer a partial index (a bound parameter would not do).
	err := s.w.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:     []clause.Column{{Name: "promise_id"}, {Name: "original_due_at"}},
		TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "status <> 'cancelled'"}}},
		DoNothing:   true,
	}).CreateInBatches(&rows, 200).Error
	return translate(err, "occurrence")
}

// Occurrence implements promise.Store.
// It is read in every write to an occurrence: hand-written SQL.
func (s *Promises) Occurrence(ctx context.Context, id string) (promise.Occurrence, error) {
	var r occurrenceRow
	err := s.db.queryRow(ctx, s.r, `SELECT id, relationship_id, promise_id, promisor_id, promisee_id, due_at, original_due_at,
			status, outcome, follow_through_id, replaces_id, created_at, updated_at
		FROM occurrences WHERE id = ?`, []any{id},
		&r.ID, &r.RelationshipID, &r.PromiseID, &r.PromisorID, &r.PromiseeID, &r.DueAt, &r.OriginalDueAt,
		&r.Status, &r.Outcome, &r.FollowThroughID, &r.ReplacesID, &r.CreatedAt, &r.UpdatedAt)
	return toOccurrence(r), translate(err, "occurrence")
}

// UpdateOccurrence implements promise.Store.
func (s *Promises) UpdateOccurrence(ctx context.Context, o promise.Occurrence, fromStatus string) (bool, error) {
	return s.setOccurrence(ctx, o, fromStatus, "status = ?, outcome = ?, follow_through_id = ?, updated_at = ?",
		o.Status, o.Outcome, o.FollowThroughID, micros(o.UpdatedAt))
}

// MoveOccurrence implements promise.Store.
func (s *Promises) MoveOccurrence(ctx context.Context, o promise.Occurrence, fromStatus string) (bool, error) {
	return s.setOccurrence(ctx, o, fromStatus, "due_at = ?, updated_at = ?", micros(o.DueAt), micros(o.UpdatedAt))
}

// setOccurrence sets columns of an occurrence whose status is still
// fromStatus. Only the columns named are set: SQLite rewrites the entries
// of every index holding a column an UPDATE sets, changed or not, and an
// occurrence has seven indexes, three of them on its status and six on its
// due time.
func (s *Promises) setOccurrence(ctx context.Context, o promise.Occurrence, fromStatus, set string, args ...any) (bool, error) {
	args = append(args, o.RelationshipID, o.ID, fromStatus)
	res, err := s.db.execResult(ctx, s.w, "UPDATE occurrences SET "+set+" WHERE relationship_id = ? AND id = ? AND status = ?", args...)
	if err != nil {
		return false, translate(err, "occurrence")
	}
	n, err := res.RowsAffected()
	return n == 1, translate(err, "occurrence")
}

// ListOccurrences implements promise.Store.
func (s *Promises) ListOccurrences(ctx context.Context, relID string, f promise.OccurrenceFilter, pr page.Request) ([]promise.Occurrence, error) {
	q := s.r.WithContext(ctx).Where("relationship_id = ?", relID)
	if f.PromiseID != "" {
		q = q.Where("promise_id = ?", f.PromiseID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.DueAfter != nil {
		q = q.Where("due_at >= ?", micros(*f.DueAfter))
	}
	if f.DueBefore != nil {
		q = q.Where("due_at < ?", micros(*f.DueBefore))
	}
	if len(pr.After) == 2 {
		due, err := time.Parse(time.RFC3339Nano, pr.After[0])
		if err != nil {
			return nil, errBadCursor
		}
		q = q.Where("(due_at > ? OR (due_at = ? AND id > ?))", micros(due), micros(due), pr.After[1])
	}
	var rows []occurrenceRow
	if err := q.Order("due_at, id").Limit(pr.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "occurrence")
	}
	out := make([]promise.Occurrence, len(rows))
	for i, r := range rows {
		out[i] = toOccurrence(r)
	}
	return out, nil
}

// CancelOpenOccurrences implements promise.Store.
func (s *Promises) CancelOpenOccurrences(ctx context.Context, relID, promiseID string, from, at time.Time) error {
	q := s.w.WithContext(ctx).Model(&occurrenceRow{}).
		Where("relationship_id = ? AND promise_id = ? AND status = ? AND due_at >= ?", relID, promiseID, promise.OccOpen, micros(from))
	err := q.Updates(map[string]any{"status": promise.OccCancelled, "updated_at": micros(at)}).Error
	return translate(err, "occurrence")
}

// OpenOccurrencesOf implements promise.Store.
func (s *Promises) OpenOccurrencesOf(ctx context.Context, relID, promiseID string, from time.Time) ([]promise.Occurrence, error) {
	var rows []occurrenceRow
	err := s.r.WithContext(ctx).Where("relationship_id = ? AND promise_id = ? AND status = ? AND due_at >= ?", relID, promiseID, promise.OccOpen, micros(from)).
		Order("due_at").Find(&rows).Error
	out := make([]promise.Occurrence, len(rows))
	for i, r := range rows {
		out[i] = toOccurrence(r)
	}
	return out, translate(err, "occurrence")
}

// LiveOccurrencesOf implements promise.Store.
func (s *Promises) LiveOccurrencesOf(ctx context.Context, relID, promiseID string, from time.Time) ([]promise.Occurrence, error) {
	var rows []occurrenceRow
	err := s.r.WithContext(ctx).Where("relationship_id = ? AND promise_id = ? AND status <> ? AND due_at >= ?",
		relID, promiseID, promise.OccCancelled, micros(from)).
		Order("due_at").Find(&rows).Error
	out := make([]promise.Occurrence, len(rows))
	for i, r := range rows {
		out[i] = toOccurrence(r)
	}
	return out, translate(err, "occurrence")
}

// InstantHeld implements promise.Store, along occurrences_promise.
func (s *Promises) InstantHeld(ctx context.Context, relID, promiseID string, due time.Time, except string) (bool, error) {
	var n int64
	err := s.r.WithContext(ctx).Model(&occurrenceRow{}).
		Where("relationship_id = ? AND promise_id = ? AND due_at = ? AND id <> ? AND status <> ?",
			relID, promiseID, micros(due), except, promise.OccCancelled).
		Count(&n).Error
	return n > 0, translate(err, "occurrence")
}

// OverdueOccurrences implements promise.Store. Candidates come from the
// (status, due_at) index; the relationship's grace is applied in the join.
// In an archived relationship only what fell due before the archive is
// scored (an archive takes back no promise running late), never what was
// planned after it.
func (s *Promises) OverdueOccurrences(ctx context.Context, now time.Time, limit int) ([]promise.Occurrence, error) {
	var rows []occurrenceRow
	err := s.r.WithContext(ctx).Table("occurrences AS o").Select("o.*").
		Joins("JOIN relationships r ON r.id = o.relationship_id").
		Where("o.status = ? AND o.due_at < ? AND o.due_at + CAST(r.grace_minutes AS BIGINT) * 60000000 < ? AND (r.status = ? OR o.due_at < r.archived_at)",
			promise.OccOpen, micros(now), micros(now), relationship.StatusActive).
		Order("o.due_at").Limit(limit).Scan(&rows).Error
	out := make([]promise.Occurrence, len(rows))
	for i, r := range rows {
		out[i] = toOccurrence(r)
	}
	return out, translate(err, "occurrence")
}

// CreateFollowThrough implements promise.Store.
// Every follow-through is one: hand-written SQL.
func (s *Promises) CreateFollowThrough(ctx context.Context, f promise.FollowThrough) error {
	r := fromFollowThrough(f)
	err := s.db.execSQL(ctx, s.w, `INSERT INTO follow_throughs (id, relationship_id, occurrence_id, promise_id, outcome,
			occurred_at, note, recorded_by, verification, dispute_reason, accept_after, verified_at, superseded_at,
			created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.RelationshipID, r.OccurrenceID, r.PromiseID, r.Outcome, r.OccurredAt, r.Note, r.RecordedBy,
		r.Verification, r.DisputeReason, r.AcceptAfter, r.VerifiedAt, r.SupersededAt, r.CreatedAt, r.UpdatedAt)
	return translate(err, "follow-through")
}

// FollowThrough implements promise.Store.
func (s *Promises) FollowThrough(ctx context.Context, id string) (promise.FollowThrough, error) {
	var row followThroughRow
	err := s.r.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return toFollowThrough(row), translate(err, "follow-through")
}

// UpdateFollowThrough implements promise.Store.
func (s *Promises) UpdateFollowThrough(ctx context.Context, f promise.FollowThrough, fromVerification string) (bool, error) {
	row := fromFollowThrough(f)
	res := s.w.WithContext(ctx).Model(&followThroughRow{}).
		Where("relationship_id = ? AND id = ? AND verification = ? AND superseded_at IS NULL", f.RelationshipID, f.ID, fromVerification).
		Select("*").Omit("id", "relationship_id", "occurrence_id", "promise_id", "created_at").Updates(&row)
	return res.RowsAffected == 1, translate(res.Error, "follow-through")
}

// ListFollowThroughs implements promise.Store.
func (s *Promises) ListFollowThroughs(ctx context.Context, relID, occurrenceID string, pr page.Request) ([]promise.FollowThrough, error) {
	q := s.r.WithContext(ctx).Where("relationship_id = ?", relID)
	if occurrenceID != "" {
		q = q.Where("occurrence_id = ?", occurrenceID)
	}
	if len(pr.After) == 1 {
		q = q.Where("id > ?", pr.After[0])
	}
	var rows []followThroughRow
	if err := q.Order("id").Limit(pr.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "follow-through")
	}
	out := make([]promise.FollowThrough, len(rows))
	for i, r := range rows {
		out[i] = toFollowThrough(r)
	}
	return out, nil
}

// Unanswered implements promise.Store.
func (s *Promises) Unanswered(ctx context.Context, now time.Time, limit int) ([]promise.FollowThrough, error) {
	var rows []followThroughRow
	err := s.r.WithContext(ctx).
		Where("verification = ? AND accept_after IS NOT NULL AND accept_after <= ? AND superseded_at IS NULL", promise.Unverified, micros(now)).
		Order("accept_after").Limit(limit).Find(&rows).Error
	out := make([]promise.FollowThrough, len(rows))
	for i, r := range rows {
		out[i] = toFollowThrough(r)
	}
	return out, translate(err, "follow-through")
}

// Rescore implements promise.Store.
func (s *Promises) Rescore(ctx context.Context, rel relationship.Relationship, memberID, promiseID string, t, now time.Time) error {
	return s.db.Scores().inTx(s.w).rescore(ctx, rel, memberID, promiseID, t, now)
}

// RescoreResolved implements promise.Store: the item is made as a day's
// content would read it back (occurrenceItem, times in µs as stored).
func (s *Promises) RescoreResolved(ctx context.Context, rel relationship.Relationship, o promise.Occurrence, ft promise.FollowThrough, now time.Time) error {
	it := occurrenceItem(micros(o.DueAt), micros(ft.OccurredAt), scoring.Grace(rel), ft.Outcome, ft.Verification, ft.RecordedBy)
	return s.db.Scores().inTx(s.w).rescoreResolved(ctx, rel, o.PromisorID, o.PromiseID, it, now)
}

// CreateRenegotiation implements promise.Store.
func (s *Promises) CreateRenegotiation(ctx context.Context, r promise.Renegotiation) error {
	row := fromRenegotiation(r)
	return translate(s.w.WithContext(ctx).Create(&row).Error, "renegotiation")
}

// Renegotiation implements promise.Store.
func (s *Promises) Renegotiation(ctx context.Context, id string) (promise.Renegotiation, error) {
	var row renegotiationRow
	err := s.r.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return toRenegotiation(row), translate(err, "renegotiation")
}

// PendingRenegotiation implements promise.Store.
func (s *Promises) PendingRenegotiation(ctx context.Context, relID, occurrenceID string) (promise.Renegotiation, error) {
	var row renegotiationRow
	err := s.r.WithContext(ctx).Where("relationship_id = ? AND occurrence_id = ? AND status = ?", relID, occurrenceID, promise.RenegPending).
		Take(&row).Error
	return toRenegotiation(row), translate(err, "renegotiation")
}

// PendingRenegotiationsOf implements promise.Store, along the partial
// index renegotiations_pending (migration 0015).
func (s *Promises) PendingRenegotiationsOf(ctx context.Context, relID, promiseID string) ([]promise.Renegotiation, error) {
	var rows []renegotiationRow
	err := pendingOf(s.r.WithContext(ctx), relID, promiseID, &rows).Error
	out := make([]promise.Renegotiation, len(rows))
	for i, r := range rows {
		out[i] = toRenegotiation(r)
	}
	return out, translate(err, "renegotiation")
}

// Replaced implements promise.Store, along renegotiations_occurrence.
func (s *Promises) Replaced(ctx context.Context, relID, occurrenceID string) (bool, error) {
	var n int64
	err := s.db.queryRow(ctx, s.r, `SELECT COUNT(*) FROM renegotiations
		WHERE relationship_id = ? AND occurrence_id = ? AND status = ? AND new_occurrence_id IS NOT NULL`,
		[]any{relID, occurrenceID, promise.RenegAccepted}, &n)
	return n > 0, translate(err, "renegotiation")
}

// pendingOf is PendingRenegotiationsOf's query. The status is a literal:
// a partial index serves only a query that names its condition, not a
// bound parameter.
func pendingOf(q *gorm.DB, relID, promiseID string, rows *[]renegotiationRow) *gorm.DB {
	return q.Where("relationship_id = ? AND promise_id = ? AND status = '"+promise.RenegPending+"'", relID, promiseID).
		Order("id").Find(rows)
}

// UpdateRenegotiation implements promise.Store.
func (s *Promises) UpdateRenegotiation(ctx context.Context, r promise.Renegotiation, fromStatus string) (bool, error) {
	res := s.w.WithContext(ctx).Model(&renegotiationRow{}).
		Where("relationship_id = ? AND id = ? AND status = ?", r.RelationshipID, r.ID, fromStatus).
		Updates(map[string]any{"status": r.Status, "resolved_at": microsPtr(r.ResolvedAt), "new_occurrence_id": r.NewOccurrenceID})
	return res.RowsAffected == 1, translate(res.Error, "renegotiation")
}

// ListRenegotiations implements promise.Store.
func (s *Promises) ListRenegotiations(ctx context.Context, relID, occurrenceID, status string, pr page.Request) ([]promise.Renegotiation, error) {
	q := s.r.WithContext(ctx).Where("relationship_id = ?", relID)
	if occurrenceID != "" {
		q = q.Where("occurrence_id = ?", occurrenceID)
	}
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if len(pr.After) == 1 {
		q = q.Where("id > ?", pr.After[0])
	}
	var rows []renegotiationRow
	if err := q.Order("id").Limit(pr.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "renegotiation")
	}
	out := make([]promise.Renegotiation, len(rows))
	for i, r := range rows {
		out[i] = toRenegotiation(r)
	}
	return out, nil
}

// CreatePause implements promise.Store.
func (s *Promises) CreatePause(ctx context.Context, p promise.Pause) error {
	row := pauseRow{ID: p.ID, RelationshipID: p.RelationshipID, PromiseID: p.PromiseID, StartsOn: p.StartsOn, EndsOn: p.EndsOn,
		Reason: p.Reason, CreatedBy: p.CreatedBy, CreatedAt: micros(p.CreatedAt)}
	return translate(s.w.WithContext(ctx).Create(&row).Error, "pause")
}

func toPause(r pauseRow) promise.Pause {
	return promise.Pause{ID: r.ID, RelationshipID: r.RelationshipID, PromiseID: r.PromiseID, StartsOn: r.StartsOn, EndsOn: r.EndsOn,
		Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt)}
}

// ListPauses implements promise.Store.
func (s *Promises) ListPauses(ctx context.Context, relID, promiseID string, pr page.Request) ([]promise.Pause, error) {
	q := s.r.WithContext(ctx).Where("relationship_id = ? AND promise_id = ?", relID, promiseID)
	if len(pr.After) == 1 {
		q = q.Where("id > ?", pr.After[0])
	}
	var rows []pauseRow
	if err := q.Order("id").Limit(pr.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "pause")
	}
	out := make([]promise.Pause, len(rows))
	for i, r := range rows {
		out[i] = toPause(r)
	}
	return out, nil
}

// PausesOf implements promise.Store.
func (s *Promises) PausesOf(ctx context.Context, relID, promiseID string) ([]promise.Pause, error) {
	var rows []pauseRow
	err := s.r.WithContext(ctx).Where("relationship_id = ? AND promise_id = ?", relID, promiseID).Find(&rows).Error
	out := make([]promise.Pause, len(rows))
	for i, r := range rows {
		out[i] = toPause(r)
	}
	return out, translate(err, "pause")
}

// Emit implements promise.Store.
func (s *Promises) Emit(ctx context.Context, e event.Event, resource any) error {
	return s.db.emit(ctx, s.w, e, resource)
}

// ToRemind implements promise.Store.
func (s *Promises) ToRemind(ctx context.Context, kind string, now time.Time, limit int) ([]promise.Occurrence, error) {
	q := s.r.WithContext(ctx).Table("occurrences AS o").Select("o.*").
		Joins("JOIN relationships r ON r.id = o.relationship_id").
		Where("o.status = ? AND r.status = ?", promise.OccOpen, relationship.StatusActive)
	n := micros(now)
	switch kind {
	case "due_soon":
		q = q.Where("o.due_soon_at IS NULL AND o.due_at > ? AND o.due_at - CAST(r.remind_minutes AS BIGINT) * 60000000 <= ?", n, n)
	default:
		q = q.Where("o.overdue_at IS NULL AND o.due_at <= ? AND o.due_at + CAST(r.grace_minutes AS BIGINT) * 60000000 >= ?", n, n)
	}
	var rows []occurrenceRow
	if err := q.Order("o.due_at").Limit(limit).Scan(&rows).Error; err != nil {
		return nil, translate(err, "occurrence")
	}
	out := make([]promise.Occurrence, len(rows))
	for i, r := range rows {
		out[i] = toOccurrence(r)
	}
	return out, nil
}

// MarkReminded implements promise.Store.
func (s *Promises) MarkReminded(ctx context.Context, o promise.Occurrence, kind string, at time.Time) (bool, error) {
	col := "overdue_at"
	if kind == "due_soon" {
		col = "due_soon_at"
	}
	res := s.w.WithContext(ctx).Model(&occurrenceRow{}).
		Where("relationship_id = ? AND id = ? AND status = ? AND "+col+" IS NULL", o.RelationshipID, o.ID, promise.OccOpen).
		Update(col, micros(at))
	return res.RowsAffected == 1, translate(res.Error, "occurrence")
}

// cancelPromisesOf cancels, in tx, the active promises a departing member
// made or was made in a relationship: their upcoming open occurrences are
// cancelled and never scored, what already happened stays, and each gets a
// promise.cancelled event (actor: the member).
func (db *DB) cancelPromisesOf(ctx context.Context, tx *gorm.DB, relID, userID string, at time.Time) error {
	return db.closePromises(ctx, tx, relID, userID, at, false)
}

// archivePromises archives every active promise of a relationship being
// archived: their open occurrences not yet due are cancelled, their
// proposals declined. One already due stays open, and is scored missed when
// its grace runs out (OverdueOccurrences looks at archived relationships
// for what fell due before they were archived).
func (db *DB) archivePromises(ctx context.Context, tx *gorm.DB, relID, userID string, at time.Time) error {
	return db.closePromises(ctx, tx, relID, userID, at, true)
}

// closePromises cancels the active promises userID made or was made in a
// relationship, or with all set archives every active promise in it.
func (db *DB) closePromises(ctx context.Context, tx *gorm.DB, relID, userID string, at time.Time, all bool) error {
	var rows []promiseRow
	q := tx.WithContext(ctx).Where("relationship_id = ? AND status = ?", relID, promise.StatusActive)
	if !all {
		q = q.Where("promisor_id = ? OR promisee_id = ?", userID, userID)
	}
	if err := q.Order("id").Find(&rows).Error; err != nil {
		return translate(err, "promise")
	}
	p := &Promises{db: db, w: tx, r: tx}
	status, typ := promise.StatusCancelled, event.PromiseCancelled
	if all {
		status, typ = promise.StatusArchived, event.PromiseUpdated
	}
	for _, row := range rows {
		pr := toPromise(row)
		if err := p.CancelOpenOccurrences(ctx, relID, pr.ID, at, at); err != nil {
			return err
		}
		if err := promise.CloseProposals(ctx, p, relID, pr.ID, userID, at, true); err != nil {
			return err
		}
		pr.Status, pr.UpdatedAt = status, at
		if err := p.UpdatePromise(ctx, pr); err != nil {
			return err
		}
		if err := db.emit(ctx, tx, event.Event{Type: typ, RelationshipID: relID, ActorID: userID, CreatedAt: at}, pr); err != nil {
			return err
		}
	}
	return nil
}
