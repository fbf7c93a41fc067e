package store

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/page"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/scoring"
)

type relationshipRow struct {
	ID                 string `gorm:"primaryKey"`
	Name               string
	PartnerName        *string
	TimeZone           string
	HalfLifeDays       int
	GraceMinutes       int
	DisputeWindowHours int
	RemindMinutes      int
	TargetScore        float64
	PatienceDays       int
	Status             string
	CreatedBy          string
	CreatedAt          int64 `gorm:"autoCreateTime:false"`
	UpdatedAt          int64 `gorm:"autoUpdateTime:false"`
	ArchivedAt         *int64
}

func (relationshipRow) TableName() string { return "relationships" }

type memberRow struct {
	RelationshipID string `gorm:"primaryKey"`
	UserID         string `gorm:"primaryKey"`
	Role           string
	JoinedAt       int64
	LeftAt         *int64
	DisplayName    string `gorm:"->;-:migration"` // read from users in joins
}

func (memberRow) TableName() string { return "relationship_members" }

type inviteRow struct {
	RelationshipID string `gorm:"primaryKey"`
	CodeHash       []byte `gorm:"primaryKey"`
	ID             string
	CreatedBy      string
	CreatedAt      int64 `gorm:"autoCreateTime:false"`
	ExpiresAt      int64
	UsedAt         *int64
	UsedBy         *string
	RevokedAt      *int64
}

func (inviteRow) TableName() string { return "invites" }

func toInvite(r inviteRow) relationship.Invite {
	return relationship.Invite{ID: r.ID, RelationshipID: r.RelationshipID, CodeHash: r.CodeHash, CreatedBy: r.CreatedBy,
		CreatedAt: fromMicros(r.CreatedAt), ExpiresAt: fromMicros(r.ExpiresAt), UsedAt: fromMicrosPtr(r.UsedAt), UsedBy: r.UsedBy,
		RevokedAt: fromMicrosPtr(r.RevokedAt)}
}

func fromRelationship(r relationship.Relationship) relationshipRow {
	s := r.Settings
	return relationshipRow{
		ID: r.ID, Name: r.Name, PartnerName: r.PartnerName, TimeZone: r.TimeZone,
		HalfLifeDays: s.HalfLifeDays, GraceMinutes: s.GraceMinutes, DisputeWindowHours: s.DisputeWindowHours,
		RemindMinutes: s.RemindMinutes, TargetScore: s.TargetScore, PatienceDays: s.PatienceDays,
		Status: r.Status, CreatedBy: r.CreatedBy, CreatedAt: micros(r.CreatedAt), UpdatedAt: micros(r.UpdatedAt),
		ArchivedAt: microsPtr(r.ArchivedAt),
	}
}

func toRelationship(r relationshipRow) relationship.Relationship {
	return relationship.Relationship{
		ID: r.ID, Name: r.Name, PartnerName: r.PartnerName, TimeZone: r.TimeZone,
		Settings: relationship.Settings{
			HalfLifeDays: r.HalfLifeDays, GraceMinutes: r.GraceMinutes, DisputeWindowHours: r.DisputeWindowHours,
			RemindMinutes: r.RemindMinutes, TargetScore: r.TargetScore, PatienceDays: r.PatienceDays,
		},
		Status: r.Status, CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
		ArchivedAt: fromMicrosPtr(r.ArchivedAt),
	}
}

func toMember(m memberRow) relationship.Member {
	return relationship.Member{
		RelationshipID: m.RelationshipID, UserID: m.UserID, DisplayName: m.DisplayName, Role: m.Role,
		JoinedAt: fromMicros(m.JoinedAt), LeftAt: fromMicrosPtr(m.LeftAt),
	}
}

// Relationships implements relationship.Store.
type Relationships struct {
	db   *DB
	w, r *gorm.DB
}

// Relationships returns the relationship store.
func (db *DB) Relationships() *Relationships { return &Relationships{db: db, w: db.w, r: db.r} }

// InTx implements relationship.Store.
func (s *Relationships) InTx(ctx context.Context, fn func(tx relationship.Store) error) error {
	return s.db.inTx(ctx, func(tx *gorm.DB) error { return fn(&Relationships{db: s.db, w: tx, r: tx}) })
}

// Create implements relationship.Store.
func (s *Relationships) Create(ctx context.Context, r relationship.Relationship, owner relationship.Member) error {
	return s.db.inTxOr(ctx, s.w, func(tx *gorm.DB) error {
		row := fromRelationship(r)
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, "relationship")
		}
		m := memberRow{RelationshipID: owner.RelationshipID, UserID: owner.UserID, Role: owner.Role, JoinedAt: micros(owner.JoinedAt)}
		return translate(tx.Create(&m).Error, "member")
	})
}

