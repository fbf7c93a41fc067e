// Package id makes the opaque, time-ordered identifiers troth gives its
// resources: a type prefix and a ULID, e.g. usr_01J9Z3….
package id

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Prefixes of the resource types.
const (
	User          = "usr"
	Relationship  = "rel"
	Promise       = "prm"
	Occurrence    = "occ"
	FollowThru    = "fth"
	Breach        = "brc"
	CheckIn       = "chk"
	Webhook       = "whk"
	Event         = "evt"
	Delivery      = "dlv"
	Session       = "ses"
	APIKey        = "key"
	Renegotiation = "rng"
	Pause         = "pau"
	Invite        = "inv"
)

var (
	mu      sync.Mutex
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// New returns a new identifier with the given prefix. Identifiers made by one
// process are strictly increasing.
func New(prefix string) string {
	mu.Lock()
	u := ulid.MustNew(ulid.Timestamp(time.Now()), entropy)
	mu.Unlock()
	return prefix + "_" + strings.ToLower(u.String())
}

// Valid reports whether s looks like an identifier with the given prefix.
func Valid(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != ulid.EncodedSize {
		return false
	}
	_, err := ulid.ParseStrict(strings.ToUpper(rest))
	return err == nil
}
