// Package idempotency makes retried POST requests safe: the first request
// carrying an Idempotency-Key runs, and a retry with the same key and the
// same request gets the first response back instead of running again.
//
// A key belongs to one user and is kept for TTL. Its record is taken
// (status in_flight) before the request runs and completed with the response
// after it; responses with a 5xx status are not kept, the record is released
// so the client can retry. A record still in flight after AbandonAfter is
// treated as abandoned — the instance that took it crashed or lost its
// database — and the next request with the same key and the same request may
// take it over and run. The server's write timeout (60 s) bounds how long a
// live request can hold a key, so a live request is never taken over in
// practice; if one were, the fence in Lease keeps the slower of the two from
// overwriting the other's record.
package idempotency

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json/jsontext"
	"errors"
	"time"
)

// TTL is how long a key is remembered after its request started; an older
// record is ignored and overwritten by the next use of the key.
const TTL = 24 * time.Hour

// AbandonAfter is how long a record may stay in flight before another
// request with the same key and request may take it over.
const AbandonAfter = 60 * time.Second

// MaxKeyLength is the longest key accepted, in bytes.
const MaxKeyLength = 255

// Status is the state of a record.
type Status string

// The states of a record.
const (
	StatusInFlight Status = "in_flight"
	StatusComplete Status = "complete"
)

// Response is what a completed request answered, as replayed to a retry.
type Response struct {
	Status int
	// Header holds the replayed headers (Content-Type, Location, ETag) that
	// the response carried.
	Header map[string]string
	Body   []byte
}

// Record is one user's use of one key.
type Record struct {
	UserID string
	Key    string
	// RequestHash identifies the request (see Hash); a retry must match it.
	RequestHash []byte
	Status      Status
	// Response is set once Status is StatusComplete.
	Response  Response
	CreatedAt time.Time
	// LockedAt is when the current holder took the record; it fences
	// Complete and Release against a holder that was taken over.
	LockedAt time.Time
}

// Lease names the hold a request has on a key: the key and the time it was
// taken. Only the holder of the current lease completes or releases it.
type Lease struct {
	UserID   string
	Key      string
	LockedAt time.Time
}

// Lease returns the lease of the request that took r.
func (r Record) Lease() Lease { return Lease{UserID: r.UserID, Key: r.Key, LockedAt: r.LockedAt} }

// ErrLeaseLost is returned by Complete when the record is no longer held
// under the lease (it was taken over after being abandoned, or purged).
var ErrLeaseLost = errors.New("idempotency key is no longer held by this request")

// Store keeps records. Implementations must be safe for concurrent use by
// several instances sharing one database: of any number of requests racing
// for a key, Begin starts at most one.
type Store interface {
	// Begin takes the key for rec (status in flight; rec.CreatedAt and
	// rec.LockedAt are both now) if no live record holds it: when none
	// exists, when the existing one is expired (ExpiredBefore(now)), or when
	// it is abandoned (AbandonedBefore(now)) and was taken for the same
	// request. Otherwise it returns the existing record and started is
	// false. Exactly one of existing and started is set.
	Begin(ctx context.Context, rec Record) (existing *Record, started bool, err error)
	// Complete stores the response of the request holding lease; it returns
	// ErrLeaseLost when that request no longer holds the key.
	Complete(ctx context.Context, lease Lease, resp Response) error
	// Release deletes the record held under lease, so that the key can be
	// used again at once; a record no longer held is left alone.
	Release(ctx context.Context, lease Lease) error
}

// ExpiredBefore is the creation time before which a record is expired, as
// of now.
func ExpiredBefore(now time.Time) time.Time { return now.Add(-TTL) }

// AbandonedBefore is the lock time before which an in-flight record is
// abandoned, as of now.
func AbandonedBefore(now time.Time) time.Time { return now.Add(-AbandonAfter) }

// ValidKey reports whether key is an acceptable Idempotency-Key: 1 to
// MaxKeyLength printable ASCII characters (space to tilde).
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Hash identifies a request for comparing a retry with the first use of its
// key: SHA-256 over the method, the path and the body. A body that is JSON
// counts by its canonical form (RFC 8785: members sorted, no insignificant
// space, numbers and strings written one way), so that a client that
// encodes the same request again, its members in another order, retries
// rather than reuses its key; any other body counts byte for byte.
//
// No body counts as {}: the operations that take none accept either.
func Hash(method, path string, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	v := jsontext.Value(bytes.Clone(body))
	if err := v.Canonicalize(); err == nil {
		body = v
	}
	h.Write(body)
	return h.Sum(nil)
}

// Outcome is what to do with a request whose key is already recorded.
type Outcome int

// The outcomes of Decide.
const (
	// Run the request: the record is expired or abandoned.
	Run Outcome = iota
	// Replay the stored response.
	Replay
	// InFlight: the first request with this key is still running.
	InFlight
	// Reused: the key was used for a different request.
	Reused
)

func (o Outcome) String() string {
	switch o {
	case Run:
		return "run"
	case Replay:
		return "replay"
	case InFlight:
		return "in_flight"
	case Reused:
		return "reused"
	}
	return "unknown"
}

// Decide says what a request identified by hash gets, at now, when the key
// already has the record existing. It is the rule Begin applies when it
// takes a record over; a caller whose Begin did not start treats Run as
// InFlight (the record changed between Begin's update and its read).
func Decide(existing Record, hash []byte, now time.Time) Outcome {
	if existing.CreatedAt.Before(ExpiredBefore(now)) {
		return Run
	}
	if !bytes.Equal(existing.RequestHash, hash) {
		return Reused
	}
	if existing.Status == StatusComplete {
		return Replay
	}
	if existing.LockedAt.Before(AbandonedBefore(now)) {
		return Run
	}
	return InFlight
}

// Responses can hold secrets shown once (an API key, a webhook's signing
// secret), so what is kept of them must not give those away to whoever
// reads the database. A key is kept only as its digest (Digest), and a
// kept body is sealed with AES-256-GCM under a key derived from the user
// and the Idempotency-Key itself (Seal): only a retry that presents the
// key can open it. Keys should be random (a UUID); a guessable key is as
// weak as the guess.

// Digest is what is kept of an Idempotency-Key.
func Digest(key string) string {
	sum := sha256.Sum256([]byte("troth idempotency key\x00" + key))
	return hex.EncodeToString(sum[:])
}

// sealVersion prefixes a sealed body: the scheme, should it change.
const sealVersion = 1

func aead(user, key string) (cipher.AEAD, error) {
	k := sha256.Sum256([]byte("troth idempotency response\x00" + user + "\x00" + key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts a response body kept for user's key.
func Seal(user, key string, body []byte) ([]byte, error) {
	a, err := aead(user, key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+len(nonce)+len(body)+a.Overhead())
	out = append(append(out, sealVersion), nonce...)
	return a.Seal(out, nonce, body, []byte(user)), nil
}

// ErrSealed is returned by Open for a body it cannot open.
var ErrSealed = errors.New("idempotency: the kept response cannot be opened with this key")

// Open decrypts a body Seal made for user's key.
func Open(user, key string, sealed []byte) ([]byte, error) {
	a, err := aead(user, key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+a.NonceSize() || sealed[0] != sealVersion {
		return nil, ErrSealed
	}
	body, err := a.Open(nil, sealed[1:1+a.NonceSize()], sealed[1+a.NonceSize():], []byte(user))
	if err != nil {
		return nil, ErrSealed
	}
	return body, nil
}
