package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/logging"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[fault.Kind]int{
	fault.KindInternal:             http.StatusInternalServerError,
	fault.KindBadRequest:           http.StatusBadRequest,
	fault.KindInvalid:              http.StatusUnprocessableEntity,
	fault.KindUnauthenticated:      http.StatusUnauthorized,
	fault.KindForbidden:            http.StatusForbidden,
	fault.KindNotFound:             http.StatusNotFound,
	fault.KindConflict:             http.StatusConflict,
	fault.KindPreconditionFailed:   http.StatusPreconditionFailed,
	fault.KindTooLarge:             http.StatusRequestEntityTooLarge,
	fault.KindUnsupportedMediaType: http.StatusUnsupportedMediaType,
	fault.KindRateLimited:          http.StatusTooManyRequests,
	fault.KindUnavailable:          http.StatusServiceUnavailable,
	fault.KindGone:                 http.StatusGone,
}

// asFault turns any error that reaches the HTTP layer into a fault error:
// Echo's router errors keep their status with a stable code, anything
// unknown becomes internal.
func asFault(err error) *fault.Error {
	if fe, ok := fault.As(err); ok {
		return fe
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return fault.New(fault.KindNotFound, "route_not_found", "no route matches this path")
		case http.StatusMethodNotAllowed:
			return &fault.Error{Kind: -1, Code: "method_not_allowed", Message: "this path does not support the method"}
		case http.StatusRequestEntityTooLarge:
			return errTooLarge
		case http.StatusUnauthorized:
			return fault.Unauthenticated("unauthenticated", "authentication is required")
		case http.StatusServiceUnavailable:
			return fault.New(fault.KindUnavailable, "unavailable", "the service is unavailable")
		}
		if he.Code >= 400 && he.Code < 500 {
			return fault.New(fault.KindBadRequest, "bad_request", "%s", http.StatusText(he.Code))
		}
	}
	return fault.Internal(err)
}

var errTooLarge = fault.New(fault.KindTooLarge, "payload_too_large", "the request body exceeds %d bytes", maxBody)

// errorHandler renders every error as an RFC 9457 problem. The internal
// cause of a 5xx is logged with the request id and never sent.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		fe := asFault(err)
		status, ok := statusOf[fe.Kind]
		if fe.Code == "method_not_allowed" {
			status, ok = http.StatusMethodNotAllowed, true
		}
		if !ok {
			status = http.StatusInternalServerError
		}
		ctx := c.Request().Context()
		rid := logging.RequestID(ctx)
		if status >= 500 {
			log.ErrorContext(ctx, "request failed", "error", err.Error(), "method", c.Request().Method, "path", c.Request().URL.Path)
		}
		p := api.Problem{
			Type:      "urn:troth:problem:" + fe.Code,
			Title:     http.StatusText(status),
			Status:    status,
			Detail:    fe.Message,
			Instance:  c.Request().URL.Path,
			Code:      fe.Code,
			RequestID: rid,
		}
		for _, f := range fe.Fields {
			p.Errors = append(p.Errors, api.FieldError{Field: f.Field, Code: f.Code, Message: f.Message})
		}
		h := c.Response().Header()
		if status == http.StatusUnauthorized {
			// RFC 6750 §3: a token sent but refused says so; a request
			// without one is only told the scheme.
			challenge := `Bearer realm="troth"`
			if fe.Code == "invalid_token" {
				challenge += `, error="invalid_token"`
			}
			h.Set("WWW-Authenticate", challenge)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		body, merr := json.Marshal(p)
		if merr != nil {
			_ = c.NoContent(http.StatusInternalServerError)
			return
		}
		_ = c.Blob(status, "application/problem+json", body)
	}
}
