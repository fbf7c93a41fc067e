// Command troth-bench is troth's load harness: it starts a `troth serve`
// (or targets one), seeds a relationship with a long follow-through
// history, and drives each operation of SPEC §9 and a mix of them with
// vegeta at a fixed concurrency for a bounded time, next to a bare Echo
// JSON handler measured in the same run. It prints a markdown table.
// The webhooks operation measures deliveries to a receiver in the harness
// (webhooks.go) instead of the requests that cause them.
//
//	go run ./cmd/troth-bench -history 10000 -duration 10s -concurrency 64
//
// See docs/performance.md.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/troth-app/troth/internal/benchseed"
	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/logging"
	"github.com/troth-app/troth/internal/password"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/server"
	"github.com/troth-app/troth/internal/store"
)

type options struct {
	target      string
	databaseURL string
	trothBin    string
	history     int
	pool        int
	duration    time.Duration
	concurrency int
	rate        int
	ops         string
	profileDir  string
	seedTimeout time.Duration
	// webhookEndpoints is how many endpoints receive each event in the
	// webhooks operation; webhookDrain bounds the wait for deliveries
	// after its drive.
	webhookEndpoints int
	webhookDrain     time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.target, "target", "", "base URL of a running troth serve (loopback); empty: start one")
	flag.StringVar(&o.databaseURL, "database-url", "", "database for the started server (SQLite path or postgres:// URL); empty: a temporary SQLite file")
	flag.StringVar(&o.trothBin, "troth-bin", "", "troth binary to start; empty: go build ./cmd/troth into a temporary directory")
	flag.IntVar(&o.history, "history", 10_000, "follow-throughs of history to seed")
	flag.IntVar(&o.pool, "pool", 0, "open occurrences to seed for the follow-through writes; 0: 60000 when started, 5000 with -target")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each operation is driven")
	flag.IntVar(&o.concurrency, "concurrency", 64, "workers (and connections)")
	flag.IntVar(&o.rate, "rate", 0, "requests a second; 0: as fast as the workers go")
	flag.StringVar(&o.ops, "ops", "control,score,promises,timeline,follow-through,mix", "operations to drive, in order (also: check-in, promise, webhooks)")
	flag.StringVar(&o.profileDir, "profile-dir", "", "capture a CPU profile of the started server for each operation into this directory (uses TROTH_DEBUG_ADDR)")
	flag.DurationVar(&o.seedTimeout, "seed-timeout", 30*time.Minute, "upper bound on seeding")
	flag.IntVar(&o.webhookEndpoints, "webhook-endpoints", 5, "endpoints the webhooks operation registers; each event is delivered to all of them")
	flag.DurationVar(&o.webhookDrain, "webhook-drain", 30*time.Second, "how long the webhooks operation waits for deliveries after its drive")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "troth-bench:", err)
		os.Exit(1)
	}
}

// fixture is what the operations need to know about the seeded data.
type fixture struct {
	base     string
	relID    string
	ana, ben string
	token    string   // ben's access token: ben reads ana's score and confirms by recording
	pool     []string // open occurrences of ana's promises to ben
}

