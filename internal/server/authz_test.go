package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// authzWorld is a relationship with something of every kind in it, seen
// from outside by Cleo.
type authzWorld struct {
	app            *servertest.App
	ana, ben, cleo servertest.User
	rel            string
	oneOff         string // completed by Ana's unverified follow-through
	recurring      string // active, with a pause
	occurrence     string // an open occurrence of the recurring promise
	followThrough  string // Ana's, unverified
	renegotiation  string // Ana's, pending
	usedCode       string // an invite code already spent
	freshCode      string // a valid invite code
	freshInvite    string // its invite's id
	breaches       bool   // the breach routes exist
	checkIns       bool   // the check-in routes exist
	webhook        string // Ana's webhook endpoint
	delivery       string // a delivery to it (a ping)
	apiKey         string // Ana's API key
}

func allowPrivateWebhooks(c *config.Config) { c.WebhookAllowPrivate = true }

func hasRoute(app *servertest.App, method, path string) bool {
	for _, r := range app.Server.Handler().(*echo.Echo).Routes() {
		if r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}

func newAuthzWorld(t *testing.T, app *servertest.App) *authzWorld {
	t.Helper()
	w := &authzWorld{app: app}
	w.ana, w.ben, w.rel = pair(t, app)
	w.cleo = app.Register("Cleo")
	// Cleo is a member of a relationship of her own: membership somewhere
	// must open nothing elsewhere.
	do(t, app, 201, "POST", "/v1/relationships", w.cleo.AccessToken, map[string]any{"name": "Cleo's", "time_zone": "UTC"})
	now := app.Clock.Now()
	ana := w.ana.AccessToken

	w.oneOff = do(t, app, 201, "POST", "/v1/relationships/"+w.rel+"/promises", ana, map[string]any{"title": "Home by 19:00", "due_at": ts(now.Add(2 * time.Hour))})["id"].(string)
	occ := occurrencesOf(t, app, ana, w.oneOff, "")[0]["id"].(string)
	w.followThrough = do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", ana, map[string]any{"outcome": "kept"})["id"].(string)

	other := do(t, app, 201, "POST", "/v1/relationships/"+w.rel+"/promises", ana, map[string]any{"title": "Fix the bike", "due_at": ts(now.Add(24 * time.Hour))})["id"].(string)
	occ2 := occurrencesOf(t, app, ana, other, "")[0]["id"].(string)
	w.renegotiation = do(t, app, 201, "POST", "/v1/occurrences/"+occ2+"/renegotiations", ana, map[string]any{"proposed_due_at": ts(now.Add(72 * time.Hour))})["id"].(string)

	w.recurring = do(t, app, 201, "POST", "/v1/relationships/"+w.rel+"/promises", ana, map[string]any{
		"title": "Call every Sunday", "recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": "20:00"},
	})["id"].(string)
	today := now.In(berlin(t))
	do(t, app, 201, "POST", "/v1/promises/"+w.recurring+"/pauses", ana, map[string]any{
		"starts_on": today.AddDate(0, 0, 10).Format(time.DateOnly), "ends_on": today.AddDate(0, 0, 24).Format(time.DateOnly), "reason": "holiday",
	})
	w.occurrence = occurrencesOf(t, app, ana, w.recurring, "&status=open")[0]["id"].(string)

	// A spent code: Dan joins with it and leaves again.
	dan := app.Register("Dan")
	w.usedCode = do(t, app, 201, "POST", "/v1/relationships/"+w.rel+"/invites", ana, nil)["code"].(string)
	do(t, app, 200, "POST", "/v1/invites/"+w.usedCode+"/accept", dan.AccessToken, nil)
	do(t, app, 204, "DELETE", "/v1/relationships/"+w.rel+"/members/me", dan.AccessToken, nil)
	fresh := do(t, app, 201, "POST", "/v1/relationships/"+w.rel+"/invites", ana, nil)
	w.freshCode, w.freshInvite = fresh["code"].(string), fresh["id"].(string)

	if w.breaches = hasRoute(app, "POST", "/v1/relationships/:id/breaches"); w.breaches {
		do(t, app, 201, "POST", "/v1/relationships/"+w.rel+"/breaches", ana, w.breachBody())
	}
	if w.checkIns = hasRoute(app, "POST", "/v1/relationships/:id/check-ins"); w.checkIns {
		do(t, app, 201, "POST", "/v1/relationships/"+w.rel+"/check-ins", w.ben.AccessToken, map[string]any{"subject_id": w.ana.ID, "felt_trust": 6, "note": "better lately"})
	}
	// Ana's own things outside the relationship: a webhook endpoint (the
	// app allows private URLs; no delivery runs), one ping to it, an API key.
	w.webhook = do(t, app, 201, "POST", "/v1/webhooks", ana, map[string]any{"url": "http://127.0.0.1:9/hook", "description": "Ana's"})["id"].(string)
	w.delivery = do(t, app, 202, "POST", "/v1/webhooks/"+w.webhook+"/ping", ana, nil)["id"].(string)
	w.apiKey = do(t, app, 201, "POST", "/v1/api-keys", ana, map[string]any{"name": "Ana's script", "scope": "read"})["id"].(string)
	return w
}

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func (w *authzWorld) breachBody() map[string]any {
	return map[string]any{"member_id": w.ana.ID, "description": "forgot the anniversary", "occurred_at": ts(w.app.Clock.Now().Add(-time.Hour)), "severity": "major"}
}

