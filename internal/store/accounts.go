package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/account"
)

type userRow struct {
	ID           string `gorm:"primaryKey"`
	Email        string
	EmailKey     string
	DisplayName  string
	TimeZone     string
	PasswordHash string
	CreatedAt    int64 `gorm:"autoCreateTime:false"`
	UpdatedAt    int64 `gorm:"autoUpdateTime:false"`
	DeletedAt    *int64
}

func (userRow) TableName() string { return "users" }

type refreshTokenRow struct {
	ID        string `gorm:"primaryKey"`
	FamilyID  string
	UserID    string
	TokenHash []byte
	CreatedAt int64 `gorm:"autoCreateTime:false"`
	ExpiresAt int64
	UsedAt    *int64
	RevokedAt *int64
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func microsPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMicro()
	return &v
}

func fromMicrosPtr(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := fromMicros(*us)
	return &t
}

func fromUser(u account.User, emailKey string) userRow {
	return userRow{
		ID: u.ID, Email: u.Email, EmailKey: emailKey, DisplayName: u.DisplayName, TimeZone: u.TimeZone,
		PasswordHash: u.PasswordHash, CreatedAt: micros(u.CreatedAt), UpdatedAt: micros(u.UpdatedAt),
		DeletedAt: microsPtr(u.DeletedAt),
	}
}

func toUser(r userRow) account.User {
	return account.User{
		ID: r.ID, Email: r.Email, DisplayName: r.DisplayName, TimeZone: r.TimeZone,
		PasswordHash: r.PasswordHash, CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
		DeletedAt: fromMicrosPtr(r.DeletedAt),
	}
}

func toRefreshToken(r refreshTokenRow) account.RefreshToken {
	return account.RefreshToken{
		ID: r.ID, FamilyID: r.FamilyID, UserID: r.UserID, Hash: r.TokenHash,
		CreatedAt: fromMicros(r.CreatedAt), ExpiresAt: fromMicros(r.ExpiresAt),
		UsedAt: fromMicrosPtr(r.UsedAt), RevokedAt: fromMicrosPtr(r.RevokedAt),
	}
}

// Accounts implements account.Store. Outside a transaction reads use the
// reader pool; inside one, everything goes through the transaction.
type Accounts struct {
	db   *DB
	w, r *gorm.DB
	// erased collects the accounts a transaction erases, forgotten as
	// active once it commits (nil outside a transaction).
	erased *[]string
}

// Accounts returns the account store.
func (db *DB) Accounts() *Accounts { return &Accounts{db: db, w: db.w, r: db.r} }

// InTx implements account.Store.
func (s *Accounts) InTx(ctx context.Context, fn func(tx account.Store) error) error {
	var erased []string
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		erased = erased[:0] // a transaction run again starts afresh
		return fn(&Accounts{db: s.db, w: tx, r: tx, erased: &erased})
	})
	if err == nil {
		s.db.live.forget(erased...)
	}
	return err
}

// CreateUser implements account.Store.
func (s *Accounts) CreateUser(ctx context.Context, u account.User) error {
	row := fromUser(u, lowerEmail(u.Email))
	return translate(s.w.WithContext(ctx).Create(&row).Error, "user")
}

// UserByID implements account.Store.
func (s *Accounts) UserByID(ctx context.Context, id string) (account.User, error) {
	var row userRow
	err := s.r.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return toUser(row), translate(err, "user")
}

// Active implements account.Store: whether a user exists and is not
// deleted. It runs on every request with an access token, so it reads one
// column by hand-written SQL.
//
// Where this process is the database's one writer, accounts found active
// are remembered until one is erased (liveAccounts).
func (s *Accounts) Active(ctx context.Context, id string) (bool, error) {
	outside := s.erased == nil
	if outside && s.db.live.has(id) {
		return true, nil
	}
	gen := s.db.live.gen.Load()
	var active bool
	err := s.db.queryRow(ctx, s.r, `SELECT deleted_at IS NULL FROM users WHERE id = ?`, []any{id}, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err == nil && active && outside {
		if afterActiveRead != nil {
			afterActiveRead(id)
		}
		s.db.live.keep(id, gen)
	}
	return active, translate(err, "user")
}

// UserByEmailKey implements account.Store.
func (s *Accounts) UserByEmailKey(ctx context.Context, key string) (account.User, error) {
	var row userRow
	err := s.r.WithContext(ctx).Where("email_key = ?", key).Take(&row).Error
	return toUser(row), translate(err, "user")
}

// UpdateUser implements account.Store.
func (s *Accounts) UpdateUser(ctx context.Context, u account.User) error {
	res := s.w.WithContext(ctx).Model(&userRow{}).Where("id = ?", u.ID).Updates(map[string]any{
		"display_name": u.DisplayName,
		"time_zone":    u.TimeZone,
		"updated_at":   micros(u.UpdatedAt),
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return translate(gorm.ErrRecordNotFound, "user")
	}
	return translate(res.Error, "user")
}

// CreateRefreshToken implements account.Store.
func (s *Accounts) CreateRefreshToken(ctx context.Context, t account.RefreshToken) error {
	row := refreshTokenRow{
		ID: t.ID, FamilyID: t.FamilyID, UserID: t.UserID, TokenHash: t.Hash,
		CreatedAt: micros(t.CreatedAt), ExpiresAt: micros(t.ExpiresAt),
	}
	return translate(s.w.WithContext(ctx).Create(&row).Error, "refresh token")
}

// RefreshTokenByHash implements account.Store.
func (s *Accounts) RefreshTokenByHash(ctx context.Context, hash []byte) (account.RefreshToken, error) {
	var row refreshTokenRow
	err := s.r.WithContext(ctx).Where("token_hash = ?", hash).Take(&row).Error
	return toRefreshToken(row), translate(err, "refresh token")
}

// MarkRefreshTokenUsed implements account.Store.
func (s *Accounts) MarkRefreshTokenUsed(ctx context.Context, id string, at time.Time) (bool, error) {
	res := s.w.WithContext(ctx).Model(&refreshTokenRow{}).
		Where("id = ? AND used_at IS NULL AND revoked_at IS NULL", id).
		Update("used_at", micros(at))
	return res.RowsAffected == 1, translate(res.Error, "refresh token")
}

// RevokeRefreshFamily implements account.Store.
func (s *Accounts) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	err := s.w.WithContext(ctx).Model(&refreshTokenRow{}).
		Where("family_id = ? AND revoked_at IS NULL", familyID).
		Update("revoked_at", micros(at)).Error
	return translate(err, "refresh token")
}

func lowerEmail(email string) string { return account.EmailKey(email) }
