package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/store"
)

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "troth ") {
		t.Fatalf("version printed %q", out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, &out, &errb); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := run(context.Background(), []string{"serve"}, func(k string) string {
		return map[string]string{"TROTH_LOG_LEVEL": "loud"}[k]
	}, &out, &errb); err == nil || !strings.Contains(err.Error(), "TROTH_LOG_LEVEL") {
		t.Fatalf("bad configuration: %v", err)
	}
}

// serve starts on a fresh SQLite file, answers, and stops cleanly when its
// context is cancelled (what SIGTERM does).
func TestServeAndGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dbPath := filepath.Join(t.TempDir(), "troth.db")
	env := map[string]string{"TROTH_ADDR": addr, "TROTH_DATABASE_URL": dbPath}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer // slog serializes writes; read only after serve returns
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &bytes.Buffer{}, &logs)
	}()

	var res *http.Response
	for range 100 {
		if res, err = http.Get("http://" + addr + "/readyz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never answered: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
	// keys rotate and migrate work on the same file afterwards.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate"}, func(k string) string { return env[k] }, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "new signing key") {
		t.Fatalf("keys rotate printed %q", out.String())
	}
	// `troth migrate` also creates the webhook queue's tables (River's), so
	// `serve -migrate=false` can start on what it prepared.
	freshPath := filepath.Join(t.TempDir(), "fresh.db")
	fresh := map[string]string{"TROTH_DATABASE_URL": freshPath}
	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return fresh[k] }, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), freshPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, _ := db.SQL()
	var jobs int
	if err := w.QueryRow("SELECT COUNT(*) FROM river_job").Scan(&jobs); err != nil {
		t.Fatalf("river's tables after troth migrate: %v", err)
	}
	// Every log line is JSON.
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop logged:\n%s", logs.String())
	}
}

// A server on SQLite keeps the file to itself unless it runs shared: a
// second process is told why it cannot open the database, and with
// TROTH_SQLITE_SHARED=true `troth keys rotate` works while it runs.
func TestSQLiteFileIsTheServers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	bin := buildTroth(t)
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "troth.db")
			p := startTroth(t, bin, path, fmt.Sprintf("TROTH_SQLITE_SHARED=%v", shared))
			defer p.kill()
			env := map[string]string{"TROTH_DATABASE_URL": path}
			var out bytes.Buffer
			err := run(context.Background(), []string{"keys", "rotate"}, func(k string) string { return env[k] }, &out, &bytes.Buffer{})
			switch {
			case shared && err != nil:
				t.Fatalf("keys rotate beside a shared server: %v", err)
			case shared && !strings.Contains(out.String(), "new signing key"):
				t.Fatalf("keys rotate printed %q", out.String())
			case !shared && (err == nil || !strings.Contains(err.Error(), "TROTH_SQLITE_SHARED=true")):
				t.Fatalf("keys rotate beside a server holding the file: %v, want a hint at TROTH_SQLITE_SHARED", err)
			}
		})
	}
}
