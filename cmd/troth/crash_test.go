package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver, for the integrity check

	"github.com/troth-app/troth/internal/store/storetest"
)

// Crash durability: concurrent writers against a real `troth serve`, killed
// with SIGKILL at a random moment, over several rounds. Every write the
// server acknowledged (201 with an id) must be readable after the restart,
// and the SQLite file must pass its integrity check.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("crash rounds take ~20 s per database")
	}
	bin := buildTroth(t)
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "troth.db")
		crashRounds(t, bin, path, 20, 20*time.Second)
		integrityCheck(t, path)
	})
	if os.Getenv(storetest.EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) {
			crashRounds(t, bin, storetest.Postgres(t), 20, 20*time.Second)
		})
	}
}

// buildTroth builds this command once, with -race when the test binary has
// it, so that the packages the test already compiled are reused.
// buildTroth builds the troth binary once per test run (with -race when the
// tests have it) and returns its path.
func buildTroth(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			built.skip = fmt.Sprintf("no go command to build troth with: %v", err)
			return
		}
		dir, err := os.MkdirTemp("", "troth-test-bin")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		bin := filepath.Join(dir, "troth")
		args := []string{"build", "-o", bin}
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "-race" && s.Value == "true" {
					args = append(args, "-race")
				}
			}
		}
		if out, err := exec.Command(goBin, append(args, ".")...).CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.skip != "" {
		t.Skip(built.skip)
	}
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

var built struct {
	once           sync.Once
	dir, bin, skip string
	err            error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// crashProc is one running `troth serve`.
type crashProc struct {
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
}

func startTroth(t *testing.T, bin, dsn string, env ...string) *crashProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"TROTH_ADDR="+addr,
		"TROTH_DATABASE_URL="+dsn,
		"TROTH_AUTH_RATE_PER_MINUTE=100000",
		"TROTH_API_RATE_PER_MINUTE=0",
		"TROTH_LOG_LEVEL=warn",
	)
	cmd.Env = append(cmd.Env, env...)
	logs := &bytes.Buffer{} // written by exec's copier; read only after Wait
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start troth: %v", err)
	}
	p := &crashProc{cmd: cmd, base: "http://" + addr, logs: logs}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(p.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill()
	t.Fatalf("troth never became ready:\n%s", logs)
	return nil
}

