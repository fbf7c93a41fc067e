package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/apikey"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/logging"
)

// requestID gives every request an id: the client's X-Request-Id when it is
// short and plain, otherwise a new one. It is echoed in the response, put in
// the request context for logging, and named in problem bodies.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			rid := c.Request().Header.Get(echo.HeaderXRequestID)
			if !plainID(rid) {
				var b [12]byte
				_, _ = rand.Read(b[:])
				rid = hex.EncodeToString(b[:])
			}
			c.Response().Header().Set(echo.HeaderXRequestID, rid)
			req := c.Request()
			c.SetRequest(req.WithContext(logging.WithRequestID(req.Context(), rid)))
			return next(c)
		}
	}
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// accessLog writes one line per request, after the error (if any) has been
// rendered, so the status is the one the client saw.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req := c.Request()
			level := slog.LevelInfo
			if c.Response().Status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(req.Context(), level, "request",
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.String("route", c.Path()),
				slog.Int("status", c.Response().Status),
				slog.Int64("bytes", c.Response().Size),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote_ip", c.RealIP()),
			)
			return nil
		}
	}
}

// recoverPanic turns a panic into a 500 problem; the stack is logged.
func recoverPanic(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fault.Internal(fmt.Errorf("panic: %v", r))
				}
			}()
			return next(c)
		}
	}
}

// limitBody refuses bodies over maxBody: at once when Content-Length says
// so, and while reading otherwise (chunked bodies).
func limitBody() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > maxBody {
				return errTooLarge
			}
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, maxBody)
			}
			return next(c)
		}
	}
}

var errContentEncoding = fault.New(fault.KindUnsupportedMediaType, "unsupported_content_encoding",
	"request bodies are read as sent: send the body uncompressed, without Content-Encoding (or with Content-Encoding: identity)")

// identityBodies refuses a request body sent with a content coding (gzip,
// br, …) with 415 and Accept-Encoding: identity (RFC 9110 §15.5.16).
// Bodies are read as they come: a compressed one would be taken for
// malformed JSON, and one that was not compressed after all would pass
// under a header that says otherwise.
func identityBodies() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			hasBody := req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0
			if hasBody && !identityCoding(req.Header.Values(echo.HeaderContentEncoding)) {
				c.Response().Header().Set(echo.HeaderAcceptEncoding, "identity")
				return errContentEncoding
			}
			return next(c)
		}
	}
}

// identityCoding reports whether the Content-Encoding values name no
// coding but identity.
func identityCoding(values []string) bool {
	for _, v := range values {
		for coding := range strings.SplitSeq(v, ",") {
			if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
				return false
			}
		}
	}
	return true
}

// securityHeaders sets headers every API response should carry.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			if strings.HasPrefix(c.Request().URL.Path, "/v1/") {
				h.Set("Cache-Control", "no-store")
			}
			return next(c)
		}
	}
}

const ctxUserID = "troth.user_id"

// ctxScope holds the scope of the API key that authenticated the request;
// it is unset for an access token.
const ctxScope = "troth.scope"

var errDuplicateAuthorization = fault.New(fault.KindBadRequest, "duplicate_authorization",
	"send one Authorization header, with one credential")

var errInsufficientScope = fault.New(fault.KindForbidden, "insufficient_scope",
	"this API key is read-only: it may only GET (or HEAD); use a write key")

// requireAuth authenticates the caller with a bearer access token or a
// personal API key (troth_sk_…). It is attached per route, never to a group,
// so an unknown path answers 404, not 401.
func (h *handlers) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		// Two credentials are ambiguous: which one acts? Refuse them before
		// either is looked at, rather than letting the first win unseen.
		if len(c.Request().Header.Values(echo.HeaderAuthorization)) > 1 {
			return errDuplicateAuthorization
		}
		authz := c.Request().Header.Get(echo.HeaderAuthorization)
		scheme, raw, ok := strings.Cut(authz, " ")
		if authz == "" {
			return fault.Unauthenticated("unauthenticated", "send an access token as Authorization: Bearer <token>")
		}
		raw = strings.TrimSpace(raw)
		if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
			return fault.Unauthenticated("invalid_token", "the Authorization header must be Bearer <token>")
		}
		var subject, scope string
		if strings.HasPrefix(raw, apikey.SecretPrefix) {
			k, err := h.APIKeys.Authenticate(c.Request().Context(), raw)
			if err != nil {
				return err
			}
			subject, scope = k.UserID, k.Scope
			c.Set(ctxScope, scope)
		} else {
			claims, err := h.Tokens.Verify(c.Request().Context(), raw)
			if err != nil {
				return err
			}
			// Verified claims are cached and a token outlives a deletion:
			// one read by primary key refuses a deleted account. (API keys
			// need no such read: their own lookup joins the user.)
			if err := h.Accounts.Active(c.Request().Context(), claims.Subject); err != nil {
				return err
			}
			subject = claims.Subject
		}
		c.Set(ctxUserID, subject)
		if h.apiLimiter != nil {
			if err := h.apiLimiter.check(c, "u:"+subject); err != nil {
				return err
			}
		}
		if m := c.Request().Method; scope == apikey.ScopeRead && m != http.MethodGet && m != http.MethodHead {
			return errInsufficientScope
		}
		return h.gate.run(c, next)
	}
}

// apiKeyScope is the scope of the API key that authenticated the request,
// or "" for an access token.
func apiKeyScope(c echo.Context) string {
	s, _ := c.Get(ctxScope).(string)
	return s
}

// userID returns the authenticated caller's id.
func userID(c echo.Context) string {
	id, _ := c.Get(ctxUserID).(string)
	return id
}

func retryAfterSeconds(d time.Duration) string {
	s := int(d.Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

// headAsGet answers HEAD as GET does, without the body (RFC 9110
// §9.3.2): the request is routed and handled as a GET (Echo routes by the
// request's own method), its body counted and dropped, and the headers
// sent once the handler is done, with the Content-Length the GET would
// have. An ETag and the checks of a read API key come out as for GET.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		// Wherever GET is allowed, HEAD is too: say so in Allow (OPTIONS,
		// and 405), which Echo fills from the routes.
		c.Response().Before(func() {
			h := c.Response().Header()
			if allow := h.Get("Allow"); allow != "" && strings.Contains(allow, http.MethodGet) && !strings.Contains(allow, http.MethodHead) {
				h.Set("Allow", allow+", "+http.MethodHead)
			}
		})
		if req.Method != http.MethodHead {
			return next(c)
		}
		req.Method = http.MethodGet
		res := c.Response()
		w := &headWriter{ResponseWriter: res.Writer}
		res.Writer = w
		if err := next(c); err != nil {
			c.Error(err) // written into w, like any answer
		}
		req.Method, res.Writer = http.MethodHead, w.ResponseWriter
		status := w.status
		if status == 0 {
			status = http.StatusOK
		}
		if w.Header().Get(echo.HeaderContentLength) == "" && status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified {
			w.Header().Set(echo.HeaderContentLength, strconv.Itoa(w.n))
		}
		w.ResponseWriter.WriteHeader(status)
		return nil
	}
}

// headWriter holds back the status and drops the body of a HEAD answer,
// counting it.
type headWriter struct {
	http.ResponseWriter
	status, n int
}

func (w *headWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *headWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}
