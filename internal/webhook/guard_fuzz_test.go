package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// recordingResolver answers every name with addrs and remembers the names
// it was asked for.
type recordingResolver struct {
	addrs []netip.Addr
	asked []string
}

func (r *recordingResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.asked = append(r.asked, host)
	if len(r.addrs) == 0 {
		return nil, errors.New("no such host")
	}
	return r.addrs, nil
}

// fuzzAddrs turns fuzz bytes into up to four addresses: 4-byte chunks as
// IPv4 while the tag byte is even, 16-byte chunks as IPv6 otherwise.
func fuzzAddrs(b []byte) []netip.Addr {
	var out []netip.Addr
	for len(b) > 0 && len(out) < 4 {
		tag := b[0]
		b = b[1:]
		if tag%2 == 0 && len(b) >= 4 {
			out = append(out, netip.AddrFrom4([4]byte(b[:4])))
			b = b[4:]
		} else if len(b) >= 16 {
			out = append(out, netip.AddrFrom16([16]byte(b[:16])))
			b = b[16:]
		} else {
			break
		}
	}
	return out
}

// FuzzCheckURL checks the registration check with a resolver whose answers
// the fuzzer chooses: it never panics; an accepted URL is absolute https
// without credentials, at most MaxURLLength long, names a host that is not
// localhost, and neither is nor resolves to a forbidden address; a refusal
// is a *URLProblem. The dial-time check agrees with Forbidden on every
// address.
func FuzzCheckURL(f *testing.F) {
	v4 := func(a, b, c, d byte) []byte { return []byte{0, a, b, c, d} }
	for _, s := range []struct {
		url   string
		addrs []byte
	}{
		{"https://example.com/hook", v4(93, 184, 215, 14)},
		{"https://example.com/hook", append(v4(93, 184, 215, 14), v4(10, 0, 0, 7)...)},
		{"https://example.com/hook", nil},
		{"http://example.com/hook", v4(93, 184, 215, 14)},
		{"ftp://example.com/", v4(93, 184, 215, 14)},
		{"https://user:pw@example.com/", v4(93, 184, 215, 14)},
		{"https://127.0.0.1/", nil},
		{"https://[::1]/", nil},
		{"https://[::ffff:169.254.169.254]/", nil},
		{"https://[64:ff9b::a00:1]/", nil},
		{"https://[2002:c0a8:101::1]/", nil},
		{"https://[fe80::1%25eth0]/", nil},
		{"https://localhost/", nil},
		{"https://LOCALHOST./", v4(127, 0, 0, 1)},
		{"https://a.localhost:8443/", nil},
		{"https://127.1/", v4(127, 0, 0, 1)},
		{"https://2130706433/", v4(127, 0, 0, 1)},
		{"https://0x7f000001/", v4(127, 0, 0, 1)},
		{"https://example.com:443@10.0.0.1/", nil},
		{"https:///path", nil},
		{"https:opaque", nil},
		{"//example.com/", nil},
		{"https://exa mple.com/", nil},
		{"https://93.184.215.14:0/ x", nil},
		{"https://example.com:65536/", v4(93, 184, 215, 14)},
		{"https://example.com/" + strings.Repeat("a", MaxURLLength), v4(93, 184, 215, 14)},
		{"https://example.com/", append([]byte{1}, netip.MustParseAddr("2606:2800:220:1::1").AsSlice()...)},
		{"https://example.com/", append([]byte{1}, netip.MustParseAddr("::ffff:10.1.2.3").AsSlice()...)},
	} {
		f.Add(s.url, s.addrs, false)
	}
	f.Add("http://10.0.0.7:8080/hook", []byte(nil), true)
	f.Fuzz(func(t *testing.T, raw string, addrBytes []byte, allowPrivate bool) {
		res := &recordingResolver{addrs: fuzzAddrs(addrBytes)}
		g := &Guard{Resolver: res, AllowPrivate: allowPrivate}
		u, err := g.CheckURL(context.Background(), raw)

		for _, a := range res.addrs {
			ap := netip.AddrPortFrom(a, 443)
			network := "tcp4"
			if a.Is6() {
				network = "tcp6"
			}
			derr := g.control(network, ap.String(), nil)
			if !allowPrivate && (derr != nil) != Forbidden(a) {
				t.Fatalf("dial check on %s: %v, Forbidden %v", ap, derr, Forbidden(a))
			}
		}

		if err != nil {
			var p *URLProblem
			if !errors.As(err, &p) || p.Code == "" || u != nil {
				t.Fatalf("CheckURL(%q) = %v, %v: want a *URLProblem", raw, u, err)
			}
			return
		}
		if u == nil || len(raw) > MaxURLLength || u.User != nil || u.Hostname() == "" || !u.IsAbs() {
			t.Fatalf("CheckURL(%q) accepted %v", raw, u)
		}
		if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
			t.Fatalf("CheckURL(%q) accepted a space", raw)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				t.Fatalf("CheckURL(%q) accepted port %q", raw, p)
			}
		}
		if allowPrivate {
			if u.Scheme != "https" && u.Scheme != "http" {
				t.Fatalf("CheckURL(%q) accepted scheme %q", raw, u.Scheme)
			}
			return
		}
		host := u.Hostname()
		if u.Scheme != "https" {
			t.Fatalf("CheckURL(%q) accepted scheme %q", raw, u.Scheme)
		}
		if h := strings.ToLower(host); h == "localhost" || strings.HasSuffix(h, ".localhost") {
			if addr, err := netip.ParseAddr(host); err != nil || Forbidden(addr) {
				t.Fatalf("CheckURL(%q) accepted localhost", raw)
			}
		}
		if addr, err := netip.ParseAddr(host); err == nil {
			if Forbidden(addr) {
				t.Fatalf("CheckURL(%q) accepted the forbidden address %s", raw, addr)
			}
			return
		}
		if len(res.asked) != 1 || res.asked[0] != host {
			t.Fatalf("CheckURL(%q) resolved %q, want %q", raw, res.asked, host)
		}
		for _, a := range res.addrs {
			if Forbidden(a) {
				t.Fatalf("CheckURL(%q) accepted a host resolving to %s", raw, a)
			}
		}
	})
}

