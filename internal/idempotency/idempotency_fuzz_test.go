package idempotency

import (
	"bytes"
	"encoding/json/jsontext"
	"strings"
	"testing"
)

// FuzzValidKey checks ValidKey against its definition (1 to MaxKeyLength
// bytes, each printable ASCII), and that Hash tells requests apart by
// method, path and body, also when bytes move across their boundaries.
func FuzzValidKey(f *testing.F) {
	for _, k := range []string{
		"", " ", "~", "a", "order-2027-03-05-0001", "3f2b0c1e-6a4d-4c9b-9a57-0c1d2e3f4a5b",
		strings.Repeat("k", MaxKeyLength), strings.Repeat("k", MaxKeyLength+1),
		"tab\tkey", "new\nline", "nul\x00", "del\x7f", "caf\u00e9", "\xff",
	} {
		f.Add(k, []byte(`{"title":"x"}`))
	}
	f.Fuzz(func(t *testing.T, key string, body []byte) {
		want := len(key) >= 1 && len(key) <= MaxKeyLength
		for i := 0; i < len(key); i++ {
			want = want && key[i] >= 0x20 && key[i] <= 0x7e
		}
		if got := ValidKey(key); got != want {
			t.Fatalf("ValidKey(%q) = %v, want %v", key, got, want)
		}
		h1 := Hash("POST", "/v1/relationships/"+key, body)
		if len(h1) != 32 || !bytes.Equal(h1, Hash("POST", "/v1/relationships/"+key, body)) {
			t.Fatalf("Hash is not a stable SHA-256")
		}
		// No JSON text ends in x: the body with it appended is another request.
		if bytes.Equal(h1, Hash("PUT", "/v1/relationships/"+key, body)) ||
			bytes.Equal(h1, Hash("POST", "/v1/relationships/"+key, append(bytes.Clone(body), 'x'))) {
			t.Fatalf("Hash ignores the method or the body")
		}
		// JSON counts by its canonical form: the same value spaced and
		// ordered otherwise is the same request.
		v := jsontext.Value(bytes.Clone(body))
		if v.Canonicalize() == nil {
			if spaced := append(append([]byte(" \n"), body...), " \t"...); !bytes.Equal(h1, Hash("POST", "/v1/relationships/"+key, spaced)) {
				t.Fatalf("Hash tells %q from %q", body, spaced)
			}
		}
		if !strings.Contains(key, "\x00") && bytes.Equal(Hash("POST", "/a"+key, body), Hash("POST", "/a", append([]byte(key), body...))) && key != "" {
			t.Fatalf("Hash confuses path and body for key %q", key)
		}
	})
}
