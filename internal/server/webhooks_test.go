package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

func (r received) id() string { return r.Header.Get("webhook-id") }

func (r received) payload(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("webhook body %s: %v", r.Body, err)
	}
	return m
}

// receiver is a local webhook endpoint; answer decides each response from
// the number of requests before it.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	rc := &receiver{answer: answer}
	if rc.answer == nil {
		rc.answer = func(int, http.ResponseWriter) {}
	}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{Header: r.Header.Clone(), Body: body, At: time.Now()})
		rc.mu.Unlock()
		rc.answer(n, w)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) url() string { return rc.srv.URL + "/hook" }

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// wait polls until the receiver has at least n requests.
func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := rc.all(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d requests, want %d", len(rc.all()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func status(code int) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) { w.WriteHeader(code) }
}

// hookOpts allow local receivers and make retries immediate.
func hookOpts(schedule ...time.Duration) servertest.Option {
	return func(c *config.Config) {
		c.WebhookAllowPrivate = true
		c.WebhookRetrySchedule = schedule
		if len(schedule) == 0 {
			c.WebhookRetrySchedule = []time.Duration{0, 0, 0}
		}
	}
}

// startHooks runs webhook delivery as Serve would.
func startHooks(t *testing.T, app *servertest.App) {
	t.Helper()
	if err := app.Server.Webhooks.Start(context.Background()); err != nil {
		t.Fatalf("start webhooks: %v", err)
	}
}

func createHook(t *testing.T, app *servertest.App, token string, body map[string]any) (id, secret string) {
	t.Helper()
	m := do(t, app, 201, "POST", "/v1/webhooks", token, body)
	return m["id"].(string), m["secret"].(string)
}

// verify checks a request with the Standard Webhooks reference library.
func verify(t *testing.T, secret string, r received) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.Body, r.Header); err != nil {
		t.Fatalf("signature %q does not verify: %v", r.Header.Get("webhook-signature"), err)
	}
}