// Get implements relationship.Store. It is in front of nearly every
// request (the membership check), so it reads the relationship and its
// current members in one hand-written statement.
func (s *Relationships) Get(ctx context.Context, id string) (relationship.Relationship, error) {
	var rel relationship.Relationship
	found := false
	err := scanAll(ctx, s.db.querierFor(s.r), func(rows *sql.Rows) error {
		var r relationshipRow
		var m struct {
			UserID, Role, DisplayName *string
			JoinedAt, LeftAt          *int64
		}
		if err := rows.Scan(&r.ID, &r.Name, &r.PartnerName, &r.TimeZone, &r.HalfLifeDays, &r.GraceMinutes,
			&r.DisputeWindowHours, &r.RemindMinutes, &r.TargetScore, &r.PatienceDays, &r.Status,
			&r.CreatedBy, &r.CreatedAt, &r.UpdatedAt, &r.ArchivedAt,
			&m.UserID, &m.Role, &m.JoinedAt, &m.LeftAt, &m.DisplayName); err != nil {
			return err
		}
		if !found {
			rel, found = toRelationship(r), true
		}
		if m.UserID != nil && m.DisplayName != nil { // a member, with their user
			rel.Members = append(rel.Members, toMember(memberRow{RelationshipID: r.ID, UserID: *m.UserID,
				Role: *m.Role, JoinedAt: *m.JoinedAt, LeftAt: m.LeftAt, DisplayName: *m.DisplayName}))
		}
		return nil
	}, `SELECT r.id, r.name, r.partner_name, r.time_zone, r.half_life_days, r.grace_minutes, r.dispute_window_hours,
			r.remind_minutes, r.target_score, r.patience_days, r.status, r.created_by, r.created_at, r.updated_at,
			r.archived_at, m.user_id, m.role, m.joined_at, m.left_at, u.display_name
		FROM relationships r
		LEFT JOIN relationship_members m ON m.relationship_id = r.id AND m.left_at IS NULL
		LEFT JOIN users u ON u.id = m.user_id
		WHERE r.id = ? ORDER BY m.joined_at, m.user_id`, id)
	if err == nil && !found {
		err = sql.ErrNoRows
	}
	return rel, translate(err, "relationship")
}

// withMembers converts rows and attaches their current members, in one query.
func (s *Relationships) withMembers(ctx context.Context, rows []relationshipRow) ([]relationship.Relationship, error) {
	out := make([]relationship.Relationship, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	at := make(map[string]int, len(rows))
	for i, row := range rows {
		out[i], ids[i], at[row.ID] = toRelationship(row), row.ID, i
	}
	var ms []memberRow
	err := s.r.WithContext(ctx).Table("relationship_members AS m").
		Select("m.relationship_id, m.user_id, m.role, m.joined_at, m.left_at, u.display_name").
		Joins("JOIN users u ON u.id = m.user_id").
		Where("m.relationship_id IN ? AND m.left_at IS NULL", ids).
		Order("m.joined_at, m.user_id").Scan(&ms).Error
	if err != nil {
		return nil, translate(err, "member")
	}
	for _, m := range ms {
		i := at[m.RelationshipID]
		out[i].Members = append(out[i].Members, toMember(m))
	}
	return out, nil
}

// ListFor implements relationship.Store.
func (s *Relationships) ListFor(ctx context.Context, userID string, p page.Request) ([]relationship.Relationship, error) {
	q := s.r.WithContext(ctx).Table("relationships AS r").Select("r.*").
		Joins("JOIN relationship_members m ON m.relationship_id = r.id AND m.user_id = ? AND m.left_at IS NULL", userID)
	if len(p.After) == 1 {
		q = q.Where("r.id > ?", p.After[0])
	}
	var rows []relationshipRow
	if err := q.Order("r.id").Limit(p.Limit).Scan(&rows).Error; err != nil {
		return nil, translate(err, "relationship")
	}
	return s.withMembers(ctx, rows)
}

// Update implements relationship.Store.
func (s *Relationships) Update(ctx context.Context, r relationship.Relationship) error {
	row := fromRelationship(r)
	res := s.w.WithContext(ctx).Model(&relationshipRow{}).Where("id = ?", r.ID).Select("*").Omit("id", "created_at", "created_by").Updates(&row)
	if res.Error == nil && res.RowsAffected == 0 {
		return translate(gorm.ErrRecordNotFound, "relationship")
	}
	return translate(res.Error, "relationship")
}

// Membership implements relationship.Store.
func (s *Relationships) Membership(ctx context.Context, relID, userID string) (relationship.Member, error) {
	var m memberRow
	err := s.r.WithContext(ctx).Where("relationship_id = ? AND user_id = ? AND left_at IS NULL", relID, userID).Take(&m).Error
	return toMember(m), translate(err, "member")
}

// AnyMembership implements relationship.Store.
func (s *Relationships) AnyMembership(ctx context.Context, relID, userID string) (relationship.Member, error) {
	var m memberRow
	err := s.r.WithContext(ctx).Where("relationship_id = ? AND user_id = ?", relID, userID).Take(&m).Error
	return toMember(m), translate(err, "member")
}

// AddMember implements relationship.Store.
func (s *Relationships) AddMember(ctx context.Context, m relationship.Member) error {
	row := memberRow{RelationshipID: m.RelationshipID, UserID: m.UserID, Role: m.Role, JoinedAt: micros(m.JoinedAt)}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return translate(err, "member")
	}
	return s.touch(ctx, m.RelationshipID, m.JoinedAt)
}

