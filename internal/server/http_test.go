package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/config"
	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

func sqliteApp(t *testing.T, opts ...servertest.Option) *servertest.App {
	return servertest.New(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)}, opts...)
}

// Every malformed body is a 400 problem naming what is wrong, and nothing
// is written.
func TestStrictJSON(t *testing.T) {
	app := sqliteApp(t)
	u := app.Register("Hal")
	cases := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode, wantField      string
	}{
		{"malformed", "POST", "/v1/auth/login", `{"email": "a@b.c",`, 400, "malformed_json", ""},
		{"not an object", "POST", "/v1/auth/login", `["a@b.c"]`, 400, "invalid_json", ""},
		{"null", "POST", "/v1/auth/login", `null`, 400, "invalid_json", ""},
		{"patch null", "PATCH", "/v1/me", " null\n", 400, "invalid_json", ""},
		{"patch a string", "PATCH", "/v1/me", `"Hal 2"`, 400, "invalid_json", ""},
		{"patch a number", "PATCH", "/v1/me", `1`, 400, "invalid_json", ""},
		{"patch a boolean", "PATCH", "/v1/me", `true`, 400, "invalid_json", ""},
		{"null and more", "PATCH", "/v1/me", `null {}`, 400, "malformed_json", ""},
		{"unknown field", "POST", "/v1/auth/login", `{"email":"a@b.c","password":"12345678","admin":true}`, 400, "unknown_field", "admin"},
		{"duplicate key", "POST", "/v1/auth/login", `{"email":"a@b.c","email":"x@y.z","password":"12345678"}`, 400, "duplicate_field", "email"},
		{"key differing in case", "POST", "/v1/auth/login", `{"Email":"a@b.c","password":"12345678"}`, 400, "unknown_field", "Email"},
		{"trailing data", "POST", "/v1/auth/login", `{"email":"a@b.c","password":"12345678"} {}`, 400, "malformed_json", ""},
		{"invalid UTF-8", "POST", "/v1/auth/login", "{\"email\":\"a\xffb@c.d\",\"password\":\"12345678\"}", 400, "invalid_utf8", "email"},
		{"wrong type", "POST", "/v1/auth/login", `{"email":42,"password":"12345678"}`, 400, "invalid_type", "email"},
		{"empty body", "POST", "/v1/auth/login", ``, 400, "empty_body", ""},
		{"patch wrong type", "PATCH", "/v1/me", `{"display_name":["x"]}`, 400, "invalid_type", "display_name"},
		{"patch unknown field", "PATCH", "/v1/me", `{"email":"new@example.com"}`, 400, "unknown_field", "email"},
		{"too large", "PATCH", "/v1/me", `{"display_name":"` + strings.Repeat("x", 70_000) + `"}`, 413, "payload_too_large", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := app.Do(servertest.Request{Method: tc.method, Path: tc.path, Body: tc.body, Token: u.AccessToken})
			p := decodeProblem(t, res)
			if res.Status != tc.wantStatus || p.Code != tc.wantCode {
				t.Fatalf("got %d %+v, want %d %s", res.Status, p, tc.wantStatus, tc.wantCode)
			}
			if tc.wantField != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.wantField) {
				t.Errorf("errors %+v, want field %q", p.Errors, tc.wantField)
			}
			if strings.Contains(string(res.Body), "Go ") || strings.Contains(string(res.Body), "api.") {
				t.Errorf("problem leaks Go types: %s", res.Body)
			}
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: `{}`, Header: map[string]string{"Content-Type": "text/plain"}})
		if p := decodeProblem(t, res); res.Status != http.StatusUnsupportedMediaType || p.Code != "unsupported_media_type" {
			t.Fatalf("got %d %+v", res.Status, p)
		}
	})
	// The profile is unchanged by all of the above.
	me := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: u.AccessToken}).Map(t)
	if me["display_name"] != "Hal" {
		t.Fatalf("profile changed by refused requests: %v", me)
	}
}