// bodies are valid requests for the routes that read one, so that an
// outsider is refused for who they are, not for what they sent. POST and
// PATCH routes missing here are sent {}.
func (w *authzWorld) bodies(t *testing.T) map[string]any {
	now := w.app.Clock.Now()
	today := now.In(berlin(t))
	return map[string]any{
		"PATCH /v1/relationships/:id":              map[string]any{"name": "Cleo's now"},
		"POST /v1/relationships/:id/promises":      map[string]any{"title": "Cleo was here", "due_at": ts(now.Add(24 * time.Hour))},
		"PATCH /v1/promises/:id":                   map[string]any{"title": "hijacked"},
		"POST /v1/promises/:id/pauses":             map[string]any{"starts_on": today.AddDate(0, 0, 30).Format(time.DateOnly), "ends_on": today.AddDate(0, 0, 31).Format(time.DateOnly)},
		"POST /v1/occurrences/:id/follow-throughs": map[string]any{"outcome": "missed", "note": "says Cleo"},
		"POST /v1/follow-throughs/:id/dispute":     map[string]any{"reason": "Cleo says no"},
		"POST /v1/occurrences/:id/renegotiations":  map[string]any{"proposed_due_at": ts(now.Add(96 * time.Hour))},
		"POST /v1/relationships/:id/breaches":      w.breachBody(),
		"POST /v1/relationships/:id/check-ins":     map[string]any{"subject_id": w.ana.ID, "felt_trust": 1, "note": "Cleo's opinion"},
	}
}

// fill puts the world's objects into a route's path parameters. skip says
// why a route cannot be swept yet; err names a parameter the sweep does not
// know.
func (w *authzWorld) fill(path, code string) (filled, skip string, err error) {
	segs := strings.Split(path, "/")
	prefix := ""
	if len(segs) > 2 {
		prefix = segs[2]
	}
	ids := map[string]string{
		"relationships": w.rel, "promises": w.recurring, "occurrences": w.occurrence,
		"follow-throughs": w.followThrough, "renegotiations": w.renegotiation,
		"webhooks": w.webhook, "api-keys": w.apiKey,
	}
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			continue
		}
		switch {
		case s == ":id" && ids[prefix] != "":
			segs[i] = ids[prefix]
		case s == ":code" && prefix == "invites":
			segs[i] = code
		case s == ":user_id" && prefix == "relationships":
			segs[i] = w.ana.ID
		case s == ":delivery_id" && prefix == "webhooks":
			segs[i] = w.delivery
		case s == ":invite_id" && prefix == "relationships":
			segs[i] = w.freshInvite
		default:
			return "", "", fmt.Errorf("route %s: the authorization sweep does not know path parameter %s under /v1/%s; teach authzWorld.fill (authz_test.go) how to make one", path, s, prefix)
		}
	}
	return strings.Join(segs, "/"), "", nil
}

