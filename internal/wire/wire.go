// Package wire converts domain values into their wire form (package api):
// what HTTP responses, event snapshots and webhook payloads carry.
package wire

import (
	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/apikey"
	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/trust"
)

// User is the wire form of a user.
func User(u account.User) api.User {
	return api.User{
		ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, TimeZone: u.TimeZone,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
	}
}

// Member is the wire form of a member.
func Member(m relationship.Member) api.Member {
	return api.Member{UserID: m.UserID, DisplayName: m.DisplayName, Role: m.Role, JoinedAt: m.JoinedAt}
}

// MemberEvent is the data of member.left.
type MemberEvent struct {
	api.Member
	RelationshipID string `json:"relationship_id"`
}

// PendingInvite is the wire form of an invite as members list it: never
// its code.
func PendingInvite(inv relationship.Invite) api.PendingInvite {
	return api.PendingInvite{ID: inv.ID, RelationshipID: inv.RelationshipID, CreatedBy: inv.CreatedBy,
		CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt}
}

// Relationship is the wire form of a relationship.
func Relationship(r relationship.Relationship) api.Relationship {
	s := r.Settings
	out := api.Relationship{
		ID: r.ID, Name: r.Name, PartnerName: r.PartnerName, TimeZone: r.TimeZone,
		Settings: api.RelationshipSettings{
			HalfLifeDays: s.HalfLifeDays, GraceMinutes: s.GraceMinutes, DisputeWindowHours: s.DisputeWindowHours,
			RemindMinutes: s.RemindMinutes, TargetScore: s.TargetScore, PatienceDays: s.PatienceDays,
		},
		Status: r.Status, CreatedBy: r.CreatedBy, Members: make([]api.Member, 0, len(r.Members)),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ArchivedAt: r.ArchivedAt,
	}
	for _, m := range r.Members {
		out.Members = append(out.Members, Member(m))
	}
	return out
}

// Promise is the wire form of a promise.
func Promise(p promise.Promise) api.Promise {
	out := api.Promise{
		ID: p.ID, RelationshipID: p.RelationshipID, PromisorID: p.PromisorID, PromiseeID: p.PromiseeID,
		Title: p.Title, Details: p.Details, Kind: p.Kind, DueAt: p.DueAt, Status: p.Status,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if r := p.Recurrence; r != nil {
		out.Recurrence = &api.Recurrence{RRule: r.RRule, TimeZone: r.TimeZone, LocalTime: r.LocalTime, StartsOn: r.StartsOn}
	}
	return out
}

// Pause is the wire form of a pause.
func Pause(p promise.Pause) api.Pause {
	return api.Pause{ID: p.ID, RelationshipID: p.RelationshipID, PromiseID: p.PromiseID, StartsOn: p.StartsOn, EndsOn: p.EndsOn,
		Reason: p.Reason, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt}
}

// Occurrence is the wire form of a occurrence.
func Occurrence(o promise.Occurrence) api.Occurrence {
	return api.Occurrence{
		ID: o.ID, RelationshipID: o.RelationshipID, PromiseID: o.PromiseID, PromisorID: o.PromisorID, PromiseeID: o.PromiseeID,
		DueAt: o.DueAt, OriginalDueAt: o.OriginalDueAt, Status: o.Status, Outcome: o.Outcome,
		FollowThroughID: o.FollowThroughID, ReplacesID: o.ReplacesID, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

// FollowThrough is the wire form of a followThrough.
func FollowThrough(f promise.FollowThrough) api.FollowThrough {
	return api.FollowThrough{
		ID: f.ID, RelationshipID: f.RelationshipID, OccurrenceID: f.OccurrenceID, PromiseID: f.PromiseID, Outcome: f.Outcome,
		OccurredAt: f.OccurredAt, Note: f.Note, RecordedBy: f.RecordedBy, Verification: f.Verification,
		DisputeReason: f.DisputeReason, AcceptAfter: f.AcceptAfter, VerifiedAt: f.VerifiedAt, SupersededAt: f.SupersededAt,
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
}

// Renegotiation is the wire form of a renegotiation.
func Renegotiation(r promise.Renegotiation) api.Renegotiation {
	return api.Renegotiation{
		ID: r.ID, RelationshipID: r.RelationshipID, OccurrenceID: r.OccurrenceID, PromiseID: r.PromiseID, ProposedBy: r.ProposedBy,
		ProposedDueAt: r.ProposedDueAt, Reason: r.Reason, Status: r.Status, NewOccurrenceID: r.NewOccurrenceID,
		CreatedAt: r.CreatedAt, ResolvedAt: r.ResolvedAt,
	}
}

// Breach is the wire form of a breach.
func Breach(b trust.Breach) api.Breach {
	return api.Breach{ID: b.ID, RelationshipID: b.RelationshipID, MemberID: b.MemberID, RecordedBy: b.RecordedBy,
		Description: b.Description, Severity: b.Severity, OccurredAt: b.OccurredAt, CreatedAt: b.CreatedAt}
}

// CheckIn is the wire form of a checkIn.
func CheckIn(c trust.CheckIn) api.CheckIn {
	return api.CheckIn{ID: c.ID, RelationshipID: c.RelationshipID, AuthorID: c.AuthorID, SubjectID: c.SubjectID,
		FeltTrust: c.FeltTrust, Note: c.Note, CreatedAt: c.CreatedAt}
}

// Score is the wire form of a score.
func Score(r scoring.Result) api.Score {
	out := api.Score{
		Score: score.Round4(r.Score), Level: score.Level(score.Round4(r.Score)), Evidence: score.Round4(r.Evidence),
		Counts: api.ScoreCounts{
			Kept: r.Counts.Kept, KeptLate: r.Counts.KeptLate, Partial: r.Counts.Partial, Missed: r.Counts.Missed,
			Disputed: r.Counts.Disputed, Unverified: r.Counts.Unverified, Skipped: r.Skipped, Open: r.Open,
			Breaches: r.Counts.Breaches,
		},
		CurrentStreak: r.CurrentStreak, LongestStreak: r.LongestStreak, EvaluatedAt: r.EvaluatedAt,
	}
	subject := r.Subject
	if scoring.IsMember(subject) {
		out.MemberID = &subject
	} else {
		out.PromiseID = &subject
	}
	// The level follows the unrounded score (0.59996 is fragile, shown as 0.6).
	out.Level = r.Level
	return out
}

// Snapshot returns the wire form of a domain value, for event data.
// Values already in wire form, and maps, pass through.
func Snapshot(v any) any {
	switch x := v.(type) {
	case relationship.Relationship:
		return Relationship(x)
	case relationship.Member:
		// member.left: the Member, and the relationship it left (its
		// webhook body has no other word of it).
		return MemberEvent{Member: Member(x), RelationshipID: x.RelationshipID}
	case promise.Promise:
		return Promise(x)
	case promise.Pause:
		return Pause(x)
	case promise.Occurrence:
		return Occurrence(x)
	case promise.FollowThrough:
		return FollowThrough(x)
	case promise.Renegotiation:
		return Renegotiation(x)
	case trust.Breach:
		return Breach(x)
	case trust.CheckIn:
		return CheckIn(x)
	case scoring.Result:
		return Score(x)
	}
	return v
}

// APIKey is the wire form of an API key (never its secret).
func APIKey(k apikey.Key) api.APIKey {
	return api.APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scope: k.Scope, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt}
}
