// Package server wires troth together: configuration → store → services →
// HTTP. It is what `troth serve` runs and what end-to-end tests build.
package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth"
	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/apikey"
	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/export"
	"github.com/troth-app/troth/internal/httpapi"
	"github.com/troth-app/troth/internal/idempotency"
	"github.com/troth-app/troth/internal/password"
	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/schedule"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/store"
	"github.com/troth-app/troth/internal/token"
	"github.com/troth-app/troth/internal/trust"
	"github.com/troth-app/troth/internal/webhook"
)

// Server is a running troth: its database, services and HTTP handler.
type Server struct {
	cfg    config.Config
	log    *slog.Logger
	DB     *store.DB
	Tokens *token.Service
	// Scheduler applies time-driven transitions; Serve runs it.
	Scheduler *schedule.Scheduler
	// Webhooks delivers events to webhook endpoints; Serve runs it.
	Webhooks *webhook.Runner
	hooks    *webhook.System
	handler  *echo.Echo
}

// Options are what tests may change beyond the configuration.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PasswordParams override the argon2id cost (tests use cheap ones).
	PasswordParams *password.Params
	// Outer middleware wraps every request, outermost first.
	Outer []echo.MiddlewareFunc
}

// New opens the database, migrates it when the configuration says so, and
// builds the services and the HTTP handler.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{SQLiteReaders: cfg.SQLiteReaders, SQLiteShared: cfg.SQLiteShared})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Server, error) {
		db.Close()
		return nil, err
	}
	if cfg.Migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			return fail(fmt.Errorf("migrate: %w", err))
		}
		if len(applied) > 0 {
			log.Info("migrated database", "applied", applied, "dialect", db.Dialect())
		}
	}
	tokens, err := token.New(ctx, token.Config{
		Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL, Now: opt.Now,
	}, db.Keys())
	if err != nil {
		return fail(err)
	}
	params := password.Recommended
	if opt.PasswordParams != nil {
		params = *opt.PasswordParams
	}
	accounts := account.NewService(db.Accounts(), password.NewHasher(params), tokens, cfg.RefreshTokenTTL, opt.Now)

	promises := promise.NewService(db.Promises(), opt.Now)
	scores := scoring.NewService(db.Scores(), opt.Now)
	w, r := db.SQL()
	pools := map[string]*sql.DB{"troth_writer": w}
	if r != w {
		pools["troth_reader"] = r
	}
	metrics := httpapi.NewMetrics(pools)
	hooks, err := webhook.New(ctx, webhook.Options{
		Store:   db.Webhooks(),
		Queue:   webhook.QueueConfig{DB: w, Postgres: db.Dialect() == store.Postgres, PostgresURL: postgresURL(cfg), Workers: cfg.WebhookWorkers},
		Migrate: cfg.Migrate, AllowPrivate: cfg.WebhookAllowPrivate, Schedule: cfg.WebhookRetrySchedule,
		PollEvery: cfg.WebhookPollEvery, Registry: metrics.Registry, Now: opt.Now, Log: log,
	})
	if err != nil {
		return fail(fmt.Errorf("webhooks: %w", err))
	}
	h := httpapi.New(httpapi.Deps{
		Accounts:        accounts,
		APIKeys:         apikey.NewService(db.APIKeys(), opt.Now),
		Tokens:          tokens,
		Relationships:   relationship.NewService(db.Relationships(), opt.Now),
		Idempotency:     db.Idempotency(),
		Promises:        promises,
		Trust:           trust.NewService(db.Trust(), opt.Now),
		Scores:          scores,
		Feed:            event.NewFeed(db.Events()),
		DB:              db,
		Webhooks:        hooks.Service,
		Export:          export.NewService(db.Exports(), scores, opt.Now),
		Metrics:         metrics,
		Log:             log,
		OpenAPI:         troth.OpenAPI,
		IPExtractor:     ipExtractor(cfg),
		AuthRatePerMin:  cfg.AuthRatePerMin,
		APIRatePerMin:   cfg.APIRatePerMin,
		ReadConcurrency: readConcurrency(cfg, db.Dialect()),
		Now:             opt.Now,
		Outer:           opt.Outer,
	})
	sched := &schedule.Scheduler{
		Promises: promises, Purger: db.Idempotency(), KeepIdempotency: idempotency.TTL,
		Events: db.Events(), KeepEvents: cfg.EventRetention,
		Scores: scores, Milestones: db.Scores(), Optimize: db.Optimize,
		Now: opt.Now, Log: log, Every: cfg.SchedulerEvery,
	}
	return &Server{cfg: cfg, log: log, DB: db, Tokens: tokens, Scheduler: sched, Webhooks: hooks.Runner, hooks: hooks, handler: h}, nil
}

// postgresURL is the URL for River's LISTEN connection, "" on SQLite.
func postgresURL(cfg config.Config) string {
	if cfg.IsPostgres() {
		return cfg.DatabaseURL
	}
	return ""
}

// ipExtractor trusts X-Forwarded-For only from configured proxies; with
// none configured the connection's own address is the client's.
func ipExtractor(cfg config.Config) echo.IPExtractor {
	if len(cfg.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range cfg.TrustedProxies {
		_, n, err := net.ParseCIDR(p.String())
		if err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Handler is the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops webhook delivery, if it runs, and releases the database.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(s.hooks.Close(ctx), s.DB.Close())
}

// Serve listens on the configured address until ctx is cancelled, then
// stops accepting connections and waits up to the shutdown timeout for
// requests in flight.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener is Serve on a listener the caller opened.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); s.Scheduler.Run(schedCtx) }()
	defer func() { stopSched(); <-schedDone }()
	if err := s.Webhooks.Start(ctx); err != nil {
		return err
	}
	defer func() {
		wctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		if err := s.Webhooks.Stop(wctx); err != nil {
			s.log.Error("stop webhooks", "error", err.Error())
		}
	}()
	if s.cfg.DebugAddr != "" {
		stopDebug, err := s.serveDebug()
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "dialect", s.DB.Dialect())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("stopped")
	return nil
}

// serveDebug serves net/http/pprof on cfg.DebugAddr, a listener of its own
// (never on the API's), until the returned function is called.
func (s *Server) serveDebug() (func(), error) {
	ln, err := net.Listen("tcp", s.cfg.DebugAddr)
	if err != nil {
		return nil, fmt.Errorf("debug listener on %s: %w", s.cfg.DebugAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.log.Warn("debug listener serves pprof", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// readConcurrency resolves TROTH_READ_CONCURRENCY: by default one read per
// CPU on SQLite, where a read is CPU work in this process, and no limit on
// PostgreSQL, where reads wait on the network.
func readConcurrency(cfg config.Config, d store.Dialect) int {
	switch {
	case cfg.ReadConcurrency > 0:
		return cfg.ReadConcurrency
	case cfg.ReadConcurrency == 0 && d == store.SQLite:
		return runtime.GOMAXPROCS(0)
	}
	return 0
}
