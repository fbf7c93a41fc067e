package store

import (
	"context"
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
		RelationshipID: d.RelationshipID, Subject: d.Subject, Day: d.Day, DayEnd: micros(d.End),
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
		RelationshipID: r.RelationshipID, Subject: r.Subject, Day: r.Day, End: end,
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
	rels *Relationships
	w, r *gorm.DB
}

// Scores returns the score store.
func (db *DB) Scores() *Scores { return &Scores{db: db, rels: db.Relationships(), w: db.w, r: db.r} }

func (s *Scores) inTx(tx *gorm.DB) *Scores {
	return &Scores{db: s.db, rels: &Relationships{db: s.db, w: tx, r: tx}, w: tx, r: tx}
}

// Relationship implements scoring.Store.
func (s *Scores) Relationship(ctx context.Context, relID string) (relationship.Relationship, error) {
	return s.rels.Get(ctx, relID)
}

// subjectColumn is the occurrences column a subject is matched on.
func subjectColumn(subject string) string {
	if scoring.IsMember(subject) {
		return "promisor_id"
	}
	return "promise_id"
}

type scoredRow struct {
	DueAt        int64
	OccurredAt   int64
	Outcome      string
	Verification string
	RecordedBy   string
}

// Content implements scoring.Store.
func (s *Scores) Content(ctx context.Context, rel relationship.Relationship, subject string, from, to time.Time) (scoring.Content, error) {
	var c scoring.Content
	col := subjectColumn(subject)
	var rows []scoredRow
	err := s.r.WithContext(ctx).Table("occurrences AS o").
		Select("o.due_at, f.occurred_at, f.outcome, f.verification, f.recorded_by").
		Joins("JOIN follow_throughs f ON f.id = o.follow_through_id").
		Where("o.relationship_id = ? AND o."+col+" = ? AND o.status = ? AND o.due_at >= ? AND o.due_at < ?",
			rel.ID, subject, promise.OccResolved, micros(from), micros(to)).
		Order("o.due_at, o.id").Scan(&rows).Error
	if err != nil {
		return c, translate(err, "occurrence")
	}
	grace := scoring.Grace(rel)
	for _, r := range rows {
		c.Items = append(c.Items, score.OccurrenceItem(fromMicros(r.DueAt), fromMicros(r.OccurredAt), grace,
			r.Outcome, r.Verification, r.RecordedBy == promise.System))
	}
	var skipped []int64
	err = s.r.WithContext(ctx).Model(&occurrenceRow{}).
		Where("relationship_id = ? AND "+col+" = ? AND status = ? AND due_at >= ? AND due_at < ?",
			rel.ID, subject, promise.OccSkipped, micros(from), micros(to)).Pluck("due_at", &skipped).Error
	if err != nil {
		return c, translate(err, "occurrence")
	}
	for _, us := range skipped {
		c.Skipped = append(c.Skipped, fromMicros(us))
	}
	if !scoring.IsMember(subject) {
		return c, nil
	}
	var breaches []breachRow
	err = s.r.WithContext(ctx).Where("relationship_id = ? AND member_id = ? AND occurred_at >= ? AND occurred_at < ?",
		rel.ID, subject, micros(from), micros(to)).Order("occurred_at, id").Find(&breaches).Error
	if err != nil {
		return c, translate(err, "breach")
	}
	for _, b := range breaches {
		c.Items = append(c.Items, score.BreachItem(fromMicros(b.OccurredAt), b.Severity))
	}
	var checks []checkInRow
	err = s.r.WithContext(ctx).Where("relationship_id = ? AND subject_id = ? AND created_at >= ? AND created_at < ?",
		rel.ID, subject, micros(from), micros(to)).Find(&checks).Error
	if err != nil {
		return c, translate(err, "check-in")
	}
	for _, ch := range checks {
		c.Felt = append(c.Felt, scoring.Felt{At: fromMicros(ch.CreatedAt), Value: ch.FeltTrust})
	}
	return c, nil
}

func (s *Scores) days(ctx context.Context, q *gorm.DB) ([]scoring.Day, error) {
	var rows []scoreDayRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, translate(err, "score day")
	}
	out := make([]scoring.Day, len(rows))
	for i, r := range rows {
		out[i] = toDay(r)
	}
	return out, nil
}

// DayBefore implements scoring.Store.
func (s *Scores) DayBefore(ctx context.Context, relID, subject, day string) (scoring.Day, bool, error) {
	ds, err := s.days(ctx, s.r.WithContext(ctx).Where("relationship_id = ? AND subject = ? AND day < ?", relID, subject, day).
		Order("day DESC").Limit(1))
	if err != nil || len(ds) == 0 {
		return scoring.Day{}, false, err
	}
	return ds[0], true, nil
}

// DaysFrom implements scoring.Store.
func (s *Scores) DaysFrom(ctx context.Context, relID, subject, day string) ([]scoring.Day, error) {
	return s.days(ctx, s.r.WithContext(ctx).Where("relationship_id = ? AND subject = ? AND day >= ?", relID, subject, day).Order("day"))
}

// DaysBetween implements scoring.Store.
func (s *Scores) DaysBetween(ctx context.Context, relID, subject, from, to string) ([]scoring.Day, error) {
	return s.days(ctx, s.r.WithContext(ctx).Where("relationship_id = ? AND subject = ? AND day >= ? AND day <= ?", relID, subject, from, to).Order("day"))
}

