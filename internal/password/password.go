// Package password hashes and checks passwords with argon2id, and spends the
// same work on an unknown account as on a known one so that timing does not
// tell whether an email is registered.
package password

import (
	"errors"
	"sync"

	"github.com/alexedwards/argon2id"
)

// Params are the argon2id cost parameters.
type Params = argon2id.Params

// Recommended are OWASP's argon2id parameters (19 MiB, 2 passes, 1 lane):
// about 40 ms a hash on one core here, memory-bounded under concurrent logins.
var Recommended = Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Hasher hashes and verifies passwords with fixed parameters.
type Hasher struct {
	params    Params
	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a Hasher using p.
func NewHasher(p Params) *Hasher { return &Hasher{params: p} }

// Hash returns the PHC-encoded argon2id hash of pw.
func (h *Hasher) Hash(pw string) (string, error) {
	return argon2id.CreateHash(pw, &h.params)
}

// Verify reports whether pw matches the encoded hash. An empty hash stands
// for an unknown account: the work is done against a dummy hash with the same
// parameters and the answer is false.
func (h *Hasher) Verify(pw, encoded string) (bool, error) {
	if encoded == "" {
		h.dummyOnce.Do(func() {
			h.dummy, _ = argon2id.CreateHash("troth-dummy-password", &h.params)
		})
		_, _ = argon2id.ComparePasswordAndHash(pw, h.dummy)
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(pw, encoded)
	if err != nil {
		return false, errors.Join(errors.New("verify password hash"), err)
	}
	return ok, nil
}