// FuzzForbidden checks that an IPv4 address is judged the same in every
// IPv6 form that embeds it (mapped, NAT64, 6to4), with or without a zone,
// and that the dial check follows Forbidden.
func FuzzForbidden(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "93.184.215.14", "8.8.8.8",
		"0.0.0.0", "255.255.255.255", "192.0.2.1", "198.18.0.1", "224.0.0.1"} {
		f.Add(netip.MustParseAddr(s).AsSlice(), "")
	}
	for _, s := range []string{"::1", "fe80::1", "fc00::1", "2606:2800:220:1::1", "64:ff9b::808:808", "2002:808:808::1", "2001:db8::1", "ff02::1"} {
		f.Add(netip.MustParseAddr(s).AsSlice(), "eth0")
	}
	nat64 := netip.MustParseAddr("64:ff9b::").As16()
	sixToFour := netip.MustParseAddr("2002::").As16()
	f.Fuzz(func(t *testing.T, b []byte, zone string) {
		addr, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		want := Forbidden(addr)
		if addr.Is6() && !strings.ContainsAny(zone, "%[]") && zone != "" {
			if got := Forbidden(addr.WithZone(zone)); got != want {
				t.Fatalf("Forbidden(%s%%%s) = %v, Forbidden(%s) = %v", addr, zone, got, addr, want)
			}
		}
		if addr.Is4() {
			a := addr.As4()
			mapped := netip.AddrFrom16(netip.AddrFrom4(a).As16())
			n := nat64
			copy(n[12:], a[:])
			s := sixToFour
			copy(s[2:6], a[:])
			for _, v6 := range []netip.Addr{mapped, netip.AddrFrom16(n), netip.AddrFrom16(s)} {
				if got := Forbidden(v6); got != want {
					t.Fatalf("Forbidden(%s) = %v, but Forbidden(%s) = %v", v6, got, addr, want)
				}
			}
			if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsUnspecified() || addr.IsMulticast() {
				if !want {
					t.Fatalf("Forbidden(%s) = false", addr)
				}
			}
		}
		g := &Guard{}
		hostport := net.JoinHostPort(addr.String(), "443")
		for _, network := range []string{"tcp4", "tcp6"} {
			if err := g.control(network, hostport, nil); (err != nil) != want {
				t.Fatalf("dial check on %s: %v, Forbidden %v", hostport, err, want)
			}
		}
		if err := g.control("udp4", hostport, nil); err == nil {
			t.Fatal("dial check allowed udp")
		}
	})
}
