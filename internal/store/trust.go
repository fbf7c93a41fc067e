package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/trust"
)

type breachRow struct {
	ID             string `gorm:"primaryKey"`
	RelationshipID string
	MemberID       string
	RecordedBy     string
	Description    string
	Severity       string
	OccurredAt     int64
	CreatedAt      int64 `gorm:"autoCreateTime:false"`
}

func (breachRow) TableName() string { return "breaches" }

type checkInRow struct {
	ID             string `gorm:"primaryKey"`
	RelationshipID string
	AuthorID       string
	SubjectID      string
	FeltTrust      int
	Note           string
	CreatedAt      int64 `gorm:"autoCreateTime:false"`
}

func (checkInRow) TableName() string { return "check_ins" }

// Trust implements trust.Store.
type Trust struct {
	db       *DB
	promises *Promises
	w, r     *gorm.DB
}

// Trust returns the breach and check-in store.
func (db *DB) Trust() *Trust { return &Trust{db: db, promises: db.Promises(), w: db.w, r: db.r} }

// InTx implements trust.Store.
func (s *Trust) InTx(ctx context.Context, fn func(tx trust.Store) error) error {
	return s.db.inTx(ctx, func(tx *gorm.DB) error {
		p := &Promises{db: s.db, w: tx, r: tx}
		return fn(&Trust{db: s.db, promises: p, w: tx, r: tx})
	})
}

// Rescore implements trust.Store.
func (s *Trust) Rescore(ctx context.Context, relID, memberID string, t, now time.Time) error {
	return s.db.Scores().inTx(s.w).Rescore(ctx, relID, memberID, "", t, now)
}

// RescoreCheckIn implements trust.Store: the check-in is folded into its
// day's rollup row of its subject (scoring.RefreshMemberFelt).
func (s *Trust) RescoreCheckIn(ctx context.Context, c trust.CheckIn) error {
	return s.db.Scores().inTx(s.w).rescoreCheckIn(ctx, c.RelationshipID, c.SubjectID, scoring.Felt{At: c.CreatedAt, Value: c.FeltTrust}, c.CreatedAt)
}

// Emit implements trust.Store.
func (s *Trust) Emit(ctx context.Context, e event.Event, resource any) error {
	return s.db.emit(ctx, s.w, e, resource)
}

// Relationship implements trust.Store.
func (s *Trust) Relationship(ctx context.Context, relID string) (relationship.Relationship, error) {
	return s.promises.Relationship(ctx, relID)
}

// IsMember implements trust.Store.
func (s *Trust) IsMember(ctx context.Context, relID, userID string) (bool, error) {
	return s.promises.IsMember(ctx, relID, userID)
}

// CreateBreach implements trust.Store.
func (s *Trust) CreateBreach(ctx context.Context, b trust.Breach) error {
	row := breachRow{ID: b.ID, RelationshipID: b.RelationshipID, MemberID: b.MemberID, RecordedBy: b.RecordedBy,
		Description: b.Description, Severity: b.Severity, OccurredAt: micros(b.OccurredAt), CreatedAt: micros(b.CreatedAt)}
	return translate(s.w.WithContext(ctx).Create(&row).Error, "breach")
}

// ListBreaches implements trust.Store.
func (s *Trust) ListBreaches(ctx context.Context, relID string, pr page.Request) ([]trust.Breach, error) {
	q := s.r.WithContext(ctx).Where("relationship_id = ?", relID)
	if len(pr.After) == 1 {
		q = q.Where("id > ?", pr.After[0])
	}
	var rows []breachRow
	if err := q.Order("id").Limit(pr.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "breach")
	}
	out := make([]trust.Breach, len(rows))
	for i, r := range rows {
		out[i] = trust.Breach{ID: r.ID, RelationshipID: r.RelationshipID, MemberID: r.MemberID, RecordedBy: r.RecordedBy,
			Description: r.Description, Severity: r.Severity, OccurredAt: fromMicros(r.OccurredAt), CreatedAt: fromMicros(r.CreatedAt)}
	}
	return out, nil
}

// CreateCheckIn implements trust.Store.
func (s *Trust) CreateCheckIn(ctx context.Context, c trust.CheckIn) error {
	return translate(s.db.execSQL(ctx, s.w, `INSERT INTO check_ins (id, relationship_id, author_id, subject_id, felt_trust, note, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.RelationshipID, c.AuthorID, c.SubjectID, c.FeltTrust, c.Note, micros(c.CreatedAt)), "check-in")
}

// ListCheckIns implements trust.Store.
func (s *Trust) ListCheckIns(ctx context.Context, relID, subjectID string, pr page.Request) ([]trust.CheckIn, error) {
	q := s.r.WithContext(ctx).Where("relationship_id = ?", relID)
	if subjectID != "" {
		q = q.Where("subject_id = ?", subjectID)
	}
	if len(pr.After) == 1 {
		q = q.Where("id > ?", pr.After[0])
	}
	var rows []checkInRow
	if err := q.Order("id").Limit(pr.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "check-in")
	}
	out := make([]trust.CheckIn, len(rows))
	for i, r := range rows {
		out[i] = trust.CheckIn{ID: r.ID, RelationshipID: r.RelationshipID, AuthorID: r.AuthorID, SubjectID: r.SubjectID,
			FeltTrust: r.FeltTrust, Note: r.Note, CreatedAt: fromMicros(r.CreatedAt)}
	}
	return out, nil
}
