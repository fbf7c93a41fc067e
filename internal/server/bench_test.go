package server_test

// Benchmarks of the score and timeline reads against a member with a long
// history, to show that their cost does not grow with it. The history is
// written straight through SQL in large transactions (the API would take
// hours for a million follow-throughs), then the rollups are rebuilt once
// with scoring.Rebuild, as a half-life change would.
//
//	go test ./internal/server -run '^$' -bench . -benchmem
//	TROTH_BENCH_LARGE=1 go test ./internal/server -run '^$' -bench . -benchmem -count 5 -timeout 60m
//
// The 1M history seeds only when TROTH_BENCH_LARGE=1; TROTH_BENCH_ANALYZE=1
// runs ANALYZE after seeding; TROTH_TEST_POSTGRES_URL adds PostgreSQL. See
// docs/performance.md.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/benchseed"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop the benchmark schema
	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/logging"
	"github.com/troth-app/troth/internal/password"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/score"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/server"
	"github.com/troth-app/troth/internal/store/storetest"
)

// envBenchLarge enables the 1M-follow-through history.
const envBenchLarge = "TROTH_BENCH_LARGE"

// envBenchAnalyze runs ANALYZE after seeding, to compare the query plans
// the databases choose with statistics against those without (troth never
// runs ANALYZE itself; it runs PRAGMA optimize every five minutes on SQLite).
const envBenchAnalyze = "TROTH_BENCH_ANALYZE"

// The shape of the seeded history is internal/benchseed's (shared with
// cmd/troth-bench).

var benchSizes = []struct {
	name  string
	n     int
	large bool
}{
	{"10k", 10_000, false},
	{"1M", 1_000_000, true},
}

// TestMain closes the benchmark fixtures, which live as long as the test
// binary so that every benchmark and every -count round reuses one seeding.
func TestMain(m *testing.M) {
	code := m.Run()
	closeBenchFixtures()
	os.Exit(code)
}

// benchFixture is a server whose database holds one relationship in which
// ana (the measured member) made n follow-throughs' worth of promises to ben.
type benchFixture struct {
	srv       *server.Server
	handler   http.Handler
	rel       relationship.Relationship
	ana, ben  string // user ids
	token     string // ben's access token
	breachAt  time.Time
	breachID  string
	hasBreach bool
	want      score.Result // the score at seeding time, recomputed from the raw items
	close     func()
	anaToken  string
	promises  []string  // ana's seeded promises
	poolFrom  time.Time // where the next pool of open occurrences may start
}

var benchFixtures = struct {
	sync.Mutex
	m   map[string]*benchFixture
	dir string
}{m: map[string]*benchFixture{}}

func closeBenchFixtures() {
	benchFixtures.Lock()
	defer benchFixtures.Unlock()
	for k, f := range benchFixtures.m {
		f.close()
		delete(benchFixtures.m, k)
	}
	if benchFixtures.dir != "" {
		os.RemoveAll(benchFixtures.dir)
	}
}

// eachHistory runs fn as sub-benchmarks db=<backend>/history=<size>; the
// key=value names let benchstat put the sizes side by side (-col /history).
func eachHistory(b *testing.B, fn func(b *testing.B, fx *benchFixture)) {
	backends := []string{"sqlite"}
	if os.Getenv(storetest.EnvPostgres) != "" {
		backends = append(backends, "postgres")
	}
	for _, backend := range backends {
		for _, size := range benchSizes {
			b.Run("db="+backend+"/history="+size.name, func(b *testing.B) {
				if size.large && os.Getenv(envBenchLarge) != "1" {
					b.Skip(envBenchLarge + "=1 seeds the 1M history")
				}
				fn(b, fixture(b, backend, size.n))
			})
		}
	}
}

