package ical

import (
	"net"
	"net/netip"
	"syscall"
)

// fetchBlockedPrefixes are the ranges a fetch from production must never
// reach beyond what netip's predicates cover: carrier-grade NAT, IETF
// protocol assignments, benchmarking, documentation, reserved space and
// broadcast, and IPv6's IPv4-compatible, discard, documentation and
// site-local ranges.
var fetchBlockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"), // IPv4-compatible, deprecated
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fec0::/10"),
}

// PrivateAddr reports whether a fetch must not connect to addr when private
// addresses are refused: loopback, private (RFC 1918 and IPv6 unique local),
// link-local (cloud metadata at 169.254.169.254 among them), unspecified,
// multicast, carrier-grade NAT and the other special ranges above. IPv4
// addresses inside IPv6 (mapped, NAT64 and 6to4) are judged as IPv4.
func PrivateAddr(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	if embedded, ok := embeddedIPv4(addr); ok {
		return PrivateAddr(embedded)
	}
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return true
	}
	if addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, p := range fetchBlockedPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 finds the IPv4 address a NAT64 or 6to4 address routes to.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	if !addr.Is6() {
		return netip.Addr{}, false
	}
	b := addr.As16()
	switch {
	case nat64Prefix.Contains(addr):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// AddressError is a connection refused because of where it would go.
type AddressError struct{ Addr netip.Addr }

func (e *AddressError) Error() string {
	return "refused to connect to " + e.Addr.String() + ": a private, local or reserved address"
}

// dialControl checks the address a connection is about to be made to,
// after name resolution: a name that resolves to a refused address, or a
// DNS answer that changes between a check and the connect, cannot get
// around it. Every attempt is checked, redirects and Happy Eyeballs
// fallbacks included.
func dialControl(blocked func(netip.Addr) bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if blocked(addr) {
			return &AddressError{Addr: addr.WithZone("").Unmap()}
		}
		return nil
	}
}
