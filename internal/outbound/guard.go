package outbound

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// EnvAllow names the environment variable holding the admin allow-list:
// comma-separated CIDRs (or single addresses) that outbound requests may reach
// even though they are in a blocked range, e.g. "127.0.0.0/8" for a receiver
// on the same host or "10.20.0.0/16" for an internal network.
const EnvAllow = "PLAYGRAM_OUTBOUND_ALLOW"

// BlockedError says the guard refused an address. Callers tell it apart from
// network failures with errors.As and show it on the attempt log verbatim
// ("blocked private address 10.0.0.5 (evil.example)"), so a user knows to fix
// the URL or ask the admin for an allow-list entry instead of waiting for
// retries to succeed.
type BlockedError struct {
	Addr   netip.Addr
	Host   string // the name that resolved to Addr; empty when not known
	Reason string // the range's name, e.g. "private", "loopback", "cloud metadata"
}

func (e *BlockedError) Error() string {
	msg := "blocked " + e.Reason + " address " + e.Addr.String()
	if e.Host != "" && e.Host != e.Addr.String() {
		msg += " (" + e.Host + ")"
	}
	return msg
}

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// blockList follows the IANA special-purpose registries as Svix does (contract
// §9), most specific entry first so the reason names the narrower range.
// IPv6 outside 2000::/3 is refused by a rule in reasonFor, not listed here.
var blockList = func() []blockedRange {
	entries := []struct{ cidr, reason string }{
		{"0.0.0.0/32", "unspecified"},
		{"0.0.0.0/8", "this-network"},
		{"10.0.0.0/8", "private"},
		{"100.64.0.0/10", "shared (CGNAT)"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.169.254/32", "cloud metadata"},
		{"169.254.0.0/16", "link-local"},
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "IETF protocol"},
		{"192.0.2.0/24", "documentation"},
		{"192.88.99.0/24", "6to4 relay"},
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "benchmarking"},
		{"198.51.100.0/24", "documentation"},
		{"203.0.113.0/24", "documentation"},
		{"224.0.0.0/4", "multicast"},
		{"255.255.255.255/32", "broadcast"},
		{"240.0.0.0/4", "reserved"},

		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"::/96", "IPv4-compatible"},
		{"64:ff9b::/96", "NAT64"},
		{"64:ff9b:1::/48", "NAT64"},
		{"100::/64", "discard-only"},
		{"2001:db8::/32", "documentation"},
		{"2001::/23", "IETF protocol"},
		{"2002::/16", "6to4"},
		{"3fff::/20", "documentation"},
		{"5f00::/16", "SRv6"},
		{"fd00:ec2::254/128", "cloud metadata"},
		{"fc00::/7", "unique local"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local"},
		{"ff00::/8", "multicast"},
	}
	out := make([]blockedRange, len(entries))
	for i, e := range entries {
		out[i] = blockedRange{netip.MustParsePrefix(e.cidr), e.reason}
	}
	return out
}()

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64WKP       = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// CheckAddr is the guard's whole decision: nil when ip may be dialled, a
// *BlockedError otherwise. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as
// the IPv4 address and zones are ignored, so neither form slips past a
// prefix. The allow-list is consulted before the block list (contract §9.5);
// an IPv4 address embedded in a NAT64 or 6to4 address must itself pass, so
// allowing 64:ff9b::/96 on a DNS64 network does not open 64:ff9b::10.0.0.1.
func CheckAddr(ip netip.Addr, allow []netip.Prefix) error {
	if !ip.IsValid() {
		return &BlockedError{Addr: ip, Reason: "invalid"}
	}
	ip = ip.Unmap().WithZone("")
	if v4, ok := embeddedIPv4(ip); ok {
		if err := CheckAddr(v4, allow); err != nil {
			be := err.(*BlockedError)
			return &BlockedError{Addr: ip, Reason: be.Reason + " (embedded " + v4.String() + ")"}
		}
	}
	for _, p := range allow {
		if p.Contains(ip) {
			return nil
		}
	}
	if reason, blocked := reasonFor(ip); blocked {
		return &BlockedError{Addr: ip, Reason: reason}
	}
	return nil
}

func reasonFor(ip netip.Addr) (string, bool) {
	for _, r := range blockList {
		if r.prefix.Contains(ip) {
			return r.reason, true
		}
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return "reserved", true
	}
	return "", false
}

// embeddedIPv4 extracts the IPv4 address carried by a NAT64 well-known-prefix
// (RFC 6052) or 6to4 (RFC 3056) address.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case !ip.Is6():
		return netip.Addr{}, false
	case nat64WKP.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// ParseAllowList parses the comma-separated allow-list format of EnvAllow.
// Blank entries are skipped; a bare address means just that address; host
// bits are cleared; an IPv4-mapped prefix (::ffff:10.0.0.0/104) becomes its
// IPv4 form, because CheckAddr judges mapped addresses as IPv4. The error
// names the offending entry and its position.
func ParseAllowList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, raw := range strings.Split(s, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		p, err := parseAllowEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("%s entry %d %q is not a CIDR or IP address", EnvAllow, i+1, entry)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseAllowEntry(entry string) (netip.Prefix, error) {
	if !strings.Contains(entry, "/") {
		ip, err := netip.ParseAddr(entry)
		if err != nil || ip.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("bad address")
		}
		ip = ip.Unmap()
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// AllowFromEnv reads and parses EnvAllow; unset or empty means no exceptions.
func AllowFromEnv() ([]netip.Prefix, error) {
	return ParseAllowList(os.Getenv(EnvAllow))
}