// PutDays implements scoring.Store.
func (s *Scores) PutDays(ctx context.Context, days []scoring.Day) error {
	if len(days) == 0 {
		return nil
	}
	rows := make([]scoreDayRow, len(days))
	for i, d := range days {
		rows[i] = fromDay(d)
	}
	err := s.w.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "relationship_id"}, {Name: "subject"}, {Name: "day"}},
		UpdateAll: true,
	}).CreateInBatches(&rows, 100).Error
	return translate(err, "score day")
}

// DeleteDay implements scoring.Store.
func (s *Scores) DeleteDay(ctx context.Context, relID, subject, day string) error {
	err := s.w.WithContext(ctx).Where("relationship_id = ? AND subject = ? AND day = ?", relID, subject, day).Delete(&scoreDayRow{}).Error
	return translate(err, "score day")
}

// OpenCount implements scoring.Store.
func (s *Scores) OpenCount(ctx context.Context, relID, subject string, t time.Time) (int, error) {
	var n int64
	err := s.r.WithContext(ctx).Model(&occurrenceRow{}).
		Where("relationship_id = ? AND "+subjectColumn(subject)+" = ? AND status = ? AND due_at <= ?", relID, subject, promise.OccOpen, micros(t)).
		Count(&n).Error
	return int(n), translate(err, "occurrence")
}

// PromiseRelationship implements scoring.ReadStore.
func (s *Scores) PromiseRelationship(ctx context.Context, promiseID string) (string, error) {
	var row promiseRow
	err := s.r.WithContext(ctx).Select("relationship_id").Where("id = ?", promiseID).Take(&row).Error
	return row.RelationshipID, translate(err, "promise")
}

// LatestBreach implements scoring.ReadStore.
func (s *Scores) LatestBreach(ctx context.Context, relID, memberID string, t time.Time) (time.Time, string, bool, error) {
	q := s.r.WithContext(ctx).Where("relationship_id = ? AND occurred_at <= ?", relID, micros(t))
	if memberID != "" {
		q = q.Where("member_id = ?", memberID)
	}
	var rows []breachRow
	if err := q.Order("occurred_at DESC, id DESC").Limit(1).Find(&rows).Error; err != nil {
		return time.Time{}, "", false, translate(err, "breach")
	}
	if len(rows) == 0 {
		return time.Time{}, "", false, nil
	}
	return fromMicros(rows[0].OccurredAt), rows[0].MemberID, true, nil
}

// DueCount implements scoring.ReadStore.
func (s *Scores) DueCount(ctx context.Context, relID, memberID string, from, to time.Time) (int, error) {
	var n int64
	err := s.r.WithContext(ctx).Model(&occurrenceRow{}).
		Where("relationship_id = ? AND promisor_id = ? AND status IN ? AND due_at >= ? AND due_at < ?",
			relID, memberID, []string{promise.OccOpen, promise.OccResolved}, micros(from), micros(to)).Count(&n).Error
	return int(n), translate(err, "occurrence")
}

// OpenDue implements scoring.ReadStore.
func (s *Scores) OpenDue(ctx context.Context, relID, subject string, from, to time.Time) ([]time.Time, error) {
	var dues []int64
	err := s.r.WithContext(ctx).Model(&occurrenceRow{}).
		Where("relationship_id = ? AND "+subjectColumn(subject)+" = ? AND status = ? AND due_at >= ? AND due_at <= ?",
			relID, subject, promise.OccOpen, micros(from), micros(to)).Pluck("due_at", &dues).Error
	out := make([]time.Time, len(dues))
	for i, d := range dues {
		out[i] = fromMicros(d)
	}
	return out, translate(err, "occurrence")
}

// Rescore refreshes the rollups of a member and a promise for a change at
// t, and records score.level_changed when the member's level now moves.
func (s *Scores) Rescore(ctx context.Context, relID, memberID, promiseID string, t, now time.Time) error {
	if promiseID != "" {
		if err := scoring.Refresh(ctx, s, relID, promiseID, t); err != nil {
			return err
		}
	}
	if memberID == "" {
		return nil
	}
	rel, err := s.Relationship(ctx, relID)
	if err != nil {
		return err
	}
	// Compare the level the rollups give now before and after the refresh
	// (reading today's raw items would already see the change).
	before, err := scoring.FromRollups(ctx, s, rel, memberID, now)
	if err != nil {
		return err
	}
	if err := scoring.Refresh(ctx, s, relID, memberID, t); err != nil {
		return err
	}
	if err := s.markDirty(ctx, relID, memberID); err != nil {
		return err
	}
	after, err := scoring.FromRollups(ctx, s, rel, memberID, now)
	if err != nil || after.Level == before.Level {
		return err
	}
	return s.db.emit(ctx, s.w, event.Event{Type: event.ScoreLevelChanged, RelationshipID: relID, ActorID: "system", CreatedAt: now},
		levelChange{Score: wire.Score(after), PreviousLevel: before.Level})
}

// levelChange is the data of score.level_changed: the score now, and the
// level it left.
type levelChange struct {
	api.Score
	PreviousLevel string `json:"previous_level"`
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
	err := s.w.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&dirtyRow{RelationshipID: relID, MemberID: memberID}).Error
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
				milestoneReached{MemberID: d.MemberID, PeriodStartedAt: periodStart, Milestone: data}); err != nil {
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
	PeriodStartedAt time.Time `json:"period_started_at"`
}
