package httpapi

import (
	"bytes"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/fault"
)

// maxBody caps every request body.
const maxBody = 64 << 10

// bind decodes the JSON request body into v, strictly: unknown fields,
// duplicate keys, keys that differ only in case, invalid UTF-8, trailing data
// and wrong types are all 400 problems naming the field. Path and query
// parameters are never merged in.
func bind(c echo.Context, v any) error {
	req := c.Request()
	if !jsonContent(req) {
		return fault.New(fault.KindUnsupportedMediaType, "unsupported_media_type", "the request body must be application/json")
	}
	data, err := readBody(req)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return fault.New(fault.KindBadRequest, "empty_body", "the request body must be a JSON object")
	}
	if isNull(data) {
		return errNotObject
	}
	if err := jsonv2.Unmarshal(data, v, jsonv2.RejectUnknownMembers(true), bodyUnmarshalers); err != nil {
		return decodeError(err, reflect.TypeOf(v))
	}
	if req.Method == http.MethodPatch {
		// A null would decode as if the field were left out, and a PATCH
		// would then keep what the client meant to clear: no field of a
		// PATCH takes null (the schema says so); leave a field out to keep
		// its value.
		if p, ok := firstNull(data); ok {
			field := pointerField(p)
			msg := "field " + quote(field) + " has the wrong type (got null): leave it out to keep its value"
			return &fault.Error{Kind: fault.KindBadRequest, Code: "invalid_type", Message: msg,
				Fields: []fault.FieldError{{Field: field, Code: "invalid_type", Message: msg}}}
		}
	}
	return nil
}

// firstNull returns where the first null in a JSON document lies.
func firstNull(data []byte) (jsontext.Pointer, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return "", false
		}
		if tok.Kind() == 'n' {
			return dec.StackPointer(), true
		}
	}
}

// errNotObject is the answer to a body that is JSON but not an object.
var errNotObject = fault.New(fault.KindBadRequest, "invalid_json", "the request body must be a JSON object")

// isNull reports whether the body is the JSON literal null. Decoding null
// into a Go struct leaves it as it was, without an error, so null would
// pass for {}; every other non-object fails to decode on its own.
func isNull(data []byte) bool {
	return string(bytes.Trim(data, " \t\r\n")) == "null"
}

// bodyUnmarshalers are the decoders bind adds to encoding/json/v2's own.
var bodyUnmarshalers = jsonv2.WithUnmarshalers(jsonv2.JoinUnmarshalers(integralNumbers, rfc3339Times))

// integralNumbers lets an integer field take a number written with a
// fraction or exponent whose value is whole (10.0, 1e1), as JSON Schema's
// "integer" does; 10.5 stays a wrong type. A whole number too large for the
// field fails with strconv.ErrRange, as encoding/json/v2 reports any number
// out of its Go type's range: decodeError answers out_of_range for both.
var integralNumbers = jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *int) error {
	if dec.PeekKind() != '0' {
		return errors.ErrUnsupported
	}
	val, err := dec.ReadValue()
	if err != nil {
		return err
	}
	n, whole, fits := wholeNumber(string(val))
	switch {
	case !whole:
		return &jsonv2.SemanticError{JSONKind: '0', GoType: reflect.TypeFor[int]()}
	case !fits:
		return &jsonv2.SemanticError{JSONKind: '0', GoType: reflect.TypeFor[int](), Err: strconv.ErrRange}
	}
	*v = n
	return nil
})

