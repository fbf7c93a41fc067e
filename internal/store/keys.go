package store

import (
	"context"
	"crypto/ed25519"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/token"
)

type signingKeyRow struct {
	KID        string `gorm:"column:kid;primaryKey"`
	Algorithm  string
	PrivateKey []byte
	PublicKey  []byte
	CreatedAt  int64 `gorm:"autoCreateTime:false"`
	RetiredAt  *int64
}

func (signingKeyRow) TableName() string { return "signing_keys" }

// Keys implements token.KeyStore.
type Keys struct{ db *DB }

// Keys returns the signing key store.
func (db *DB) Keys() *Keys { return &Keys{db: db} }

// SigningKeys implements token.KeyStore. It reads from the reader pool:
// tokens are issued inside write transactions, and on SQLite the single
// writer connection is then taken.
func (s *Keys) SigningKeys(ctx context.Context) ([]token.Key, error) {
	var rows []signingKeyRow
	if err := s.db.r.WithContext(ctx).Order("created_at").Find(&rows).Error; err != nil {
		return nil, translate(err, "signing key")
	}
	keys := make([]token.Key, 0, len(rows))
	for _, r := range rows {
		if len(r.PrivateKey) != ed25519.SeedSize || r.Algorithm != token.Algorithm {
			continue
		}
		priv := ed25519.NewKeyFromSeed(r.PrivateKey)
		keys = append(keys, token.Key{
			KID: r.KID, Private: priv, Public: priv.Public().(ed25519.PublicKey),
			CreatedAt: fromMicros(r.CreatedAt), RetiredAt: fromMicrosPtr(r.RetiredAt),
		})
	}
	return keys, nil
}

// AddSigningKey implements token.KeyStore.
func (s *Keys) AddSigningKey(ctx context.Context, k token.Key) error {
	return s.db.inTx(ctx, func(tx *gorm.DB) error {
		at := micros(k.CreatedAt)
		if err := tx.Model(&signingKeyRow{}).Where("retired_at IS NULL").Update("retired_at", at).Error; err != nil {
			return translate(err, "signing key")
		}
		row := signingKeyRow{
			KID: k.KID, Algorithm: token.Algorithm, PrivateKey: k.Private.Seed(), PublicKey: k.Public, CreatedAt: at,
		}
		return translate(tx.Create(&row).Error, "signing key")
	})
}

// PurgeSigningKeys implements token.KeyStore.
func (s *Keys) PurgeSigningKeys(ctx context.Context, retiredBefore time.Time) error {
	err := s.db.w.WithContext(ctx).Where("retired_at IS NOT NULL AND retired_at < ?", micros(retiredBefore)).
		Delete(&signingKeyRow{}).Error
	return translate(err, "signing key")
}
