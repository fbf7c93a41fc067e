package api

import "time"

// Webhook is an endpoint that receives the owner's events, signed per
// Standard Webhooks. Its secret is shown only when created or rotated.
type Webhook struct {
	ID  string `json:"id" validate:"required" example:"whk_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	URL string `json:"url" validate:"required" example:"https://example.com/troth/webhooks"`
	// The event types delivered; empty for every type.
	EventTypes  []string `json:"event_types" validate:"required" example:"follow_through.recorded,breach.recorded"`
	Description string   `json:"description" validate:"required" example:"Sync to our CRM"`
	// false when disabled, by the owner or by troth (see disabled_reason).
	Enabled bool `json:"enabled" validate:"required" example:"true"`
	// owner (enabled=false was set), gone (the receiver answered 410), failing (every delivery failed for 5 days); null while enabled.
	DisabledReason *string `json:"disabled_reason" validate:"required" enums:"owner,gone,failing" extensions:"x-nullable"`
	// After a rotation, until this time requests also carry a signature made with the previous secret; null otherwise.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at" validate:"required" format:"date-time" extensions:"x-nullable"`
	CreatedAt               time.Time  `json:"created_at" validate:"required" format:"date-time"`
	UpdatedAt               time.Time  `json:"updated_at" validate:"required" format:"date-time"`
} // @name Webhook

// WebhookWithSecret is a webhook just created or rotated, with its secret.
type WebhookWithSecret struct {
	Webhook
	// The signing secret (whsec_ and base64 key bytes). Shown only in this response.
	Secret string `json:"secret" validate:"required" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
} // @name WebhookWithSecret

// CreateWebhookRequest registers a webhook endpoint.
type CreateWebhookRequest struct {
	// An https URL on a public address, at most 2048 characters, without credentials.
	URL string `json:"url" validate:"required" maxLength:"2048" example:"https://example.com/troth/webhooks"`
	// Event types to deliver; omit or leave empty for every type.
	EventTypes  []string `json:"event_types,omitempty" example:"follow_through.recorded"`
	Description string   `json:"description,omitempty" maxLength:"500"`
	// false registers the endpoint disabled.
	Enabled *bool `json:"enabled,omitempty"`
} // @name CreateWebhookRequest

// UpdateWebhookRequest changes a webhook; absent fields stay as they are.
type UpdateWebhookRequest struct {
	URL         *string   `json:"url,omitempty" maxLength:"2048"`
	EventTypes  *[]string `json:"event_types,omitempty"`
	Description *string   `json:"description,omitempty" maxLength:"500"`
	// true enables a disabled endpoint again (and forgets its failures).
	Enabled *bool `json:"enabled,omitempty"`
} // @name UpdateWebhookRequest

// WebhookPage is one page of the caller's webhooks.
type WebhookPage struct {
	Data []Webhook `json:"data" validate:"required"`
	// Pass as cursor to get the next page; null on the last page.
	NextCursor *string `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name WebhookPage

// WebhookDelivery is one event on its way to one endpoint, with the
// result of its latest attempt.
type WebhookDelivery struct {
	ID string `json:"id" validate:"required" example:"dlv_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	// The event delivered; also the webhook-id header, the same on every attempt and redelivery.
	EventID   string `json:"event_id" validate:"required" example:"evt_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	EventType string `json:"event_type" validate:"required" example:"follow_through.recorded"`
	Status    string `json:"status" validate:"required" enums:"pending,succeeded,failed,retrying" example:"succeeded"`
	// Attempts made so far.
	Attempt int `json:"attempt" validate:"required" example:"1"`
	// The latest attempt's HTTP status; null when no response came.
	ResponseCode *int `json:"response_code" validate:"required" extensions:"x-nullable" example:"200"`
	// The first KiB of the latest response; null when no response came.
	ResponseBody *string `json:"response_body" validate:"required" extensions:"x-nullable"`
	DurationMS   *int64  `json:"duration_ms" validate:"required" format:"int64" extensions:"x-nullable" example:"84"`
	// Why the latest attempt failed; null otherwise.
	Error *string `json:"error" validate:"required" extensions:"x-nullable"`
	// When the next attempt is due; null when none is.
	NextAttemptAt *time.Time `json:"next_attempt_at" validate:"required" format:"date-time" extensions:"x-nullable"`
	CreatedAt     time.Time  `json:"created_at" validate:"required" format:"date-time"`
	CompletedAt   *time.Time `json:"completed_at" validate:"required" format:"date-time" extensions:"x-nullable"`
} // @name WebhookDelivery

// WebhookDeliveryPage is one page of a webhook's delivery log, newest first.
type WebhookDeliveryPage struct {
	Data []WebhookDelivery `json:"data" validate:"required"`
	// Pass as cursor to get the next page; null on the last page.
	NextCursor *string `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name WebhookDeliveryPage
