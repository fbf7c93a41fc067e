package server_test

import (
	"testing"

	"github.com/troth-app/troth/internal/server/servertest"
)

// A value just past a field's bounds and one far beyond what the field can
// hold are refused alike: 422 out_of_range on the field, with the same
// message (docs/conventions.md promises it).
func TestOutOfRangeSaysTheSameNearAndFar(t *testing.T) {
	app := sqliteApp(t)
	ana, ben, rel := pair(t, app)
	type fieldError struct{ Field, Code, Message string }
	refusal := func(method, path, body string) fieldError {
		t.Helper()
		res := app.Do(servertest.Request{Method: method, Path: path, Token: ben.AccessToken, Body: body})
		var p struct {
			Code   string       `json:"code"`
			Errors []fieldError `json:"errors"`
		}
		res.JSON(t, &p)
		if res.Status != 422 || p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Code != "out_of_range" {
			t.Fatalf("%s %s: %d %s, want 422 out_of_range on one field", path, body, res.Status, res.Body)
		}
		return p.Errors[0]
	}
	for _, c := range []struct{ method, path, near, far string }{
		{"PATCH", "/v1/relationships/" + rel, `{"settings":{"target_score":0.96}}`, `{"settings":{"target_score":1e400}}`},
		{"PATCH", "/v1/relationships/" + rel, `{"settings":{"grace_minutes":10081}}`, `{"settings":{"grace_minutes":1e30}}`},
		{"POST", "/v1/relationships/" + rel + "/check-ins", `{"subject_id":"` + ana.ID + `","felt_trust":11}`, `{"subject_id":"` + ana.ID + `","felt_trust":99999999999999999999}`},
	} {
		if near, far := refusal(c.method, c.path, c.near), refusal(c.method, c.path, c.far); near != far {
			t.Errorf("%s: just past the bounds %+v, far beyond %+v", c.path, near, far)
		}
	}
}
