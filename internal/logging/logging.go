// Package logging builds troth's structured JSON logger and carries the
// request id through a context, so that every log line written while serving
// a request names it.
package logging

import (
	"context"
	"io"
	"log/slog"
)

type ctxKey struct{}

// WithRequestID returns a context carrying a request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// New returns a JSON logger writing to w at the given level; records logged
// with a context that carries a request id get a request_id attribute.
// When w is a Buffered writer, a record at Warn or above is flushed at once.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(contextHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}), w: w})
}

type contextHandler struct {
	slog.Handler
	w io.Writer
}

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	err := h.Handler.Handle(ctx, r)
	flushAfter(h.w, r.Level)
	return err
}

func (h contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextHandler{Handler: h.Handler.WithAttrs(as), w: h.w}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{Handler: h.Handler.WithGroup(name), w: h.w}
}
