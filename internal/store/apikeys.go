package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/apikey"
	"github.com/troth-app/troth/internal/page"
)

type apiKeyRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	Name       string
	Prefix     string
	Scope      string
	SecretHash []byte
	CreatedAt  int64 `gorm:"autoCreateTime:false"`
	LastUsedAt *int64
	RevokedAt  *int64
}

func (apiKeyRow) TableName() string { return "api_keys" }

func fromAPIKey(k apikey.Key) apiKeyRow {
	return apiKeyRow{
		ID: k.ID, UserID: k.UserID, Name: k.Name, Prefix: k.Prefix, Scope: k.Scope, SecretHash: k.Hash,
		CreatedAt: micros(k.CreatedAt), LastUsedAt: microsPtr(k.LastUsedAt), RevokedAt: microsPtr(k.RevokedAt),
	}
}

func toAPIKey(r apiKeyRow) apikey.Key {
	return apikey.Key{
		ID: r.ID, UserID: r.UserID, Name: r.Name, Prefix: r.Prefix, Scope: r.Scope, Hash: r.SecretHash,
		CreatedAt: fromMicros(r.CreatedAt), LastUsedAt: fromMicrosPtr(r.LastUsedAt), RevokedAt: fromMicrosPtr(r.RevokedAt),
	}
}

// APIKeys implements apikey.Store.
type APIKeys struct {
	w, r *gorm.DB
}

// APIKeys returns the API key store.
func (db *DB) APIKeys() *APIKeys { return &APIKeys{w: db.w, r: db.r} }

// Create implements apikey.Store.
func (s *APIKeys) Create(ctx context.Context, k apikey.Key) error {
	row := fromAPIKey(k)
	return translate(s.w.WithContext(ctx).Create(&row).Error, "API key")
}

// ByHash implements apikey.Store. A deleted user's keys are gone; the
// join also refuses one created by a request that raced the deletion.
func (s *APIKeys) ByHash(ctx context.Context, hash []byte) (apikey.Key, error) {
	var row apiKeyRow
	err := s.r.WithContext(ctx).Table("api_keys AS k").Select("k.*").
		Joins("JOIN users u ON u.id = k.user_id AND u.deleted_at IS NULL").
		Where("k.secret_hash = ?", hash).Take(&row).Error
	return toAPIKey(row), translate(err, "API key")
}

// ListActive implements apikey.Store.
func (s *APIKeys) ListActive(ctx context.Context, userID string, p page.Request) ([]apikey.Key, error) {
	q := s.r.WithContext(ctx).Where("user_id = ? AND revoked_at IS NULL", userID)
	if len(p.After) == 1 {
		q = q.Where("id > ?", p.After[0])
	}
	var rows []apiKeyRow
	if err := q.Order("id").Limit(p.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "API key")
	}
	out := make([]apikey.Key, 0, len(rows))
	for _, r := range rows {
		out = append(out, toAPIKey(r))
	}
	return out, nil
}

// Active implements apikey.Store. It reads from the writer, where a key
// just created already is.
func (s *APIKeys) Active(ctx context.Context, userID, id string) (apikey.Key, error) {
	var row apiKeyRow
	err := s.w.WithContext(ctx).Where("id = ? AND user_id = ? AND revoked_at IS NULL", id, userID).Take(&row).Error
	return toAPIKey(row), translate(err, "API key")
}

// Revoke implements apikey.Store.
func (s *APIKeys) Revoke(ctx context.Context, userID, id string, at time.Time) error {
	res := s.w.WithContext(ctx).Model(&apiKeyRow{}).
		Where("id = ? AND user_id = ? AND revoked_at IS NULL", id, userID).
		Update("revoked_at", micros(at))
	if res.Error == nil && res.RowsAffected == 0 {
		return translate(gorm.ErrRecordNotFound, "API key")
	}
	return translate(res.Error, "API key")
}

// Touch implements apikey.Store. The condition makes concurrent requests
// on several instances write at most once per interval.
func (s *APIKeys) Touch(ctx context.Context, id string, at, since time.Time) error {
	err := s.w.WithContext(ctx).Model(&apiKeyRow{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, micros(since)).
		Update("last_used_at", micros(at)).Error
	return translate(err, "API key")
}
