// Package fault defines the typed errors that domain code returns: a kind
// that decides the HTTP status, a stable machine-readable code, a message
// that is safe to show to clients, optional field errors, and the internal
// cause, which is logged and never shown.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error; the HTTP layer maps each kind to one status.
type Kind int

// The kinds of error troth returns.
const (
	KindInternal Kind = iota
	KindBadRequest
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindPreconditionFailed
	KindTooLarge
	KindUnsupportedMediaType
	KindRateLimited
	KindUnavailable
	KindGone
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

// Error is the error type every layer of troth returns for expected failures.
type Error struct {
	Kind    Kind
	Code    string // stable, snake_case, documented
	Message string // safe to show to clients
	Fields  []FieldError
	Err     error // internal cause: logged, never shown
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var fe *Error
	ok := errors.As(err, &fe)
	return fe, ok
}

// Is reports whether err carries the given code.
func Is(err error, code string) bool {
	fe, ok := As(err)
	return ok && fe.Code == code
}

// New returns an error of the given kind and code with a client-safe message.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the error for a resource that does not exist or that the
// caller may not see: the two are never told apart.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: what + " not found"}
}

// Conflict reports a state conflict such as a duplicate.
func Conflict(code, message string) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: message}
}

// Unauthenticated reports missing or bad credentials.
func Unauthenticated(code, message string) *Error {
	return &Error{Kind: KindUnauthenticated, Code: code, Message: message}
}

// Internal wraps an unexpected error; clients see a generic message.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Code: "internal", Message: "an internal error occurred", Err: err}
}

// Validation collects field errors; its Err method returns nil when none
// were added, so it can be used as `return v.Err()`.
type Validation struct {
	fields []FieldError
}

// Add records a field error.
func (v *Validation) Add(field, code, message string) {
	v.fields = append(v.fields, FieldError{Field: field, Code: code, Message: message})
}

// Check records a field error when ok is false.
func (v *Validation) Check(ok bool, field, code, message string) {
	if !ok {
		v.Add(field, code, message)
	}
}

// Err returns the collected errors as one validation error, or nil.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Code: "validation_failed", Message: "the request has invalid fields", Fields: v.fields}
}
