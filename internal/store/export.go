package store

import (
	"context"
	"database/sql"

	"gorm.io/gorm"

	"github.com/troth-app/troth/internal/apikey"
	"github.com/troth-app/troth/internal/export"
	"github.com/troth-app/troth/internal/trust"
	"github.com/troth-app/troth/internal/webhook"
)

// Exports reads a person's data for export.
type Exports struct{ db *DB }

// Exports returns the export store.
func (db *DB) Exports() *Exports { return &Exports{db: db} }

var _ export.Store = (*Exports)(nil)

// Export implements export.Store: one read transaction (a snapshot on
// PostgreSQL too) and a fixed number of queries, each filtered by the
// person's relationships and grouped here.
func (s *Exports) Export(ctx context.Context, userID string) (export.Data, error) {
	var out export.Data
	var opts *sql.TxOptions
	if s.db.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	err := s.db.r.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = exportIn(ctx, s.db, tx, userID)
		return err
	}, opts)
	return out, err
}

func exportIn(ctx context.Context, db *DB, tx *gorm.DB, userID string) (export.Data, error) {
	var out export.Data
	var u userRow
	if err := tx.Where("id = ?", userID).Take(&u).Error; err != nil {
		return out, translate(err, "user")
	}
	out.User = toUser(u)

	var keys []apiKeyRow
	if err := tx.Where("user_id = ? AND revoked_at IS NULL", userID).Order("id").Find(&keys).Error; err != nil {
		return out, translate(err, "API key")
	}
	out.APIKeys = make([]apikey.Key, len(keys))
	for i, k := range keys {
		out.APIKeys[i] = toAPIKey(k)
	}
	var eps []endpointRow
	if err := tx.Where("owner_id = ?", userID).Order("id").Find(&eps).Error; err != nil {
		return out, translate(err, "webhook")
	}
	out.Webhooks = make([]webhook.Endpoint, len(eps))
	for i, e := range eps {
		out.Webhooks[i] = toEndpoint(e)
	}

	var ms []memberRow
	if err := tx.Where("user_id = ?", userID).Order("relationship_id").Find(&ms).Error; err != nil {
		return out, translate(err, "member")
	}
	if len(ms) == 0 {
		return out, nil
	}
	ids := make([]string, len(ms))
	at := make(map[string]int, len(ms))
	for i, m := range ms {
		ids[i], at[m.RelationshipID] = m.RelationshipID, i
	}
	// The relationships as they are now only where the person still
	// belongs: what one became after they left is not theirs.
	var current []string
	for _, m := range ms {
		if m.LeftAt == nil {
			current = append(current, m.RelationshipID)
		}
	}
	var rels []relationshipRow
	if len(current) > 0 {
		if err := tx.Where("id IN ?", current).Order("id").Find(&rels).Error; err != nil {
			return out, translate(err, "relationship")
		}
	}
	withMembers, err := (&Relationships{db: db, w: tx, r: tx}).withMembers(ctx, rels)
	if err != nil {
		return out, err
	}
	out.Relationships = make([]export.Relationship, len(ms))
	for i, m := range ms {
		out.Relationships[i].RelationshipID, out.Relationships[i].Membership = m.RelationshipID, toMember(m)
	}
	for _, r := range withMembers {
		out.Relationships[at[r.ID]].Relationship = &r
	}
	// Every period of membership: those a rejoin closed, then the current
	// row's.
	var past []struct {
		RelationshipID   string
		JoinedAt, LeftAt int64
	}
	if err := tx.Table("past_memberships").Select("relationship_id, joined_at, left_at").
		Where("relationship_id IN ? AND user_id = ?", ids, userID).Order("relationship_id, joined_at").Scan(&past).Error; err != nil {
		return out, translate(err, "member")
	}
	for _, p := range past {
		r := &out.Relationships[at[p.RelationshipID]]
		left := fromMicros(p.LeftAt)
		r.Periods = append(r.Periods, export.Period{JoinedAt: fromMicros(p.JoinedAt), LeftAt: &left})
	}
	for i := range out.Relationships {
		r := &out.Relationships[i]
		r.Periods = append(r.Periods, export.Period{JoinedAt: r.Membership.JoinedAt, LeftAt: r.Membership.LeftAt})
	}
	group := func(relID string) *export.Relationship { return &out.Relationships[at[relID]] }

	// The promises the person made or that were made to them; what hangs
	// off a promise is theirs when the promise is.
	own := tx.Model(&promiseRow{}).Select("id").
		Where("relationship_id IN ? AND (promisor_id = ? OR promisee_id = ?)", ids, userID, userID)
	inRels := func() *gorm.DB { return tx.Where("relationship_id IN ?", ids) }

	var ps []promiseRow
	if err := inRels().Where("promisor_id = ? OR promisee_id = ?", userID, userID).Order("id").Find(&ps).Error; err != nil {
		return out, translate(err, "promise")
	}
	for _, r := range ps {
		g := group(r.RelationshipID)
		g.Promises = append(g.Promises, toPromise(r))
	}
	var os []occurrenceRow
	if err := inRels().Where("promise_id IN (?)", own).Order("due_at, id").Find(&os).Error; err != nil {
		return out, translate(err, "occurrence")
	}
	for _, r := range os {
		g := group(r.RelationshipID)
		g.Occurrences = append(g.Occurrences, toOccurrence(r))
	}
	var fs []followThroughRow
	if err := inRels().Where("recorded_by = ? OR promise_id IN (?)", userID, own).Order("id").Find(&fs).Error; err != nil {
		return out, translate(err, "follow-through")
	}
	for _, r := range fs {
		g := group(r.RelationshipID)
		g.FollowThroughs = append(g.FollowThroughs, toFollowThrough(r))
	}
	var rs []renegotiationRow
	if err := inRels().Where("proposed_by = ? OR promise_id IN (?)", userID, own).Order("id").Find(&rs).Error; err != nil {
		return out, translate(err, "renegotiation")
	}
	for _, r := range rs {
		g := group(r.RelationshipID)
		g.Renegotiations = append(g.Renegotiations, toRenegotiation(r))
	}
	var pauses []pauseRow
	if err := inRels().Where("created_by = ? OR promise_id IN (?)", userID, own).Order("id").Find(&pauses).Error; err != nil {
		return out, translate(err, "pause")
	}
	for _, r := range pauses {
		g := group(r.RelationshipID)
		g.Pauses = append(g.Pauses, toPause(r))
	}
	var bs []breachRow
	if err := inRels().Where("member_id = ? OR recorded_by = ?", userID, userID).Order("id").Find(&bs).Error; err != nil {
		return out, translate(err, "breach")
	}
	for _, r := range bs {
		g := group(r.RelationshipID)
		g.Breaches = append(g.Breaches, trust.Breach{ID: r.ID, RelationshipID: r.RelationshipID, MemberID: r.MemberID, RecordedBy: r.RecordedBy,
			Description: r.Description, Severity: r.Severity, OccurredAt: fromMicros(r.OccurredAt), CreatedAt: fromMicros(r.CreatedAt)})
	}
	var cs []checkInRow
	if err := inRels().Where("author_id = ? OR subject_id = ?", userID, userID).Order("id").Find(&cs).Error; err != nil {
		return out, translate(err, "check-in")
	}
	for _, r := range cs {
		g := group(r.RelationshipID)
		g.CheckIns = append(g.CheckIns, trust.CheckIn{ID: r.ID, RelationshipID: r.RelationshipID, AuthorID: r.AuthorID, SubjectID: r.SubjectID,
			FeltTrust: r.FeltTrust, Note: r.Note, CreatedAt: fromMicros(r.CreatedAt)})
	}
	return out, nil
}
