package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/fault"
)

// readGate lets at most n API reads (GET and HEAD under /v1/) run at once
// and queues the rest first come, first served; n <= 0 admits every read.
//
// On SQLite a read is CPU work in this process. Left to themselves, 64
// reads in flight on two cores share the CPU by the Go scheduler's choice,
// which is not first come, first served: most finish quickly and a few wait
// many times as long. Queued in arrival order, every read waits about as
// long as the others, so the slowest ones finish far sooner at the same
// throughput (docs/performance.md has the figures).
//
// A read gives its place back when it starts writing its response, so a
// client that is slow to read cannot hold a place; writes are not gated, as
// they wait on the disk and group commit needs them together.
func readGate(n int) echo.MiddlewareFunc {
	if n <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	places := make(chan struct{}, n)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Method != http.MethodGet && req.Method != http.MethodHead || !strings.HasPrefix(req.URL.Path, "/v1/") {
				return next(c)
			}
			// A channel's blocked senders are woken in the order they came.
			select {
			case places <- struct{}{}:
			case <-req.Context().Done():
				return fault.New(fault.KindUnavailable, "cancelled", "the request was cancelled while it waited")
			}
			held := true
			leave := func() {
				if held {
					held = false
					<-places
				}
			}
			defer leave()
			c.Response().Before(leave)
			return next(c)
		}
	}
}
