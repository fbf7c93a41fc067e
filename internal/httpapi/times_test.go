package httpapi

import (
	"testing"
	"time"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/fault"
)

// RFC 3339 times may write T and Z in lower case, in the query and in
// bodies; everything else refused before stays refused.
func TestTimesTakeLowerCaseLetters(t *testing.T) {
	want := time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
	good := []string{
		"2026-12-20T10:00:00Z",
		"2026-12-20t10:00:00z",
		"2026-12-20t10:00:00Z",
		"2026-12-20T10:00:00z",
		"2026-12-20t11:00:00+01:00",
		"2026-12-20t10:00:00.000z",
	}
	bad := []string{
		"2026-12-20 10:00:00Z",
		"2026-12-20x10:00:00z",
		"2026-12-20T10:00:00",
		"2026-12-20t10:00:00",
		"2026-12-20t10:00:00+01:00z",
		"2026-12-20",
		"t",
		"z",
		"",
		"2026-12-20t10:00z",
		"2026-12-20T24:00:00z",
	}
	for _, s := range good {
		if got, err := parseTime(s); err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
		var r api.ProposeRenegotiationRequest
		if err := bindBody("application/json", []byte(`{"proposed_due_at":"`+s+`"}`), &r); err != nil || !r.ProposedDueAt.Equal(want) {
			t.Errorf("body proposed_due_at %q: %v, %v", s, r.ProposedDueAt, err)
		}
		var p api.CreatePromiseRequest // *time.Time
		if err := bindBody("application/json", []byte(`{"title":"x","due_at":"`+s+`"}`), &p); err != nil || p.DueAt == nil || !p.DueAt.Equal(want) {
			t.Errorf("body due_at %q: %v, %v", s, p.DueAt, err)
		}
	}
	for _, s := range bad {
		if got, err := parseTime(s); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", s, got)
		}
		var r api.ProposeRenegotiationRequest
		err := bindBody("application/json", []byte(`{"proposed_due_at":"`+s+`"}`), &r)
		if fe, ok := fault.As(err); !ok || fe.Code != "invalid_time" || len(fe.Fields) != 1 || fe.Fields[0].Field != "proposed_due_at" {
			t.Errorf("body proposed_due_at %q: %v, want invalid_time naming proposed_due_at", s, err)
		}
	}
	// Escaped letters are letters: the value is read as JSON first.
	var r api.ProposeRenegotiationRequest
	if err := bindBody("application/json", []byte(`{"proposed_due_at":"2026-12-20\u007410:00:00\u007a"}`), &r); err != nil || !r.ProposedDueAt.Equal(want) {
		t.Errorf("escaped t and z: %v, %v", r.ProposedDueAt, err)
	}
	// Not a string: the wrong type, as before; null leaves the field alone.
	var p api.CreatePromiseRequest
	if err := bindBody("application/json", []byte(`{"title":"x","due_at":null}`), &p); err != nil || p.DueAt != nil {
		t.Errorf("due_at null: %v, %v", p.DueAt, err)
	}
	err := bindBody("application/json", []byte(`{"proposed_due_at":20261220}`), &r)
	if fe, ok := fault.As(err); !ok || fe.Code != "invalid_time" {
		t.Errorf("proposed_due_at a number: %v", err)
	}
}