// fixture returns the seeded server for a backend and size, seeding it the
// first time.
func fixture(b *testing.B, backend string, n int) *benchFixture {
	b.Helper()
	benchFixtures.Lock()
	defer benchFixtures.Unlock()
	key := fmt.Sprintf("%s/%d", backend, n)
	if f, ok := benchFixtures.m[key]; ok {
		return f
	}
	var dsn string
	var drop func()
	switch backend {
	case "sqlite":
		if benchFixtures.dir == "" {
			dir, err := os.MkdirTemp("", "troth-bench-")
			if err != nil {
				b.Fatal(err)
			}
			benchFixtures.dir = dir
		}
		dsn = filepath.Join(benchFixtures.dir, fmt.Sprintf("history-%d.db", n))
		drop = func() {}
	case "postgres":
		dsn, drop = benchSchema(b)
	}
	f := seedFixture(b, dsn, n)
	closeDB := f.close
	f.close = func() { closeDB(); drop() }
	benchFixtures.m[key] = f
	return f
}

// benchSchema creates a schema that outlives the benchmark that asked for
// it (storetest.Postgres drops its schema with the test).
func benchSchema(b *testing.B) (string, func()) {
	b.Helper()
	base := os.Getenv(storetest.EnvPostgres)
	var r [6]byte
	_, _ = rand.Read(r[:])
	schema := "bench_" + hex.EncodeToString(r[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatalf("parse %s: %v", storetest.EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		if db, err := sql.Open("pgx", base); err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	}
}

var benchPasswords = password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// seedFixture builds a server like `troth serve` does (no response
// validation, no rate limit per caller: one token makes every request),
// creates the two members and the relationship through the API, and writes
// the history through SQL.
func seedFixture(b *testing.B, dsn string, n int) *benchFixture {
	b.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.DatabaseURL = dsn
	cfg.APIRatePerMin = 0
	cfg.AccessTokenTTL = 24 * time.Hour // outlives a long -count run
	srv, err := server.New(ctx, cfg, logging.New(io.Discard, slog.LevelInfo), server.Options{PasswordParams: &benchPasswords})
	if err != nil {
		b.Fatalf("start server on %s: %v", dsn, err)
	}
	f := &benchFixture{srv: srv, handler: srv.Handler(), close: func() { srv.Close() }}
	anaTok := ""
	f.ana, anaTok = benchRegister(b, f.handler, "ana")
	f.ben, f.token = benchRegister(b, f.handler, "ben")
	var rel struct {
		ID string `json:"id"`
	}
	benchCall(b, f.handler, "POST", "/v1/relationships", anaTok, map[string]any{"name": "Ana & Ben", "time_zone": "Europe/Berlin"}, 201, &rel)
	var inv struct {
		Code string `json:"code"`
	}
	benchCall(b, f.handler, "POST", "/v1/relationships/"+rel.ID+"/invites", anaTok, nil, 201, &inv)
	benchCall(b, f.handler, "POST", "/v1/invites/"+inv.Code+"/accept", f.token, nil, 200, nil)

	start := time.Now()
	history, err := benchseed.History(ctx, srv.DB, rel.ID, f.ana, f.ben, n, start)
	items := history.Items
	if err != nil {
		b.Fatalf("seed %d follow-throughs: %v", n, err)
	}
	seeded := time.Since(start)
	rebuildStart := time.Now()
	if err := scoring.Rebuild(ctx, srv.DB.Scores(), rel.ID, f.ana); err != nil {
		b.Fatalf("rebuild rollups: %v", err)
	}
	rebuilt := time.Since(rebuildStart)
	if os.Getenv(envBenchAnalyze) == "1" {
		w, _ := srv.DB.SQL()
		if _, err := w.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatalf("analyze: %v", err)
		}
	}
	if f.rel, err = srv.DB.Relationships().Get(ctx, rel.ID); err != nil {
		b.Fatal(err)
	}
	f.breachAt = start.Add(-benchseed.BreachAgo).UTC().Truncate(time.Microsecond)
	f.breachID, f.hasBreach = history.BreachID, true
	f.anaToken, f.promises, f.poolFrom = anaTok, history.Promises, start

	// The rollups must give the score a full recomputation gives.
	now := time.Now().UTC().Truncate(time.Microsecond)
	f.want = score.Evaluate(items, now, scoring.HalfLife(f.rel))
	got, _, err := scoring.At(ctx, srv.DB.Scores(), f.rel, f.ana, now)
	if err != nil {
		b.Fatal(err)
	}
	if math.Abs(got.Score-f.want.Score) > 1e-9 || got.Counts != f.want.Counts || got.CurrentStreak != f.want.CurrentStreak || got.LongestStreak != f.want.LongestStreak {
		b.Fatalf("score from rollups %+v, recomputed %+v", got.Result, f.want)
	}
	b.Logf("seeded %d follow-throughs on %s in %s (%.0f rows/s), rebuilt the rollups in %s; score %.4f",
		n, srv.DB.Dialect(), seeded.Round(time.Millisecond), float64(2*n)/seeded.Seconds(), rebuilt.Round(time.Millisecond), got.Score)
	return f
}

func benchRegister(b *testing.B, h http.Handler, name string) (string, string) {
	b.Helper()
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AccessToken string `json:"access_token"`
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	benchCall(b, h, "POST", "/v1/auth/register", "", map[string]any{
		"email": name + "+" + hex.EncodeToString(r[:]) + "@example.com", "password": "password-" + name,
		"display_name": name, "time_zone": "Europe/Berlin",
	}, 201, &out)
	return out.User.ID, out.AccessToken
}

func benchCall(b *testing.B, h http.Handler, method, path, token string, body any, want int, out any) {
	b.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			b.Fatalf("decode %s: %v", rec.Body, err)
		}
	}
}

