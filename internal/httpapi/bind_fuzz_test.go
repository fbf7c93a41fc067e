package httpapi

import (
	"bytes"
	"encoding/json"
	"encoding/json/jsontext"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/fault"
)

// bindTypes are the request bodies the handlers bind, one of each type.
var bindTypes = []func() any{
	func() any { return new(api.RegisterRequest) },
	func() any { return new(api.LoginRequest) },
	func() any { return new(api.RefreshRequest) },
	func() any { return new(api.LogoutRequest) },
	func() any { return new(api.UpdateMeRequest) },
	func() any { return new(api.CreateAPIKeyRequest) },
	func() any { return new(api.CreateRelationshipRequest) },
	func() any { return new(api.UpdateRelationshipRequest) },
	func() any { return new(api.CreatePromiseRequest) },
	func() any { return new(api.UpdatePromiseRequest) },
	func() any { return new(api.CreatePauseRequest) },
	func() any { return new(api.RecordFollowThroughRequest) },
	func() any { return new(api.DisputeRequest) },
	func() any { return new(api.ProposeRenegotiationRequest) },
	func() any { return new(api.CreateBreachRequest) },
	func() any { return new(api.CreateCheckInRequest) },
	func() any { return new(api.CreateWebhookRequest) },
	func() any { return new(api.UpdateWebhookRequest) },
}

// bindBody runs bind as a handler does: behind limitBody's reader.
func bindBody(contentType string, body []byte, v any) error {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set(echo.HeaderContentType, contentType)
	rec := httptest.NewRecorder()
	req.Body = http.MaxBytesReader(rec, req.Body, maxBody)
	return bind(echo.New().NewContext(req, rec), v)
}