// deliveries returns an endpoint's delivery log, newest first.
func deliveries(t *testing.T, app *servertest.App, token, hook string) []map[string]any {
	t.Helper()
	page := do(t, app, 200, "GET", "/v1/webhooks/"+hook+"/deliveries?limit=100", token, nil)
	var out []map[string]any
	for _, d := range page["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// waitDelivery polls the log until the delivery of event is in status with
// at least attempt attempts.
func waitDelivery(t *testing.T, app *servertest.App, token, hook, eventID, status string, attempt int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, d := range deliveries(t, app, token, hook) {
			if d["event_id"] == eventID && d["status"] == status && int(d["attempt"].(float64)) >= attempt {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s delivery of %s after %d attempts: %v", status, eventID, attempt, deliveries(t, app, token, hook))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ids(rs []received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.id())
	}
	return out
}

func TestWebhookDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, hookOpts())
		startHooks(t, app)
		ana, ben, rel := pair(t, app)
		_, cursor := feed(t, app, ana.AccessToken, "", "")

		all := newReceiver(t, nil)
		other := newReceiver(t, nil)
		only := newReceiver(t, nil)
		hook, secret := createHook(t, app, ana.AccessToken, map[string]any{"url": all.url(), "description": "everything"})
		if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_")); !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) < 24 || len(key) > 32 {
			t.Fatalf("secret %q", secret)
		}
		createHook(t, app, ana.AccessToken, map[string]any{"url": other.url()})
		createHook(t, app, ana.AccessToken, map[string]any{"url": only.url(), "event_types": []string{"promise.created"}})
		got := do(t, app, 200, "GET", "/v1/webhooks/"+hook, ana.AccessToken, nil)
		if _, ok := got["secret"]; ok || got["enabled"] != true || got["url"] != all.url() || len(got["event_types"].([]any)) != 0 {
			t.Fatalf("webhook %v", got)
		}

		// A ping reaches this endpoint only, signed.
		ping := do(t, app, 202, "POST", "/v1/webhooks/"+hook+"/ping", ana.AccessToken, nil)
		r := all.wait(t, 1)[0]
		verify(t, secret, r)
		if p := r.payload(t); p["type"] != "webhook.ping" || p["data"].(map[string]any)["webhook_id"] != hook || r.id() != ping["event_id"] {
			t.Fatalf("ping %v %v", r.Header, p)
		}

		// Every later event of Ana's relationships arrives, whoever causes it;
		// an outsider's do not. Commit-to-receipt latency is measured on
		// promise.created.
		cleo := app.Register("Cleo")
		cleoRel := do(t, app, 201, "POST", "/v1/relationships", cleo.AccessToken, map[string]any{"name": "Cleo", "time_zone": "Europe/Berlin"})["id"].(string)
		do(t, app, 201, "POST", "/v1/relationships/"+cleoRel+"/promises", cleo.AccessToken, map[string]any{"title": "x", "due_at": ts(app.Clock.Now().Add(time.Hour))})
		var lat []time.Duration
		for i := 0; i < 15; i++ {
			token := ana.AccessToken
			if i%2 == 1 {
				token = ben.AccessToken
			}
			n := len(only.all())
			p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", token, map[string]any{"title": "Call", "due_at": ts(app.Clock.Now().Add(48 * time.Hour))})
			committed := time.Now()
			r := only.wait(t, n+1)[n]
			lat = append(lat, r.At.Sub(committed))
			if d := r.payload(t)["data"].(map[string]any); d["id"] != p["id"] {
				t.Fatalf("promise.created carries %v, want %s", d, p["id"])
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("%s: commit-to-receipt latency over %d events: min %s, median %s, max %s", b.Name, len(lat), lat[0], lat[len(lat)/2], lat[len(lat)-1])

		es, _ := feed(t, app, ana.AccessToken, cursor, "")
		var want []string
		for _, e := range es {
			want = append(want, e["id"].(string))
		}
		got2 := all.wait(t, len(want))
		time.Sleep(300 * time.Millisecond) // nothing more may come
		if g := ids(all.all()); !slices.Equal(sorted(g), sorted(want)) {
			t.Fatalf("endpoint received %v\nfeed has %v", g, want)
		}
		for _, r := range got2 {
			verify(t, secret, r)
		}
		wantOther := slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == ping["event_id"] })
		if g := ids(other.wait(t, len(wantOther))); !slices.Equal(sorted(g), sorted(wantOther)) {
			t.Fatalf("second endpoint received %v, want all but the ping %v", g, wantOther)
		}
		for _, r := range only.all() {
			if r.payload(t)["type"] != "promise.created" {
				t.Fatalf("filtered endpoint received %s", r.Body)
			}
		}

		// The delivery log.
		log := deliveries(t, app, ana.AccessToken, hook)
		if len(log) != len(want) {
			t.Fatalf("log has %d deliveries, want %d", len(log), len(want))
		}
		d := log[len(log)-1]
		if d["event_id"] != ping["event_id"] || d["event_type"] != "webhook.ping" || d["status"] != "succeeded" || d["attempt"] != 1.0 ||
			d["response_code"] != 200.0 || d["response_body"] != "ok" || d["duration_ms"] == nil || d["completed_at"] == nil ||
			d["next_attempt_at"] != nil || d["error"] != nil || !strings.HasPrefix(d["id"].(string), "dlv_") {
			t.Fatalf("ping delivery %v", d)
		}
		page := do(t, app, 200, "GET", "/v1/webhooks/"+hook+"/deliveries?limit=2", ana.AccessToken, nil)
		next := do(t, app, 200, "GET", "/v1/webhooks/"+hook+"/deliveries?limit=2&cursor="+page["next_cursor"].(string), ana.AccessToken, nil)
		if next["data"].([]any)[0].(map[string]any)["id"] != log[2]["id"] {
			t.Fatalf("second page starts at %v, want %v", next["data"], log[2]["id"])
		}

		// Redelivery: a new delivery, the same webhook-id.
		n := len(all.all())
		re := do(t, app, 202, "POST", "/v1/webhooks/"+hook+"/deliveries/"+d["id"].(string)+"/redeliver", ana.AccessToken, nil)
		if re["id"] == d["id"] || re["event_id"] != ping["event_id"] || re["status"] != "pending" {
			t.Fatalf("redelivery %v", re)
		}
		// Its times as the log shows them: to the microsecond.
		if at, _ := time.Parse(time.RFC3339Nano, re["created_at"].(string)); !at.Equal(at.Truncate(time.Microsecond)) {
			t.Fatalf("redelivery created_at %v has nanoseconds", re["created_at"])
		}
		if r := all.wait(t, n+1)[n]; r.id() != ping["event_id"] {
			t.Fatalf("redelivered webhook-id %s, want %s", r.id(), ping["event_id"])
		}
		waitDelivery(t, app, ana.AccessToken, hook, ping["event_id"].(string), "succeeded", 1)

		// Rotation: both secrets sign for a day.
		rot := do(t, app, 200, "POST", "/v1/webhooks/"+hook+"/rotate-secret", ana.AccessToken, nil)
		newSecret := rot["secret"].(string)
		if newSecret == secret || rot["previous_secret_expires_at"] == nil {
			t.Fatalf("rotation %v", rot)
		}
		n = len(all.all())
		do(t, app, 202, "POST", "/v1/webhooks/"+hook+"/ping", ana.AccessToken, nil)
		r = all.wait(t, n+1)[n]
		sigs := strings.Fields(r.Header.Get("webhook-signature"))
		if len(sigs) != 2 {
			t.Fatalf("signatures %v, want two", sigs)
		}
		for i, s := range []string{secret, newSecret} {
			one := received{Header: r.Header.Clone(), Body: r.Body}
			one.Header.Set("webhook-signature", sigs[i])
			verify(t, s, one)
		}

		// Others see nothing of Ana's webhooks.
		for _, c := range []struct{ method, path string }{
			{"GET", "/v1/webhooks/" + hook}, {"PATCH", "/v1/webhooks/" + hook}, {"DELETE", "/v1/webhooks/" + hook},
			{"POST", "/v1/webhooks/" + hook + "/ping"}, {"POST", "/v1/webhooks/" + hook + "/rotate-secret"},
			{"GET", "/v1/webhooks/" + hook + "/deliveries"}, {"POST", "/v1/webhooks/" + hook + "/deliveries/" + d["id"].(string) + "/redeliver"},
		} {
			var body any
			if c.method == "PATCH" {
				body = map[string]any{"description": "Ben's now"}
			}
			res := app.Do(servertest.Request{Method: c.method, Path: c.path, Token: ben.AccessToken, Body: body})
			if p := decodeProblem(t, res); res.Status != 404 || p.Code != "not_found" {
				t.Errorf("Ben %s %s: %d %+v, want 404", c.method, c.path, res.Status, p)
			}
		}
		if list := do(t, app, 200, "GET", "/v1/webhooks", ben.AccessToken, nil); len(list["data"].([]any)) != 0 {
			t.Errorf("Ben lists %v", list)
		}

		// Change, then delete.
		upd := do(t, app, 200, "PATCH", "/v1/webhooks/"+hook, ana.AccessToken, map[string]any{"event_types": []string{"breach.recorded"}, "description": "breaches"})
		if upd["description"] != "breaches" || len(upd["event_types"].([]any)) != 1 {
			t.Fatalf("update %v", upd)
		}
		do(t, app, 422, "PATCH", "/v1/webhooks/"+hook, ana.AccessToken, map[string]any{"event_types": []string{"promise.exploded"}})
		do(t, app, 204, "DELETE", "/v1/webhooks/"+hook, ana.AccessToken, nil)
		do(t, app, 404, "GET", "/v1/webhooks/"+hook, ana.AccessToken, nil)
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestWebhookFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, hookOpts())
		startHooks(t, app)
		ana := app.Register("Ana")
		ping := func(hook string) string {
			return do(t, app, 202, "POST", "/v1/webhooks/"+hook+"/ping", ana.AccessToken, nil)["event_id"].(string)
		}

		// A 500, then success on the retry.
		flaky := newReceiver(t, func(n int, w http.ResponseWriter) {
			if n == 0 {
				w.WriteHeader(500)
			}
		})
		hook, _ := createHook(t, app, ana.AccessToken, map[string]any{"url": flaky.url()})
		ev := ping(hook)
		d := waitDelivery(t, app, ana.AccessToken, hook, ev, "succeeded", 2)
		if got := flaky.wait(t, 2); got[0].id() != ev || got[1].id() != ev || d["attempt"] != 2.0 || d["response_code"] != 200.0 {
			t.Fatalf("retry: %v / %v", ids(got), d)
		}

		// A redirect is a failure and is not followed; after the last attempt the delivery has failed.
		target := newReceiver(t, nil)
		redirect := newReceiver(t, func(_ int, w http.ResponseWriter) {
			w.Header().Set("Location", target.url())
			w.WriteHeader(http.StatusFound)
		})
		hook, _ = createHook(t, app, ana.AccessToken, map[string]any{"url": redirect.url()})
		ev = ping(hook)
		d = waitDelivery(t, app, ana.AccessToken, hook, ev, "failed", 3)
		if d["response_code"] != 302.0 || !strings.Contains(d["error"].(string), "redirect") || d["next_attempt_at"] != nil || len(target.all()) != 0 {
			t.Fatalf("redirect: %v, target got %d", d, len(target.all()))
		}

		// 410 disables the endpoint at once and tells the owner.
		gone := newReceiver(t, status(http.StatusGone))
		hook, _ = createHook(t, app, ana.AccessToken, map[string]any{"url": gone.url()})
		ev = ping(hook)
		waitDelivery(t, app, ana.AccessToken, hook, ev, "failed", 1)
		w := do(t, app, 200, "GET", "/v1/webhooks/"+hook, ana.AccessToken, nil)
		if w["enabled"] != false || w["disabled_reason"] != "gone" {
			t.Fatalf("after 410: %v", w)
		}
		es, _ := feed(t, app, ana.AccessToken, "", "&types=webhook.disabled")
		if len(es) != 1 || es[0]["data"].(map[string]any)["webhook_id"] != hook || es[0]["data"].(map[string]any)["reason"] != "gone" {
			t.Fatalf("webhook.disabled events %v", es)
		}
		if p := decodeProblem(t, app.Do(servertest.Request{Method: "POST", Path: "/v1/webhooks/" + hook + "/ping", Token: ana.AccessToken})); p.Code != "webhook_disabled" {
			t.Fatalf("ping a disabled endpoint: %+v", p)
		}
		if len(gone.all()) != 1 {
			t.Fatalf("a gone endpoint got %d requests", len(gone.all()))
		}

		// Failing every delivery for five days disables an endpoint.
		down := newReceiver(t, status(http.StatusInternalServerError))
		hook, _ = createHook(t, app, ana.AccessToken, map[string]any{"url": down.url()})
		waitDelivery(t, app, ana.AccessToken, hook, ping(hook), "failed", 3)
		later(t, app, 4*24*time.Hour, &ana)
		waitDelivery(t, app, ana.AccessToken, hook, ping(hook), "failed", 3)
		if w := do(t, app, 200, "GET", "/v1/webhooks/"+hook, ana.AccessToken, nil); w["enabled"] != true {
			t.Fatalf("disabled after 4 days: %v", w)
		}
		later(t, app, 24*time.Hour, &ana)
		waitDelivery(t, app, ana.AccessToken, hook, ping(hook), "failed", 1)
		if w := do(t, app, 200, "GET", "/v1/webhooks/"+hook, ana.AccessToken, nil); w["enabled"] != false || w["disabled_reason"] != "failing" {
			t.Fatalf("after 5 days of failures: %v", w)
		}
		// (The redirecting endpoint, failing the webhook.disabled deliveries, may go too.)
		es, _ = feed(t, app, ana.AccessToken, "", "&types=webhook.disabled")
		if !slices.ContainsFunc(es, func(e map[string]any) bool {
			d := e["data"].(map[string]any)
			return d["webhook_id"] == hook && d["reason"] == "failing" && e["actor_id"] == "system" && e["relationship_id"] == nil
		}) {
			t.Fatalf("no webhook.disabled event for %s: %v", hook, es)
		}
		// Enabling it again starts afresh.
		if w := do(t, app, 200, "PATCH", "/v1/webhooks/"+hook, ana.AccessToken, map[string]any{"enabled": true}); w["enabled"] != true || w["disabled_reason"] != nil {
			t.Fatalf("re-enabled: %v", w)
		}
	})
}