func run(o options) error {
	if o.concurrency < 1 || o.duration <= 0 || o.duration > time.Hour || o.webhookEndpoints < 1 {
		return errors.New("need -concurrency ≥ 1, 0 < -duration ≤ 1h and -webhook-endpoints ≥ 1")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmp, err := os.MkdirTemp("", "troth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var fx fixture
	var child *exec.Cmd
	debugAddr := ""
	if o.target != "" {
		if err := loopbackOnly(o.target); err != nil {
			return err
		}
		if o.pool == 0 {
			o.pool = 5000
		}
		fx.base = strings.TrimSuffix(o.target, "/")
		if err := seedAPI(ctx, &fx, o); err != nil {
			return fmt.Errorf("seed through the API: %w", err)
		}
	} else {
		if o.pool == 0 {
			o.pool = 60_000
		}
		dsn := o.databaseURL
		if dsn == "" {
			dsn = filepath.Join(tmp, "troth.db")
		}
		if err := seedSQL(ctx, &fx, o, dsn); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		bin := o.trothBin
		if bin == "" {
			bin = filepath.Join(tmp, "troth")
			logf("building troth")
			b := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/troth-app/troth/cmd/troth")
			b.Stdout, b.Stderr = os.Stderr, os.Stderr
			if err := b.Run(); err != nil {
				return fmt.Errorf("go build: %w", err)
			}
		}
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		if o.profileDir != "" {
			if debugAddr, err = freeAddr(); err != nil {
				return err
			}
		}
		fx.base = "http://" + addr
		child = exec.Command(bin, "serve")
		child.Env = append(os.Environ(),
			"TROTH_ADDR="+addr, "TROTH_DATABASE_URL="+dsn, "TROTH_API_RATE_PER_MINUTE=0",
			"TROTH_AUTH_RATE_PER_MINUTE=1000000", "TROTH_DEBUG_ADDR="+debugAddr,
			// The webhooks operation's receiver listens on loopback.
			"TROTH_WEBHOOK_ALLOW_PRIVATE=true")
		// The server's JSON logs (a line a request) are written, as in
		// production, to a file that goes with the temporary directory.
		logFile, err := os.Create(filepath.Join(tmp, "troth.log"))
		if err != nil {
			return err
		}
		defer logFile.Close()
		child.Stdout, child.Stderr = logFile, logFile
		if err := child.Start(); err != nil {
			return err
		}
		defer func() {
			_ = child.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = child.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				_ = child.Process.Kill()
				<-done
			}
		}()
		if err := waitHealthy(fx.base, 30*time.Second); err != nil {
			return err
		}
	}

	// The control: a bare Echo JSON handler on its own loopback port.
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/ping", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	csrv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = csrv.Serve(cln) }()
	defer csrv.Close()
	controlURL := "http://" + cln.Addr().String() + "/ping"

	ops := operations(&fx, controlURL)
	if err := preflight(ops, fx); err != nil {
		return err
	}
	pid := 0
	if child != nil {
		pid = child.Process.Pid
	}
	var rows []row
	for _, name := range strings.Split(o.ops, ",") {
		op, ok := ops[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("unknown operation %q", name)
		}
		logf("driving %s for %s at concurrency %d", op.name, o.duration, o.concurrency)
		if op.webhooks {
			r, err := driveWebhooks(op, o, fx, pid, debugAddr)
			if err != nil {
				return fmt.Errorf("%s: %w", op.name, err)
			}
			rows = append(rows, r)
			continue
		}
		r := attack(op, o, pid, debugAddr)
		rows = append(rows, r)
		logf("%s: %.0f req/s, p99 %s, %d errors", op.name, r.m.Throughput, r.m.Latencies.P99, r.errors)
	}
	if child != nil {
		// The server writes its log lines in batches, at least every
		// 200 ms (cmd/troth).
		time.Sleep(400 * time.Millisecond)
		if err := serverTimes(filepath.Join(tmp, "troth.log"), rows); err != nil {
			logf("server log: %v", err)
		}
	}
	report(os.Stdout, rows, o, pid)
	return nil
}

type operation struct {
	name     string
	control  bool
	targeter vegeta.Targeter
	// webhooks says the requests only make events: the operation is
	// measured by their deliveries (driveWebhooks).
	webhooks bool
}

var used atomic.Int64 // next unused occurrence of the pool

func operations(fx *fixture, controlURL string) map[string]operation {
	auth := http.Header{"Authorization": {"Bearer " + fx.token}}
	get := func(path string) vegeta.Target {
		return vegeta.Target{Method: http.MethodGet, URL: fx.base + path, Header: auth}
	}
	score := get("/v1/relationships/" + fx.relID + "/members/" + fx.ana + "/score")
	promises := get("/v1/relationships/" + fx.relID + "/promises?limit=20")
	from := time.Now().UTC().Add(-365 * 24 * time.Hour).Format(time.RFC3339)
	timeline := get("/v1/relationships/" + fx.relID + "/timeline?member=" + fx.ana + "&bucket=day&from=" + url.QueryEscape(from))
	postHeader := http.Header{"Authorization": {"Bearer " + fx.token}, "Content-Type": {"application/json"}}
	body := []byte(`{"outcome":"kept","note":"done"}`)
	followThrough := func(t *vegeta.Target) error {
		i := used.Add(1) - 1
		if i >= int64(len(fx.pool)) {
			return vegeta.ErrNoTargets
		}
		*t = vegeta.Target{Method: http.MethodPost, URL: fx.base + "/v1/occurrences/" + fx.pool[i] + "/follow-throughs", Header: postHeader, Body: body}
		return nil
	}
	// A check-in is troth's plainest create: one row and its event, in
	// a write transaction of its own (group-committed).
	checkIn := vegeta.Target{Method: http.MethodPost, URL: fx.base + "/v1/relationships/" + fx.relID + "/check-ins", Header: postHeader,
		Body: []byte(`{"subject_id":"` + fx.ana + `","felt_trust":7,"note":"better this week"}`)}
	// A one-off promise: the promise, its one occurrence and its event.
	due := time.Now().UTC().Add(30 * 24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	newPromise := vegeta.Target{Method: http.MethodPost, URL: fx.base + "/v1/relationships/" + fx.relID + "/promises", Header: postHeader,
		Body: []byte(`{"title":"Call the plumber","due_at":"` + due + `"}`)}
	static := func(tg vegeta.Target) vegeta.Targeter {
		return func(t *vegeta.Target) error { *t = tg; return nil }
	}
	// The mix, in twentieths: half score reads, 30% promise lists, 5%
	// timelines, 15% follow-throughs.
	var n atomic.Uint64
	mix := func(t *vegeta.Target) error {
		switch k := n.Add(1) % 20; {
		case k < 10:
			*t = score
		case k < 16:
			*t = promises
		case k < 17:
			*t = timeline
		default:
			return followThrough(t)
		}
		return nil
	}
	return map[string]operation{
		"control":        {name: "bare Echo (control)", control: true, targeter: static(vegeta.Target{Method: http.MethodGet, URL: controlURL})},
		"score":          {name: "GET member score", targeter: static(score)},
		"promises":       {name: "GET promises?limit=20", targeter: static(promises)},
		"timeline":       {name: "GET timeline (1 year, daily)", targeter: static(timeline)},
		"follow-through": {name: "POST follow-through", targeter: followThrough},
		"check-in":       {name: "POST check-in", targeter: static(checkIn)},
		"promise":        {name: "POST promise (one-off)", targeter: static(newPromise)},
		"mix":            {name: "mix (50% score, 30% list, 5% timeline, 15% POST)", targeter: mix},
		"webhooks":       {name: "webhook deliveries", targeter: followThrough, webhooks: true},
	}
}

// preflight makes each read once and checks the answer is 200.
func preflight(ops map[string]operation, fx fixture) error {
	for _, k := range []string{"control", "score", "promises", "timeline"} {
		var t vegeta.Target
		if err := ops[k].targeter(&t); err != nil {
			return err
		}
		req, _ := t.Request()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("preflight %s: %d %s", t.URL, resp.StatusCode, b)
		}
	}
	if len(fx.pool) == 0 {
		return errors.New("no open occurrences to record follow-throughs on")
	}
	return nil
}

type row struct {
	op        operation
	m         vegeta.Metrics
	errors    int
	codes     string
	peakRSS   int64 // KiB, the child's largest VmRSS sampled during the run
	load      string
	exhausted bool
	profile   string
	// deliveries, for the webhooks operation, are its figures; m and
	// errors are then those of the requests that made the events.
	deliveries *deliveries
	// start and end bound the drive; server holds the durations the
	// server logged for the requests that ended in between, sorted.
	start, end time.Time
	server     []time.Duration
}

func attack(op operation, o options, pid int, debugAddr string) row {
	r := row{op: op, load: loadAvg()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if pid > 0 && !op.control {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				if v := procStatus(pid, "VmRSS"); v > r.peakRSS {
					r.peakRSS = v
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	if debugAddr != "" && !op.control && o.duration >= 3*time.Second {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.profile = captureProfile(debugAddr, o, op.name)
		}()
	}
	c := o.concurrency
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(c)), vegeta.MaxWorkers(uint64(c)),
		// Bodies are read to the end and dropped: only status codes are
		// checked, and keeping every body would spend the shared cores on
		// copying and collecting them.
		vegeta.MaxBody(0),
		vegeta.Client(client(c)))
	rate := vegeta.Rate{Freq: o.rate, Per: time.Second}
	var m vegeta.Metrics
	r.start = time.Now()
	for res := range atk.Attack(op.targeter, rate, o.duration, op.name) {
		if res.Error == vegeta.ErrNoTargets.Error() {
			r.exhausted = true // no request was made
			continue
		}
		m.Add(res)
	}
	m.Close()
	r.end = time.Now()
	close(stop)
	wg.Wait()
	r.m = m
	for code, n := range m.StatusCodes {
		if c, _ := strconv.Atoi(code); c < 200 || c >= 300 {
			r.errors += n
			r.codes += fmt.Sprintf(" %s×%d", code, n)
		}
	}
	if len(m.Errors) > 0 {
		logf("%s errors: %s", op.name, strings.Join(m.Errors[:min(len(m.Errors), 3)], "; "))
	}
	return r
}

// client is vegeta's HTTP client as vegeta builds it (keep-alive, c
// connections, 30 s timeout) but for the size of the buffer responses are
// read through: 64 kB, not 4. vegeta reads a body into io.Discard 8 kB at
// a time, and past a 4 kB buffer each of those is a read system call of
// its own: five for a year's timeline (40 kB), on the cores the server
// shares. With the whole response in one buffer the harness takes less of
// them, as clients on other machines would (docs/performance.md).
func client(c int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: c, MaxConnsPerHost: c,
		ReadBufferSize: 64 << 10,
	}}
}