// wholeNumber reads a JSON number exactly, without rounding: whether its
// value is whole (10.00000000000000001 is not, though a float64 reads it as
// 10; 1e1 and 0e-999 are), and whether it then fits an int. It never
// expands the number: 1e999999999 is whole and too large, 1e-999999999 a
// fraction.
func wholeNumber(num string) (n int, whole, fits bool) {
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	mant, exp, _ := strings.Cut(strings.ToLower(num), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	// The value is digits × 10^scale, digits without leading or trailing
	// zeros.
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, true, true // zero, however written
	}
	trimmed := strings.TrimRight(digits, "0")
	scale := int64(len(digits)-len(trimmed)) - int64(len(frac))
	digits = trimmed
	if exp != "" {
		e, err := strconv.ParseInt(exp, 10, 64)
		if err != nil {
			// An exponent beyond int64: past any int, or below any whole
			// number but zero.
			return 0, !strings.HasPrefix(exp, "-"), false
		}
		// digits and frac are bounded by the body's size: no overflow
		// short of an exponent near the int64 bounds, which this caps.
		scale += max(min(e, 1<<40), -1<<40)
	}
	if scale < 0 {
		return 0, false, false
	}
	if int64(len(digits))+scale > 19 {
		return 0, true, false // at least 10^19, beyond int64
	}
	i, err := strconv.ParseInt(digits+strings.Repeat("0", int(scale)), 10, 64)
	if err == nil && neg {
		i = -i
	}
	if err != nil || i != int64(int(i)) {
		// Beyond int64 (or a 32-bit int); -2^63 itself is refused,
		// which no field's range comes near.
		return 0, true, false
	}
	return int(i), true, true
}

// noBody checks the body of an operation that takes none: it must be
// empty, or a JSON object without members ({}), so that a client that
// sent fields (a dispute's reason to the confirm URL, say) learns that
// they were not read rather than seeing its request succeed without them.
func noBody(c echo.Context) error {
	req := c.Request()
	if req.ContentLength == 0 {
		return nil
	}
	data, err := readBody(req)
	if err != nil || len(strings.TrimSpace(string(data))) == 0 {
		return err
	}
	if !jsonContent(req) {
		return fault.New(fault.KindUnsupportedMediaType, "unsupported_media_type", "this operation takes no request body; send none, or {} as application/json")
	}
	if isNull(data) {
		return errNotObject
	}
	if err := jsonv2.Unmarshal(data, &struct{}{}, jsonv2.RejectUnknownMembers(true)); err != nil {
		return decodeError(err, nil)
	}
	return nil
}

// jsonContent reports whether the request says its body is JSON as troth
// reads it: exactly application/json (in any case), with no parameter but a
// charset of utf-8 (in any case, quoted or not). Other JSON types
// (application/merge-patch+json, …) have other semantics, and another
// charset is not what the body is read as: both are 415.
func jsonContent(req *http.Request) bool {
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != "application/json" { // ParseMediaType lower-cases the type and the parameter names
		return false
	}
	for name, value := range params {
		if name != "charset" || !strings.EqualFold(value, "utf-8") {
			return false
		}
	}
	return true
}

// readBody reads the whole request body: past the size limit a 413
// problem, otherwise a 400 if it cannot be read.
func readBody(req *http.Request) ([]byte, error) {
	data, err := io.ReadAll(req.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, fault.New(fault.KindBadRequest, "unreadable_body", "the request body could not be read")
	}
	return data, nil
}

