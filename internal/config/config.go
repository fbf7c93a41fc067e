// Package config reads troth's configuration from TROTH_* environment
// variables and command-line flags (flags win), with defaults that make
// `troth serve` work with no configuration at all.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is everything troth's commands need to start.
type Config struct {
	Addr            string        // TROTH_ADDR
	DatabaseURL     string        // TROTH_DATABASE_URL: a SQLite path or postgres://…
	LogLevel        slog.Level    // TROTH_LOG_LEVEL
	Issuer          string        // TROTH_ISSUER: the iss claim of access tokens
	Audience        string        // TROTH_AUDIENCE: the aud claim of access tokens
	AccessTokenTTL  time.Duration // TROTH_ACCESS_TOKEN_TTL
	RefreshTokenTTL time.Duration // TROTH_REFRESH_TOKEN_TTL
	TrustedProxies  []netip.Prefix
	AuthRatePerMin  int  // TROTH_AUTH_RATE_PER_MINUTE, per client address on /v1/auth/*
	APIRatePerMin   int  // TROTH_API_RATE_PER_MINUTE, per caller on authenticated routes; 0 disables
	Migrate         bool // TROTH_MIGRATE: run migrations when serve starts
	SQLiteReaders   int  // TROTH_SQLITE_READERS: size of the SQLite reader pool
	// ReadConcurrency is how many authenticated API reads (GET) run at
	// once, the rest queued in arrival order (TROTH_READ_CONCURRENCY): 0
	// means one per CPU on SQLite and no limit on PostgreSQL; -1 no limit.
	ReadConcurrency int
	// SQLiteShared lets other processes open the SQLite database while the
	// server runs (TROTH_SQLITE_SHARED); by default the server keeps it to
	// itself, which makes every statement cheaper.
	SQLiteShared    bool
	ShutdownTimeout time.Duration
	// SchedulerEvery is the pause between scheduler runs (TROTH_SCHEDULER_EVERY).
	SchedulerEvery time.Duration
	// EventRetention is how long events are kept (TROTH_EVENT_RETENTION).
	EventRetention time.Duration
	// WebhookAllowPrivate allows webhook URLs with http:// and private,
	// loopback or link-local addresses: for development and tests only
	// (TROTH_WEBHOOK_ALLOW_PRIVATE).
	WebhookAllowPrivate bool
	// WebhookRetrySchedule is the pause before each delivery attempt; nil
	// means the standard one (TROTH_WEBHOOK_RETRY_SCHEDULE, comma-separated).
	WebhookRetrySchedule []time.Duration
	// WebhookPollEvery is how often the dispatcher looks for new events
	// (TROTH_WEBHOOK_POLL_EVERY).
	WebhookPollEvery time.Duration
	// WebhookWorkers is how many attempts one instance makes at once
	// (TROTH_WEBHOOK_WORKERS).
	WebhookWorkers int
	// DebugAddr, when set, serves net/http/pprof on its own listener
	// (TROTH_DEBUG_ADDR, e.g. 127.0.0.1:6060); off by default.
	DebugAddr string
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Addr:            ":8080",
		DatabaseURL:     "troth.db",
		LogLevel:        slog.LevelInfo,
		Issuer:          "troth",
		Audience:        "troth-api",
		AccessTokenTTL:  15 * time.Minute,
		RefreshTokenTTL: 30 * 24 * time.Hour,
		AuthRatePerMin:  20,
		APIRatePerMin:   6000,
		Migrate:         true,
		SQLiteReaders:   8,
		ShutdownTimeout: 20 * time.Second,
		SchedulerEvery:  15 * time.Second,
		EventRetention:  90 * 24 * time.Hour,

		WebhookPollEvery: 200 * time.Millisecond,
		WebhookWorkers:   50,
	}
}

// Load builds the configuration for a subcommand from the environment
// (through getenv) and the subcommand's arguments. Unknown flags and bad
// values are errors that name the variable or flag.
func Load(name string, args []string, getenv func(string) string) (Config, []string, error) {
	c := Default()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	errs := c.fromEnv(getenv)
	if len(errs) > 0 {
		return c, nil, errors.Join(errs...)
	}
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	return c, fs.Args(), c.validate()
}

