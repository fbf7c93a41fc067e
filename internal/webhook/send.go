package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits of one attempt.
const (
	Timeout      = 15 * time.Second
	maxResponse  = 64 << 10 // read at most this much of a response
	keptResponse = 1 << 10  // and keep this much in the log
)

// Sign returns the Standard Webhooks signature "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>" under a whsec_ secret.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Response is what an attempt got back.
type Response struct {
	Code       int // 0 when no response came
	Body       string
	RetryAfter time.Duration // from a 429 or 503, 0 if none
	Duration   time.Duration
	Err        error // transport error, or nil
}

// Sender makes one signed attempt at a time.
type Sender struct {
	Client *http.Client
	Now    func() time.Time
}

// NewClient returns the HTTP client of deliveries: the guard's dialer,
// no proxy (a proxy would hide the address actually reached), the
// attempt timeout, and redirects returned rather than followed.
func NewClient(g *Guard) *http.Client {
	return &http.Client{
		Timeout: Timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           g.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: Timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Send posts body to the endpoint, signed with every current secret.
func (s *Sender) Send(ctx context.Context, ep Endpoint, msgID string, body []byte) Response {
	now := s.Now()
	var sigs []string
	for _, sec := range ep.secrets(now) {
		sig, err := Sign(sec, msgID, now, body)
		if err != nil {
			return Response{Err: err}
		}
		sigs = append(sigs, sig)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return Response{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "troth-webhooks/1")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	start := time.Now()
	res, err := s.Client.Do(req)
	if err != nil {
		return Response{Err: err, Duration: time.Since(start)}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	out := Response{Code: res.StatusCode, Body: truncate(data, keptResponse), Duration: time.Since(start)}
	if err != nil && !errors.Is(err, context.Canceled) {
		out.Err = fmt.Errorf("read response: %w", err)
	}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
		out.RetryAfter = RetryAfter(res.Header.Get("Retry-After"), s.Now())
	}
	return out
}

// truncate keeps at most n bytes as valid text.
func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	// PostgreSQL text holds neither invalid UTF-8 nor NUL.
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "\uFFFD")
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date), capped
// at a day; 0 when absent or unreadable.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		d = time.Duration(min(n, 86400)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), 24*time.Hour)
}