// snapshot is everything in the relationship as Ana sees it.
func (w *authzWorld) snapshot(t *testing.T, token string, pausesOf ...string) map[string]any {
	t.Helper()
	paths := []string{
		"/v1/relationships/" + w.rel,
		"/v1/relationships/" + w.rel + "/members",
		"/v1/relationships/" + w.rel + "/invites?limit=100",
		"/v1/relationships/" + w.rel + "/promises?limit=100",
		"/v1/relationships/" + w.rel + "/occurrences?limit=100",
		"/v1/relationships/" + w.rel + "/follow-throughs?limit=100",
		"/v1/relationships/" + w.rel + "/renegotiations?limit=100",
		"/v1/webhooks",
		"/v1/webhooks/" + w.webhook + "/deliveries?limit=100",
		"/v1/api-keys",
	}
	for _, p := range pausesOf {
		paths = append(paths, "/v1/promises/"+p+"/pauses?limit=100")
	}
	for _, list := range []string{"breaches", "check-ins"} {
		if hasRoute(w.app, "GET", "/v1/relationships/:id/"+list) {
			paths = append(paths, "/v1/relationships/"+w.rel+"/"+list)
		}
	}
	snap := map[string]any{}
	for _, p := range paths {
		m := do(t, w.app, 200, "GET", p, token, nil)
		if c, ok := m["next_cursor"]; ok && c != nil {
			t.Fatalf("snapshot %s has more than one page", p)
		}
		snap[p] = m
	}
	return snap
}

type sweptRoute struct {
	method, pattern, path string
	body                  any
}

// TestOutsidersSeeNothing calls every /v1 route of the route table as a
// user outside the relationship, without a token and with an expired one,
// and checks that each answers 404 or 401 and that nothing changed.
func TestOutsidersSeeNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, allowPrivateWebhooks)
		w := newAuthzWorld(t, app)
		before := w.snapshot(t, w.ana.AccessToken, w.recurring)
		bodies := w.bodies(t)

		var outsider, unauthenticated []sweptRoute
		fixtureIDs := []string{w.rel, w.oneOff, w.recurring, w.occurrence, w.followThrough, w.renegotiation}
		for _, r := range app.Server.Handler().(*echo.Echo).Routes() {
			if !strings.HasPrefix(r.Path, "/v1/") || strings.HasPrefix(r.Path, "/v1/auth/") {
				continue
			}
			var body any
			if r.Method == "POST" || r.Method == "PATCH" {
				body = map[string]any{}
				if b, ok := bodies[r.Method+" "+r.Path]; ok {
					body = b
				}
			}
			// Without credentials the objects need not exist.
			path, skip, err := w.fill(r.Path, w.freshCode)
			if skip != "" || err != nil {
				path = strings.NewReplacer(":id", "x", ":code", "x", ":user_id", "x", ":delivery_id", "x", ":invite_id", "x").Replace(r.Path)
			}
			unauthenticated = append(unauthenticated, sweptRoute{r.Method, r.Path, path, body})

			switch {
			case r.Path == "/v1/me":
				continue // the caller's own
			case err != nil:
				t.Error(err)
				continue
			case skip != "":
				t.Logf("%s %s: skipped: %s", r.Method, r.Path, skip)
				continue
			case !strings.Contains(r.Path, ":"):
				// The caller's own collections: reading them must not
				// reveal Ana's relationship; writing makes Cleo's own.
				if r.Method == "GET" {
					res := app.Do(servertest.Request{Method: "GET", Path: path, Token: w.cleo.AccessToken})
					if res.Status != http.StatusOK {
						t.Errorf("Cleo GET %s: %d %s", path, res.Status, res.Body)
					}
					for _, id := range fixtureIDs {
						if strings.Contains(string(res.Body), id) {
							t.Errorf("Cleo GET %s reveals %s: %s", path, id, res.Body)
						}
					}
				}
				continue
			case r.Path == "/v1/invites/:code/accept":
				// A valid code is how an outsider joins; a spent one is 404.
				path, _, _ = w.fill(r.Path, w.usedCode)
			}
			outsider = append(outsider, sweptRoute{r.Method, r.Path, path, body})
		}

		if len(outsider) < 20 {
			t.Fatalf("only %d routes swept: is the route table read right?", len(outsider))
		}
		for _, r := range outsider {
			// Control: the path names real objects, which a member can read.
			if r.method == "GET" {
				if res := app.Do(servertest.Request{Method: "GET", Path: r.path, Token: w.ana.AccessToken}); res.Status != http.StatusOK {
					t.Errorf("control: Ana GET %s: %d %s", r.path, res.Status, res.Body)
				}
			}
			res := app.Do(servertest.Request{Method: r.method, Path: r.path, Token: w.cleo.AccessToken, Body: r.body})
			if res.Status != http.StatusNotFound {
				t.Errorf("outsider %s %s: %d %s, want 404", r.method, r.pattern, res.Status, res.Body)
				continue
			}
			if p := decodeProblem(t, res); p.Code != "not_found" {
				t.Errorf("outsider %s %s: code %q, want not_found", r.method, r.pattern, p.Code)
			}
		}

		sweep401 := func(who, token string) {
			t.Helper()
			for _, r := range unauthenticated {
				res := app.Do(servertest.Request{Method: r.method, Path: r.path, Token: token, Body: r.body})
				if res.Status != http.StatusUnauthorized {
					t.Errorf("%s %s %s: %d %s, want 401", who, r.method, r.pattern, res.Status, res.Body)
					continue
				}
				decodeProblem(t, res)
			}
		}
		sweep401("no token", "")

		// Ana's read-only API key changes nothing anywhere (403 on every
		// write, in her own relationship too), and a revoked key of hers
		// opens nothing at all.
		readKey := do(t, app, 201, "POST", "/v1/api-keys", w.ana.AccessToken, map[string]any{"name": "sweep read", "scope": "read"})
		for _, r := range unauthenticated {
			if r.method == "GET" || r.method == "HEAD" {
				continue
			}
			path, _, err := w.fill(r.pattern, w.freshCode)
			if err != nil {
				t.Error(err)
				continue
			}
			res := app.Do(servertest.Request{Method: r.method, Path: path, Token: readKey["secret"].(string), Body: r.body})
			if p := decodeProblem(t, res); res.Status != http.StatusForbidden || (p.Code != "insufficient_scope" && p.Code != "user_token_required") {
				t.Errorf("read-only key %s %s: %d %s, want 403 insufficient_scope", r.method, r.pattern, res.Status, res.Body)
			}
		}
		do(t, app, 204, "DELETE", "/v1/api-keys/"+readKey["id"].(string), w.ana.AccessToken, nil)
		sweep401("revoked API key", readKey["secret"].(string))

		// Ana's own token, once expired, opens nothing.
		expired := w.ana.AccessToken
		app.Clock.Advance(16 * time.Minute)
		sweep401("expired token", expired)
		app.Login(&w.ana)
		app.Login(&w.cleo)

		after := w.snapshot(t, w.ana.AccessToken, w.recurring)
		if d := cmp.Diff(before, after); d != "" {
			t.Errorf("the sweep changed Ana's relationship (-before +after):\n%s", d)
		}
		// The fresh code was offered without credentials and is still good.
		do(t, app, 200, "POST", "/v1/invites/"+w.freshCode+"/accept", w.cleo.AccessToken, nil)
	})
}

