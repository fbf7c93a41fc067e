package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// MaxURLLength bounds an endpoint URL.
const MaxURLLength = 2048

// ErrForbiddenAddress is returned when a URL or a dial would reach an
// address webhooks must not reach.
var ErrForbiddenAddress = errors.New("webhook: forbidden address")

// Resolver looks up a host's addresses (net.DefaultResolver does).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard keeps webhooks away from the server's own network: it checks URLs
// when they are registered and every address actually dialed, so a host
// that resolves to a public address at registration and to a private one
// later (DNS rebinding) is still refused.
type Guard struct {
	// AllowPrivate allows http:// and private addresses, for development
	// and tests (TROTH_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	Resolver     Resolver
}

var forbiddenPrefixes = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // CGNAT
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"240.0.0.0/4",     // reserved, and broadcast
		"::/96",           // IPv4-compatible (deprecated)
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"2001::/23",       // IETF protocol assignments (Teredo, ORCHID, …)
		"2001:db8::/32",   // documentation
		"fec0::/10",       // site-local (deprecated)
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Forbidden reports whether a webhook must not reach addr: loopback,
// private, link-local (169.254.169.254 included), CGNAT, unique-local,
// multicast, unspecified and reserved ranges, in IPv4, IPv6 and the IPv6
// forms that embed an IPv4 address (mapped, NAT64, 6to4).
func Forbidden(addr netip.Addr) bool {
	if !addr.IsValid() {
		return true
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		switch {
		case nat64.Contains(addr):
			a := addr.As16()
			return Forbidden(netip.AddrFrom4([4]byte{a[12], a[13], a[14], a[15]}))
		case sixToFour.Contains(addr):
			a := addr.As16()
			return Forbidden(netip.AddrFrom4([4]byte{a[2], a[3], a[4], a[5]}))
		}
	}
	if addr.IsUnspecified() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsMulticast() || addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || !addr.IsGlobalUnicast() {
		return true
	}
	for _, p := range forbiddenPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// URLProblem is why a URL is refused: a stable code and a message.
type URLProblem struct{ Code, Message string }

func (p *URLProblem) Error() string { return p.Code + ": " + p.Message }

// CheckURL refuses URLs a webhook may not be sent to. Unless private
// addresses are allowed, the host must resolve, and to public addresses
// only.
func (g *Guard) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	bad := func(code, msg string) (*url.URL, error) { return nil, &URLProblem{code, msg} }
	if len(raw) > MaxURLLength {
		return bad("too_long", fmt.Sprintf("must be at most %d characters", MaxURLLength))
	}
	// Go's parser lets spaces through in the path, query and fragment (and
	// the request would then go to an escaped URL the owner never wrote).
	if strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsSpace(r) }) >= 0 {
		return bad("invalid_url", "must not contain spaces or control characters; percent-encode them")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return bad("invalid_url", "must be an absolute URL")
	}
	// The parser checks that a port is digits, not that it is one: 0 (or
	// 65536 and above) cannot be connected to.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("invalid_url", "the port must be between 1 and 65535")
		}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !g.AllowPrivate {
			return bad("https_required", "must use https")
		}
	default:
		return bad("invalid_scheme", "must use https")
	}
	if u.User != nil {
		return bad("credentials_in_url", "must not contain credentials; authenticate deliveries by their signature")
	}
	host := u.Hostname()
	if host == "" {
		return bad("invalid_url", "must name a host")
	}
	if g.AllowPrivate {
		return u, nil
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if Forbidden(addr) {
			return bad("forbidden_address", "must not point to a loopback, private, link-local or reserved address")
		}
		return u, nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return bad("forbidden_address", "must not point to a loopback, private, link-local or reserved address")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return bad("unresolvable_host", "the host does not resolve")
	}
	for _, a := range addrs {
		if Forbidden(a) {
			return bad("forbidden_address", "the host resolves to a loopback, private, link-local or reserved address")
		}
	}
	return u, nil
}

func (g *Guard) resolver() Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// control runs on every socket before it connects, with the address
// actually dialed: the check that DNS rebinding cannot get around.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %s", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	if Forbidden(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}

// DialContext dials like net.Dialer, resolving with the guard's resolver
// and refusing forbidden addresses at connect time.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	if _, err := netip.ParseAddr(host); err == nil {
		return d.DialContext(ctx, network, address)
	}
	addrs, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s: no addresses", host)
	}
	return nil, errors.Join(errs...)
}
