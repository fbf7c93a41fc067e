// Package api is troth's public contract in Go: the request and response
// bodies of the HTTP API, exactly as they travel on the wire. It imports no
// web framework or database code, so other Go programs can use it.
package api

// Problem is an RFC 9457 problem detail, the body of every error response
// (content type application/problem+json).
type Problem struct {
	// A URI naming the problem type: urn:troth:problem:<code>.
	Type string `json:"type" validate:"required" example:"urn:troth:problem:validation_failed"`
	// A short, human-readable summary of the problem type.
	Title string `json:"title" validate:"required" example:"Unprocessable Entity"`
	// The HTTP status code.
	Status int `json:"status" validate:"required" example:"422"`
	// A human-readable explanation of this occurrence.
	Detail string `json:"detail,omitempty" example:"the request has invalid fields"`
	// The request's path.
	Instance string `json:"instance,omitempty" example:"/v1/auth/register"`
	// A stable, machine-readable error code.
	Code string `json:"code" validate:"required" example:"validation_failed"`
	// The request id, also sent as the X-Request-Id header.
	RequestID string `json:"request_id,omitempty" example:"b2c1e0f4a9d3"`
	// Per-field errors, for validation failures.
	Errors []FieldError `json:"errors,omitempty"`
} // @name Problem

// FieldError is one invalid field of a request.
type FieldError struct {
	// The field, as a JSON path relative to the body (e.g. "time_zone") or the query parameter name.
	Field string `json:"field" validate:"required" example:"time_zone"`
	// A stable, machine-readable code (e.g. required, too_long, invalid_time_zone).
	Code string `json:"code" validate:"required" example:"invalid_time_zone"`
	// A human-readable message.
	Message string `json:"message" validate:"required" example:"must be an IANA time zone name such as Europe/Berlin"`
} // @name FieldError

// Health is the body of /healthz and /readyz.
type Health struct {
	// "ok" when healthy; "unavailable" otherwise.
	Status string `json:"status" validate:"required" example:"ok"`
} // @name Health
