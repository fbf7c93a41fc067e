package webhook

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// dispatchStore is a Store that reports each Dispatch call.
type dispatchStore struct {
	Store                 // only Dispatch and Written are called
	written chan struct{} // what Written hands out
	calls   chan bool     // afterWrite of each Dispatch call
	stopped atomic.Bool
}

func (s *dispatchStore) Dispatch(_ context.Context, _ int, _ time.Time, _ Enqueue, afterWrite bool) (int, error) {
	s.calls <- afterWrite
	return 0, nil
}

func (s *dispatchStore) Written() (<-chan struct{}, func()) {
	return s.written, func() { s.stopped.Store(true) }
}

// The dispatcher looks at once when told an event was written, however
// far off its next poll, and stops listening when it stops.
func TestDispatcherWakesOnWrite(t *testing.T) {
	s := &dispatchStore{written: make(chan struct{}, 1), calls: make(chan bool)}
	d := &Dispatcher{Store: s, Now: time.Now, Every: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	if afterWrite := <-s.calls; afterWrite {
		t.Fatal("the first look, at start, says an event was written")
	}
	for range 3 {
		s.written <- struct{}{}
		if afterWrite := <-s.calls; !afterWrite {
			t.Fatal("a look after a write does not say so")
		}
	}
	cancel()
	<-done
	if !s.stopped.Load() {
		t.Fatal("the dispatcher still listens for writes after it stopped")
	}
}