// A delivery whose first attempt failed completes after the server stops
// and another starts on the same database.
func TestWebhookDeliverySurvivesRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		opts := hookOpts(0, 500*time.Millisecond)
		app := servertest.New(t, b, opts)
		startHooks(t, app)
		ana := app.Register("Ana")
		rc := newReceiver(t, func(n int, w http.ResponseWriter) {
			if n == 0 {
				w.WriteHeader(503)
			}
		})
		hook, secret := createHook(t, app, ana.AccessToken, map[string]any{"url": rc.url()})
		ev := do(t, app, 202, "POST", "/v1/webhooks/"+hook+"/ping", ana.AccessToken, nil)["event_id"].(string)
		d := waitDelivery(t, app, ana.AccessToken, hook, ev, "retrying", 1)
		if d["next_attempt_at"] == nil || d["response_code"] != 503.0 {
			t.Fatalf("after the first attempt: %v", d)
		}
		if err := app.Server.Close(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if n := len(rc.all()); n != 1 {
			t.Fatalf("%d requests before the restart", n)
		}

		again := servertest.New(t, b, opts)
		startHooks(t, again)
		r := rc.wait(t, 2)[1]
		verify(t, secret, r)
		if r.id() != ev {
			t.Fatalf("webhook-id %s after restart, want %s", r.id(), ev)
		}
		waitDelivery(t, again, ana.AccessToken, hook, ev, "succeeded", 2)
	})
}

