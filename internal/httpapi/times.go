package httpapi

import (
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"errors"
	"reflect"
	"time"
)

// parseTime reads an RFC 3339 time, from a query parameter or a body.
// RFC 3339 (§5.6) lets the date-time separator T and the zone Z be written
// in lower case, which Go's time.Parse refuses: those two letters are put
// in upper case first, and nothing else is changed, so every other time
// time.Parse refuses stays refused.
func parseTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, upperRFC3339Letters(s))
}

// upperRFC3339Letters upper-cases a lower-case t at the separator's place
// (after the 10 characters of the full date) and a trailing z (the zone,
// the only place a valid time can end in a letter).
func upperRFC3339Letters(s string) string {
	if len(s) > 10 && s[10] == 't' {
		s = s[:10] + "T" + s[11:]
	}
	if n := len(s); n > 0 && s[n-1] == 'z' {
		s = s[:n-1] + "Z"
	}
	return s
}

// rfc3339Times decodes time.Time fields of request bodies as encoding/json/v2
// does, but with RFC 3339's lower-case t and z allowed (see parseTime).
var rfc3339Times = jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *time.Time) error {
	if dec.PeekKind() != '"' {
		return errors.ErrUnsupported // null, or the wrong type: as before
	}
	val, err := dec.ReadValue()
	if err != nil {
		return err
	}
	s, err := jsontext.AppendUnquote(nil, val)
	if err != nil {
		return err
	}
	// The default decoder, not parseTime, so that what it refused beyond
	// time.Parse stays refused.
	quoted, err := jsontext.AppendQuote(nil, upperRFC3339Letters(string(s)))
	if err != nil {
		return err
	}
	if err := jsonv2.Unmarshal(quoted, v); err != nil {
		var se *jsonv2.SemanticError
		if errors.As(err, &se) {
			err = se.Err
		}
		return &jsonv2.SemanticError{JSONKind: '"', GoType: reflect.TypeFor[time.Time](), Err: err}
	}
	return nil
})
