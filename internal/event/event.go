// Package event names the changes troth records and defines the event: an
// immutable record of one change, written in the change's own transaction
// and read back, in commit order, by the delta-sync feed and webhooks.
package event

import (
	"encoding/json"
	"time"
)

// Types of event.
const (
	RelationshipCreated    = "relationship.created"
	RelationshipUpdated    = "relationship.updated"
	MemberJoined           = "member.joined"
	MemberLeft             = "member.left"
	PromiseCreated         = "promise.created"
	PromiseUpdated         = "promise.updated"
	PromiseCancelled       = "promise.cancelled"
	OccurrenceDueSoon      = "occurrence.due_soon"
	OccurrenceOverdue      = "occurrence.overdue"
	OccurrenceMissed       = "occurrence.missed"
	RenegotiationProposed  = "renegotiation.proposed"
	RenegotiationAccepted  = "renegotiation.accepted"
	RenegotiationDeclined  = "renegotiation.declined"
	FollowThroughRecorded  = "follow_through.recorded"
	FollowThroughConfirmed = "follow_through.confirmed"
	FollowThroughDisputed  = "follow_through.disputed"
	BreachRecorded         = "breach.recorded"
	CheckInRecorded        = "check_in.recorded"
	ScoreLevelChanged      = "score.level_changed"
	MilestoneReached       = "milestone.reached"
	WebhookPing            = "webhook.ping"
	WebhookDisabled        = "webhook.disabled"
)

// Types lists every event type.
var Types = []string{
	RelationshipCreated, RelationshipUpdated, MemberJoined, MemberLeft,
	PromiseCreated, PromiseUpdated, PromiseCancelled,
	OccurrenceDueSoon, OccurrenceOverdue, OccurrenceMissed,
	RenegotiationProposed, RenegotiationAccepted, RenegotiationDeclined,
	FollowThroughRecorded, FollowThroughConfirmed, FollowThroughDisputed,
	BreachRecorded, CheckInRecorded, ScoreLevelChanged, MilestoneReached,
	WebhookPing, WebhookDisabled,
}

// Known reports whether t is an event type.
func Known(t string) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// Event is one recorded change.
type Event struct {
	Seq            int64 // commit order
	ID             string
	Type           string
	RelationshipID string // "" for events about a user only
	UserID         string // set for events addressed to one user (webhook.*)
	ActorID        string // a user id, or "system"
	Data           json.RawMessage
	CreatedAt      time.Time
}