// Two instances on one database deliver each event once.
func TestWebhookTwoInstancesDeliverOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		one := servertest.New(t, b, hookOpts())
		two := servertest.New(t, b, hookOpts())
		startHooks(t, one)
		startHooks(t, two)
		ana, _, rel := pair(t, one)
		rc := newReceiver(t, nil)
		createHook(t, one, ana.AccessToken, map[string]any{"url": rc.url()})
		const n = 30
		for i := 0; i < n; i++ {
			app := []*servertest.App{one, two}[i%2]
			do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{"title": "Call", "due_at": ts(app.Clock.Now().Add(48 * time.Hour))})
		}
		rc.wait(t, n)
		time.Sleep(500 * time.Millisecond) // duplicates would arrive by now
		seen := map[string]int{}
		for _, r := range rc.all() {
			seen[r.id()]++
		}
		if len(rc.all()) != n || len(seen) != n {
			t.Fatalf("%d requests for %d events, want %d each once", len(rc.all()), len(seen), n)
		}
	})
}

// Without the development switch, URLs that could reach the server's own
// network are refused.
func TestWebhookURLValidation(t *testing.T) {
	app := sqliteApp(t)
	ana := app.Register("Ana")
	cases := []struct{ url, code string }{
		{"http://127.0.0.1/hook", "https_required"},
		{"http://example.com/hook", "https_required"},
		{"https://127.0.0.1/hook", "forbidden_address"},
		{"https://169.254.169.254/latest/meta-data", "forbidden_address"},
		{"https://[::ffff:127.0.0.1]/hook", "forbidden_address"},
		{"https://[::ffff:a9fe:a9fe]/hook", "forbidden_address"},
		{"https://[::1]/hook", "forbidden_address"},
		{"https://[fd00::1]/hook", "forbidden_address"},
		{"https://[fe80::1]/hook", "forbidden_address"},
		{"https://10.0.0.1/hook", "forbidden_address"},
		{"https://172.16.5.4/hook", "forbidden_address"},
		{"https://192.168.1.1/hook", "forbidden_address"},
		{"https://100.64.0.1/hook", "forbidden_address"},
		{"https://0.0.0.0/hook", "forbidden_address"},
		{"https://224.0.0.1/hook", "forbidden_address"},
		{"https://localhost/hook", "forbidden_address"},
		{"https://user:pw@example.com/hook", "credentials_in_url"},
		{"ftp://example.com/hook", "invalid_scheme"},
		{"/relative", "invalid_url"},
		{"https://example.com/" + strings.Repeat("a", 2048), "too_long"},
		{"https://1.1.1.1:0/", "invalid_url"},
		{"https://1.1.1.1:65536/hook", "invalid_url"},
		{"https://1.1.1.1/ x", "invalid_url"},
		{"https://1.1.1.1/hook?a=b c", "invalid_url"},
		{"https://1.1.1.1/hook#a\tb", "invalid_url"},
	}
	for _, c := range cases {
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/webhooks", Token: ana.AccessToken, Body: map[string]any{"url": c.url}})
		p := decodeProblem(t, res)
		if res.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "url" || p.Errors[0].Code != c.code {
			t.Errorf("%.60s: %d %+v, want 422 %s", c.url, res.Status, p, c.code)
		}
	}
	res := app.Do(servertest.Request{Method: "POST", Path: "/v1/webhooks", Token: ana.AccessToken, Body: map[string]any{"url": "https://93.184.215.14/hook", "event_types": []string{"promise.created", "nope"}}})
	if p := decodeProblem(t, res); res.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "event_types[1]" {
		t.Errorf("unknown event type: %d %+v", res.Status, p)
	}
	// A public address is fine, and so is changing to another.
	hook, _ := createHook(t, app, ana.AccessToken, map[string]any{"url": "https://93.184.215.14/hook"})
	do(t, app, 422, "PATCH", "/v1/webhooks/"+hook, ana.AccessToken, map[string]any{"url": "https://10.1.2.3/"})
	do(t, app, 200, "PATCH", "/v1/webhooks/"+hook, ana.AccessToken, map[string]any{"url": "https://93.184.215.15/hook"})
	// A port outside 1–65535, or a space, is refused on a change too.
	for _, u := range []string{"https://1.1.1.1:0/", "https://1.1.1.1/ x"} {
		res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/webhooks/" + hook, Token: ana.AccessToken, Body: map[string]any{"url": u}})
		if p := decodeProblem(t, res); res.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "url" || p.Errors[0].Code != "invalid_url" {
			t.Errorf("PATCH %q: %d %+v, want 422 invalid_url", u, res.Status, p)
		}
	}
	do(t, app, 200, "PATCH", "/v1/webhooks/"+hook, ana.AccessToken, map[string]any{"url": "https://93.184.215.15:8443/hook%20x"})
}

