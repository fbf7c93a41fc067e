package client

import "time"

// The data of the events that carry no resource of their own (docs/sync.md
// lists what each event type's data is). Decode Event.Data into these for
// the types they name; the rest decode into the resource their type names
// (a Promise for promise.updated, and so on).

// LevelChangedData is the data of score.level_changed: the member's Score as a
// read gave it then, the level it left, and the relationship.
type LevelChangedData struct {
	Score
	PreviousLevel  ScoreLevel `json:"previous_level"`
	RelationshipID string     `json:"relationship_id"`
}

// MilestoneReachedData is the data of milestone.reached.
type MilestoneReachedData struct {
	Milestone
	MemberID        string    `json:"member_id"`
	RelationshipID  string    `json:"relationship_id"`
	PeriodStartedAt time.Time `json:"period_started_at"`
}

// MemberLeftData is the data of member.left: the Member who left, and the
// relationship they left.
type MemberLeftData struct {
	Member
	RelationshipID string `json:"relationship_id"`
}

// WebhookPingData is the data of webhook.ping.
type WebhookPingData struct {
	WebhookID string `json:"webhook_id"`
	URL       string `json:"url"`
}

// WebhookDisabledData is the data of webhook.disabled; Reason is "gone" (the
// endpoint answered 410) or "failing" (5 days of failed deliveries).
type WebhookDisabledData struct {
	WebhookID  string    `json:"webhook_id"`
	URL        string    `json:"url"`
	Reason     string    `json:"reason"`
	DisabledAt time.Time `json:"disabled_at"`
}