func captureProfile(debugAddr string, o options, name string) string {
	secs := int((o.duration - time.Second) / time.Second)
	resp, err := (&http.Client{Timeout: o.duration + 30*time.Second}).Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, secs))
	if err != nil {
		logf("profile %s: %v", name, err)
		return ""
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return ""
	}
	file := filepath.Join(o.profileDir, strings.NewReplacer(" ", "-", "/", "-", "?", "-", "(", "", ")", "", "%", "", ",", "").Replace(name)+".pprof")
	f, err := os.Create(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		return ""
	}
	return file
}

func report(w io.Writer, rows []row, o options, pid int) {
	control := 0.0
	for _, r := range rows {
		if r.op.control {
			control = r.m.Throughput
		}
	}
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\nhistory %d, concurrency %d, duration %s per operation, rate %s, %s, host %s\n\n",
		o.history, o.concurrency, o.duration, rateName(o.rate), time.Now().UTC().Format(time.RFC3339), host)
	fmt.Fprintln(w, "| operation | req/s (2xx) | vs control | p50 | p90 | p99 | server's p50 / p99 | errors | server peak RSS | load avg at start |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |")
	for _, r := range rows {
		name, rate, lat := r.op.name, r.m.Throughput, r.m.Latencies
		errs, of := strconv.Itoa(r.errors), r.m.Requests
		if r.codes != "" {
			errs += " (" + strings.TrimSpace(r.codes) + ")"
		}
		if r.exhausted {
			name += " [pool used up: ran " + r.m.Duration.Round(time.Millisecond).String() + "]"
		}
		ratio := "—"
		if d := r.deliveries; d != nil {
			// Deliveries a second, their latencies, and the deliveries
			// missing of those owed; the requests' figures go under the table.
			name += " [latency: created_at → receipt]"
			rate, errs, of = d.rate(), strconv.Itoa(d.owed-d.received)+" missing", uint64(d.owed)
			lat.P50, lat.P90, lat.P99 = d.quantile(0.5), d.quantile(0.9), d.quantile(0.99)
		} else if control > 0 && !r.op.control {
			ratio = fmt.Sprintf("%.1f%%", 100*rate/control)
		}
		rss := "—"
		if r.peakRSS > 0 {
			rss = fmt.Sprintf("%.0f MiB", float64(r.peakRSS)/1024)
		}
		own := "—"
		if len(r.server) > 0 {
			own = ms(r.serverQuantile(0.5)) + " / " + ms(r.serverQuantile(0.99))
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s | %s of %d | %s | %s |\n", name, rate, ratio,
			ms(lat.P50), ms(lat.P90), ms(lat.P99), own, errs, of, rss, r.load)
	}
	for _, r := range rows {
		if r.deliveries != nil {
			reportDeliveries(w, r, o)
		}
	}
	if pid > 0 {
		fmt.Fprintf(w, "\nserver peak RSS over its whole life (VmHWM): %.0f MiB\n", float64(procStatus(pid, "VmHWM"))/1024)
	}
	for _, r := range rows {
		if r.profile != "" {
			fmt.Fprintf(w, "CPU profile of %s: %s\n", r.op.name, r.profile)
		}
	}
}

