package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// refreshMargin is how long before its expiry an access token is renewed, so
// that a request does not set out with a token that lapses on the way.
const refreshMargin = 30 * time.Second

// Tokens keeps one user's access token fresh. It logs in with the user's
// credentials when it has no token, renews the token through
// POST /v1/auth/refresh shortly before it expires, and (through Wrap or
// Option) renews it once more and retries when the server answers 401
// anyway. It is safe for concurrent use: refresh tokens are single-use, so
// only one renewal runs at a time.
type Tokens struct {
	auth            ClientWithResponsesInterface
	email, password string
	now             func() time.Time

	mu      sync.Mutex
	access  string
	refresh string
	expires time.Time
	// refused is the answer to a login the server refused (a wrong
	// password, or an account deleted): the session is over, and each
	// renewal returns it at once rather than asking again (login attempts
	// count against the rate limit, and cost the server a password hash).
	refused error
}

// NewTokens returns a token source that logs in and refreshes through auth,
// a client without the token source (the auth routes need no token). email
// and password may be empty when the source is seeded with Set and the
// session is never expected to outlive the refresh token.
func NewTokens(auth ClientWithResponsesInterface, email, password string) *Tokens {
	return &Tokens{auth: auth, email: email, password: password, now: time.Now}
}

// Set stores the tokens of a register, login or refresh answer (and so
// starts again a session whose login was refused).
func (t *Tokens) Set(a AuthResponse) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.set(a)
}

func (t *Tokens) set(a AuthResponse) {
	t.refused = nil
	t.access, t.refresh = a.AccessToken, a.RefreshToken
	t.expires = t.now().Add(time.Duration(a.ExpiresIn) * time.Second)
}

// Token returns a valid access token, renewing it first if it is missing or
// about to expire.
func (t *Tokens) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && t.now().Before(t.expires.Add(-refreshMargin)) {
		return t.access, nil
	}
	if err := t.renew(ctx); err != nil {
		return "", err
	}
	return t.access, nil
}

// Reject reports that the server refused token; the next Token renews it
// unless another caller already has.
func (t *Tokens) Reject(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access == token {
		t.access = ""
	}
}

// renew refreshes the session, or logs in when there is no refresh token or
// the server no longer accepts it. t.mu is held.
func (t *Tokens) renew(ctx context.Context) error {
	if t.refresh != "" {
		res, err := t.auth.RefreshTokensWithResponse(ctx, RefreshRequest{RefreshToken: t.refresh})
		if err != nil {
			return fmt.Errorf("refresh access token: %w", err)
		}
		if res.JSON200 != nil {
			t.set(*res.JSON200)
			return nil
		}
		err = Check(res.HTTPResponse, res.Body)
		if t.email == "" || res.StatusCode() != http.StatusUnauthorized {
			return fmt.Errorf("refresh access token: %w", err)
		}
		// The refresh token expired or was revoked: start a new session.
		t.refresh = ""
	}
	if t.refused != nil {
		return t.refused
	}
	if t.email == "" {
		return errors.New("renew access token: no refresh token and no credentials")
	}
	res, err := t.auth.LoginWithResponse(ctx, LoginRequest{Email: t.email, Password: t.password})
	if err != nil {
		return fmt.Errorf("log in %s: %w", t.email, err)
	}
	if res.JSON200 == nil {
		err := fmt.Errorf("log in %s: %w", t.email, Check(res.HTTPResponse, res.Body))
		if res.StatusCode() == http.StatusUnauthorized {
			t.refused = err // until Set gives new tokens
		}
		return err
	}
	t.set(*res.JSON200)
	return nil
}

// Edit is a RequestEditorFn that sets the Authorization header to a valid
// bearer token.
func (t *Tokens) Edit(ctx context.Context, req *http.Request) error {
	tok, err := t.Token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// Wrap returns a doer that authenticates every request through next and, on
// a 401, renews the token and sends the request once more.
func (t *Tokens) Wrap(next HttpRequestDoer) HttpRequestDoer {
	return &tokenDoer{next: next, tokens: t}
}

// Option is a ClientOption that authenticates the client's requests with
// t, retrying once on a 401. Put it after WithHTTPClient, which it wraps.
func (t *Tokens) Option() ClientOption {
	return func(c *Client) error {
		next := c.Client
		if next == nil {
			next = &http.Client{}
		}
		c.Client = t.Wrap(next)
		return nil
	}
}

type tokenDoer struct {
	next   HttpRequestDoer
	tokens *Tokens
}

func (d *tokenDoer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := d.tokens.Edit(ctx, req); err != nil {
		return nil, err
	}
	res, err := d.next.Do(req)
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	if req.Body != nil && req.GetBody == nil {
		return res, nil // the body cannot be sent again
	}
	retry := req.Clone(ctx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return res, nil
		}
		retry.Body = body
	}
	d.tokens.Reject(bearer(req))
	if err := d.tokens.Edit(ctx, retry); err != nil {
		return res, nil // keep the server's 401: it says more than a failed renewal
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return d.next.Do(retry)
}

func bearer(req *http.Request) string {
	const prefix = "Bearer "
	h := req.Header.Get("Authorization")
	if len(h) > len(prefix) && h[:len(prefix)] == prefix {
		return h[len(prefix):]
	}
	return ""
}
