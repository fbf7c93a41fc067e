package api

import "time"

// APIKey is a personal API key, as lists show it: never its secret.
type APIKey struct {
	ID   string `json:"id" validate:"required" example:"key_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	Name string `json:"name" validate:"required" example:"Home automation"`
	// The start of the secret, to tell keys apart.
	Prefix string `json:"prefix" validate:"required" example:"troth_sk_Q3x9bT"`
	// read: GET and HEAD only; write: every method. Neither manages API keys.
	Scope     string    `json:"scope" validate:"required" enums:"read,write" example:"read"`
	CreatedAt time.Time `json:"created_at" validate:"required" format:"date-time"`
	// When the key last authenticated a request (recorded at most once a minute, so up to a minute behind); null if never used.
	LastUsedAt *time.Time `json:"last_used_at" validate:"required" format:"date-time" extensions:"x-nullable"`
} // @name APIKey

// NewAPIKey is a key just created, with its secret.
type NewAPIKey struct {
	APIKey
	// Send as "Authorization: Bearer <secret>". Shown only in this response: it is stored hashed and cannot be shown again.
	Secret string `json:"secret" validate:"required" example:"troth_sk_Q3x9bT…"`
} // @name NewAPIKey

// CreateAPIKeyRequest creates a personal API key.
type CreateAPIKeyRequest struct {
	// 1 to 100 characters, to recognize the key by.
	Name string `json:"name" validate:"required" maxLength:"100" example:"Home automation"`
	// read allows GET and HEAD only; write allows every method.
	Scope string `json:"scope" validate:"required" enums:"read,write" example:"read"`
} // @name CreateAPIKeyRequest

// APIKeyPage is one page of the caller's API keys.
type APIKeyPage struct {
	Data []APIKey `json:"data" validate:"required"`
	// Pass as cursor to get the next page; null on the last page.
	NextCursor *string `json:"next_cursor" validate:"required" extensions:"x-nullable"`
} // @name APIKeyPage
