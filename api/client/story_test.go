package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/troth-app/troth/api/client"
	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// answer is what every generated response has.
type answer interface{ StatusCode() int }

// check fails the test unless the call succeeded with status want.
func check[R answer](t *testing.T, want int, res R, err error) R {
	t.Helper()
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if res.StatusCode() != want {
		v := reflect.ValueOf(res).Elem()
		perr := client.Check(v.FieldByName("HTTPResponse").Interface().(*http.Response), v.FieldByName("Body").Bytes())
		t.Fatalf("status %d, want %d: %v", res.StatusCode(), want, perr)
	}
	return res
}

// countingDoer counts the requests to each path.
type countingDoer struct {
	next  client.HttpRequestDoer
	mu    sync.Mutex
	calls map[string]int
}

func (d *countingDoer) Do(req *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.calls[req.URL.Path]++
	d.mu.Unlock()
	return d.next.Do(req)
}

func (d *countingDoer) count(path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[path]
}

// hookReceiver is a local webhook endpoint.
type hookReceiver struct {
	mu  sync.Mutex
	got []*http.Request
	raw [][]byte
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.got = append(h.got, r.Clone(context.Background()))
	h.raw = append(h.raw, body)
	h.mu.Unlock()
}

// waitFor polls until an event of type typ arrives and returns its headers
// and body.
func (h *hookReceiver) waitFor(t *testing.T, typ string) (http.Header, []byte) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.mu.Lock()
		for i, body := range h.raw {
			var p struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(body, &p) == nil && p.Type == typ {
				hdr := h.got[i].Header
				h.mu.Unlock()
				return hdr, body
			}
		}
		n := len(h.raw)
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s webhook among %d received", typ, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// person is a user with an authenticated SDK client.
type person struct {
	ID     string
	API    *client.ClientWithResponses
	Tokens *client.Tokens
}

func register(t *testing.T, ctx context.Context, url string, auth *client.ClientWithResponses, name string) person {
	t.Helper()
	email := strings.ToLower(name) + "@example.com"
	pw := "password-" + name
	res, err := auth.RegisterWithResponse(ctx, client.RegisterRequest{Email: email, Password: pw, DisplayName: name, TimeZone: "Europe/Berlin"})
	reg := check(t, http.StatusCreated, res, err).JSON201
	tokens := client.NewTokens(auth, email, pw)
	tokens.Set(*reg)
	api, err := client.NewClientWithResponses(url, tokens.Option())
	if err != nil {
		t.Fatal(err)
	}
	return person{ID: reg.User.Id, API: api, Tokens: tokens}
}

func ptr[T any](v T) *T { return &v }