// A request body with a content coding is 415, whether it is compressed or
// not, and changes nothing; identity, or a coding on no body, is fine.
func TestContentEncodedBodiesAreRefused(t *testing.T) {
	app := sqliteApp(t)
	u := app.Register("Hal")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"display_name":"Zipped"}`))
	_ = zw.Close()
	for _, c := range []struct {
		name, encoding string
		body           any
	}{
		{"gzip", "gzip", gz.Bytes()},
		{"br, not compressed", "br", `{"display_name":"Brotli"}`},
		{"upper case", "GZIP", gz.Bytes()},
		{"identity then gzip", "identity, gzip", gz.Bytes()},
	} {
		res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/me", Token: u.AccessToken, Body: c.body,
			Header: map[string]string{"Content-Encoding": c.encoding}})
		if p := decodeProblem(t, res); res.Status != http.StatusUnsupportedMediaType || p.Code != "unsupported_content_encoding" || p.Detail == "" {
			t.Errorf("%s: %d %+v, want 415 unsupported_content_encoding", c.name, res.Status, p)
		}
		if got := res.Header.Get("Accept-Encoding"); got != "identity" {
			t.Errorf("%s: Accept-Encoding %q, want identity", c.name, got)
		}
	}
	res := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: gz.Bytes(), Header: map[string]string{"Content-Encoding": "gzip"}})
	wantProblem(t, res, http.StatusUnsupportedMediaType, "unsupported_content_encoding")
	if me := do(t, app, 200, "GET", "/v1/me", u.AccessToken, nil); me["display_name"] != "Hal" {
		t.Fatalf("profile changed by refused requests: %v", me)
	}
	res = app.Do(servertest.Request{Method: "PATCH", Path: "/v1/me", Token: u.AccessToken, Body: `{"display_name":"Plain"}`,
		Header: map[string]string{"Content-Encoding": "identity"}})
	if res.Status != http.StatusOK || res.Map(t)["display_name"] != "Plain" {
		t.Errorf("identity: %d %s", res.Status, res.Body)
	}
	// No body, nothing to decode: the header is harmless.
	if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: u.AccessToken, Header: map[string]string{"Content-Encoding": "gzip"}}); res.Status != http.StatusOK {
		t.Errorf("GET with Content-Encoding and no body: %d %s", res.Status, res.Body)
	}
}

// Two Authorization headers are refused before either is checked, whether
// they agree, differ, or one of them is bogus; nothing is done.
func TestDuplicateAuthorizationIsRefused(t *testing.T) {
	app := sqliteApp(t)
	ana, ben := app.Register("Ana"), app.Register("Ben")
	send := func(method, path, body string, authz ...string) *servertest.Response {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for _, a := range authz {
			req.Header.Add("Authorization", a)
		}
		rec := httptest.NewRecorder()
		app.Server.Handler().ServeHTTP(rec, req)
		return &servertest.Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	}
	for _, c := range []struct {
		name  string
		authz []string
	}{
		{"two users", []string{"Bearer " + ana.AccessToken, "Bearer " + ben.AccessToken}},
		{"the same token twice", []string{"Bearer " + ana.AccessToken, "Bearer " + ana.AccessToken}},
		{"a valid one, then garbage", []string{"Bearer " + ana.AccessToken, "Bearer nonsense"}},
		{"an empty one first", []string{"", "Bearer " + ana.AccessToken}},
	} {
		res := send("PATCH", "/v1/me", `{"display_name":"Mallory"}`, c.authz...)
		if p := decodeProblem(t, res); res.Status != http.StatusBadRequest || p.Code != "duplicate_authorization" {
			t.Errorf("%s: %d %+v, want 400 duplicate_authorization", c.name, res.Status, p)
		}
	}
	wantProblem(t, send("GET", "/v1/me", "", "Bearer "+ana.AccessToken, "Bearer "+ben.AccessToken), http.StatusBadRequest, "duplicate_authorization")
	for _, u := range []servertest.User{ana, ben} {
		if me := send("GET", "/v1/me", "", "Bearer "+u.AccessToken); me.Status != http.StatusOK || me.Map(t)["display_name"] == "Mallory" {
			t.Fatalf("one Authorization header: %d %s", me.Status, me.Body)
		}
	}
}

// RFC 3339 lets T and Z be written in lower case: bodies and query
// parameters take them; other spellings are still invalid_time.
func TestTimesTakeLowerCaseTAndZ(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	due := app.Clock.Now().Add(48 * time.Hour).Truncate(time.Second)
	lower := strings.ToLower(due.Format(time.RFC3339))
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
		map[string]any{"title": "Call at noon", "due_at": lower})
	if p["due_at"] != due.Format(time.RFC3339) {
		t.Fatalf("due_at %q sent, %v kept, want %s", lower, p["due_at"], due.Format(time.RFC3339))
	}
	past := strings.ToLower(app.Clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano))
	for _, path := range []string{
		"/v1/relationships/" + rel + "/promises?updated_since=" + past,
		"/v1/promises/" + p["id"].(string) + "/occurrences?due_after=" + past,
	} {
		res := app.Do(servertest.Request{Method: "GET", Path: path, Token: ana.AccessToken})
		var page struct {
			Data []map[string]any `json:"data"`
		}
		if res.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, res.Status, res.Body)
		}
		if res.JSON(t, &page); len(page.Data) != 1 {
			t.Errorf("%s: %d items, want 1", path, len(page.Data))
		}
	}
	for _, bad := range []string{"2026-12-20 10:00:00Z", "2026-12-20x10:00:00z", "2026-12-20t10:00:00"} {
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + rel + "/promises", Token: ana.AccessToken,
			Body: map[string]any{"title": "x", "due_at": bad}})
		if pr := decodeProblem(t, res); res.Status != http.StatusBadRequest || pr.Code != "invalid_time" {
			t.Errorf("due_at %q: %d %+v, want 400 invalid_time", bad, res.Status, pr)
		}
		res = app.Do(servertest.Request{Method: "GET", Path: "/v1/relationships/" + rel + "/promises?updated_since=" + url.QueryEscape(bad), Token: ana.AccessToken})
		if pr := decodeProblem(t, res); res.Status != http.StatusBadRequest || pr.Code != "invalid_time" {
			t.Errorf("updated_since %q: %d %+v, want 400 invalid_time", bad, res.Status, pr)
		}
	}
}

// A query parameter the operation does not take, or one given twice, is a
// 400 naming it: a typo (?updated_snce=) does not silently widen a list.
func TestQueryParametersAreChecked(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	for _, tc := range []struct{ path, code, field string }{
		{"/v1/relationships/" + rel + "/promises?updated_snce=2026-01-01T00:00:00Z", "unknown_parameter", "updated_snce"},
		{"/v1/me?limit=5", "unknown_parameter", "limit"},
		{"/v1/events?types=member.left&types=promise.created", "duplicate_parameter", "types"},
		{"/v1/relationships/" + rel + "/promises?limit=1&limit=2", "duplicate_parameter", "limit"},
		{"/v1/relationships/" + rel + "/promises?updated_since=2099-01-01T00:00:00Z;", "invalid_query", "query"},
		{"/v1/relationships/" + rel + "/promises?%zz=1", "invalid_query", "query"},
	} {
		res := app.Do(servertest.Request{Method: "GET", Path: tc.path, Token: ana.AccessToken})
		if p := decodeProblem(t, res); res.Status != http.StatusBadRequest || p.Code != tc.code || len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
			t.Errorf("%s: %d %+v, want 400 %s naming %s", tc.path, res.Status, p, tc.code, tc.field)
		}
	}
	for _, path := range []string{
		"/v1/relationships/" + rel + "/promises?updated_since=2026-01-01T00:00:00Z&limit=5&status=active",
		"/v1/events?types=member.left,promise.created&limit=3",
		"/v1/me?pretty",
	} {
		if res := app.Do(servertest.Request{Method: "GET", Path: path, Token: ana.AccessToken}); res.Status != http.StatusOK {
			t.Errorf("%s: %d %s", path, res.Status, res.Body)
		}
	}
	// Without credentials, an operation that needs them answers 401 first;
	// one that does not still checks its query.
	if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me?limit=5"}); res.Status != http.StatusUnauthorized {
		t.Errorf("unauthenticated /v1/me?limit=5: %d, want 401", res.Status)
	}
	wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/healthz?verbose=1"}), http.StatusBadRequest, "unknown_parameter")
	// ?pretty indents, an ETag'd answer too, under a tag of its own.
	plain := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: ana.AccessToken})
	pretty := app.Do(servertest.Request{Method: "GET", Path: "/v1/me?pretty", Token: ana.AccessToken})
	if !strings.Contains(string(pretty.Body), "\n  \"") || pretty.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Errorf("/v1/me?pretty: ETag %s (plain %s)\n%s", pretty.Header.Get("ETag"), plain.Header.Get("ETag"), pretty.Body)
	}
}

// HEAD answers as GET does, headers and all, without the body; a read
// API key may send it.
func TestHeadAnswersAsGet(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	key := do(t, app, 201, "POST", "/v1/api-keys", ana.AccessToken, map[string]any{"name": "reader", "scope": "read"})["secret"].(string)
	srv := httptest.NewServer(app.Server.Handler())
	defer srv.Close()
	call := func(method, token string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, srv.URL+"/v1/relationships/"+rel, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}
	if opt, _ := call("OPTIONS", ana.AccessToken); !strings.Contains(opt.Header.Get("Allow"), "HEAD") {
		t.Errorf("OPTIONS: Allow %q lacks HEAD", opt.Header.Get("Allow"))
	}
	get, body := call("GET", ana.AccessToken)
	for _, token := range []string{ana.AccessToken, key} {
		head, hb := call("HEAD", token)
		if head.StatusCode != http.StatusOK || len(hb) != 0 || head.Header.Get("ETag") != get.Header.Get("ETag") ||
			head.Header.Get("Content-Type") != get.Header.Get("Content-Type") || head.ContentLength != int64(len(body)) {
			t.Errorf("HEAD: %d, %d bytes, ETag %q, Content-Length %d; GET: ETag %q, %d bytes",
				head.StatusCode, len(hb), head.Header.Get("ETag"), head.ContentLength, get.Header.Get("ETag"), len(body))
		}
	}
}

// A cursor belongs to its list: given to another, it is refused, not
// read as a position there.
func TestCursorsBelongToTheirList(t *testing.T) {
	app := sqliteApp(t)
	ana, _, rel := pair(t, app)
	do(t, app, 201, "POST", "/v1/relationships", ana.AccessToken, map[string]any{"name": "Second", "time_zone": "UTC"})
	first := do(t, app, 200, "GET", "/v1/relationships?limit=1", ana.AccessToken, nil)
	cursor := first["next_cursor"].(string)
	next := do(t, app, 200, "GET", "/v1/relationships?limit=1&cursor="+cursor, ana.AccessToken, nil)
	if list := next["data"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] == first["data"].([]any)[0].(map[string]any)["id"] {
		t.Fatalf("second page %v", next)
	}
	for _, path := range []string{"/v1/api-keys?cursor=", "/v1/relationships/" + rel + "/check-ins?cursor="} {
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: path + cursor, Token: ana.AccessToken}), http.StatusBadRequest, "invalid_cursor")
	}
	// The same kind of list, of another relationship or with other
	// filters, is another list; another page size is the same one.
	other := do(t, app, 200, "GET", "/v1/relationships?limit=1&cursor="+cursor, ana.AccessToken, nil)["data"].([]any)[0].(map[string]any)["id"].(string)
	for _, r := range []string{rel, other} {
		for range 2 {
			do(t, app, 201, "POST", "/v1/relationships/"+r+"/promises", ana.AccessToken, map[string]any{"title": "x", "due_at": ts(app.Clock.Now().Add(time.Hour))})
		}
	}
	pc := do(t, app, 200, "GET", "/v1/relationships/"+rel+"/promises?limit=1", ana.AccessToken, nil)["next_cursor"].(string)
	for _, path := range []string{"/v1/relationships/" + other + "/promises?cursor=", "/v1/relationships/" + rel + "/promises?status=completed&cursor="} {
		wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: path + pc, Token: ana.AccessToken}), http.StatusBadRequest, "invalid_cursor")
	}
	do(t, app, 200, "GET", "/v1/relationships/"+rel+"/promises?limit=5&cursor="+pc, ana.AccessToken, nil)
}

// An integer field takes a whole number however it is written (10.0,
// 1e1), as JSON Schema's integer does, and refuses a fraction; a whole
// number however large is out of range, not a wrong type.
func TestIntegerFieldsTakeWholeNumbers(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	for _, v := range []string{"10.0", "1e1", "10", "-0.0"} {
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + rel + "/check-ins", Token: ben.AccessToken,
			Body: `{"subject_id":"` + ana.ID + `","felt_trust":` + v + `}`})
		want := 10.0
		if v == "-0.0" {
			want = 0
		}
		if res.Status != http.StatusCreated || res.Map(t)["felt_trust"] != want {
			t.Errorf("felt_trust %s: %d %s", v, res.Status, res.Body)
		}
	}
	for _, v := range []string{"7.5", `"10"`, "10.00000000000000001", "9.999999999999999999", "1e-999999999", "1.5e-400"} {
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + rel + "/check-ins", Token: ben.AccessToken,
			Body: `{"subject_id":"` + ana.ID + `","felt_trust":` + v + `}`})
		if p := decodeProblem(t, res); res.Status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != "felt_trust" || p.Errors[0].Code != "invalid_type" {
			t.Errorf("felt_trust %s: %d %+v", v, res.Status, p)
		}
	}
	for _, v := range []string{"11", "1e400", "1e300", "1e999999999", "99999999999999999999", "-99999999999999999999", "9223372036854775808"} {
		res := app.Do(servertest.Request{Method: "POST", Path: "/v1/relationships/" + rel + "/check-ins", Token: ben.AccessToken,
			Body: `{"subject_id":"` + ana.ID + `","felt_trust":` + v + `}`})
		if p := decodeProblem(t, res); res.Status != http.StatusUnprocessableEntity || p.Code != "validation_failed" ||
			len(p.Errors) != 1 || p.Errors[0].Field != "felt_trust" || p.Errors[0].Code != "out_of_range" {
			t.Errorf("felt_trust %s: %d %+v, want 422 out_of_range", v, res.Status, p)
		}
	}
	// Every integer setting, and the one number that is not: a value too
	// large for any field is told as one just out of the field's range, with
	// its bounds.
	type fieldError struct{ Field, Code, Message string }
	for _, c := range []struct{ body, field, message string }{
		{`{"grace_minutes":10081}`, "settings.grace_minutes", "must be between 0 and 10080"},
		{`{"grace_minutes":1e30}`, "settings.grace_minutes", "must be between 0 and 10080"},
		{`{"grace_minutes":99999999999999999999}`, "settings.grace_minutes", "must be between 0 and 10080"},
		{`{"half_life_days":-1e19}`, "settings.half_life_days", "must be between 7 and 365"},
		{`{"dispute_window_hours":1e20}`, "settings.dispute_window_hours", "must be between 1 and 720"},
		{`{"remind_minutes":123456789012345678901234567890}`, "settings.remind_minutes", "must be between 0 and 10080"},
		{`{"patience_days":1e999999999}`, "settings.patience_days", "must be between 7 and 3650"},
		{`{"target_score":1e400}`, "settings.target_score", "must be between 0.4 and 0.95"},
	} {
		res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/relationships/" + rel, Token: ana.AccessToken, Body: `{"settings":` + c.body + `}`})
		var p struct {
			Code   string       `json:"code"`
			Errors []fieldError `json:"errors"`
		}
		res.JSON(t, &p)
		if res.Status != http.StatusUnprocessableEntity || p.Code != "validation_failed" || len(p.Errors) != 1 ||
			p.Errors[0].Field != c.field || p.Errors[0].Code != "out_of_range" || p.Errors[0].Message != c.message {
			t.Errorf("settings %s: %d %+v, want 422 out_of_range %q", c.body, res.Status, p, c.message)
		}
	}
	for _, v := range []string{"1.5", `"60"`, "1e-30"} {
		res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/relationships/" + rel, Token: ana.AccessToken, Body: `{"settings":{"grace_minutes":` + v + `}}`})
		if p := decodeProblem(t, res); res.Status != http.StatusBadRequest || p.Code != "invalid_type" || len(p.Errors) != 1 || p.Errors[0].Field != "settings.grace_minutes" {
			t.Errorf("grace_minutes %s: %d %+v, want 400 invalid_type", v, res.Status, p)
		}
	}
	res := app.Do(servertest.Request{Method: "PATCH", Path: "/v1/relationships/" + rel, Token: ana.AccessToken,
		Body: `{"settings":{"half_life_days":14.0}}`})
	if res.Status != http.StatusOK || res.Map(t)["settings"].(map[string]any)["half_life_days"] != 14.0 {
		t.Errorf("half_life_days 14.0: %d %s", res.Status, res.Body)
	}
}

// An operation that takes no body refuses one with fields, or one that is
// not JSON, and does nothing: a dispute's reason sent to the confirm URL
// does not confirm. No body, or {}, is what it takes.
func TestNoBodyOperationsRefuseFields(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	p := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
		map[string]any{"title": "Call at noon", "due_at": ts(app.Clock.Now().Add(time.Hour))})["id"].(string)
	occ := occurrencesOf(t, app, ana.AccessToken, p, "")[0]["id"].(string)
	ft := do(t, app, 201, "POST", "/v1/occurrences/"+occ+"/follow-throughs", ana.AccessToken, map[string]any{"outcome": "kept"})["id"].(string)
	confirm := "/v1/follow-throughs/" + ft + "/confirm"
	for _, c := range []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"a field", `{"reason":"I never got the call"}`, "application/json", 400, "unknown_field"},
		{"not an object", `["reason"]`, "application/json", 400, "invalid_json"},
		{"null", `null`, "application/json", 400, "invalid_json"},
		{"a string", `"reason"`, "application/json", 400, "invalid_json"},
		{"not JSON", `I never got the call`, "text/plain", 415, "unsupported_media_type"},
	} {
		res := app.Do(servertest.Request{Method: "POST", Path: confirm, Token: ben.AccessToken, Body: c.body,
			Header: map[string]string{"Content-Type": c.contentType}})
		if pr := decodeProblem(t, res); res.Status != c.status || pr.Code != c.code {
			t.Errorf("%s: %d %+v, want %d %s", c.name, res.Status, pr, c.status, c.code)
		}
	}
	if f := do(t, app, 200, "GET", "/v1/follow-throughs/"+ft, ben.AccessToken, nil); f["verification"] != "unverified" {
		t.Fatalf("a refused confirm changed the follow-through: %v", f)
	}
	res := app.Do(servertest.Request{Method: "POST", Path: confirm, Token: ben.AccessToken, Body: " {} "})
	if res.Status != 200 || res.Map(t)["verification"] != "confirmed" {
		t.Fatalf("confirm with {}: %d %s", res.Status, res.Body)
	}
	do(t, app, 201, "POST", "/v1/relationships/"+rel+"/invites", ana.AccessToken, nil) // no body at all
}

func TestRouterErrorsAreProblems(t *testing.T) {
	app := sqliteApp(t)
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nope", 404, "route_not_found"},
		{"GET", "/v1/relationships/rel_x/unknown", 404, "route_not_found"},
		{"GET", "/nope", 404, "route_not_found"},
		{"PUT", "/v1/me", 405, "method_not_allowed"},
		{"GET", "/v1/auth/login", 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := app.Do(servertest.Request{Method: tc.method, Path: tc.path})
			if p := decodeProblem(t, res); res.Status != tc.status || p.Code != tc.code {
				t.Fatalf("got %d %+v, want %d %s", res.Status, p, tc.status, tc.code)
			}
		})
	}
}

// A database failure answers 500 with a generic problem; the driver's error
// is logged with the request id and never sent.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	app := sqliteApp(t)
	u := app.Register("Ida")
	app.Server.DB.Close()
	res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: u.AccessToken, Header: map[string]string{"X-Request-Id": "leak-test-1"}})
	p := decodeProblem(t, res)
	if res.Status != http.StatusInternalServerError || p.Code != "internal" || p.Detail != "an internal error occurred" {
		t.Fatalf("got %d %+v", res.Status, p)
	}
	for _, leak := range []string{"sql", "database", "closed", "gorm", ".go"} {
		if strings.Contains(strings.ToLower(string(res.Body)), leak) {
			t.Errorf("response leaks %q: %s", leak, res.Body)
		}
	}
	logs := app.Logs.String()
	if !strings.Contains(logs, `"request_id":"leak-test-1"`) || !strings.Contains(logs, "database is closed") {
		t.Errorf("the cause was not logged with the request id:\n%s", logs)
	}
	if res := app.Do(servertest.Request{Method: "GET", Path: "/readyz"}); res.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz with a closed database: %d", res.Status)
	}
}

// Auth routes are limited per client address; a spoofed X-Forwarded-For
// does not buy a fresh budget unless the proxy is trusted.
func TestAuthRateLimit(t *testing.T) {
	app := sqliteApp(t, func(c *config.Config) { c.AuthRatePerMin = 3 })
	login := func(addr, xff string) *servertest.Response {
		h := map[string]string{}
		if xff != "" {
			h["X-Forwarded-For"] = xff
		}
		return app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", RemoteAddr: addr, Header: h,
			Body: map[string]string{"email": "x@example.com", "password": "whatever1"}})
	}
	for i := range 3 {
		if res := login("203.0.113.7:1000", "198.51.100."+string(rune('1'+i))); res.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, res.Status)
		}
	}
	res := login("203.0.113.7:1001", "198.51.100.99")
	p := decodeProblem(t, res)
	if res.Status != http.StatusTooManyRequests || p.Code != "rate_limited" {
		t.Fatalf("4th attempt: %d %+v", res.Status, p)
	}
	if res.Header.Get("Retry-After") == "" || res.Header.Get("RateLimit-Limit") != "3" || res.Header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("headers: %v", res.Header)
	}
	// Another address has its own budget.
	if res := login("203.0.113.8:1000", ""); res.Status != http.StatusUnauthorized {
		t.Fatalf("other address: %d", res.Status)
	}
	// The budget refills with time.
	app.Clock.Advance(21 * 1e9)
	if res := login("203.0.113.7:1002", ""); res.Status != http.StatusUnauthorized {
		t.Fatalf("after refill: %d", res.Status)
	}
}

func TestTrustedProxyForwardsClientAddress(t *testing.T) {
	app := sqliteApp(t, func(c *config.Config) {
		c.AuthRatePerMin = 1
		if err := config.SetTrustedProxies(c, "10.0.0.0/8"); err != nil {
			t.Fatal(err)
		}
	})
	login := func(xff string) int {
		return app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", RemoteAddr: "10.1.2.3:5000",
			Header: map[string]string{"X-Forwarded-For": xff},
			Body:   map[string]string{"email": "x@example.com", "password": "whatever1"}}).Status
	}
	if s := login("198.51.100.1"); s != http.StatusUnauthorized {
		t.Fatalf("first client: %d", s)
	}
	if s := login("198.51.100.2"); s != http.StatusUnauthorized {
		t.Fatalf("second client behind the trusted proxy: %d, want its own budget", s)
	}
	if s := login("198.51.100.1"); s != http.StatusTooManyRequests {
		t.Fatalf("first client again: %d, want 429", s)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	app := sqliteApp(t)
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/healthz", "application/json", `"ok"`},
		{"/readyz", "application/json", `"ok"`},
		{"/openapi.yaml", "application/yaml", "openapi: 3.0.3"},
		{"/docs/index.html", "text/html", "swagger-ui"},
		{"/docs/swagger-ui-bundle.js", "javascript", "SwaggerUIBundle"},
		{"/metrics", "text/plain", "troth_http_request_duration_seconds"},
	} {
		res := app.Do(servertest.Request{Method: "GET", Path: tc.path})
		if res.Status != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), tc.contentType) || !strings.Contains(string(res.Body), tc.contains) {
			t.Errorf("GET %s: %d %q, body lacks %q", tc.path, res.Status, res.Header.Get("Content-Type"), tc.contains)
		}
	}
	for _, p := range []string{"/docs", "/docs/"} {
		if res := app.Do(servertest.Request{Method: "GET", Path: p}); res.Status != http.StatusMovedPermanently || res.Header.Get("Location") != "/docs/index.html" {
			t.Errorf("%s: %d to %q", p, res.Status, res.Header.Get("Location"))
		}
	}
	// Under /docs/ as anywhere, an unknown path is a problem.
	wantProblem(t, app.Do(servertest.Request{Method: "GET", Path: "/docs/nonexistent"}), http.StatusNotFound, "route_not_found")
	// The metrics name routes by pattern, with the pool gauges.
	m := string(app.Do(servertest.Request{Method: "GET", Path: "/metrics"}).Body)
	for _, want := range []string{`route="/healthz"`, "troth_http_requests_in_flight", `go_sql_open_connections{db_name="troth_writer"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	_ = context.Background()
}

