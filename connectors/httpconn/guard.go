package httpconn

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/telos-dev/telos/connectors"
)

// blockedPrefix is a range of addresses an agent must never reach, with the
// reason given in the refusal.
type blockedPrefix struct {
	prefix netip.Prefix
	why    string
}

// blocked lists the ranges CheckIP refuses. More specific ranges come first so
// the reason names the narrowest one.
var blocked = []blockedPrefix{
	{netip.MustParsePrefix("0.0.0.0/8"), "in the unspecified \"this network\" block"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT space"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata lives here)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (private)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// Prefixes that embed an IPv4 address which the traffic ends up reaching.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// CheckIP returns a *connectors.Error with Code CodeForbiddenDestination if
// ip is one an agent must not connect to: loopback, private, link-local
// (including the 169.254.169.254 metadata endpoint), unspecified, CGNAT,
// multicast, broadcast or reserved, also when written as an IPv4-mapped,
// NAT64 or 6to4 IPv6 address. It returns nil for other addresses.
func CheckIP(ip net.IP) error {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return connectors.Errorf(connectors.CodeForbiddenDestination, "destination %v is not an IP address", ip)
	}
	return checkAddr(addr)
}

func checkAddr(addr netip.Addr) error {
	if why := refusal(addr); why != "" {
		return connectors.Errorf(connectors.CodeForbiddenDestination, "destination %s is %s", addr, why)
	}
	return nil
}

// refusal says why addr is refused, or returns "" if it is not.
func refusal(addr netip.Addr) string {
	addr = addr.WithZone("").Unmap()
	var embedded netip.Addr
	b := addr.As16()
	switch {
	case nat64.Contains(addr):
		embedded = netip.AddrFrom4([4]byte(b[12:16]))
	case sixToFour.Contains(addr):
		embedded = netip.AddrFrom4([4]byte(b[2:6]))
	}
	if embedded.IsValid() {
		if why := refusal(embedded); why != "" {
			return "an IPv6 form of " + embedded.String() + ", which is " + why
		}
		return ""
	}
	for _, p := range blocked {
		if p.prefix.Contains(addr) {
			return p.why
		}
	}
	return ""
}

// blockedNames are host names that reach the machine itself or the cloud
// metadata service without a refused IP literal in the URL.
var blockedNames = map[string]bool{
	"localhost":                true,
	"metadata":                 true,
	"metadata.google.internal": true,
}

// checkHost refuses a URL host before anything is resolved or dialed. host is
// a name or an IP literal without brackets or port. Names that pass may still
// resolve to a refused address; the dialer catches those.
func checkHost(host string) error {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "" {
		return connectors.Errorf(connectors.CodeInvalidInput, "url has no host")
	}
	if blockedNames[name] || strings.HasSuffix(name, ".localhost") {
		return connectors.Errorf(connectors.CodeForbiddenDestination, "destination host %q is local or a metadata service", host)
	}
	if addr, err := netip.ParseAddr(name); err == nil {
		return checkAddr(addr)
	}
	// Resolvers read "127.1", "2130706433" and "0x7f000001" as IPv4
	// addresses (inet_aton forms), and a real DNS name never ends in a
	// numeric label, so anything that does and is not a canonical address is
	// refused rather than guessed at.
	if endsInNumber(name) {
		return connectors.Errorf(connectors.CodeForbiddenDestination, "destination host %q is a non-canonical IP address", host)
	}
	return nil
}

// endsInNumber reports whether the last label of name is decimal digits or
// a 0x hexadecimal number, the WHATWG URL test for an IPv4 host.
func endsInNumber(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// allowList is the operator's opt-out from the guard, as lower-case "host"
// and "host:port" entries.
type allowList map[string]bool

func newAllowList(hosts []string) allowList {
	allow := make(allowList, len(hosts))
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if host, port, err := net.SplitHostPort(h); err == nil {
			allow[net.JoinHostPort(host, port)] = true
			continue
		}
		allow[strings.Trim(h, "[]")] = true
	}
	return allow
}

func (a allowList) allows(host, port string) bool {
	host = strings.ToLower(host)
	return a[host] || a[net.JoinHostPort(host, port)]
}

// guardedDialer dials for the HTTP transport. Unless the host is allowed, it
// refuses blocked names before resolving and checks every address it is
// about to connect to in the socket's Control hook, after DNS resolution. So a
// name that resolves to a public address when checked and to a private one
// when connected (DNS rebinding), and every redirect hop, meet the same check.
type guardedDialer struct {
	allow   allowList
	open    *net.Dialer // for allowed hosts
	guarded *net.Dialer // for everything else
}

func newGuardedDialer(cfg Config, allow allowList) *guardedDialer {
	return &guardedDialer{
		allow:   allow,
		open:    &net.Dialer{Timeout: cfg.Timeout, Resolver: cfg.Resolver},
		guarded: &net.Dialer{Timeout: cfg.Timeout, Resolver: cfg.Resolver, Control: controlDial},
	}
}

// DialContext has the signature of http.Transport.DialContext.
func (d *guardedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "dial %q: %v", address, err)
	}
	if d.allow.allows(host, port) {
		return d.open.DialContext(ctx, network, address)
	}
	if err := checkHost(host); err != nil {
		return nil, err
	}
	return d.guarded.DialContext(ctx, network, address)
}

// controlDial runs after the socket is created and before it connects, with
// the resolved address.
func controlDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return connectors.Errorf(connectors.CodeForbiddenDestination, "destination %q is not an IP address and port", address)
	}
	return checkAddr(ap.Addr())
}
