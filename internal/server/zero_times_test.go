package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
)

// The zero time of Go (0001-01-01T00:00:00Z, however it is written) is a
// time like any other when a client sends it: each time and date field
// judges it by its own rule, and none takes it for a field left out
// (required).
func TestZeroTimeIsAValueNotAMissingField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		ana, _, rel := pair(t, app)
		now := app.Clock.Now()
		oneOff := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken,
			map[string]any{"title": "Home by seven", "due_at": ts(now.Add(time.Hour))})["id"].(string)
		occ := occurrencesOf(t, app, ana.AccessToken, oneOff, "")[0]["id"].(string)
		recurring := do(t, app, 201, "POST", "/v1/relationships/"+rel+"/promises", ana.AccessToken, map[string]any{
			"title": "Call", "recurrence": map[string]any{"rrule": "FREQ=WEEKLY;BYDAY=SU", "local_time": "20:00"}})["id"].(string)

		type fieldError struct{ Field, Code string }
		for _, zero := range []string{"0001-01-01T00:00:00Z", "0001-01-01T01:00:00+01:00", "0001-01-01t00:00:00z"} {
			for _, c := range []struct {
				name, method, path string
				body               map[string]any
				want               fieldError
			}{
				{"due_at", "POST", "/v1/relationships/" + rel + "/promises", map[string]any{"title": "x", "due_at": zero}, fieldError{"due_at", "too_far_in_past"}},
				{"follow-through occurred_at", "POST", "/v1/occurrences/" + occ + "/follow-throughs", map[string]any{"outcome": "kept", "occurred_at": zero}, fieldError{"occurred_at", "too_far_in_past"}},
				{"proposed_due_at", "POST", "/v1/occurrences/" + occ + "/renegotiations", map[string]any{"proposed_due_at": zero}, fieldError{"proposed_due_at", "not_in_future"}},
				{"breach occurred_at", "POST", "/v1/relationships/" + rel + "/breaches", map[string]any{"description": "x", "severity": "minor", "member_id": ana.ID, "occurred_at": zero}, fieldError{"occurred_at", "too_far_in_past"}},
			} {
				res := app.Do(servertest.Request{Method: c.method, Path: c.path, Token: ana.AccessToken, Body: c.body})
				p := decodeProblem(t, res)
				var got []fieldError
				for _, e := range p.Errors {
					got = append(got, fieldError{e.Field, e.Code})
				}
				if res.Status != http.StatusUnprocessableEntity || !cmp.Equal(got, []fieldError{c.want}) {
					t.Errorf("%s %s: %d %v, want 422 %v", c.name, zero, res.Status, got, c.want)
				}
			}
		}
		// Dates: the zero date is a date in the past.
		for _, c := range []struct {
			name, method, path string
			body               map[string]any
			want               fieldError
		}{
			{"recurrence starts_on", "PATCH", "/v1/promises/" + recurring, map[string]any{"recurrence": map[string]any{"rrule": "FREQ=DAILY", "local_time": "20:00", "starts_on": "0001-01-01"}}, fieldError{"recurrence.starts_on", "invalid_date"}},
			{"pause starts_on", "POST", "/v1/promises/" + recurring + "/pauses", map[string]any{"starts_on": "0001-01-01", "ends_on": "0001-01-02"}, fieldError{"starts_on", "in_past"}},
		} {
			res := app.Do(servertest.Request{Method: c.method, Path: c.path, Token: ana.AccessToken, Body: c.body})
			p := decodeProblem(t, res)
			if res.Status != http.StatusUnprocessableEntity || len(p.Errors) == 0 || p.Errors[0].Field != c.want.Field || p.Errors[0].Code != c.want.Code {
				t.Errorf("%s: %d %+v, want 422 %v", c.name, res.Status, p.Errors, c.want)
			}
		}
		// Left out, or null, it is required.
		for _, body := range []string{`{}`, `{"proposed_due_at":null}`, `{"reason":"later"}`} {
			res := app.Do(servertest.Request{Method: "POST", Path: "/v1/occurrences/" + occ + "/renegotiations", Token: ana.AccessToken, Body: body})
			if p := decodeProblem(t, res); res.Status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != "proposed_due_at" || p.Errors[0].Code != "required" {
				t.Errorf("proposed_due_at left out (%s): %d %+v", body, res.Status, p.Errors)
			}
		}
		if rs := do(t, app, 200, "GET", "/v1/occurrences/"+occ+"/renegotiations", ana.AccessToken, nil)["data"].([]any); len(rs) != 0 {
			t.Errorf("refused proposals were recorded: %v", rs)
		}
	})
}
