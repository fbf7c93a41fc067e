package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// queueName is River's queue for deliveries.
const queueName = "webhooks"

// jobMaxAttempts is River's own retry budget for a delivery job. Attempts
// at the receiver are counted by troth, not by River: each attempt is its
// own job, inserted with its ScheduledAt in the same transaction that
// records the previous attempt, so the log and the schedule never
// disagree and the delivery row (not River's job row) is the record.
// River retries a job only when recording its result failed (the database
// was unreachable); the attempt number in the job's arguments makes a
// repeated run harmless.
const jobMaxAttempts = 10

// deliveryArgs are a delivery job's arguments.
type deliveryArgs struct {
	DeliveryID string `json:"delivery_id"`
	Attempt    int    `json:"attempt"`
}

func (deliveryArgs) Kind() string { return "webhook_delivery" }

type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	w *Worker
	q *Queue
}

func (dw *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	err := dw.w.Attempt(ctx, job.Args.DeliveryID, job.Args.Attempt, dw.q.Enqueue)
	if busy := (*BusyError)(nil); errors.As(err, &busy) {
		// The endpoint is at its cap: free the worker rather than wait
		// (a snooze does not use up one of River's attempts).
		return river.JobSnooze(busy.Retry)
	}
	return err
}

// Timeout leaves room for the request and the record of its result.
func (dw *deliveryWorker) Timeout(*river.Job[deliveryArgs]) time.Duration {
	return Timeout + 30*time.Second
}

// QueueConfig says where River keeps its jobs.
type QueueConfig struct {
	// DB is the pool River uses: on SQLite the single writer connection
	// (River's transactions and troth's share it), on PostgreSQL GORM's pool.
	DB       *sql.DB
	Postgres bool
	// PostgresURL, when set, gives River a LISTEN/NOTIFY listener so
	// workers pick up new jobs at once instead of polling.
	PostgresURL string
	Workers     int // concurrent attempts (default 50)
	Log         *slog.Logger
}

// Queue is troth's River client for deliveries.
type Queue struct {
	client   *river.Client[*sql.Tx]
	driver   riverdriver.Driver[*sql.Tx]
	listener *pgxpool.Pool
}

func newDriver(ctx context.Context, cfg QueueConfig) (riverdriver.Driver[*sql.Tx], *pgxpool.Pool, error) {
	if !cfg.Postgres {
		return riversqlite.New(cfg.DB), nil, nil
	}
	if cfg.PostgresURL == "" {
		return riverdatabasesql.New(cfg.DB), nil, nil
	}
	pc, err := pgxpool.ParseConfig(cfg.PostgresURL)
	if err != nil {
		return nil, nil, fmt.Errorf("river listener: %w", err)
	}
	pc.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, fmt.Errorf("river listener: %w", err)
	}
	return riverdatabasesql.NewWithPgxListener(cfg.DB, pool), pool, nil
}

// NewQueue builds the River client; w makes the attempts.
func NewQueue(ctx context.Context, cfg QueueConfig, w *Worker) (*Queue, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 50
	}
	driver, listener, err := newDriver(ctx, cfg)
	if err != nil {
		return nil, err
	}
	q := &Queue{driver: driver, listener: listener}
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliveryWorker{w: w, q: q})
	rc := &river.Config{
		Queues:      map[string]river.QueueConfig{queueName: {MaxWorkers: cfg.Workers}},
		Workers:     workers,
		MaxAttempts: jobMaxAttempts,
		Logger:      quiet(cfg.Log),
		// Finished jobs are only River's bookkeeping: the delivery log is ours.
		CompletedJobRetentionPeriod: time.Hour,
	}
	if cfg.Postgres && listener == nil {
		// Without LISTEN/NOTIFY River finds new jobs by polling. (SQLite has
		// River's own notification table, polled by its listener: each
		// insert in a transaction wakes the producer once it commits, so a
		// short fetch poll there would only add a write every poll.)
		rc.FetchPollInterval = 50 * time.Millisecond
	}
	// River fetches at most once a cooldown, at most MaxWorkers jobs each
	// time: its default (100 ms) caps an instance at ten fetches a second.
	rc.FetchCooldown = 20 * time.Millisecond
	q.client, err = river.NewClient(driver, rc)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("river client: %w", err)
	}
	return q, nil
}

// Migrate applies River's own migrations (separate from troth's).
func (q *Queue) Migrate(ctx context.Context) error {
	m, err := rivermigrate.New(q.driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// Enqueue writes delivery jobs in tx.
func (q *Queue) Enqueue(ctx context.Context, tx *sql.Tx, jobs []Job) error {
	if len(jobs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		opts := &river.InsertOpts{Queue: queueName}
		if !j.At.IsZero() {
			opts.ScheduledAt = j.At
		}
		params[i] = river.InsertManyParams{Args: deliveryArgs{DeliveryID: j.DeliveryID, Attempt: j.Attempt}, InsertOpts: opts}
	}
	_, err := q.client.InsertManyFastTx(ctx, tx, params)
	return err
}

// Close releases the listener pool, if any.
func (q *Queue) Close() {
	if q.listener != nil {
		q.listener.Close()
	}
}

// Runner runs a process's share of delivery: the River client that works
// jobs and the dispatcher that makes them.
type Runner struct {
	Queue      *Queue
	Dispatcher *Dispatcher
	Log        *slog.Logger

	mu      sync.Mutex
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// Start starts working jobs and dispatching events.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return nil
	}
	if err := r.Queue.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel, r.done, r.running = cancel, make(chan struct{}), true
	go func() { defer close(r.done); r.Dispatcher.Run(dctx) }()
	return nil
}

// Stop stops dispatching, lets attempts in flight finish until ctx ends,
// then cancels them (they are retried after a restart).
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		return nil
	}
	r.running = false
	r.cancel()
	<-r.done
	err := r.Queue.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = r.Queue.client.StopAndCancel(cctx)
	}
	return err
}

// quiet passes River's warnings and errors on, not its chatter.
func quiet(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(levelAtLeast{log.Handler(), slog.LevelWarn})
}

type levelAtLeast struct {
	slog.Handler
	min slog.Level
}

func (h levelAtLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelAtLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return levelAtLeast{h.Handler.WithAttrs(as), h.min}
}

func (h levelAtLeast) WithGroup(name string) slog.Handler {
	return levelAtLeast{h.Handler.WithGroup(name), h.min}
}

// MigrateQueue applies River's migrations without starting a client, for
// `troth migrate`.
func MigrateQueue(ctx context.Context, db *sql.DB, postgres bool) error {
	q := &Queue{driver: riversqlite.New(db)}
	if postgres {
		q.driver = riverdatabasesql.New(db)
	}
	return q.Migrate(ctx)
}
