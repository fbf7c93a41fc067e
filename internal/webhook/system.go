package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure the webhook system of one process.
type Options struct {
	Store Store
	// Queue says where River keeps its jobs.
	Queue QueueConfig
	// Migrate applies River's migrations; otherwise they must be applied.
	Migrate      bool
	AllowPrivate bool
	// Schedule is the pause before each attempt (default Schedule).
	Schedule  []time.Duration
	PollEvery time.Duration
	Registry  prometheus.Registerer
	// Client sends the requests (default NewClient with the guard).
	Client *http.Client
	Now    func() time.Time
	Log    *slog.Logger
}

// System is the webhook machinery of one process: the service the HTTP
// layer calls and the runner that delivers.
type System struct {
	Service *Service
	Runner  *Runner
	Queue   *Queue
}

// New builds the webhook system and prepares River's tables.
func New(ctx context.Context, o Options) (*System, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Schedule) == 0 {
		o.Schedule = Schedule
	}
	guard := &Guard{AllowPrivate: o.AllowPrivate}
	if o.Client == nil {
		o.Client = NewClient(guard)
	}
	w := &Worker{Store: o.Store, Sender: &Sender{Client: o.Client, Now: o.Now}, Now: o.Now, Schedule: o.Schedule, Log: o.Log}
	if o.Registry != nil {
		w.Metrics = NewMetrics(o.Registry, o.Store, o.Now)
	}
	o.Queue.Log = o.Log
	q, err := NewQueue(ctx, o.Queue, w)
	if err != nil {
		return nil, err
	}
	if o.Migrate {
		if err := q.Migrate(ctx); err != nil {
			q.Close()
			return nil, err
		}
	}
	d := &Dispatcher{Store: o.Store, Enqueue: q.Enqueue, Now: o.Now, Log: o.Log, Every: o.PollEvery}
	return &System{
		Service: NewService(o.Store, q.Enqueue, guard, o.Now),
		Runner:  &Runner{Queue: q, Dispatcher: d, Log: o.Log},
		Queue:   q,
	}, nil
}

// Close stops the runner, if it runs, and releases the queue.
func (s *System) Close(ctx context.Context) error {
	err := s.Runner.Stop(ctx)
	s.Queue.Close()
	return err
}
