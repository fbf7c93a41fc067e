package api

import (
	"encoding/json"
	"time"
)

// Event records one change, with a snapshot of the resource as the API shows it.
type Event struct {
	ID   string `json:"id" validate:"required" example:"evt_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	Type string `json:"type" validate:"required" example:"follow_through.recorded"`
	// null for events about a user only (webhook.*).
	RelationshipID *string `json:"relationship_id" validate:"required" extensions:"x-nullable"`
	// The user who made the change, or "system".
	ActorID   string    `json:"actor_id" validate:"required"`
	CreatedAt time.Time `json:"created_at" validate:"required" format:"date-time"`
	// The resource after the change (its type follows from the event type).
	Data json.RawMessage `json:"data" validate:"required" swaggertype:"object"`
} // @name Event

// EventPage is one page of the event feed.
type EventPage struct {
	Data []Event `json:"data" validate:"required"`
	// Always set: pass it as after to continue. On the last page it is the
	// same cursor you sent (or the position after the last event): keep it
	// and ask again later.
	NextCursor string `json:"next_cursor" validate:"required"`
	// true when more events are waiting right now.
	HasMore bool `json:"has_more" validate:"required"`
} // @name EventPage
