package httpapi

import (
	"strings"
	"testing"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/fault"
)

// wholeNumber reads a JSON number exactly: whole or not, and whether it
// fits an int, without rounding through a float and without expanding
// huge exponents.
func TestWholeNumber(t *testing.T) {
	for _, c := range []struct {
		num         string
		n           int
		whole, fits bool
	}{
		{"10", 10, true, true},
		{"-10", -10, true, true},
		{"10.0", 10, true, true},
		{"1e1", 10, true, true},
		{"1E+1", 10, true, true},
		{"100e-1", 10, true, true},
		{"0.5e1", 5, true, true},
		{"-0.0", 0, true, true},
		{"0e-999999999999999999999", 0, true, true},
		{"0e999999999999999999999", 0, true, true},
		{"9223372036854775807", 9223372036854775807, true, true},
		{"-9223372036854775807", -9223372036854775807, true, true},
		{"7.5", 0, false, false},
		{"10.00000000000000001", 0, false, false},
		{"9.999999999999999999", 0, false, false},
		{"1e-1", 0, false, false},
		{"1e-999999999", 0, false, false},
		{"1e-99999999999999999999", 0, false, false},
		{"1.5e400", 0, true, false},
		{"9223372036854775808", 0, true, false},
		{"-9223372036854775809", 0, true, false},
		{"99999999999999999999", 0, true, false},
		{"-99999999999999999999", 0, true, false},
		{"1e19", 0, true, false},
		{"1e30", 0, true, false},
		{"1e400", 0, true, false},
		{"1e999999999", 0, true, false},
		{"1e99999999999999999999", 0, true, false},
		{"1" + strings.Repeat("0", 5000) + "e-4990", 10000000000, true, true},
		{"1" + strings.Repeat("0", 5000) + "e-4980", 0, true, false},
		{"1" + strings.Repeat("0", 5000) + "e-5000", 1, true, true},
	} {
		n, whole, fits := wholeNumber(c.num)
		if n != c.n || whole != c.whole || fits != c.fits {
			t.Errorf("wholeNumber(%.40s) = %d, %t, %t; want %d, %t, %t", c.num, n, whole, fits, c.n, c.whole, c.fits)
		}
	}
}

// A number of the right kind beyond what its field holds is out_of_range,
// named by its field, with the bounds the schema gives it; a fraction or
// a string is still a wrong type.
func TestNumbersOutOfRange(t *testing.T) {
	for _, c := range []struct {
		body      string
		v         any
		kind      fault.Kind
		code, msg string
	}{
		{`{"settings":{"grace_minutes":1e30}}`, new(api.UpdateRelationshipRequest), fault.KindInvalid, "out_of_range", "must be between 0 and 10080"},
		{`{"settings":{"half_life_days":99999999999999999999}}`, new(api.UpdateRelationshipRequest), fault.KindInvalid, "out_of_range", "must be between 7 and 365"},
		{`{"settings":{"patience_days":-1e19}}`, new(api.UpdateRelationshipRequest), fault.KindInvalid, "out_of_range", "must be between 7 and 3650"},
		{`{"settings":{"target_score":1e400}}`, new(api.UpdateRelationshipRequest), fault.KindInvalid, "out_of_range", "must be between 0.4 and 0.95"},
		{`{"name":"x","time_zone":"UTC","settings":{"remind_minutes":1e999999999}}`, new(api.CreateRelationshipRequest), fault.KindInvalid, "out_of_range", "must be between 0 and 10080"},
		{`{"subject_id":"usr_x","felt_trust":99999999999999999999}`, new(api.CreateCheckInRequest), fault.KindInvalid, "out_of_range", "must be between 0 and 10"},
		{`{"settings":{"grace_minutes":1.5}}`, new(api.UpdateRelationshipRequest), fault.KindBadRequest, "invalid_type", `field "settings.grace_minutes" must be a whole number`},
		{`{"settings":{"grace_minutes":1e-30}}`, new(api.UpdateRelationshipRequest), fault.KindBadRequest, "invalid_type", `field "settings.grace_minutes" must be a whole number`},
		{`{"settings":{"grace_minutes":"1e30"}}`, new(api.UpdateRelationshipRequest), fault.KindBadRequest, "invalid_type", `field "settings.grace_minutes" has the wrong type (got a string)`},
	} {
		err := bindBody("application/json", []byte(c.body), c.v)
		fe, ok := err.(*fault.Error)
		if !ok || fe.Kind != c.kind || len(fe.Fields) != 1 || fe.Fields[0].Code != c.code || fe.Fields[0].Message != c.msg {
			t.Errorf("%s: %v %+v, want %s %q", c.body, err, fieldsOf(fe), c.code, c.msg)
		}
	}
	// Within range, the same numbers decode.
	var r api.UpdateRelationshipRequest
	if err := bindBody("application/json", []byte(`{"settings":{"grace_minutes":1e4,"target_score":0.5}}`), &r); err != nil || *r.Settings.GraceMinutes != 10000 {
		t.Fatalf("in range: %v %+v", err, r.Settings)
	}
}

func fieldsOf(fe *fault.Error) []fault.FieldError {
	if fe == nil {
		return nil
	}
	return fe.Fields
}