// A panic answers a generic 500 problem; the panic's text (which may hold
// SQL or file paths) is logged with the stack, never sent.
func TestPanicsDoNotLeak(t *testing.T) {
	app := sqliteApp(t)
	// A route added for the test, under a prefix the OpenAPI check skips.
	app.Server.Handler().(*echo.Echo).GET("/metrics/panic", func(echo.Context) error {
		panic("SELECT secret FROM users WHERE id = 1 at /srv/troth/internal/store/accounts.go:42")
	})
	res := app.Do(servertest.Request{Method: "GET", Path: "/metrics/panic", Header: map[string]string{"X-Request-Id": "panic-test-1"}})
	p := decodeProblem(t, res)
	if res.Status != http.StatusInternalServerError || p.Code != "internal" {
		t.Fatalf("got %d %+v", res.Status, p)
	}
	for _, leak := range []string{"SELECT", "secret", ".go", "/srv", "goroutine"} {
		if strings.Contains(string(res.Body), leak) {
			t.Errorf("response leaks %q: %s", leak, res.Body)
		}
	}
	if logs := app.Logs.String(); !strings.Contains(logs, `"request_id":"panic-test-1"`) || !strings.Contains(logs, "SELECT secret") || !strings.Contains(logs, "goroutine") {
		t.Errorf("the panic and its stack were not logged with the request id:\n%s", logs)
	}
	// The server goes on serving.
	if res := app.Do(servertest.Request{Method: "GET", Path: "/healthz"}); res.Status != http.StatusOK {
		t.Fatalf("after a panic: %d", res.Status)
	}
}
