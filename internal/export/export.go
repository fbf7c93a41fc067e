// Package export gathers everything a person has written in troth and
// everything about them, for GET /v1/me/export: their profile, each
// relationship they belong or belonged to with what in it concerns them,
// their API keys, webhook endpoints and current scores.
package export

import (
	"context"
	"fmt"
	"time"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/apikey"
	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/trust"
	"github.com/troth-app/troth/internal/webhook"
)

// Data is one person's export.
type Data struct {
	User          account.User
	Relationships []Relationship
	// APIKeys are the active keys; secrets are never kept.
	APIKeys  []apikey.Key
	Webhooks []webhook.Endpoint
	// ExportedAt is when the export was made.
	ExportedAt time.Time
}

// Relationship is one relationship with what in it concerns the person.
type Relationship struct {
	RelationshipID string
	// Relationship is the relationship now, for a current member only.
	Relationship *relationship.Relationship
	// Membership is the person's own: role, joined and, if so, left (the
	// latest period, for one who left and joined again).
	Membership relationship.Member
	// Periods are every time the person belonged, oldest first; the last
	// is Membership's.
	Periods []Period
	// Promises they made or that were made to them, and the occurrences,
	// follow-throughs, renegotiations and pauses of those promises (or
	// recorded, proposed or created by them).
	Promises       []promise.Promise
	Occurrences    []promise.Occurrence
	FollowThroughs []promise.FollowThrough
	Renegotiations []promise.Renegotiation
	Pauses         []promise.Pause
	// Breaches by them or recorded by them; check-ins they wrote or about them.
	Breaches []trust.Breach
	CheckIns []trust.CheckIn
	// Score is their member score now; nil when they are no longer a member.
	Score *scoring.Result
}

// Period is one stretch of time a person belonged to a relationship.
type Period struct {
	JoinedAt time.Time
	// LeftAt is nil while the period lasts.
	LeftAt *time.Time
}

// Store reads a person's data, batched by relationship (a fixed number of
// queries whatever the size of the history).
type Store interface {
	Export(ctx context.Context, userID string) (Data, error)
}

// Scores evaluates a member's score.
type Scores interface {
	MemberScore(ctx context.Context, userID, relID, memberID string, at *time.Time) (scoring.Result, error)
}

// Service makes exports.
type Service struct {
	store  Store
	scores Scores
	now    func() time.Time
}

// NewService returns an export service; now is the clock.
func NewService(store Store, scores Scores, now func() time.Time) *Service {
	return &Service{store: store, scores: scores, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Of returns everything about userID. It costs O(their history) to read,
// with a fixed number of queries plus one score per current relationship.
func (s *Service) Of(ctx context.Context, userID string) (Data, error) {
	d, err := s.store.Export(ctx, userID)
	if err != nil {
		return Data{}, fmt.Errorf("export %s: %w", userID, err)
	}
	d.ExportedAt = s.now()
	for i := range d.Relationships {
		r := &d.Relationships[i]
		if r.Membership.LeftAt != nil {
			continue
		}
		sc, err := s.scores.MemberScore(ctx, userID, r.RelationshipID, userID, nil)
		if err != nil {
			return Data{}, fmt.Errorf("export score in %s: %w", r.RelationshipID, err)
		}
		r.Score = &sc
	}
	return d, nil
}
