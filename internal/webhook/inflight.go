package webhook

import (
	"context"
	"math"
	"sync"
	"time"
)

// MaxInFlight is how many attempts one instance makes at once to one
// endpoint (Worker.MaxInFlight overrides it). An endpoint that never
// answers then holds this many workers for the attempt timeout, not the
// whole pool, and other endpoints' deliveries keep going out.
const MaxInFlight = 4

// Over the cap, an attempt waits up to slotWait for a slot (a healthy
// endpoint frees one within milliseconds), then gives its worker back and
// is tried again later: after busySnooze while the endpoint turns few
// away, longer as it turns more away (snooze), up to maxBusySnooze. A
// hanging endpoint with a backlog would otherwise have every job of it
// woken every few seconds, each wake a write and 50 ms of a worker.
const (
	slotWait      = 50 * time.Millisecond
	busySnooze    = 2 * time.Second
	maxBusySnooze = time.Minute
	// pressureHalfLife is how fast an endpoint's count of attempts turned
	// away is forgotten.
	pressureHalfLife = 10 * time.Second
)

// BusyError says an attempt was not made because its endpoint already has
// MaxInFlight attempts in flight: run it again after Retry. It is not an
// attempt: nothing was sent or recorded.
type BusyError struct{ Retry time.Duration }

func (e *BusyError) Error() string { return "webhook endpoint busy: try again in " + e.Retry.String() }

// inFlight counts the attempts in flight per endpoint in this process,
// and how many each has turned away lately.
type inFlight struct {
	mu       sync.Mutex
	eps      map[string]*slots
	pressure map[string]*pressure
}

// pressure is a count of attempts turned away, decaying with
// pressureHalfLife from at.
type pressure struct {
	n  float64
	at time.Time
}

// snooze notes an attempt to endpointID turned away at now, and says how
// long it should wait: busySnooze for each limit attempts turned away in
// about the last pressureHalfLife, at least busySnooze, at most
// maxBusySnooze. Entries that have decayed away are dropped as it goes.
func (f *inFlight) snooze(endpointID string, limit int, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pressure == nil {
		f.pressure = map[string]*pressure{}
	}
	decayed := func(p *pressure) float64 {
		return p.n * math.Exp2(-now.Sub(p.at).Seconds()/pressureHalfLife.Seconds())
	}
	for id, p := range f.pressure {
		if id != endpointID && decayed(p) < 0.01 {
			delete(f.pressure, id)
		}
	}
	p := f.pressure[endpointID]
	if p == nil {
		p = &pressure{}
		f.pressure[endpointID] = p
	}
	p.n, p.at = decayed(p)+1, now
	d := time.Duration(float64(busySnooze) * max(1, p.n/float64(limit)))
	return min(d, maxBusySnooze)
}

// slots is one endpoint's semaphore; users counts holders and waiters,
// and the entry goes when it drops to zero.
type slots struct {
	sem   chan struct{}
	users int
}

// acquire takes one of limit slots of an endpoint, waiting up to wait for
// one; it returns the function that gives the slot back, or false.
func (f *inFlight) acquire(ctx context.Context, endpointID string, limit int, wait time.Duration) (func(), bool) {
	f.mu.Lock()
	if f.eps == nil {
		f.eps = map[string]*slots{}
	}
	s := f.eps[endpointID]
	if s == nil {
		s = &slots{sem: make(chan struct{}, limit)}
		f.eps[endpointID] = s
	}
	s.users++
	f.mu.Unlock()
	leave := func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if s.users--; s.users == 0 {
			delete(f.eps, endpointID)
		}
	}
	release := func() { <-s.sem; leave() }
	select {
	case s.sem <- struct{}{}:
		return release, true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		return release, true
	case <-t.C:
	case <-ctx.Done():
	}
	leave()
	return nil, false
}