// BenchmarkScoreRead is GET …/members/{uid}/score through the whole HTTP
// handler (routing, token, authorization, the read, JSON), as ben reading
// ana's score.
func BenchmarkScoreRead(b *testing.B) {
	eachHistory(b, func(b *testing.B, fx *benchFixture) {
		fx.setBreach(b, true)
		benchGet(b, fx.handler, "/v1/relationships/"+fx.rel.ID+"/members/"+fx.ana+"/score", fx.token, func(body []byte) {
			var s struct {
				Counts struct {
					Kept, Missed, Breaches int
				} `json:"counts"`
			}
			if err := json.Unmarshal(body, &s); err != nil || s.Counts.Kept != fx.want.Counts.Kept ||
				s.Counts.Missed != fx.want.Counts.Missed || s.Counts.Breaches != 1 {
				b.Fatalf("score %s (%v), want counts %+v", body, err, fx.want.Counts)
			}
		})
	})
}

// BenchmarkFollowThrough is POST …/follow-throughs through the whole HTTP
// handler from 64 goroutines (on 2 CPUs; SetParallelism): each the
// follow-through, the occurrence, the member's and the promise's rollups
// and the event in one transaction, shared by the requests of a group
// commit on SQLite. Each records ana keeping an open occurrence due beyond
// the materialized window (benchseed.OpenPool). ns/op is the inverse of
// the throughput.
func BenchmarkFollowThrough(b *testing.B) {
	eachHistory(b, func(b *testing.B, fx *benchFixture) {
		ctx := context.Background()
		occs, err := benchseed.OpenPool(ctx, fx.srv.DB, fx.rel.ID, fx.ana, fx.ben, fx.promises, b.N, fx.poolFrom)
		if err != nil {
			b.Fatal(err)
		}
		fx.poolFrom = fx.poolFrom.AddDate(0, 0, b.N/benchseed.PoolPerDay+2)
		body := map[string]any{"outcome": "kept"}
		var next atomic.Int64
		b.SetParallelism(64 / runtime.GOMAXPROCS(0))
		cpu0 := processCPU()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				benchCall(b, fx.handler, "POST", "/v1/occurrences/"+occs[i]+"/follow-throughs", fx.anaToken, body, 201, nil)
			}
		})
		b.StopTimer()
		// CPU time is steadier than ns/op on a shared machine.
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	})
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScoreAt is the score read alone (scoring.At on the store): one
// rollup row, today's items, the open count.
func BenchmarkScoreAt(b *testing.B) {
	eachHistory(b, func(b *testing.B, fx *benchFixture) {
		fx.setBreach(b, true)
		ctx, st := context.Background(), fx.srv.DB.Scores()
		b.ReportAllocs()
		lat := &latencies{}
		for b.Loop() {
			t0 := time.Now()
			if _, _, err := scoring.At(ctx, st, fx.rel, fx.ana, t0); err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(t0))
		}
		lat.report(b)
	})
}