// FuzzBind checks the strict decoder on every request type: it never
// panics; it either accepts or answers a 400, 413 or 415 problem (or a 422
// out_of_range for a number too large for its field) whose message names
// no Go type; and what it accepts is valid UTF-8 JSON that
// decodes to the same value after a Go client (encoding/json) encodes it
// again.
func FuzzBind(f *testing.F) {
	seeds := []struct {
		typ  uint8
		ct   string
		body string
	}{
		{0, "application/json", `{"email":"ana@example.com","password":"correct horse","display_name":"Ana","time_zone":"Europe/Berlin"}`},
		{1, "application/json; charset=utf-8", `{"email":"a@b.c","password":"12345678"}`},
		{1, "application/json", `{"email":"a@b.c","email":"x@y.z","password":"12345678"}`},
		{1, "application/json", `{"Email":"a@b.c","password":"12345678"}`},
		{1, "application/json", "{\"email\":\"a\xffb@c.d\",\"password\":\"12345678\"}"},
		{1, "application/json", `{"email":"\ud800","password":"x"}`},
		{1, "application/json", `{"email":"a@b.c","password":"12345678"} {}`},
		{1, "text/plain", `{}`},
		{1, "", `{}`},
		{1, "application/problem+json", `{}`},
		{4, "application/merge-patch+json", `{"display_name":"x"}`},
		{4, "application/json; charset=latin1", `{"display_name":"x"}`},
		{4, "APPLICATION/JSON; CHARSET=\"UTF-8\"", `{"display_name":"x"}`},
		{4, "application/json", `{"display_name":["x"]}`},
		{4, "application/json", `{"display_name":null,"time_zone":"UTC"}`},
		{5, "application/json", `{"name":"Home","scope":"read","admin":true}`},
		{6, "application/json", `{"name":"Ana & Ben","time_zone":"Europe/Berlin","partner_name":"Ben","settings":{}}`},
		{8, "application/json", `{"title":"Home by 19:00","due_at":"2027-03-05T18:00:00+01:00","recurrence":{"rrule":"FREQ=WEEKLY"}}`},
		{8, "application/json", `{"title":"x","due_at":"yesterday"}`},
		{10, "application/json", `{"starts_on":"2027-07-01","ends_on":"2027-07-14"}`},
		{11, "application/json", `{"outcome":"kept","occurred_at":"2027-03-05T18:00:00Z","note":"on time"}`},
		{13, "application/json", `{"proposed_due_at":"2027-03-05T18:00:00.123456789-07:00"}`},
		{15, "application/json", `{"subject_id":"usr_x","felt_trust":7.5}`},
		{15, "application/json", `{"subject_id":"usr_x","felt_trust":1e400}`},
		{15, "application/json", `{"subject_id":"usr_x","felt_trust":-99999999999999999999}`},
		{15, "application/json", `{"subject_id":"usr_x","felt_trust":1e-99999999999999999999}`},
		{6, "application/json", `{"name":"x","time_zone":"UTC","settings":{"grace_minutes":1e30,"target_score":1e400}}`},
		{7, "application/json", `{"settings":{"half_life_days":9223372036854775807,"patience_days":0.5e1}}`},
		{16, "application/json", `{"url":"https://example.com/hook","event_types":["promise.created"],"enabled":false}`},
		{17, "application/json", `{"event_types":null}`},
		{2, "application/json", ``},
		{2, "application/json", `   `},
		{2, "application/json", `[` + strings.Repeat("[", 5000) + `]`},
		{2, "application/json", `{"refresh_token":"` + strings.Repeat("x", maxBody) + `"}`},
	}
	for _, s := range seeds {
		f.Add(s.typ, s.ct, []byte(s.body))
	}
	timeEqual := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
	f.Fuzz(func(t *testing.T, typ uint8, contentType string, body []byte) {
		newV := bindTypes[int(typ)%len(bindTypes)]
		v := newV()
		err := bindBody(contentType, body, v)
		if err != nil {
			fe, ok := err.(*fault.Error)
			if !ok {
				t.Fatalf("bind returned %T %v, want *fault.Error", err, err)
			}
			switch fe.Kind {
			case fault.KindBadRequest, fault.KindTooLarge, fault.KindUnsupportedMediaType:
			case fault.KindInvalid:
				// Only a number beyond what its field holds: well-formed
				// JSON whose value breaks a rule.
				if fe.Code != "validation_failed" || len(fe.Fields) != 1 || fe.Fields[0].Code != "out_of_range" {
					t.Fatalf("bind returned %v with fields %+v", fe, fe.Fields)
				}
			default:
				t.Fatalf("bind returned kind %d (%v)", fe.Kind, fe)
			}
			for _, msg := range append([]string{fe.Message}, fieldMessages(fe)...) {
				if strings.Contains(msg, "api.") || strings.Contains(msg, "Go ") || strings.Contains(msg, "json:") {
					t.Fatalf("problem message leaks internals: %q", msg)
				}
			}
			return
		}
		if !utf8.Valid(body) || !jsontext.Value(body).IsValid() {
			t.Fatalf("accepted a body that is not valid UTF-8 JSON: %q", body)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("encode accepted %T: %v", v, err)
		}
		w := newV()
		if err := bindBody("application/json", again, w); err != nil {
			t.Fatalf("re-encoded %s refused: %v", again, err)
		}
		if diff := cmp.Diff(v, w, timeEqual, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%s → %T changed after a round trip (-first +second):\n%s", body, v, diff)
		}
	})
}

func fieldMessages(fe *fault.Error) []string {
	var out []string
	for _, f := range fe.Fields {
		out = append(out, f.Message)
	}
	return out
}

// TestJSONContent: exactly application/json, in any case, with at most a
// charset parameter of utf-8.
func TestJSONContent(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                   true,
		"Application/JSON":                   true,
		"application/json; charset=utf-8":    true,
		"application/json;charset=UTF-8":     true,
		`application/json; charset="Utf-8"`:  true,
		`application/json ; CHARSET="utf-8"`: true,
		"application/merge-patch+json":       false,
		"application/problem+json":           false,
		"application/json; charset=latin1":   false,
		"application/json; charset=utf8":     false,
		`application/json; charset="utf-16"`: false,
		"application/json; charset=":         false,
		"application/json; foo=bar":          false,
		"application/json; charset=utf-8; a": false,
		"application/json;;":                 false,
		"text/json":                          false,
		"application/*":                      false,
		"":                                   false,
	} {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set(echo.HeaderContentType, ct)
		if got := jsonContent(req); got != want {
			t.Errorf("jsonContent(%q) = %v, want %v", ct, got, want)
		}
	}
}
