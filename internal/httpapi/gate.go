package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/fault"
)

// readGate lets at most n authenticated API reads (GET) run at once and
// queues the rest first come, first served.
//
// On SQLite a read is CPU work in this process. Left to themselves, 64
// reads in flight on two cores share the CPU by the Go scheduler's choice,
// which is not first come, first served: most finish quickly and a few wait
// many times as long. Queued in arrival order, every read waits about as
// long as the others, so the slowest ones finish far sooner at the same
// throughput (docs/performance.md has the figures).
//
// A read enters after authentication and the rate limit (requireAuth), so
// requests that will be refused do not queue, and gives its place back
// when it starts writing its response, so a client slow to read holds
// none. Writes are not gated: they wait on the disk, and group commit
// needs them together. Nor is the export, whose size has no bound.
type readGate struct {
	places chan struct{} // nil: no limit
}

// maxGateWait bounds the wait for a place: past it the server is
// overloaded and says so (503, Retry-After).
var maxGateWait = 5 * time.Second

// ungated are the routes of reads that may take long.
var ungated = map[string]bool{"/v1/me/export": true}

func newReadGate(n int) *readGate {
	if n <= 0 {
		return &readGate{}
	}
	return &readGate{places: make(chan struct{}, n)}
}

var errOverloaded = &fault.Error{Kind: fault.KindUnavailable, Code: "overloaded",
	Message: "the server is overloaded: try again in a second"}

// run runs next once a place is free.
func (g *readGate) run(c echo.Context, next echo.HandlerFunc) error {
	req := c.Request()
	if g.places == nil || req.Method != http.MethodGet || ungated[c.Path()] {
		return next(c)
	}
	// A channel's blocked senders are woken in the order they came.
	select {
	case g.places <- struct{}{}:
	default:
		wait := time.NewTimer(maxGateWait)
		select {
		case g.places <- struct{}{}:
			wait.Stop()
		case <-wait.C:
			c.Response().Header().Set("Retry-After", "1")
			return errOverloaded
		case <-req.Context().Done():
			wait.Stop()
			// The client has gone: nothing to answer, nothing failed here
			// (499, as proxies log a client that closed its request).
			return c.NoContent(499)
		}
	}
	held := true
	leave := func() {
		if held {
			held = false
			<-g.places
		}
	}
	defer leave()
	c.Response().Before(leave)
	return next(c)
}
