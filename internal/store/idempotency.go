package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/troth-app/troth/internal/idempotency"
)

type idempotencyRow struct {
	UserID          string `gorm:"primaryKey"`
	IdemKey         string `gorm:"primaryKey"`
	RequestHash     []byte
	Status          string
	ResponseStatus  *int
	ResponseHeaders *string
	ResponseBody    []byte
	CreatedAt       int64 `gorm:"autoCreateTime:false"`
	LockedAt        int64
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

func toIdempotencyRecord(r idempotencyRow) (idempotency.Record, error) {
	rec := idempotency.Record{
		UserID: r.UserID, Key: r.IdemKey, RequestHash: r.RequestHash, Status: idempotency.Status(r.Status),
		CreatedAt: fromMicros(r.CreatedAt), LockedAt: fromMicros(r.LockedAt),
	}
	if r.ResponseStatus != nil {
		rec.Response.Status = *r.ResponseStatus
	}
	if r.ResponseHeaders != nil {
		if err := json.Unmarshal([]byte(*r.ResponseHeaders), &rec.Response.Header); err != nil {
			return rec, fmt.Errorf("decode headers of idempotency key %q: %w", r.IdemKey, err)
		}
	}
	rec.Response.Body = r.ResponseBody
	return rec, nil
}

// Idempotency implements idempotency.Store.
type Idempotency struct{ db *DB }

// Idempotency returns the store of Idempotency-Key records.
func (db *DB) Idempotency() *Idempotency { return &Idempotency{db: db} }

// Begin implements idempotency.Store. The insert does nothing when the key
// exists, and the takeover is one conditional update, so of several
// requests racing for a key exactly one starts, on SQLite (one writer) and
// on PostgreSQL (the insert waits for a concurrent insert of the same key to
// end, and the update re-checks its condition on the row it locks).
func (s *Idempotency) Begin(ctx context.Context, rec idempotency.Record) (*idempotency.Record, bool, error) {
	var (
		existing *idempotency.Record
		started  bool
	)
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		// The record can vanish between the update and the read (released
		// by a request that failed), and then the insert is tried again.
		for range 3 {
			ok, err := s.claim(tx, rec)
			if err != nil || ok {
				started = ok
				return err
			}
			var row idempotencyRow
			err = tx.Where("user_id = ? AND idem_key = ?", rec.UserID, rec.Key).Take(&row).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			cur, err := toIdempotencyRecord(row)
			existing = &cur
			return err
		}
		return errors.New("the record kept changing")
	})
	if err != nil {
		return nil, false, translate(fmt.Errorf("begin idempotency key %q: %w", rec.Key, err), "idempotency key")
	}
	return existing, started, nil
}

// claim inserts rec, or takes over the existing record when it is expired,
// or abandoned by the same request, and reports whether it did either.
func (s *Idempotency) claim(tx *gorm.DB, rec idempotency.Record) (bool, error) {
	row := idempotencyRow{
		UserID: rec.UserID, IdemKey: rec.Key, RequestHash: rec.RequestHash, Status: string(idempotency.StatusInFlight),
		CreatedAt: micros(rec.CreatedAt), LockedAt: micros(rec.LockedAt),
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil || res.RowsAffected == 1 {
		return res.Error == nil, res.Error
	}
	res = tx.Model(&idempotencyRow{}).
		Where("user_id = ? AND idem_key = ? AND (created_at < ? OR (status = ? AND locked_at < ? AND request_hash = ?))",
			rec.UserID, rec.Key, micros(idempotency.ExpiredBefore(rec.CreatedAt)),
			string(idempotency.StatusInFlight), micros(idempotency.AbandonedBefore(rec.LockedAt)), rec.RequestHash).
		Updates(map[string]any{
			"request_hash":     rec.RequestHash,
			"status":           string(idempotency.StatusInFlight),
			"response_status":  nil,
			"response_headers": nil,
			"response_body":    nil,
			"created_at":       row.CreatedAt,
			"locked_at":        row.LockedAt,
		})
	return res.RowsAffected == 1, res.Error
}

// Complete implements idempotency.Store.
func (s *Idempotency) Complete(ctx context.Context, lease idempotency.Lease, resp idempotency.Response) error {
	var headers *string
	if len(resp.Header) > 0 {
		b, err := json.Marshal(resp.Header)
		if err != nil {
			return translate(fmt.Errorf("encode headers of idempotency key %q: %w", lease.Key, err), "idempotency key")
		}
		h := string(b)
		headers = &h
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	res := s.held(ctx, lease).Updates(map[string]any{
		"status":           string(idempotency.StatusComplete),
		"response_status":  resp.Status,
		"response_headers": headers,
		"response_body":    body,
	})
	if res.Error != nil {
		return translate(fmt.Errorf("complete idempotency key %q: %w", lease.Key, res.Error), "idempotency key")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("complete idempotency key %q: %w", lease.Key, idempotency.ErrLeaseLost)
	}
	return nil
}

// Release implements idempotency.Store.
func (s *Idempotency) Release(ctx context.Context, lease idempotency.Lease) error {
	err := s.held(ctx, lease).Delete(&idempotencyRow{}).Error
	if err != nil {
		return translate(fmt.Errorf("release idempotency key %q: %w", lease.Key, err), "idempotency key")
	}
	return nil
}

// held selects the record while the lease still holds it.
func (s *Idempotency) held(ctx context.Context, lease idempotency.Lease) *gorm.DB {
	return s.db.w.WithContext(ctx).Model(&idempotencyRow{}).
		Where("user_id = ? AND idem_key = ? AND status = ? AND locked_at = ?",
			lease.UserID, lease.Key, string(idempotency.StatusInFlight), micros(lease.LockedAt))
}

// Purge deletes the records created before before (completed or not) and
// returns how many it deleted; a scheduler calls it with now minus
// idempotency.TTL. Records older than the TTL are already ignored, so
// purging late changes nothing but the table's size.
func (s *Idempotency) Purge(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.w.WithContext(ctx).Where("created_at < ?", micros(before)).Delete(&idempotencyRow{})
	if res.Error != nil {
		return 0, translate(fmt.Errorf("purge idempotency keys: %w", res.Error), "idempotency key")
	}
	return res.RowsAffected, nil
}
