package httpapi

import (
	"bytes"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"errors"
	"io"
	"math/big"
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
		return decodeError(err)
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
// "integer" does; 10.5 stays a wrong type.
var integralNumbers = jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *int) error {
	if dec.PeekKind() != '0' {
		return errors.ErrUnsupported
	}
	val, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if n, err := strconv.ParseInt(string(val), 10, 64); err == nil && n == int64(int(n)) {
		*v = int(n)
		return nil
	}
	// Exactly: 10.00000000000000001 is a fraction, though a float64 reads
	// it as 10. A JSON number is a valid rational; its digits are bounded
	// by the body's size.
	if i := strings.IndexAny(string(val), "eE"); i >= 0 {
		// An exponent past ±40 holds no int64 worth the arithmetic
		// (big.Rat would expand 1e999999999 in full).
		if e, err := strconv.Atoi(string(val[i+1:])); err != nil || e > 40 || e < -40 {
			return &jsonv2.SemanticError{JSONKind: '0', GoType: reflect.TypeFor[int]()}
		}
	}
	r, ok := new(big.Rat).SetString(string(val))
	if !ok || !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() != int64(int(r.Num().Int64())) {
		return &jsonv2.SemanticError{JSONKind: '0', GoType: reflect.TypeFor[int]()}
	}
	*v = int(r.Num().Int64())
	return nil
})

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
		return decodeError(err)
	}
	return nil
}

// jsonContent reports whether the request says its body is JSON.
func jsonContent(req *http.Request) bool {
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
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
func decodeError(err error) error {
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
