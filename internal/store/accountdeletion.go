package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"regexp"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/relationship"
)

// RevokeUserSessions implements account.Store.
func (s *Accounts) RevokeUserSessions(ctx context.Context, userID string, at time.Time) error {
	err := s.w.WithContext(ctx).Model(&refreshTokenRow{}).
		Where("user_id = ? AND revoked_at IS NULL", userID).
		Update("revoked_at", micros(at)).Error
	return translate(err, "refresh token")
}

// DeleteUserCredentials implements account.Store. Deliveries go with
// their endpoint by cascade; a River job for one of them finds nothing and
// ends (webhook.Worker.Attempt).
func (s *Accounts) DeleteUserCredentials(ctx context.Context, userID string) error {
	tx := s.w.WithContext(ctx)
	if err := tx.Where("user_id = ?", userID).Delete(&apiKeyRow{}).Error; err != nil {
		return translate(err, "API key")
	}
	if err := tx.Where("owner_id = ?", userID).Delete(&endpointRow{}).Error; err != nil {
		return translate(err, "webhook")
	}
	// Stored responses may hold what the user wrote, even an API key's secret.
	return translate(tx.Exec("DELETE FROM idempotency_keys WHERE user_id = ?", userID).Error, "idempotency key")
}

// LeaveAll implements account.Store.
func (s *Accounts) LeaveAll(ctx context.Context, userID string, at time.Time) ([]account.Departure, error) {
	tx := s.w.WithContext(ctx)
	var ms []memberRow
	if err := tx.Where("user_id = ? AND left_at IS NULL", userID).Order("relationship_id").Find(&ms).Error; err != nil {
		return nil, translate(err, "member")
	}
	if len(ms) == 0 {
		return nil, nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.RelationshipID
	}
	if err := tx.Model(&memberRow{}).Where("user_id = ? AND left_at IS NULL", userID).Update("left_at", micros(at)).Error; err != nil {
		return nil, translate(err, "member")
	}
	if err := expireInvitesOf(ctx, tx, userID, at, ids...); err != nil {
		return nil, err
	}
	rels := &Relationships{db: s.db, w: tx, r: tx}
	var archived []string
	if err := tx.Model(&relationshipRow{}).Where("id IN ? AND status = ?", ids, relationship.StatusArchived).
		Pluck("id", &archived).Error; err != nil {
		return nil, translate(err, "relationship")
	}
	for _, relID := range ids {
		// Their members changed (updated_at moves, as when one leaves);
		// an archived relationship stays as it was archived.
		if err := rels.touch(ctx, relID, at); err != nil {
			return nil, err
		}
		if slices.Contains(archived, relID) {
			continue
		}
		if err := s.db.cancelPromisesOf(ctx, tx, relID, userID, at); err != nil {
			return nil, err
		}
	}
	var others []string
	if err := tx.Model(&memberRow{}).Where("relationship_id IN ? AND left_at IS NULL", ids).
		Distinct("relationship_id").Pluck("relationship_id", &others).Error; err != nil {
		return nil, translate(err, "member")
	}
	shared := make(map[string]bool, len(others))
	for _, id := range others {
		shared[id] = true
	}
	out := make([]account.Departure, len(ms))
	for i, m := range ms {
		out[i] = account.Departure{Member: toMember(m), Alone: !shared[m.RelationshipID]}
	}
	return out, nil
}

// TouchRelationshipsOf implements account.Store.
func (s *Accounts) TouchRelationshipsOf(ctx context.Context, userID string, at time.Time) ([]relationship.Relationship, error) {
	tx := s.w.WithContext(ctx)
	var ids []string
	if err := tx.Model(&memberRow{}).Where("user_id = ? AND left_at IS NULL", userID).Order("relationship_id").
		Pluck("relationship_id", &ids).Error; err != nil {
		return nil, translate(err, "member")
	}
	rels := &Relationships{db: s.db, w: tx, r: tx}
	out := make([]relationship.Relationship, 0, len(ids))
	for _, relID := range ids {
		if err := rels.touch(ctx, relID, at); err != nil {
			return nil, err
		}
		r, err := rels.Get(ctx, relID)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ArchiveRelationship implements account.Store.
func (s *Accounts) ArchiveRelationship(ctx context.Context, relID string, at time.Time) (relationship.Relationship, bool, error) {
	res := s.w.WithContext(ctx).Model(&relationshipRow{}).Where("id = ? AND status = ?", relID, relationship.StatusActive).
		Updates(map[string]any{"status": relationship.StatusArchived, "archived_at": micros(at), "updated_at": micros(at)})
	if res.Error != nil || res.RowsAffected == 0 {
		return relationship.Relationship{}, false, translate(res.Error, "relationship")
	}
	r, err := (&Relationships{db: s.db, w: s.w, r: s.w}).Get(ctx, relID)
	return r, true, err
}

// EraseUser implements account.Store.
func (s *Accounts) EraseUser(ctx context.Context, u account.User) error {
	res := s.w.WithContext(ctx).Model(&userRow{}).Where("id = ?", u.ID).Updates(map[string]any{
		"email":         u.Email,
		"email_key":     lowerEmail(u.Email),
		"display_name":  u.DisplayName,
		"password_hash": u.PasswordHash,
		"deleted_at":    microsPtr(u.DeletedAt),
		"updated_at":    micros(u.UpdatedAt),
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return translate(gorm.ErrRecordNotFound, "user")
	}
	if res.Error == nil {
		if err := s.eraseFromEvents(ctx, u); err != nil {
			return err
		}
		if s.erased != nil {
			*s.erased = append(*s.erased, u.ID) // forgotten once the transaction commits
		} else {
			s.db.live.forget(u.ID)
		}
	}
	return translate(res.Error, "user")
}

// eraseFromEvents gives the erased user, in the stored data of the events
// of every relationship they belonged to, the display name they now have
// everywhere else: the member lists of relationship.* and member.* events
// name each member ({"user_id": …, "display_name": …}, in that order, as
// api.Member is encoded), and the feed and the webhook deliveries still
// to come serve those events as stored. Every name the user went by is
// replaced, not only the last one. Deliveries already made stay made.
func (s *Accounts) eraseFromEvents(ctx context.Context, u account.User) error {
	named := regexp.MustCompile(`"user_id":"` + regexp.QuoteMeta(u.ID) + `","display_name":"(?:[^"\\]|\\.)*"`)
	name, err := json.Marshal(u.DisplayName)
	if err != nil {
		return err
	}
	erased := []byte(`"user_id":"` + u.ID + `","display_name":` + string(name))
	type change struct{ id, data string }
	var changes []change
	err = scanAll(ctx, s.db.querierFor(s.w), func(rows *sql.Rows) error {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return err
		}
		if out := named.ReplaceAllLiteral([]byte(data), erased); string(out) != data {
			changes = append(changes, change{id, string(out)})
		}
		return nil
	}, `SELECT id, data FROM events
		WHERE relationship_id IN (SELECT relationship_id FROM relationship_members WHERE user_id = ?)
		AND data LIKE ?`, u.ID, `%"user_id":"`+u.ID+`","display_name":%`)
	if err != nil {
		return translate(err, "event")
	}
	for _, c := range changes {
		if err := s.db.execSQL(ctx, s.w, `UPDATE events SET data = ? WHERE id = ?`, c.data, c.id); err != nil {
			return translate(err, "event")
		}
	}
	return nil
}

// Emit implements account.Store.
func (s *Accounts) Emit(ctx context.Context, e event.Event, resource any) error {
	return s.db.emit(ctx, s.w, e, resource)
}