// The whole story of issue 8, through the generated SDK and its
// convenience layer, against a real server on a real database.
func TestStoryThroughSDK(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b, func(c *config.Config) {
			c.WebhookAllowPrivate = true
			c.WebhookRetrySchedule = []time.Duration{0, 0, 0}
		})
		ctx := context.Background()
		if err := app.Server.Webhooks.Start(ctx); err != nil {
			t.Fatalf("start webhooks: %v", err)
		}
		srv := httptest.NewServer(app.Server.Handler())
		t.Cleanup(srv.Close)
		receiver := &hookReceiver{}
		hookSrv := httptest.NewServer(receiver)
		t.Cleanup(hookSrv.Close)
		berlin, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}

		authDoer := &countingDoer{next: http.DefaultClient, calls: map[string]int{}}
		auth, err := client.NewClientWithResponses(srv.URL, client.WithHTTPClient(authDoer))
		if err != nil {
			t.Fatal(err)
		}
		ana := register(t, ctx, srv.URL, auth, "Ana")
		ben := register(t, ctx, srv.URL, auth, "Ben")

		// A relationship, an invite, and Ben joins.
		relRes, err := ana.API.CreateRelationshipWithResponse(ctx, nil, client.CreateRelationshipRequest{
			Name: "Ana & Ben", PartnerName: ptr("Ben"), TimeZone: "Europe/Berlin"})
		rel := check(t, http.StatusCreated, relRes, err).JSON201.Id
		invRes, err := ana.API.CreateInviteWithResponse(ctx, rel, nil)
		inv := check(t, http.StatusCreated, invRes, err).JSON201
		accRes, err := ben.API.AcceptInviteWithResponse(ctx, inv.Code, nil)
		if members := check(t, http.StatusOK, accRes, err).JSON200.Members; len(members) != 2 {
			t.Fatalf("members after accepting %+v", members)
		}
		// A copy still current: 304, which Check names.
		getRes, err := ana.API.GetRelationshipWithResponse(ctx, rel, nil)
		etag := check(t, http.StatusOK, getRes, err).HTTPResponse.Header.Get("ETag")
		getRes, err = ana.API.GetRelationshipWithResponse(ctx, rel, &client.GetRelationshipParams{IfNoneMatch: &etag})
		if err != nil || !errors.Is(client.Check(getRes.HTTPResponse, getRes.Body), client.ErrNotModified) || getRes.JSON200 != nil {
			t.Fatalf("If-None-Match with the current ETag: %v %d", err, getRes.StatusCode())
		}

		// Ana's webhook endpoint hears everything from here on.
		hookRes, err := ana.API.CreateWebhookWithResponse(ctx, nil, client.CreateWebhookRequest{Url: hookSrv.URL + "/hook"})
		hook := check(t, http.StatusCreated, hookRes, err).JSON201

		// Two one-off promises, due half an hour ago and kept: Ben confirms
		// one and disputes the other.
		now := app.Clock.Now()
		oneOff := func(title string) (promise, occurrence string) {
			t.Helper()
			pRes, err := ana.API.CreatePromiseWithResponse(ctx, rel, nil, client.CreatePromiseRequest{Title: title, DueAt: ptr(now.Add(-30 * time.Minute))})
			p := check(t, http.StatusCreated, pRes, err).JSON201
			if p.Kind != "one_off" || p.PromiseeId == nil || *p.PromiseeId != ben.ID {
				t.Fatalf("promise %+v", p)
			}
			oRes, err := ana.API.ListPromiseOccurrencesWithResponse(ctx, p.Id, nil)
			occ := check(t, http.StatusOK, oRes, err).JSON200.Data
			if len(occ) != 1 || occ[0].Status != "open" {
				t.Fatalf("occurrences %+v", occ)
			}
			return p.Id, occ[0].Id
		}
		record := func(occ string) string {
			t.Helper()
			res, err := ana.API.RecordFollowThroughWithResponse(ctx, occ, nil, client.RecordFollowThroughRequest{Outcome: "kept", Note: ptr("done"), OccurredAt: ptr(now.Add(-40 * time.Minute))})
			ft := check(t, http.StatusCreated, res, err).JSON201
			if ft.Verification != "unverified" || ft.RecordedBy != ana.ID {
				t.Fatalf("follow-through %+v", ft)
			}
			return ft.Id
		}
		home, homeOcc := oneOff("Home by 19:00 on Friday")
		confirmRes, err := ben.API.ConfirmFollowThroughWithResponse(ctx, record(homeOcc), nil)
		if v := check(t, http.StatusOK, confirmRes, err).JSON200.Verification; v != "confirmed" {
			t.Fatalf("confirmed follow-through: %s", v)
		}
		_, dishesOcc := oneOff("Do the dishes")
		disputeRes, err := ben.API.DisputeFollowThroughWithResponse(ctx, record(dishesOcc), nil, client.DisputeRequest{Reason: "they are still in the sink"})
		if ft := check(t, http.StatusOK, disputeRes, err).JSON200; ft.Verification != "disputed" || ft.DisputeReason == nil {
			t.Fatalf("disputed follow-through: %+v", ft)
		}

		// Ana's endpoint heard the follow-through, signed (before the clock
		// moves on: a signature carries its time, checked against ours).
		hdr, body := receiver.waitFor(t, "follow_through.recorded")
		wh, err := standardwebhooks.NewWebhook(hook.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, hdr); err != nil {
			t.Fatalf("webhook signature does not verify: %v", err)
		}
		var ev struct {
			Type string               `json:"type"`
			Data client.FollowThrough `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.Data.RelationshipId != rel || ev.Data.RecordedBy != ana.ID || ev.Data.Outcome != "kept" {
			t.Fatalf("webhook payload %s: %v", body, err)
		}
		tampered := slices.Clone(body)
		tampered[len(tampered)/2] ^= 1
		if wh.Verify(tampered, hdr) == nil {
			t.Fatal("a tampered payload verifies")
		}

		// A recurring promise: every Sunday at 20:00 in Berlin.
		tomorrow := now.In(berlin).AddDate(0, 0, 1)
		callRes, err := ana.API.CreatePromiseWithResponse(ctx, rel, nil, client.CreatePromiseRequest{
			Title: "Call every Sunday at 20:00",
			Recurrence: &client.RecurrenceInput{Rrule: "FREQ=WEEKLY;BYDAY=SU", LocalTime: "20:00", TimeZone: ptr("Europe/Berlin"),
				StartsOn: ptr(openapi_types.Date{Time: tomorrow})},
		})
		call := check(t, http.StatusCreated, callRes, err).JSON201
		if call.Kind != "recurring" || call.Recurrence == nil || call.Recurrence.LocalTime != "20:00" {
			t.Fatalf("recurring promise %+v", call)
		}
		sundays := func() []client.Occurrence {
			t.Helper()
			res, err := ana.API.ListPromiseOccurrencesWithResponse(ctx, call.Id, &client.ListPromiseOccurrencesParams{Limit: ptr(100)})
			return check(t, http.StatusOK, res, err).JSON200.Data
		}
		occs := sundays()
		if len(occs) < 3 {
			t.Fatalf("only %d occurrences of the weekly call", len(occs))
		}
		for _, o := range occs {
			local := o.DueAt.In(berlin)
			if local.Weekday() != time.Sunday || local.Hour() != 20 || local.Minute() != 0 {
				t.Fatalf("occurrence due %s (%s in Berlin)", o.DueAt, local)
			}
		}

		// The first call moves to Monday: proposed by Ana, accepted by Ben.
		monday := occs[0].DueAt.Add(24 * time.Hour)
		propRes, err := ana.API.ProposeRenegotiationWithResponse(ctx, occs[0].Id, nil, client.ProposeRenegotiationRequest{ProposedDueAt: monday, Reason: ptr("visiting grandma")})
		reneg := check(t, http.StatusCreated, propRes, err).JSON201
		acceptRes, err := ben.API.AcceptRenegotiationWithResponse(ctx, reneg.Id, nil)
		if st := check(t, http.StatusOK, acceptRes, err).JSON200.Status; st != "accepted" {
			t.Fatalf("renegotiation %s", st)
		}
		occRes, err := ben.API.GetOccurrenceWithResponse(ctx, occs[0].Id, nil)
		if o := check(t, http.StatusOK, occRes, err).JSON200; !o.DueAt.Equal(monday) || !o.OriginalDueAt.Equal(occs[0].DueAt) {
			t.Fatalf("moved occurrence %+v", o)
		}

		// The second Sunday is paused.
		second := openapi_types.Date{Time: occs[1].DueAt.In(berlin)}
		pauseRes, err := ben.API.CreatePauseWithResponse(ctx, call.Id, nil, client.CreatePauseRequest{StartsOn: second, EndsOn: second, Reason: ptr("holiday")})
		check(t, http.StatusCreated, pauseRes, err)
		if st := sundays()[1].Status; st != "skipped" {
			t.Fatalf("paused occurrence: %s", st)
		}

		// Access tokens live 15 minutes on the server's clock: the SDK
		// renews them after a 401 and the story goes on.
		refreshes := authDoer.count("/v1/auth/refresh")
		app.Clock.Advance(20 * time.Minute)

		// A breach, and two check-ins.
		breachRes, err := ben.API.CreateBreachWithResponse(ctx, rel, nil, client.CreateBreachRequest{
			MemberId: ana.ID, Description: "forgot the anniversary", Severity: "major"})
		check(t, http.StatusCreated, breachRes, err)
		if got := authDoer.count("/v1/auth/refresh"); got != refreshes+1 {
			t.Fatalf("refreshes after the access token expired: %d, want %d", got, refreshes+1)
		}
		for who, felt := range map[string]int{ben.ID: 5, ana.ID: 8} {
			from, about := ben, ana.ID
			if who == ana.ID {
				from, about = ana, ben.ID
			}
			res, err := from.API.CreateCheckInWithResponse(ctx, rel, nil, client.CreateCheckInRequest{SubjectId: about, FeltTrust: felt})
			check(t, http.StatusCreated, res, err)
		}

		// Scores, ten minutes later: Ana's, one promise's, and the list.
		app.Clock.Advance(10 * time.Minute)
		scoreRes, err := ben.API.GetMemberScoreWithResponse(ctx, rel, ana.ID, nil)
		score := check(t, http.StatusOK, scoreRes, err).JSON200
		if c := score.Counts; c.Kept != 1 || c.Disputed != 1 || c.Breaches != 1 || c.Unverified != 0 {
			t.Fatalf("Ana's counts %+v", c)
		}
		// (0.5·2 + 1) / (2 + 1 + 1 + 3): the prior, one kept, one disputed, a
		// major breach (weight 3), all less than an hour old.
		if score.Level != client.ScoreLevelBroken || score.Score < 0.285 || score.Score > 0.287 {
			t.Fatalf("Ana's score %+v", score)
		}
		promiseScoreRes, err := ana.API.GetPromiseScoreWithResponse(ctx, home, nil)
		if ps := check(t, http.StatusOK, promiseScoreRes, err).JSON200; ps.PromiseId == nil || *ps.PromiseId != home || ps.Counts.Kept != 1 {
			t.Fatalf("promise score %+v", ps)
		}
		listRes, err := ana.API.ListScoresWithResponse(ctx, rel)
		list := check(t, http.StatusOK, listRes, err).JSON200.Data
		if len(list) != 2 {
			t.Fatalf("scores %+v", list)
		}
		for _, s := range list {
			if s.MemberId != nil && *s.MemberId == ana.ID && s.Score != score.Score {
				t.Fatalf("listed score %v, member score %v", s.Score, score.Score)
			}
		}

		// The timeline, as JSON and as a picture.
		tlRes, err := ben.API.GetTimelineWithResponse(ctx, rel, &client.GetTimelineParams{Member: &ana.ID})
		tl := check(t, http.StatusOK, tlRes, err).JSON200
		if tl.MemberId != ana.ID || len(tl.Points) == 0 || tl.Current.Level != score.Level || tl.Patience.RemainingDays <= 0 {
			t.Fatalf("timeline %+v", tl)
		}
		svgRes, err := ben.API.GetTimelineSVGWithResponse(ctx, rel, &client.GetTimelineSVGParams{Member: &ana.ID})
		check(t, http.StatusOK, svgRes, err)
		if ct := svgRes.HTTPResponse.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/svg+xml") || !strings.Contains(string(svgRes.Body), "<svg") {
			t.Fatalf("timeline.svg: %s %.80s", ct, svgRes.Body)
		}

		// The event feed, three at a time, to the end; then from the cursor
		// Sync returned, nothing new and the same cursor.
		var types []string
		pages := 0
		cursor, err := client.Sync(ctx, ben.API, "", &client.ListEventsParams{Limit: ptr(3)}, func(page []client.Event) error {
			pages++
			for _, e := range page {
				types = append(types, string(e.Type))
				if e.Type == client.FollowThroughRecorded {
					// data is the resource its type names, kept raw to decode.
					var ft client.FollowThrough
					if err := json.Unmarshal(e.Data, &ft); err != nil || !strings.HasPrefix(ft.Id, "fth_") || ft.RelationshipId != rel {
						t.Errorf("follow_through.recorded data %s: %+v (%v)", e.Data, ft, err)
					}
				}
			}
			return nil
		})
		if err != nil || cursor == "" {
			t.Fatalf("event feed: cursor %q, %v", cursor, err)
		}
		again, err := client.Sync(ctx, ben.API, cursor, nil, func(page []client.Event) error {
			t.Errorf("%d events after the cursor Sync returned", len(page))
			return nil
		})
		if err != nil || again != cursor {
			t.Fatalf("a second sync: cursor %q (want %q), %v", again, cursor, err)
		}
		for _, want := range []string{"relationship.created", "member.joined", "promise.created", "follow_through.recorded",
			"follow_through.confirmed", "follow_through.disputed", "renegotiation.proposed", "renegotiation.accepted",
			"breach.recorded", "check_in.recorded"} {
			if !slices.Contains(types, want) {
				t.Errorf("event feed lacks %s: %v", want, types)
			}
		}
		if pages < len(types)/3 {
			t.Fatalf("%d events in %d pages of 3", len(types), pages)
		}

		// Errors come back as problems with a stable code.
		missing, err := ben.API.GetPromiseWithResponse(ctx, "prm_doesnotexist", nil)
		if err != nil {
			t.Fatal(err)
		}
		perr := client.Check(missing.HTTPResponse, missing.Body)
		var problem *client.ProblemError
		if !errors.As(perr, &problem) || problem.Status != http.StatusNotFound || problem.Code != "not_found" {
			t.Fatalf("missing promise: %v", perr)
		}
	})
}
