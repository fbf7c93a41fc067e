package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/id"
	"github.com/troth-app/troth/internal/wire"
)

type eventRow struct {
	Seq            int64 `gorm:"primaryKey;autoIncrement"`
	ID             string
	Type           string
	RelationshipID *string
	UserID         *string
	ActorID        string
	Data           string
	CreatedAt      int64 `gorm:"autoCreateTime:false"`
}

func (eventRow) TableName() string { return "events" }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toEvent(r eventRow) event.Event {
	return event.Event{Seq: r.Seq, ID: r.ID, Type: r.Type, RelationshipID: deref(r.RelationshipID), UserID: deref(r.UserID),
		ActorID: r.ActorID, Data: json.RawMessage(r.Data), CreatedAt: fromMicros(r.CreatedAt)}
}

// emit writes an event in the caller's transaction tx, with a snapshot of
// resource as the API shows it. Events commit in seq order, so that a feed
// reader paging by seq never skips one that commits late: on SQLite the
// single writer runs one write transaction at a time, and on PostgreSQL
// every write transaction holds the write lock until it commits (inTx).
func (db *DB) emit(ctx context.Context, tx *gorm.DB, e event.Event, resource any) error {
	data, err := json.Marshal(wire.Snapshot(resource))
	if err != nil {
		return fmt.Errorf("snapshot for %s: %w", e.Type, err)
	}
	if e.ID == "" {
		e.ID = id.New(id.Event)
	}
	// Every write emits: hand-written SQL, without GORM's reflection or
	// a RETURNING the caller does not need.
	err = db.execSQL(ctx, tx, `INSERT INTO events (id, type, relationship_id, user_id, actor_id, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Type, nullable(e.RelationshipID), nullable(e.UserID), e.ActorID, string(data),
		micros(e.CreatedAt))
	if err == nil {
		db.eventWritten() // webhooks.go: wakes this process's webhook dispatcher
	}
	return translate(err, "event")
}

// serialize takes, on PostgreSQL, the write lock: a transaction-scoped
// advisory lock every write transaction takes first and holds until it
// commits (inTx), so that write transactions run one at a time, as on
// SQLite. The webhook dispatcher takes it shared to wait for commits in
// flight (webhooks.go).
func (db *DB) serialize(ctx context.Context, tx *gorm.DB, what string) error {
	if db.dialect != Postgres {
		return nil
	}
	return translate(db.execSQL(ctx, tx, "SELECT pg_advisory_xact_lock("+writeLock+")"), what)
}

// writeLock is the key of serialize's lock.
const writeLock = "727369"

// Events reads the event log.
type Events struct{ db *DB }

// Events returns the event log store.
func (db *DB) Events() *Events { return &Events{db: db} }

// Visible lists events after seq that the user may see: those of the
// relationships they are a member of now, and those addressed to them, in
// seq order.
func (s *Events) Visible(ctx context.Context, userID string, after int64, types []string, limit int) ([]event.Event, error) {
	q := s.db.r.WithContext(ctx).Where("seq > ?", after).
		Where("(relationship_id IN (SELECT relationship_id FROM relationship_members WHERE user_id = ? AND left_at IS NULL) OR user_id = ?)", userID, userID)
	if len(types) > 0 {
		q = q.Where("type IN ?", types)
	}
	var rows []eventRow
	if err := q.Order("seq").Limit(limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "event")
	}
	out := make([]event.Event, len(rows))
	for i, r := range rows {
		out[i] = toEvent(r)
	}
	return out, nil
}

// Extent implements event.Log, in one statement. Event writes commit in
// seq order (one write transaction at a time, on either engine), so every
// seq up to the highest one read has committed.
func (s *Events) Extent(ctx context.Context) (purged, end int64, err error) {
	err = s.db.queryRow(ctx, s.db.r,
		`SELECT purged_through, COALESCE((SELECT MAX(seq) FROM events), 0) FROM event_retention WHERE id = 1`, nil, &purged, &end)
	return purged, max(end, purged), translate(err, "event")
}

// Purge deletes events created before a time and records how far it went.
func (s *Events) Purge(ctx context.Context, before time.Time) (int64, error) {
	var deleted int64
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		var maxSeq *int64
		if err := tx.Model(&eventRow{}).Where("created_at < ?", micros(before)).Select("MAX(seq)").Scan(&maxSeq).Error; err != nil {
			return err
		}
		if maxSeq == nil {
			return nil
		}
		res := tx.Where("seq <= ?", *maxSeq).Delete(&eventRow{})
		if res.Error != nil {
			return res.Error
		}
		deleted = res.RowsAffected
		return tx.Exec("UPDATE event_retention SET purged_through = ? WHERE id = 1 AND purged_through < ?", *maxSeq, *maxSeq).Error
	})
	return deleted, translate(err, "event")
}