func rateName(r int) string {
	if r == 0 {
		return "max"
	}
	return strconv.Itoa(r) + "/s"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// procStatus reads a field in KiB from /proc/<pid>/status (0 if unknown).
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func loopbackOnly(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-target %s: only loopback addresses are driven", target)
}

func waitHealthy(base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become healthy within %s", base, within)
}

// caller makes one API call, through an in-process handler or over HTTP.
type caller struct {
	h    http.Handler
	base string
	c    *http.Client
}

func (c caller) call(method, path, token string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	var code int
	var resp []byte
	if c.h != nil {
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		code, resp = rec.Code, rec.Body.Bytes()
	} else {
		req, err := http.NewRequest(method, c.base+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		r, err := c.c.Do(req)
		if err != nil {
			return err
		}
		resp, err = io.ReadAll(io.LimitReader(r.Body, 4<<20))
		r.Body.Close()
		if err != nil {
			return err
		}
		code = r.StatusCode
	}
	if code != want {
		return fmt.Errorf("%s %s: %d %.300s", method, path, code, resp)
	}
	if out != nil {
		return json.Unmarshal(resp, out)
	}
	return nil
}

// setup registers ana and ben, and makes them a relationship through an
// invite ana sends and ben accepts.
func setup(c caller, fx *fixture) (anaToken string, err error) {
	var r [4]byte
	_, _ = rand.Read(r[:])
	suffix := hex.EncodeToString(r[:])
	register := func(name string) (string, string, error) {
		var out struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			AccessToken string `json:"access_token"`
		}
		err := c.call("POST", "/v1/auth/register", "", map[string]any{
			"email": name + "+" + suffix + "@example.com", "password": "password-" + name + "-" + suffix,
			"display_name": name, "time_zone": "Europe/Berlin",
		}, 201, &out)
		return out.User.ID, out.AccessToken, err
	}
	if fx.ana, anaToken, err = register("ana"); err != nil {
		return "", err
	}
	if fx.ben, fx.token, err = register("ben"); err != nil {
		return "", err
	}
	var rel struct {
		ID string `json:"id"`
	}
	if err := c.call("POST", "/v1/relationships", anaToken, map[string]any{"name": "Ana & Ben", "time_zone": "Europe/Berlin"}, 201, &rel); err != nil {
		return "", err
	}
	fx.relID = rel.ID
	var inv struct {
		Code string `json:"code"`
	}
	if err := c.call("POST", "/v1/relationships/"+rel.ID+"/invites", anaToken, nil, 201, &inv); err != nil {
		return "", err
	}
	return anaToken, c.call("POST", "/v1/invites/"+inv.Code+"/accept", fx.token, nil, 200, nil)
}

// seedSQL builds the server in-process on dsn (migrating it), creates the
// members and the relationship through its handler, writes the history and
// the pool of open occurrences through SQL, rebuilds the rollups, and
// closes it again before the child server starts on the same database.
func seedSQL(ctx context.Context, fx *fixture, o options, dsn string) error {
	if o.history < benchseed.MinHistory {
		return fmt.Errorf("-history must be at least %d (one year of eight daily promises)", benchseed.MinHistory)
	}
	ctx, cancel := context.WithTimeout(ctx, o.seedTimeout)
	defer cancel()
	cfg := config.Default()
	cfg.DatabaseURL = dsn
	cfg.APIRatePerMin = 0
	cfg.AccessTokenTTL = 6 * time.Hour // outlives the run; the child verifies with the same stored keys
	cheap := password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	srv, err := server.New(ctx, cfg, logging.New(io.Discard, slog.LevelInfo), server.Options{PasswordParams: &cheap})
	if err != nil {
		return err
	}
	defer srv.Close()
	if _, err := setup(caller{h: srv.Handler()}, fx); err != nil {
		return err
	}
	start := time.Now()
	seeded, err := benchseed.History(ctx, srv.DB, fx.relID, fx.ana, fx.ben, o.history, start)
	if err != nil {
		return err
	}
	logf("seeded %d follow-throughs in %s", o.history, time.Since(start).Round(time.Millisecond))
	t := time.Now()
	if err := scoring.Rebuild(ctx, srv.DB.Scores(), fx.relID, fx.ana); err != nil {
		return fmt.Errorf("rebuild rollups: %w", err)
	}
	logf("rebuilt the rollups in %s", time.Since(t).Round(time.Millisecond))
	if fx.pool, err = benchseed.OpenPool(ctx, srv.DB, fx.relID, fx.ana, fx.ben, seeded.Promises, o.pool, time.Now()); err != nil {
		return fmt.Errorf("open occurrences: %w", err)
	}
	if srv.DB.Dialect() == store.Postgres {
		// A database that has been running has been vacuumed and analyzed
		// by autovacuum; one loaded a second ago has neither statistics
		// nor a visibility map, and its plans and index-only scans show it.
		t = time.Now()
		w, _ := srv.DB.SQL()
		if _, err := w.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			return fmt.Errorf("vacuum analyze: %w", err)
		}
		logf("vacuumed and analyzed in %s", time.Since(t).Round(time.Millisecond))
	}
	return nil
}