// BenchmarkTimelineYear is GET …/timeline for one year of daily points
// (366), with the latest breach 45 days ago: the rebuilding period the
// milestones walk is the same for every history size.
func BenchmarkTimelineYear(b *testing.B) {
	eachHistory(b, func(b *testing.B, fx *benchFixture) {
		fx.setBreach(b, true)
		benchTimeline(b, fx)
	})
}

// BenchmarkTimelineYearNoBreach is the same timeline for a member with no
// breach: the rebuilding period then starts with the relationship, so the
// milestones walk the whole history.
func BenchmarkTimelineYearNoBreach(b *testing.B) {
	eachHistory(b, func(b *testing.B, fx *benchFixture) {
		fx.setBreach(b, false)
		benchTimeline(b, fx)
	})
}

func benchTimeline(b *testing.B, fx *benchFixture) {
	from := time.Now().UTC().Add(-365 * 24 * time.Hour).Format(time.RFC3339)
	path := "/v1/relationships/" + fx.rel.ID + "/timeline?member=" + fx.ana + "&bucket=day&from=" + url.QueryEscape(from)
	benchGet(b, fx.handler, path, fx.token, func(body []byte) {
		var tl struct {
			Points     []json.RawMessage `json:"points"`
			Milestones []json.RawMessage `json:"milestones"`
		}
		if err := json.Unmarshal(body, &tl); err != nil || len(tl.Points) < 366 || len(tl.Points) > 367 {
			b.Fatalf("timeline with %d points (%v), want 366", len(tl.Points), err)
		}
	})
}

// BenchmarkBareEcho is a bare Echo JSON handler through the same
// httptest harness: the yardstick SPEC §9 measures against.
func BenchmarkBareEcho(b *testing.B) {
	e := echo.New()
	e.GET("/ping", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	benchGet(b, e, "/ping", "", nil)
}

// benchGet calls GET path once to check the answer, then measures it.
func benchGet(b *testing.B, h http.Handler, path, token string, check func(body []byte)) {
	b.Helper()
	auth := "Bearer " + token
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := get(); rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	} else if check != nil {
		check(rec.Body.Bytes())
	}
	b.ReportAllocs()
	lat := &latencies{}
	for b.Loop() {
		t0 := time.Now()
		if rec := get(); rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		lat.add(time.Since(t0))
	}
	lat.report(b)
}

// latencies keeps the last samples in a fixed ring (no allocation while
// measuring) and reports their median and 99th percentile. They are the
// latencies of one request at a time, not under load.
type latencies struct {
	ring [1 << 14]time.Duration
	n    int
}

func (l *latencies) add(d time.Duration) {
	l.ring[l.n%len(l.ring)] = d
	l.n++
}

func (l *latencies) report(b *testing.B) {
	s := slices.Clone(l.ring[:min(l.n, len(l.ring))])
	if len(s) == 0 {
		return
	}
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(s[min(len(s)-1, len(s)*99/100)].Nanoseconds()), "p99-ns")
}

// setBreach removes or restores the seeded breach, refreshing the rollups
// of its day and the days after as the product does on any change.
func (fx *benchFixture) setBreach(b *testing.B, on bool) {
	b.Helper()
	if fx.hasBreach == on {
		return
	}
	ctx := context.Background()
	w, _ := fx.srv.DB.SQL()
	ph := benchseed.Placeholders(fx.srv.DB.Dialect())
	var err error
	if on {
		_, err = w.ExecContext(ctx, ph("INSERT INTO breaches (id, relationship_id, member_id, recorded_by, description, severity, occurred_at, created_at) VALUES (?,?,?,?,?,?,?,?)"),
			fx.breachID, fx.rel.ID, fx.ana, fx.ben, "seeded breach", "major", fx.breachAt.UnixMicro(), fx.breachAt.UnixMicro())
	} else {
		_, err = w.ExecContext(ctx, ph("DELETE FROM breaches WHERE relationship_id = ? AND id = ?"), fx.rel.ID, fx.breachID)
	}
	if err != nil {
		b.Fatalf("set breach %v: %v", on, err)
	}
	if _, err := scoring.Refresh(ctx, fx.srv.DB.Scores(), fx.rel, fx.ana, fx.breachAt); err != nil {
		b.Fatalf("refresh after breach %v: %v", on, err)
	}
	fx.hasBreach = on
}