// PrintFlags writes the flags and their defaults to w.
func PrintFlags(w io.Writer) {
	c := Default()
	fs := flag.NewFlagSet("troth", flag.ContinueOnError)
	c.flags(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func (c *Config) fromEnv(getenv func(string) string) []error {
	var errs []error
	env := func(key string, set func(string) error) {
		if v := getenv(key); v != "" {
			if err := set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			}
		}
	}
	str := func(p *string) func(string) error { return func(v string) error { *p = v; return nil } }

	env("TROTH_ADDR", str(&c.Addr))
	env("TROTH_DATABASE_URL", str(&c.DatabaseURL))
	env("TROTH_LOG_LEVEL", c.setLogLevel)
	env("TROTH_ISSUER", str(&c.Issuer))
	env("TROTH_AUDIENCE", str(&c.Audience))
	env("TROTH_ACCESS_TOKEN_TTL", durationSetter(&c.AccessTokenTTL))
	env("TROTH_REFRESH_TOKEN_TTL", durationSetter(&c.RefreshTokenTTL))
	env("TROTH_TRUSTED_PROXIES", c.setTrustedProxies)
	env("TROTH_AUTH_RATE_PER_MINUTE", intSetter(&c.AuthRatePerMin, 1))
	env("TROTH_API_RATE_PER_MINUTE", intSetter(&c.APIRatePerMin, 0))
	env("TROTH_MIGRATE", boolSetter(&c.Migrate))
	env("TROTH_SQLITE_READERS", intSetter(&c.SQLiteReaders, 1))
	env("TROTH_SQLITE_SHARED", boolSetter(&c.SQLiteShared))
	env("TROTH_READ_CONCURRENCY", intSetter(&c.ReadConcurrency, -1))
	env("TROTH_SHUTDOWN_TIMEOUT", durationSetter(&c.ShutdownTimeout))
	env("TROTH_SCHEDULER_EVERY", durationSetter(&c.SchedulerEvery))
	env("TROTH_EVENT_RETENTION", durationSetter(&c.EventRetention))
	env("TROTH_WEBHOOK_ALLOW_PRIVATE", boolSetter(&c.WebhookAllowPrivate))
	env("TROTH_WEBHOOK_RETRY_SCHEDULE", c.setRetrySchedule)
	env("TROTH_WEBHOOK_POLL_EVERY", durationSetter(&c.WebhookPollEvery))
	env("TROTH_WEBHOOK_WORKERS", intSetter(&c.WebhookWorkers, 1))
	env("TROTH_DEBUG_ADDR", str(&c.DebugAddr))
	return errs
}

func (c *Config) flags(fs *flag.FlagSet) {

	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (TROTH_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "SQLite file path or postgres:// URL (TROTH_DATABASE_URL)")
	fs.Func("log-level", "debug, info, warn or error (TROTH_LOG_LEVEL)", c.setLogLevel)
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "access token issuer (TROTH_ISSUER)")
	fs.StringVar(&c.Audience, "audience", c.Audience, "access token audience (TROTH_AUDIENCE)")
	fs.Func("access-token-ttl", "access token lifetime (TROTH_ACCESS_TOKEN_TTL)", durationSetter(&c.AccessTokenTTL))
	fs.Func("refresh-token-ttl", "refresh token lifetime (TROTH_REFRESH_TOKEN_TTL)", durationSetter(&c.RefreshTokenTTL))
	fs.Func("trusted-proxies", "comma-separated CIDRs whose X-Forwarded-For is trusted (TROTH_TRUSTED_PROXIES)", c.setTrustedProxies)
	fs.Func("auth-rate-per-minute", "auth requests a minute per client address (TROTH_AUTH_RATE_PER_MINUTE)", intSetter(&c.AuthRatePerMin, 1))
	fs.Func("api-rate-per-minute", "API requests a minute per caller, 0 disables (TROTH_API_RATE_PER_MINUTE)", intSetter(&c.APIRatePerMin, 0))
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "run database migrations on start (TROTH_MIGRATE)")
	fs.Func("sqlite-readers", "SQLite reader connections (TROTH_SQLITE_READERS)", intSetter(&c.SQLiteReaders, 1))
	fs.Func("read-concurrency", "authenticated API reads (GET) run at once, the rest queued in arrival order; 0: one per CPU on SQLite, no limit on PostgreSQL; -1: no limit (TROTH_READ_CONCURRENCY)", intSetter(&c.ReadConcurrency, -1))
	fs.BoolVar(&c.SQLiteShared, "sqlite-shared", c.SQLiteShared, "let other processes open the SQLite database while the server runs, at a cost to every statement (TROTH_SQLITE_SHARED)")
	fs.Func("shutdown-timeout", "grace period for in-flight requests on SIGTERM (TROTH_SHUTDOWN_TIMEOUT)", durationSetter(&c.ShutdownTimeout))
	fs.Func("scheduler-every", "pause between scheduler runs (TROTH_SCHEDULER_EVERY)", durationSetter(&c.SchedulerEvery))
	fs.Func("event-retention", "how long events are kept (TROTH_EVENT_RETENTION)", durationSetter(&c.EventRetention))
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", c.WebhookAllowPrivate, "allow http:// and private addresses in webhook URLs, for development (TROTH_WEBHOOK_ALLOW_PRIVATE)")
	fs.Func("webhook-retry-schedule", "comma-separated pauses before each webhook attempt (TROTH_WEBHOOK_RETRY_SCHEDULE)", c.setRetrySchedule)
	fs.Func("webhook-poll-every", "how often new events are dispatched to webhooks (TROTH_WEBHOOK_POLL_EVERY)", durationSetter(&c.WebhookPollEvery))
	fs.Func("webhook-workers", "concurrent webhook attempts per instance (TROTH_WEBHOOK_WORKERS)", intSetter(&c.WebhookWorkers, 1))
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "serve net/http/pprof on this address, off when empty; keep it on loopback (TROTH_DEBUG_ADDR)")
}