// seedAPI seeds a running server through its API only: the history as
// one-off promises due in the past, each with ben's follow-through, and
// the pool as one-off promises due from 62 days ahead, eight a day. Slower than SQL (three
// requests per follow-through), and bounded by -seed-timeout.
func seedAPI(ctx context.Context, fx *fixture, o options) error {
	ctx, cancel := context.WithTimeout(ctx, o.seedTimeout)
	defer cancel()
	c := caller{base: fx.base, c: &http.Client{Timeout: 30 * time.Second}}
	anaToken, err := setup(c, fx)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	oneOff := func(i int, due time.Time) (string, error) {
		var p struct {
			ID string `json:"id"`
		}
		if err := c.call("POST", "/v1/relationships/"+fx.relID+"/promises", anaToken,
			map[string]any{"title": fmt.Sprintf("Promise %d", i), "promisee_id": fx.ben, "due_at": due}, 201, &p); err != nil {
			return "", err
		}
		var occ struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := c.call("GET", "/v1/promises/"+p.ID+"/occurrences", anaToken, nil, 200, &occ); err != nil {
			return "", err
		}
		if len(occ.Data) != 1 {
			return "", fmt.Errorf("promise %s has %d occurrences", p.ID, len(occ.Data))
		}
		return occ.Data[0].ID, nil
	}
	pool := make([]string, o.pool) // in due order
	err = parallel(ctx, o.history+o.pool, 16, func(i int) error {
		if i < o.history {
			// Spread over the last 360 days (the API takes no older due time).
			due := now.Add(-time.Duration(i+1) * 360 * 24 * time.Hour / time.Duration(o.history+1))
			occ, err := oneOff(i, due)
			if err != nil {
				return err
			}
			return c.call("POST", "/v1/occurrences/"+occ+"/follow-throughs", fx.token, map[string]any{"outcome": "kept", "occurred_at": due}, 201, nil)
		}
		j := i - o.history
		occ, err := oneOff(i, now.Add(62*24*time.Hour+time.Duration(j)*3*time.Hour))
		if err != nil {
			return err
		}
		pool[j] = occ
		return nil
	})
	fx.pool = pool
	logf("seeded %d follow-throughs and %d open occurrences through the API", o.history, len(pool))
	return err
}

// parallel runs fn(0..n-1) on k goroutines, stopping at the first error or
// when ctx ends.
func parallel(ctx context.Context, n, k int, fn func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
