package httpapi

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/troth-app/troth/internal/fault"
)

// limiter is a per-key token bucket (golang.org/x/time/rate) refilled at
// perMinute a minute, holding at most perMinute tokens. Keys idle for ten
// minutes are forgotten. Limits are per process: several instances each
// allow the full rate.
type limiter struct {
	perMinute int
	every     rate.Limit
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{
		perMinute: perMinute,
		every:     rate.Limit(float64(perMinute) / 60),
		now:       now,
		buckets:   make(map[string]*bucket),
	}
}

// check takes a token for key, setting RateLimit-* headers; when none is
// left it answers 429 with Retry-After.
func (l *limiter) check(c echo.Context, key string) error {
	now := l.now()
	l.mu.Lock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.every, l.perMinute)}
		l.buckets[key] = b
	}
	b.seen = now
	allowed := b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	l.mu.Unlock()

	h := c.Response().Header()
	h.Set("RateLimit-Limit", strconv.Itoa(l.perMinute))
	h.Set("RateLimit-Policy", strconv.Itoa(l.perMinute)+";w=60")
	remaining := int(math.Max(0, math.Floor(tokens)))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	// Seconds until the bucket is full again.
	full := time.Duration((float64(l.perMinute) - tokens) / float64(l.every) * float64(time.Second))
	h.Set("RateLimit-Reset", retryAfterSeconds(full))
	if allowed {
		return nil
	}
	wait := time.Duration((1 - tokens) / float64(l.every) * float64(time.Second))
	h.Set("Retry-After", retryAfterSeconds(wait))
	return fault.New(fault.KindRateLimited, "rate_limited", "too many requests; retry after %s seconds", retryAfterSeconds(wait))
}

// byAddress limits by the client's address (RealIP honours X-Forwarded-For
// only from configured trusted proxies).
func (l *limiter) byAddress() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := l.check(c, "ip:"+c.RealIP()); err != nil {
				return err
			}
			return next(c)
		}
	}
}
