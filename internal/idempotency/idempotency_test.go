package idempotency_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/troth-app/troth/internal/idempotency"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	hash := idempotency.Hash("POST", "/v1/things", []byte(`{"a":1}`))
	other := idempotency.Hash("POST", "/v1/things", []byte(`{"a":2}`))
	rec := func(status idempotency.Status, h []byte, age, lockAge time.Duration) idempotency.Record {
		return idempotency.Record{
			UserID: "usr_1", Key: "k", RequestHash: h, Status: status,
			CreatedAt: now.Add(-age), LockedAt: now.Add(-lockAge),
		}
	}
	const (
		inFlight = idempotency.StatusInFlight
		complete = idempotency.StatusComplete
	)
	tests := []struct {
		name     string
		existing idempotency.Record
		want     idempotency.Outcome
	}{
		{"completed, same request", rec(complete, hash, time.Hour, time.Hour), idempotency.Replay},
		{"completed just before expiry", rec(complete, hash, idempotency.TTL, idempotency.TTL), idempotency.Replay},
		{"completed, expired", rec(complete, hash, idempotency.TTL+time.Microsecond, idempotency.TTL), idempotency.Run},
		{"completed, another request", rec(complete, other, time.Minute, time.Minute), idempotency.Reused},
		{"expired, another request", rec(complete, other, 25*time.Hour, 25*time.Hour), idempotency.Run},
		{"in flight", rec(inFlight, hash, time.Second, time.Second), idempotency.InFlight},
		{"in flight for exactly the limit", rec(inFlight, hash, idempotency.AbandonAfter, idempotency.AbandonAfter), idempotency.InFlight},
		{"in flight, abandoned", rec(inFlight, hash, 61*time.Second, 61*time.Second), idempotency.Run},
		{"in flight, another request", rec(inFlight, other, time.Second, time.Second), idempotency.Reused},
		{"abandoned, another request", rec(inFlight, other, time.Hour, time.Hour), idempotency.Reused},
		{"in flight, expired, another request", rec(inFlight, other, 25*time.Hour, 25*time.Hour), idempotency.Run},
		// A taken-over record keeps its lock time fresh.
		{"taken over after abandonment", rec(inFlight, hash, 2*time.Minute, time.Second), idempotency.InFlight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := idempotency.Decide(tt.existing, hash, now); got != tt.want {
				t.Errorf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"", false},
		{"a", true},
		{"3f2c1a9e-6d7b-4c1e-9a3f-0b1c2d3e4f50", true},
		{"with space and ~!@#$%^&*()", true},
		{strings.Repeat("k", 255), true},
		{strings.Repeat("k", 256), false},
		{"tab\there", false},
		{"new\nline", false},
		{"del\x7f", false},
		{"naïve", false},
		{"emoji😀", false},
	}
	for _, tt := range tests {
		if got := idempotency.ValidKey(tt.key); got != tt.want {
			t.Errorf("ValidKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestHashSeparatesParts(t *testing.T) {
	base := idempotency.Hash("POST", "/v1/a", []byte("body"))
	if len(base) != 32 {
		t.Fatalf("hash has %d bytes, want 32", len(base))
	}
	if !bytes.Equal(base, idempotency.Hash("POST", "/v1/a", []byte("body"))) {
		t.Fatal("hash is not deterministic")
	}
	for _, h := range [][]byte{
		idempotency.Hash("PUT", "/v1/a", []byte("body")),
		idempotency.Hash("POST", "/v1/b", []byte("body")),
		idempotency.Hash("POST", "/v1/a", []byte("body ")),
		// Moving bytes between path and body changes the hash.
		idempotency.Hash("POST", "/v1/ab", []byte("ody")),
	} {
		if bytes.Equal(base, h) {
			t.Errorf("different requests hash alike")
		}
	}
}

// A JSON body counts by its value: members in another order, other
// spacing or another spelling of the same number is the same request; a
// changed value, or a body that is not JSON and differs by a byte, is not.
func TestHashCountsJSONByValue(t *testing.T) {
	h := func(body string) []byte { return idempotency.Hash("POST", "/v1/things", []byte(body)) }
	first := h(`{"name":"n","time_zone":"UTC","n":10}`)
	for _, same := range []string{
		`{"time_zone":"UTC","name":"n","n":10}`,
		"{ \"n\": 1e1,\n  \"time_zone\": \"UTC\", \"name\": \"\\u006e\" }",
	} {
		if !bytes.Equal(first, h(same)) {
			t.Errorf("%s counts as another request", same)
		}
	}
	for _, other := range []string{`{"name":"n","time_zone":"UTC","n":11}`, `{"name":"n","time_zone":"UTC"}`, `[{"name":"n","time_zone":"UTC","n":10}]`} {
		if bytes.Equal(first, h(other)) {
			t.Errorf("%s counts as the same request", other)
		}
	}
	if bytes.Equal(h(`not json`), h(`not  json`)) {
		t.Error("bodies that are not JSON count byte for byte")
	}
}