// A receiver that drops 30% of responses (the connection closes before
// troth hears back) still gets every event; the only duplicates are retries
// carrying the same webhook-id.
func TestWebhookUnreliableReceiver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, hookOpts(0, 0, 0, 0, 0, 0, 0, 0))
		ana, ben, rel := pair(t, app)
		var mu sync.Mutex
		dropped := map[int]bool{}
		rc := newReceiver(t, func(n int, w http.ResponseWriter) {
			if n%10 == 1 || n%10 == 4 || n%10 == 7 {
				mu.Lock()
				dropped[n] = true
				mu.Unlock()
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
			}
		})
		hook, secret := createHook(t, app, ana.AccessToken, map[string]any{"url": rc.url(), "event_types": []string{"check_in.recorded"}})
		startHooks(t, app)
		const events = 20
		for i := range events {
			do(t, app, 201, "POST", "/v1/relationships/"+rel+"/check-ins", ben.AccessToken,
				map[string]any{"subject_id": ana.ID, "felt_trust": i % 11})
		}
		want, _ := feed(t, app, ana.AccessToken, "", "&types=check_in.recorded")
		if len(want) != events {
			t.Fatalf("%d check-in events, want %d", len(want), events)
		}
		delivered := func() map[string]int {
			got := map[string]int{}
			mu.Lock()
			defer mu.Unlock()
			for n, r := range rc.all() {
				if !dropped[n] {
					got[r.id()]++
				}
			}
			return got
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := delivered()
			missing := 0
			for _, e := range want {
				if got[e["id"].(string)] == 0 {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d events never delivered", missing, events)
			}
			time.Sleep(10 * time.Millisecond)
		}
		all := rc.all()
		seen := map[string]bool{}
		mu.Lock()
		drops := len(dropped)
		mu.Unlock()
		for _, e := range want {
			seen[e["id"].(string)] = true
		}
		for _, r := range all {
			if !seen[r.id()] {
				t.Fatalf("received an event that was never recorded: %s", r.id())
			}
			verify(t, secret, r)
		}
		// Each event arrived once per dropped attempt plus once.
		if len(all) != events+drops {
			t.Fatalf("%d requests for %d events and %d drops: duplicates beyond retries", len(all), events, drops)
		}
		if drops < 5 {
			t.Fatalf("only %d responses dropped: the test did not exercise retries", drops)
		}
		for _, d := range deliveries(t, app, ana.AccessToken, hook) {
			if d["status"] != "succeeded" {
				waitDelivery(t, app, ana.AccessToken, hook, d["event_id"].(string), "succeeded", 1)
			}
		}
	})
}