// touch moves a relationship's updated_at when its members change: they
// are part of it as the API shows it.
func (s *Relationships) touch(ctx context.Context, relID string, at time.Time) error {
	err := s.w.WithContext(ctx).Exec(`UPDATE relationships SET updated_at = ? WHERE id = ? AND updated_at < ?`, micros(at), relID, micros(at)).Error
	return translate(err, "relationship")
}

// RejoinMember implements relationship.Store. The period the member's row
// held until now is kept in past_memberships first: the row starts over.
func (s *Relationships) RejoinMember(ctx context.Context, m relationship.Member) error {
	err := s.w.WithContext(ctx).Exec(`INSERT INTO past_memberships (relationship_id, user_id, joined_at, left_at)
		SELECT relationship_id, user_id, joined_at, left_at FROM relationship_members
		WHERE relationship_id = ? AND user_id = ? AND left_at IS NOT NULL`, m.RelationshipID, m.UserID).Error
	if err != nil {
		return translate(err, "member")
	}
	err = s.w.WithContext(ctx).Model(&memberRow{}).Where("relationship_id = ? AND user_id = ?", m.RelationshipID, m.UserID).
		Updates(map[string]any{"left_at": nil, "joined_at": micros(m.JoinedAt)}).Error
	if err != nil {
		return translate(err, "member")
	}
	return s.touch(ctx, m.RelationshipID, m.JoinedAt)
}

// LeaveMember implements relationship.Store.
func (s *Relationships) LeaveMember(ctx context.Context, relID, userID string, at time.Time) error {
	err := s.w.WithContext(ctx).Model(&memberRow{}).Where("relationship_id = ? AND user_id = ? AND left_at IS NULL", relID, userID).
		Update("left_at", micros(at)).Error
	if err != nil {
		return translate(err, "member")
	}
	if err := expireInvitesOf(ctx, s.w, userID, at, relID); err != nil {
		return err
	}
	return s.touch(ctx, relID, at)
}

// expireInvitesOf ends, at at, the unused invites a member who leaves made
// into the relationships named: nobody joins on the word of someone no
// longer there.
func expireInvitesOf(ctx context.Context, tx *gorm.DB, userID string, at time.Time, relIDs ...string) error {
	err := tx.WithContext(ctx).Model(&inviteRow{}).
		Where("relationship_id IN ? AND created_by = ? AND used_at IS NULL AND expires_at > ?", relIDs, userID, micros(at)).
		Update("expires_at", micros(at)).Error
	return translate(err, "invite")
}

// CreateInvite implements relationship.Store.
func (s *Relationships) CreateInvite(ctx context.Context, inv relationship.Invite) error {
	row := inviteRow{ID: inv.ID, RelationshipID: inv.RelationshipID, CodeHash: inv.CodeHash, CreatedBy: inv.CreatedBy,
		CreatedAt: micros(inv.CreatedAt), ExpiresAt: micros(inv.ExpiresAt)}
	return translate(s.w.WithContext(ctx).Create(&row).Error, "invite")
}

// InviteByHash implements relationship.Store.
func (s *Relationships) InviteByHash(ctx context.Context, hash []byte) (relationship.Invite, error) {
	var row inviteRow
	if err := s.r.WithContext(ctx).Where("code_hash = ?", hash).Take(&row).Error; err != nil {
		return relationship.Invite{}, translate(err, "invite")
	}
	return toInvite(row), nil
}

// UseInvite implements relationship.Store. The condition settles a race
// with a revocation: whichever commits first wins.
func (s *Relationships) UseInvite(ctx context.Context, hash []byte, userID string, at time.Time) (bool, error) {
	res := s.w.WithContext(ctx).Model(&inviteRow{}).Where("code_hash = ? AND used_at IS NULL AND revoked_at IS NULL", hash).
		Updates(map[string]any{"used_at": micros(at), "used_by": userID})
	return res.RowsAffected == 1, translate(res.Error, "invite")
}