// decodeError describes a JSON decoding failure without exposing Go types.
// root is the type decoded into, which knows the bounds of its fields.
func decodeError(err error, root reflect.Type) error {
	bad := func(code, field, msg string) error {
		e := fault.New(fault.KindBadRequest, code, "%s", msg)
		if field != "" {
			e.Fields = []fault.FieldError{{Field: field, Code: code, Message: msg}}
		}
		e.Err = err
		return e
	}
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		field := pointerField(se.JSONPointer)
		switch {
		case errors.Is(se.Err, jsonv2.ErrUnknownName):
			return bad("unknown_field", field, "unknown field "+quote(field))
		case se.GoType == reflect.TypeFor[time.Time]():
			return bad("invalid_time", field, "field "+quote(field)+" must be an RFC 3339 time such as 2027-03-05T18:00:00Z")
		case se.JSONKind == '0' && errors.Is(se.Err, strconv.ErrRange):
			// A number of the right kind, beyond what the field holds: a
			// value that breaks a rule, as one just past the field's
			// bounds is, and told the same way.
			return &fault.Error{Kind: fault.KindInvalid, Code: "validation_failed", Message: "the request has invalid fields",
				Fields: []fault.FieldError{{Field: field, Code: "out_of_range", Message: rangeMessage(root, se.JSONPointer)}}, Err: err}
		case se.JSONKind == '0' && se.GoType != nil && se.GoType.Kind() == reflect.Int:
			return bad("invalid_type", field, "field "+quote(field)+" must be a whole number")
		case se.JSONKind != 0:
			if field == "" {
				return bad("invalid_json", "", "the request body must be a JSON object")
			}
			return bad("invalid_type", field, "field "+quote(field)+" has the wrong type ("+kindName(se.JSONKind)+")")
		}
		return bad("invalid_json", field, "the request body is not valid for this operation")
	}
	var sy *jsontext.SyntacticError
	if errors.As(err, &sy) {
		field := pointerField(sy.JSONPointer)
		switch {
		case errors.Is(sy.Err, jsontext.ErrDuplicateName):
			return bad("duplicate_field", field, "field "+quote(field)+" appears more than once")
		case sy.Err != nil && strings.Contains(sy.Err.Error(), "invalid UTF-8"):
			// jsontext exports no sentinel for this one.
			return bad("invalid_utf8", field, "the request body contains invalid UTF-8")
		}
		return bad("malformed_json", "", "the request body is not well-formed JSON")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return bad("malformed_json", "", "the request body is not well-formed JSON")
	}
	return bad("invalid_json", "", "the request body is not valid JSON")
}

// rangeMessage says which values the field at p of root takes: the
// minimum and maximum its schema states (the struct tags that swag turns
// into the OpenAPI document), or else those of its Go type.
func rangeMessage(root reflect.Type, p jsontext.Pointer) string {
	f, ok := fieldAt(root, p)
	lo, hasLo := f.Tag.Lookup("minimum")
	hi, hasHi := f.Tag.Lookup("maximum")
	t := f.Type
	for ok && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case hasLo && hasHi:
		return "must be between " + lo + " and " + hi
	case ok && t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		if !hasLo {
			lo = strconv.FormatInt(-1<<(t.Bits()-1), 10)
		}
		if !hasHi {
			hi = strconv.FormatInt(1<<(t.Bits()-1)-1, 10)
		}
		return "must be between " + lo + " and " + hi
	}
	return "is out of range"
}

// fieldAt finds the struct field a JSON pointer names in a request type.
func fieldAt(t reflect.Type, p jsontext.Pointer) (reflect.StructField, bool) {
	var f reflect.StructField
	found := false
	for name := range p.Tokens() {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t == nil:
			return f, false
		case t.Kind() == reflect.Struct:
			found = false
			for _, sf := range reflect.VisibleFields(t) {
				if tag, _, _ := strings.Cut(sf.Tag.Get("json"), ","); sf.IsExported() && !sf.Anonymous && tag == name {
					f, t, found = sf, sf.Type, true
					break
				}
			}
			if !found {
				return f, false
			}
		case t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map:
			t, found = t.Elem(), false
		default:
			return f, false
		}
	}
	return f, found
}

func pointerField(p jsontext.Pointer) string {
	s := strings.TrimPrefix(string(p), "/")
	s = strings.ReplaceAll(s, "/", ".")
	s = strings.ReplaceAll(s, "~1", "/")
	return strings.ReplaceAll(s, "~0", "~")
}

func quote(s string) string { return `"` + s + `"` }

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "got null"
	case 'f', 't':
		return "got a boolean"
	case '"':
		return "got a string"
	case '0':
		return "got a number"
	case '{':
		return "got an object"
	case '[':
		return "got an array"
	}
	return "unexpected value"
}