func (c *Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("TROTH_ADDR: must not be empty")
	case c.DatabaseURL == "":
		return errors.New("TROTH_DATABASE_URL: must not be empty")
	case c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour:
		return fmt.Errorf("TROTH_ACCESS_TOKEN_TTL: %s is outside 1m–24h", c.AccessTokenTTL)
	case c.RefreshTokenTTL < time.Hour || c.RefreshTokenTTL > 365*24*time.Hour:
		return fmt.Errorf("TROTH_REFRESH_TOKEN_TTL: %s is outside 1h–8760h", c.RefreshTokenTTL)
	case c.SchedulerEvery < time.Second || c.SchedulerEvery > time.Hour:
		return fmt.Errorf("TROTH_SCHEDULER_EVERY: %s is outside 1s–1h", c.SchedulerEvery)
	case c.WebhookPollEvery < 10*time.Millisecond || c.WebhookPollEvery > time.Minute:
		return fmt.Errorf("TROTH_WEBHOOK_POLL_EVERY: %s is outside 10ms–1m", c.WebhookPollEvery)
	case c.EventRetention < time.Hour:
		return fmt.Errorf("TROTH_EVENT_RETENTION: %s is shorter than 1h", c.EventRetention)
	case c.Issuer == "" || c.Audience == "":
		return errors.New("TROTH_ISSUER and TROTH_AUDIENCE must not be empty")
	}
	return nil
}

// IsPostgres reports whether the database URL names PostgreSQL.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

func (c *Config) setLogLevel(v string) error {
	switch strings.ToLower(v) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		return fmt.Errorf("unknown log level %q (want debug, info, warn or error)", v)
	}
	return nil
}

// SetTrustedProxies sets the trusted proxy ranges from a comma-separated
// list of CIDRs, as TROTH_TRUSTED_PROXIES does.
func SetTrustedProxies(c *Config, v string) error { return c.setTrustedProxies(v) }

func (c *Config) setTrustedProxies(v string) error {
	c.TrustedProxies = nil
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("bad CIDR %q", s)
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return nil
}

func (c *Config) setRetrySchedule(v string) error {
	var ds []time.Duration
	for _, s := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 || d > 7*24*time.Hour {
			return fmt.Errorf("invalid pause %q (want durations from 0s to 168h)", s)
		}
		ds = append(ds, d)
	}
	if len(ds) > 20 {
		return fmt.Errorf("at most 20 attempts, got %d", len(ds))
	}
	c.WebhookRetrySchedule = ds
	return nil
}

func durationSetter(p *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid duration %q", v)
		}
		*p = d
		return nil
	}
}

func intSetter(p *int, min int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return fmt.Errorf("want a whole number ≥ %d, got %q", min, v)
		}
		*p = n
		return nil
	}
}

func boolSetter(p *bool) func(string) error {
	return func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*p = b
		return nil
	}
}
