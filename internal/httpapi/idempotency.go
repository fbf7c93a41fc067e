package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/idempotency"
)

const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
)

// replayedHeaders are the response headers a replay repeats; the others
// (request id, caching, security) belong to the request that gets them.
var replayedHeaders = []string{echo.HeaderContentType, echo.HeaderLocation, "ETag"}

var (
	errInvalidIdempotencyKey = fault.New(fault.KindBadRequest, "invalid_idempotency_key",
		"the Idempotency-Key header must be one value of 1 to %d printable ASCII characters", idempotency.MaxKeyLength)
	errIdempotencyKeyReused = fault.New(fault.KindInvalid, "idempotency_key_reused",
		"this Idempotency-Key was used for a different request; send a new key with a new request")
	errIdempotencyInFlight = fault.Conflict("idempotency_in_flight",
		"a request with this Idempotency-Key is still being processed; retry it later")
)

// storeTimeout bounds recording a response, which happens even when the
// client has gone: the request's work is done and a retry must see it.
const storeTimeout = 5 * time.Second

// idempotent makes an authenticated POST safe to retry with an
// Idempotency-Key header: the first request runs and its response (status,
// body, Content-Type, Location, ETag) is kept for idempotency.TTL; a retry
// with the same key, method, path and body gets it back with
// Idempotent-Replayed: true and does not run. The same key with another
// request is 422 idempotency_key_reused, and with the first still running
// 409 idempotency_in_flight. Responses with a 5xx status are not kept, so the
// client can retry them. Requests without the header pass through.
//
// It is listed per route after requireAuth, whose user id scopes the keys.
func idempotent(store idempotency.Store, now func() time.Time, log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			keys, ok := req.Header[headerIdempotencyKey]
			if req.Method != http.MethodPost || !ok {
				return next(c)
			}
			if len(keys) != 1 || !idempotency.ValidKey(keys[0]) {
				return errInvalidIdempotencyKey
			}
			user := userID(c)
			if user == "" {
				return fault.Internal(errors.New("idempotent: no authenticated user; list it after requireAuth"))
			}
			body, err := readBody(req)
			if err != nil {
				return err
			}
			req.Body = io.NopCloser(bytes.NewReader(body))

			at := now().UTC()
			rec := idempotency.Record{
				UserID: user, Key: idempotency.Digest(keys[0]), RequestHash: idempotency.Hash(req.Method, req.URL.Path, body),
				Status: idempotency.StatusInFlight, CreatedAt: at, LockedAt: at,
			}
			existing, started, err := store.Begin(req.Context(), rec)
			if err != nil {
				return err
			}
			if !started {
				switch idempotency.Decide(*existing, rec.RequestHash, at) {
				case idempotency.Replay:
					return replay(c, user, keys[0], existing.Response)
				case idempotency.Reused:
					return errIdempotencyKeyReused
				}
				// InFlight, or Run when the record changed after Begin
				// looked: either way another request holds the key now.
				c.Response().Header().Set("Retry-After", "1")
				return errIdempotencyInFlight
			}
			return runAndKeep(c, next, store, rec.Lease(), keys[0], log)
		}
	}
}

// runAndKeep runs the request with its response buffered, keeps the
// response (or releases the key after a 5xx or a panic), and only then sends
// it, so that a client that saw the response finds it kept.
//
// The body is kept sealed with the key (idempotency.Seal): a response may
// hold a secret shown once.
func runAndKeep(c echo.Context, next echo.HandlerFunc, store idempotency.Store, lease idempotency.Lease, key string, log *slog.Logger) error {
	res := c.Response()
	orig := res.Writer
	buf := &bufferedWriter{header: orig.Header()}
	res.Writer = buf
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), storeTimeout)
	defer cancel()
	finished := false
	defer func() {
		if finished {
			return
		}
		// The handler panicked: nothing of its response has been sent; undo
		// what Echo recorded so the panic's 500 problem can be written.
		res.Writer = orig
		res.Committed, res.Status, res.Size = false, http.StatusOK, 0
		for _, h := range replayedHeaders {
			orig.Header().Del(h)
		}
		if err := store.Release(ctx, lease); err != nil {
			log.ErrorContext(ctx, "release idempotency key", "error", err.Error())
		}
	}()

	if err := next(c); err != nil {
		// Echo renders errors after the chain; render here so the problem
		// is what gets kept.
		c.Error(err)
	}
	finished = true
	res.Writer = orig

	status := buf.status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 500 {
		if err := store.Release(ctx, lease); err != nil {
			log.ErrorContext(ctx, "release idempotency key", "error", err.Error())
		}
	} else {
		// A failure here leaves the key in flight: retries get 409 until it
		// is abandoned, rather than running the request twice at once.
		sealed, err := idempotency.Seal(lease.UserID, key, buf.body.Bytes())
		if err == nil {
			resp := idempotency.Response{Status: status, Body: sealed, Header: map[string]string{}}
			for _, h := range replayedHeaders {
				if v := orig.Header().Get(h); v != "" {
					resp.Header[h] = v
				}
			}
			err = store.Complete(ctx, lease, resp)
		}
		if err != nil {
			log.ErrorContext(ctx, "keep idempotent response", "error", err.Error())
		}
	}
	orig.WriteHeader(status)
	_, _ = orig.Write(buf.body.Bytes()) // a client that left is not an error of ours
	return nil
}

// replay answers with a kept response, opened with the key it was kept for.
func replay(c echo.Context, user, key string, r idempotency.Response) error {
	body, err := idempotency.Open(user, key, r.Body)
	if err != nil {
		return fault.Internal(err)
	}
	h := c.Response().Header()
	for _, name := range replayedHeaders {
		if v, ok := r.Header[name]; ok {
			h.Set(name, v)
		}
	}
	h.Set(headerReplayed, "true")
	c.Response().WriteHeader(r.Status)
	_, err = c.Response().Write(body)
	return err
}

// bufferedWriter holds a response until it has been kept. Its header map is
// the real writer's, so headers set earlier in the chain stay.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.header }

func (w *bufferedWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

func (w *bufferedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
