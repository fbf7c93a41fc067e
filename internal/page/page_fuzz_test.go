package page

import (
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/troth-app/troth/internal/fault"
)

// FuzzParse checks that Parse never panics, refuses with a 400 problem on
// the cursor field, returns exactly n key parts when it accepts, and reads
// back every cursor Cursor makes from a key of valid UTF-8 parts.
func FuzzParse(f *testing.F) {
	f.Add("", uint8(1), "2027-03-05T18:00:00Z", "prm_01j9z3k4m5n6p7q8r9s0t1v2w3")
	f.Add(Cursor("2027-03-05T18:00:00.123456789Z", "ocr_01j9z3k4m5n6p7q8r9s0t1v2w3"), uint8(2), "", "x")
	f.Add(Cursor("rel_01j9z3k4m5n6p7q8r9s0t1v2w3"), uint8(1), "a\"b\\c", "\u2028")
	f.Add("WyJhIl0", uint8(1), "a", "b")      // ["a"] without padding
	f.Add("WyJhIl0=", uint8(1), "a", "b")     // with padding: not raw URL encoding
	f.Add("bnVsbA", uint8(1), "", "")         // null
	f.Add("W10", uint8(0), "", "")            // []
	f.Add("WzEsMl0", uint8(2), "1", "2")      // [1,2]: numbers are not key parts
	f.Add("eyJhIjoxfQ", uint8(1), "", "")     // {"a":1}
	f.Add("WyJcdWQ4MDAiXQ", uint8(1), "", "") // ["\ud800"]
	f.Add("!!!!", uint8(1), "", "")
	f.Fuzz(func(t *testing.T, cursor string, n uint8, a, b string) {
		key, err := Parse(cursor, int(n%4))
		if err != nil {
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.KindBadRequest || fe.Code != "invalid_cursor" || len(fe.Fields) != 1 || fe.Fields[0].Field != "cursor" {
				t.Fatalf("Parse(%q) error %#v, want a 400 invalid_cursor on the cursor field", cursor, err)
			}
		} else if cursor != "" && len(key) != int(n%4) {
			t.Fatalf("Parse(%q, %d) = %q", cursor, n%4, key)
		}

		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return // keys are ids and timestamps: always valid UTF-8
		}
		for _, want := range [][]string{{a}, {a, b}} {
			c := Cursor(want...)
			got, err := Parse(c, len(want))
			if len(c) > 512 {
				if err == nil {
					t.Fatalf("cursor of %d characters accepted", len(c))
				}
				continue
			}
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("Parse(Cursor(%q)) = %q, %v", want, got, err)
			}
		}
	})
}