// TestRoleChecks: members who may see an object may still not be the one
// allowed to act on it; refusals are 403 with a stable code and change
// nothing.
func TestRoleChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, allowPrivateWebhooks)
		w := newAuthzWorld(t, app)
		now := app.Clock.Now()
		ana, ben := w.ana.AccessToken, w.ben.AccessToken
		before := w.snapshot(t, ana, w.recurring)
		cases := []struct {
			name, method, path, token string
			body                      any
			wantCode                  string
		}{
			{"promisor confirms", "POST", "/v1/follow-throughs/" + w.followThrough + "/confirm", ana, nil, "promisee_only"},
			{"promisor disputes", "POST", "/v1/follow-throughs/" + w.followThrough + "/dispute", ana, map[string]any{"reason": "no"}, "promisee_only"},
			{"promisor accepts", "POST", "/v1/renegotiations/" + w.renegotiation + "/accept", ana, nil, "promisee_only"},
			{"promisor declines", "POST", "/v1/renegotiations/" + w.renegotiation + "/decline", ana, nil, "promisee_only"},
			{"promisee edits", "PATCH", "/v1/promises/" + w.recurring, ben, map[string]any{"title": "Call every Monday"}, "promisor_only"},
			{"promisee cancels", "DELETE", "/v1/promises/" + w.recurring, ben, nil, "promisor_only"},
			{"promisee proposes", "POST", "/v1/occurrences/" + w.occurrence + "/renegotiations", ben, map[string]any{"proposed_due_at": ts(now.Add(96 * time.Hour))}, "promisor_only"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := app.Do(servertest.Request{Method: tc.method, Path: tc.path, Token: tc.token, Body: tc.body})
				if res.Status != http.StatusForbidden {
					t.Fatalf("%s %s: %d %s, want 403", tc.method, tc.path, res.Status, res.Body)
				}
				if p := decodeProblem(t, res); p.Code != tc.wantCode {
					t.Fatalf("%s %s: code %q, want %q", tc.method, tc.path, p.Code, tc.wantCode)
				}
			})
		}
		if d := cmp.Diff(before, w.snapshot(t, ana, w.recurring)); d != "" {
			t.Errorf("refused requests changed the relationship (-before +after):\n%s", d)
		}
	})
}