func (p *crashProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// crashUser is one writer: a user in a relationship with a partner.
type crashUser struct {
	id, token, rel, partner string
}

// crashRounds runs up to rounds rounds (at least 3, fewer if budget runs
// out) and reports how many acknowledged writes were lost.
func crashRounds(t *testing.T, bin, dsn string, rounds int, budget time.Duration) {
	start := time.Now()
	client := &http.Client{Timeout: 10 * time.Second}
	var users []crashUser
	acked := map[string][]crashWrite{} // user id → writes acknowledged to it
	total, done := 0, 0
	for r := range rounds {
		if r >= 3 && time.Since(start) > budget {
			break
		}
		p := startTroth(t, bin, dsn)
		if r == 0 {
			users = crashSetup(t, client, p.base, 8)
		} else {
			if lost := verifyAcked(t, client, p.base, users, acked); lost > 0 {
				p.kill()
				t.Fatalf("round %d: %d of %d acknowledged writes lost", r, lost, total)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		var (
			mu sync.Mutex
			wg sync.WaitGroup
		)
		for i, u := range users {
			wg.Go(func() {
				for n := i; ctx.Err() == nil; n++ {
					w, ok := crashPost(ctx, client, p.base, u, n)
					if ok {
						mu.Lock()
						acked[u.id] = append(acked[u.id], w)
						total++
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(time.Duration(50+mrand.IntN(351)) * time.Millisecond)
		p.kill()
		cancel()
		wg.Wait()
		done++
	}
	p := startTroth(t, bin, dsn)
	defer p.kill()
	lost := verifyAcked(t, client, p.base, users, acked)
	t.Logf("%s: %d lost of %d acknowledged writes over %d rounds (8 writers, SIGKILL 50–400 ms in) in %s",
		t.Name(), lost, total, done, time.Since(start).Round(time.Millisecond))
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, total)
	}
	if total == 0 {
		t.Fatal("no write was acknowledged: the test measured nothing")
	}
}

// crashSetup registers n users in n/2 relationships of two.
func crashSetup(t *testing.T, c *http.Client, base string, n int) []crashUser {
	t.Helper()
	users := make([]crashUser, n)
	for i := range users {
		var out struct {
			User        struct{ ID string } `json:"user"`
			AccessToken string              `json:"access_token"`
		}
		crashCall(t, c, base, "POST", "/v1/auth/register", "", map[string]string{
			"email": fmt.Sprintf("writer%d-%d@example.com", i, time.Now().UnixNano()), "password": "crash-test-password",
			"display_name": fmt.Sprintf("Writer %d", i), "time_zone": "UTC",
		}, &out)
		users[i] = crashUser{id: out.User.ID, token: out.AccessToken}
	}
	for i := 0; i+1 < n; i += 2 {
		a, b := &users[i], &users[i+1]
		var rel, inv struct{ ID, Code string }
		crashCall(t, c, base, "POST", "/v1/relationships", a.token, map[string]string{"name": "pair", "time_zone": "UTC"}, &rel)
		crashCall(t, c, base, "POST", "/v1/relationships/"+rel.ID+"/invites", a.token, nil, &inv)
		crashCall(t, c, base, "POST", "/v1/invites/"+inv.Code+"/accept", b.token, nil, nil)
		a.rel, b.rel, a.partner, b.partner = rel.ID, rel.ID, b.id, a.id
	}
	return users
}

func crashCall(t *testing.T, c *http.Client, base, method, path, token string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// crashWrite is an acknowledged write: the list it belongs to and its id.
type crashWrite struct{ list, id string }

// crashPost makes the n-th write of u: a promise, a check-in or a breach.
// It reports the write only when the server answered 201 with its id.
func crashPost(ctx context.Context, c *http.Client, base string, u crashUser, n int) (crashWrite, bool) {
	var list string
	var body any
	switch n % 3 {
	case 0:
		list = "promises"
		body = map[string]any{"title": fmt.Sprintf("promise %d", n), "promisee_id": u.partner,
			"due_at": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)}
	case 1:
		list = "check-ins"
		body = map[string]any{"subject_id": u.partner, "felt_trust": n % 11, "note": "crash test"}
	default:
		list = "breaches"
		body = map[string]any{"member_id": u.partner, "description": fmt.Sprintf("breach %d", n), "severity": "minor"}
	}
	data, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/relationships/"+u.rel+"/"+list, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.token)
	res, err := c.Do(req)
	if err != nil {
		return crashWrite{}, false
	}
	defer res.Body.Close()
	var out struct{ ID string }
	if res.StatusCode != http.StatusCreated || json.NewDecoder(res.Body).Decode(&out) != nil || out.ID == "" {
		return crashWrite{}, false
	}
	return crashWrite{list: list, id: out.ID}, true
}

// verifyAcked pages through every list each writer wrote to and counts the
// acknowledged ids that are missing.
func verifyAcked(t *testing.T, c *http.Client, base string, users []crashUser, acked map[string][]crashWrite) int {
	t.Helper()
	lost := 0
	for _, u := range users {
		seen := map[string]bool{}
		for _, list := range []string{"promises", "check-ins", "breaches"} {
			cursor := ""
			for {
				q := url.Values{"limit": {"100"}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				var page struct {
					Data       []struct{ ID string } `json:"data"`
					NextCursor *string               `json:"next_cursor"`
				}
				crashCall(t, c, base, "GET", "/v1/relationships/"+u.rel+"/"+list+"?"+q.Encode(), u.token, nil, &page)
				for _, x := range page.Data {
					seen[x.ID] = true
				}
				if page.NextCursor == nil {
					break
				}
				cursor = *page.NextCursor
			}
		}
		for _, w := range acked[u.id] {
			if !seen[w.id] {
				t.Errorf("acknowledged %s %s of %s is missing", w.list, w.id, u.id)
				lost++
			}
		}
	}
	return lost
}

// integrityCheck opens the SQLite file read-only and runs PRAGMA
// integrity_check.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check: %s", res)
	}
	t.Logf("PRAGMA integrity_check: %s", res)
}
