// Command troth runs the troth API server and its maintenance tasks.
//
//	troth serve         run the HTTP API (migrates the database first)
//	troth migrate       apply database migrations and exit
//	troth keys rotate   make a new token signing key the active one
//	troth version       print the version
//
// Configuration comes from TROTH_* environment variables and flags; run
// `troth serve -h` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/logging"
	"github.com/troth-app/troth/internal/server"
	"github.com/troth-app/troth/internal/store"
	"github.com/troth-app/troth/internal/token"
	"github.com/troth-app/troth/internal/webhook"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "troth:", err)
		}
		os.Exit(2)
	}
}

const usage = `usage: troth <command> [flags]

commands:
  serve         run the HTTP API (migrates the database on start unless -migrate=false)
  migrate       apply database migrations and exit
  keys rotate   make a new token signing key the active one; old public keys stay published until their tokens expire
  version       print the version

Run "troth <command> -h" for the flags. Every flag has a TROTH_* environment variable.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	if cmd == "keys" {
		if len(rest) == 0 || rest[0] != "rotate" {
			return errors.New(`unknown keys command: want "troth keys rotate"`)
		}
		cmd, rest = "keys rotate", rest[1:]
	}
	switch cmd {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "troth", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve", "migrate", "keys rotate":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}

	cfg, extra, err := config.Load(cmd, rest, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printFlags(cmd, stdout)
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if len(extra) > 0 {
		return fmt.Errorf("unexpected arguments: %v", extra)
	}
	switch cmd {
	case "migrate":
		return migrate(ctx, cfg, logging.New(stderr, cfg.LogLevel))
	case "keys rotate":
		return rotateKeys(ctx, cfg, stdout)
	}
	// A server logs every request: its lines go out in batches (warnings
	// and errors at once), and what is left when it stops is flushed.
	logs := logging.NewBuffered(stderr, 200*time.Millisecond)
	defer logs.Close()
	log := logging.New(logs, cfg.LogLevel)
	tuneGC(getenv)
	srv, err := server.New(ctx, cfg, log, server.Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	log.Info("starting troth", "version", buildVersion())
	return srv.Serve(ctx)
}

// tuneGC gives the collector of a serving process more room than Go's
// default, unless the operator set GOGC or GOMEMLIMIT. The live heap of a
// busy server is small (tens of MiB), so the default (collect whenever the
// heap has doubled) ran several collections a second under load, a tenth
// of the CPU; GOGC=400 runs a quarter as many. The soft limit of 100 MiB
// makes the collector work harder rather than let a larger live heap (64
// timelines in flight hold ~50 MiB) grow five-fold: SPEC §9 allows 150 MiB
// of RSS, and SQLite's page caches live outside Go's heap.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(100 << 20)
	}
}

func migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	db, err := store.Open(ctx, cfg.DatabaseURL, cliStore)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	// River keeps the webhook delivery queue in tables of its own.
	w, _ := db.SQL()
	if err := webhook.MigrateQueue(ctx, w, db.Dialect() == store.Postgres); err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	log.Info("database migrated", "applied", applied, "schema_version", v, "dialect", db.Dialect())
	return nil
}

func rotateKeys(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	db, err := store.Open(ctx, cfg.DatabaseURL, cliStore)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	now := time.Now()
	k, err := token.Rotate(ctx, db.Keys(), now)
	if err != nil {
		return err
	}
	// Keys retired long enough ago that no token they signed can be valid go.
	if err := db.Keys().PurgeSigningKeys(ctx, now.Add(-cfg.AccessTokenTTL-24*time.Hour)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s is active; running servers pick it up within 30 seconds\n", k.KID)
	return nil
}

// cliStore opens the database for the one-off commands: shared, as they
// gain nothing from keeping a SQLite file to themselves, and so that they
// run beside a server started with TROTH_SQLITE_SHARED=true.
var cliStore = store.Options{SQLiteShared: true}

func printFlags(cmd string, w io.Writer) {
	fmt.Fprintf(w, "usage: troth %s [flags]\n\n", cmd)
	config.PrintFlags(w)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
