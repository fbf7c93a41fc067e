package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func TestForbidden(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true}, {"127.9.9.9", true}, {"10.0.0.1", true}, {"172.16.0.1", true}, {"192.168.0.1", true},
		{"169.254.169.254", true}, {"100.64.0.1", true}, {"100.127.255.255", true}, {"0.0.0.0", true}, {"0.1.2.3", true},
		{"224.0.0.1", true}, {"255.255.255.255", true}, {"198.18.0.1", true}, {"::", true}, {"::1", true},
		{"fc00::1", true}, {"fd12:3456::1", true}, {"fe80::1", true}, {"ff02::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:169.254.169.254", true}, {"::ffff:10.0.0.1", true},
		{"64:ff9b::a9fe:a9fe", true}, {"2002:7f00:1::", true}, {"::127.0.0.1", true},
		{"93.184.215.14", false}, {"8.8.8.8", false}, {"100.128.0.1", false}, {"2606:4700::1111", false},
		{"::ffff:8.8.8.8", false}, {"64:ff9b::808:808", false},
	} {
		if got := Forbidden(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Forbidden(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
}

// fakeResolver answers every name with fixed addresses, as a rebinding
// DNS server would after the check at registration.
type fakeResolver []netip.Addr

func (f fakeResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return f, nil
}

func TestCheckURLResolves(t *testing.T) {
	g := &Guard{Resolver: fakeResolver{netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.7")}}
	_, err := g.CheckURL(context.Background(), "https://hooks.example.com/x")
	var p *URLProblem
	if !errors.As(err, &p) || p.Code != "forbidden_address" {
		t.Fatalf("a host with one private address: %v", err)
	}
	g.Resolver = fakeResolver{netip.MustParseAddr("93.184.215.14")}
	if _, err := g.CheckURL(context.Background(), "https://hooks.example.com/x"); err != nil {
		t.Fatalf("public host: %v", err)
	}
}

// A port outside 1–65535 or a space is refused, even in development mode,
// where private addresses and http are allowed.
func TestCheckURLPortAndSpaces(t *testing.T) {
	for _, allowPrivate := range []bool{false, true} {
		g := &Guard{AllowPrivate: allowPrivate, Resolver: fakeResolver{netip.MustParseAddr("93.184.215.14")}}
		for _, raw := range []string{"https://1.1.1.1:0/", "https://example.com:0/hook", "https://1.1.1.1:65536/", "https://1.1.1.1:99999999999999999999/",
			"https://1.1.1.1/ x", "https://1.1.1.1/x ", " https://1.1.1.1/x", "https://1.1.1.1/?q=a b", "https://1.1.1.1/\tx", "https://1.1.1.1/x\u00a0"} {
			_, err := g.CheckURL(context.Background(), raw)
			var p *URLProblem
			if !errors.As(err, &p) || p.Code != "invalid_url" {
				t.Errorf("allowPrivate=%v %q: %v, want invalid_url", allowPrivate, raw, err)
			}
		}
		for _, raw := range []string{"https://1.1.1.1:1/", "https://1.1.1.1:65535/", "https://1.1.1.1:443/a%20b", "https://example.com/x"} {
			if _, err := g.CheckURL(context.Background(), raw); err != nil {
				t.Errorf("allowPrivate=%v %q: %v", allowPrivate, raw, err)
			}
		}
	}
}

// The dial-time check refuses the address actually dialed, even for a
// name that passed the check at registration.
func TestDialRefusesPrivateAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	g := &Guard{Resolver: fakeResolver{netip.MustParseAddr("127.0.0.1")}}
	client := NewClient(g)
	_, err := client.Post("http://rebound.example.com:"+port+"/", "application/json", strings.NewReader("{}"))
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("dial to a name resolving to 127.0.0.1: %v, want ErrForbiddenAddress", err)
	}
	_, err = client.Post("http://[::ffff:127.0.0.1]:"+port+"/", "application/json", strings.NewReader("{}"))
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("dial to an IPv4-mapped loopback literal: %v", err)
	}
	if err := g.control("tcp4", "169.254.169.254:80", nil); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("control(169.254.169.254): %v", err)
	}
	if err := g.control("tcp4", "93.184.215.14:443", nil); err != nil {
		t.Fatalf("control(public): %v", err)
	}
	// With the development switch on, the same dial goes through.
	g.AllowPrivate = true
	res, err := NewClient(g).Post("http://rebound.example.com:"+port+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("allowed private dial: %v", err)
	}
	res.Body.Close()
}

func TestSignMatchesStandardWebhooks(t *testing.T) {
	secret := NewSecret()
	body := []byte(`{"type":"webhook.ping","timestamp":"2026-01-01T00:00:00Z","data":{}}`)
	now := time.Now()
	sig, err := Sign(secret, "evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	want, err := wh.Sign("evt_1", now, body)
	if err != nil || sig != want {
		t.Fatalf("Sign = %s, reference %s (%v)", sig, want, err)
	}
}

func TestSenderSignsAndReports(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	now := time.Now()
	prevUntil := now.Add(time.Hour)
	ep := Endpoint{URL: srv.URL, Secret: NewSecret(), PreviousSecret: NewSecret(), PreviousExpiresAt: &prevUntil}
	s := &Sender{Client: NewClient(&Guard{AllowPrivate: true}), Now: func() time.Time { return now }}
	res := s.Send(context.Background(), ep, "evt_1", []byte(`{}`))
	if res.Err != nil || res.Code != 429 || res.RetryAfter != 2*time.Minute || len(res.Body) != keptResponse {
		t.Fatalf("response %+v", res)
	}
	if sigs := strings.Fields(got.Get("webhook-signature")); len(sigs) != 2 || got.Get("webhook-id") != "evt_1" {
		t.Fatalf("headers %v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"30", 30 * time.Second}, {"-5", 0}, {"junk", 0}, {"999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second}, {now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := RetryAfter(c.v, now); got != c.want {
			t.Errorf("RetryAfter(%q) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestJitter(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if d := jitter(time.Hour); d < 54*time.Minute || d > 66*time.Minute {
			t.Fatalf("jitter(1h) = %s", d)
		}
	}
	if jitter(0) != 0 {
		t.Fatal("jitter(0) != 0")
	}
}