// PendingInvites implements relationship.Store, through the index on
// (relationship_id, id).
func (s *Relationships) PendingInvites(ctx context.Context, relID string, now time.Time, p page.Request) ([]relationship.Invite, error) {
	q := s.r.WithContext(ctx).
		Where("relationship_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?", relID, micros(now))
	if len(p.After) == 1 {
		q = q.Where("id > ?", p.After[0])
	}
	var rows []inviteRow
	if err := q.Order("id").Limit(p.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "invite")
	}
	out := make([]relationship.Invite, 0, len(rows))
	for _, r := range rows {
		out = append(out, toInvite(r))
	}
	return out, nil
}

// RevokeInvite implements relationship.Store.
func (s *Relationships) RevokeInvite(ctx context.Context, relID, inviteID string, at time.Time) error {
	res := s.w.WithContext(ctx).Model(&inviteRow{}).
		Where("relationship_id = ? AND id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?", relID, inviteID, micros(at)).
		Update("revoked_at", micros(at))
	if res.Error == nil && res.RowsAffected == 0 {
		return translate(gorm.ErrRecordNotFound, "invite")
	}
	return translate(res.Error, "invite")
}

// ClaimPartnerPromises implements relationship.Store. Everything it
// changes has its updated_at moved, so that a client syncing with
// updated_since sees it.
func (s *Relationships) ClaimPartnerPromises(ctx context.Context, relID, userID string, acceptAfter, now time.Time) error {
	tx := s.w.WithContext(ctx)
	var rows []promiseRow
	if err := tx.Where("relationship_id = ? AND promisee_id IS NULL", relID).Order("id").Find(&rows).Error; err != nil {
		return translate(err, "promise")
	}
	at := micros(now)
	if err := tx.Exec(`UPDATE follow_throughs SET accept_after = ?, updated_at = ?
		WHERE relationship_id = ? AND verification = 'unverified' AND accept_after IS NULL
		AND promise_id IN (SELECT id FROM promises WHERE relationship_id = ? AND promisee_id IS NULL)`,
		micros(acceptAfter), at, relID, relID).Error; err != nil {
		return translate(err, "follow-through")
	}
	if err := tx.Exec(`UPDATE occurrences SET promisee_id = ?, updated_at = ? WHERE relationship_id = ? AND promisee_id IS NULL`,
		userID, at, relID).Error; err != nil {
		return translate(err, "occurrence")
	}
	if err := tx.Exec(`UPDATE promises SET promisee_id = ?, updated_at = ? WHERE relationship_id = ? AND promisee_id IS NULL`,
		userID, at, relID).Error; err != nil {
		return translate(err, "promise")
	}
	// The partner has joined: their name is now their own display name.
	if err := tx.Exec(`UPDATE relationships SET partner_name = NULL, updated_at = ? WHERE id = ?`, at, relID).Error; err != nil {
		return translate(err, "relationship")
	}
	for _, row := range rows {
		p := toPromise(row)
		p.PromiseeID, p.UpdatedAt = &userID, now
		if err := s.db.emit(ctx, s.w, event.Event{Type: event.PromiseUpdated, RelationshipID: relID, ActorID: userID, CreatedAt: now}, p); err != nil {
			return err
		}
	}
	return nil
}

// RescoreAll implements relationship.Store: every member who ever belonged
// and every promise.
func (s *Relationships) RescoreAll(ctx context.Context, relID string) error {
	var subjects []string
	if err := s.w.WithContext(ctx).Model(&memberRow{}).Where("relationship_id = ?", relID).Pluck("user_id", &subjects).Error; err != nil {
		return translate(err, "member")
	}
	var promises []string
	if err := s.w.WithContext(ctx).Model(&promiseRow{}).Where("relationship_id = ?", relID).Pluck("id", &promises).Error; err != nil {
		return translate(err, "promise")
	}
	sc := s.db.Scores().inTx(s.w)
	for _, subject := range append(subjects, promises...) {
		if err := scoring.Rebuild(ctx, sc, relID, subject); err != nil {
			return err
		}
	}
	return nil
}

// Emit implements relationship.Store.
func (s *Relationships) Emit(ctx context.Context, e event.Event, resource any) error {
	return s.db.emit(ctx, s.w, e, resource)
}

// ArchivePromises implements relationship.Store.
func (s *Relationships) ArchivePromises(ctx context.Context, relID, userID string, at time.Time) error {
	return s.db.archivePromises(ctx, s.w, relID, userID, at)
}

// CancelPromisesOf implements relationship.Store.
func (s *Relationships) CancelPromisesOf(ctx context.Context, relID, userID string, at time.Time) error {
	return s.db.cancelPromisesOf(ctx, s.w, relID, userID, at)
}
