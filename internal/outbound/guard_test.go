package outbound_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/playgram/playgram/internal/outbound"
)

func prefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}
	return out
}

func TestCheckAddr(t *testing.T) {
	scenarios := []struct {
		addr   string
		allow  []string
		reason string // "" = allowed
	}{
		// public addresses pass
		{addr: "8.8.8.8"},
		{addr: "1.1.1.1"},
		{addr: "93.184.215.14"},
		{addr: "2606:4700:4700::1111"},
		{addr: "2a00:1450:4001:80b::200e"},
		{addr: "::ffff:8.8.8.8"},
		{addr: "64:ff9b::808:808", allow: []string{"64:ff9b::/96"}},

		// IPv4 blocked ranges
		{addr: "0.0.0.0", reason: "unspecified"},
		{addr: "0.1.2.3", reason: "this-network"},
		{addr: "10.0.0.1", reason: "private"},
		{addr: "172.16.0.1", reason: "private"},
		{addr: "172.31.255.255", reason: "private"},
		{addr: "192.168.1.1", reason: "private"},
		{addr: "100.64.1.1", reason: "shared (CGNAT)"},
		{addr: "100.127.255.254", reason: "shared (CGNAT)"},
		{addr: "127.0.0.1", reason: "loopback"},
		{addr: "127.255.0.9", reason: "loopback"},
		{addr: "169.254.169.254", reason: "cloud metadata"},
		{addr: "169.254.1.1", reason: "link-local"},
		{addr: "192.0.0.8", reason: "IETF protocol"},
		{addr: "192.0.2.10", reason: "documentation"},
		{addr: "198.51.100.7", reason: "documentation"},
		{addr: "203.0.113.9", reason: "documentation"},
		{addr: "192.88.99.1", reason: "6to4 relay"},
		{addr: "198.18.0.1", reason: "benchmarking"},
		{addr: "224.0.0.1", reason: "multicast"},
		{addr: "239.255.255.250", reason: "multicast"},
		{addr: "240.0.0.1", reason: "reserved"},
		{addr: "255.255.255.255", reason: "broadcast"},

		// IPv6 and IPv4-mapped forms
		{addr: "::", reason: "unspecified"},
		{addr: "::1", reason: "loopback"},
		{addr: "::ffff:127.0.0.1", reason: "loopback"},
		{addr: "::ffff:10.0.0.1", reason: "private"},
		{addr: "::ffff:169.254.169.254", reason: "cloud metadata"},
		{addr: "::ffff:0.0.0.0", reason: "unspecified"},
		{addr: "::127.0.0.1", reason: "IPv4-compatible"},
		{addr: "fd00::1", reason: "unique local"},
		{addr: "fc00::1", reason: "unique local"},
		{addr: "fd00:ec2::254", reason: "cloud metadata"},
		{addr: "fe80::1", reason: "link-local"},
		{addr: "fe80::1%eth0", reason: "link-local"},
		{addr: "fec0::1", reason: "site-local"},
		{addr: "ff02::1", reason: "multicast"},
		{addr: "2001:db8::1", reason: "documentation"},
		{addr: "3fff::1", reason: "documentation"},
		{addr: "2001::1", reason: "IETF protocol"},
		{addr: "2002:c000:201::1", reason: "documentation (embedded 192.0.2.1)"},
		{addr: "2002:808:808::1", reason: "6to4"},
		{addr: "64:ff9b::808:808", reason: "NAT64"},
		{addr: "64:ff9b::a00:1", reason: "private (embedded 10.0.0.1)"},
		{addr: "64:ff9b:1::1", reason: "NAT64"},
		{addr: "100::1", reason: "discard-only"},
		{addr: "5f00::1", reason: "SRv6"},
		{addr: "4000::1", reason: "reserved"},

		// the allow-list lets chosen ranges through, and only those
		{addr: "127.0.0.1", allow: []string{"127.0.0.0/8"}},
		{addr: "::ffff:127.0.0.1", allow: []string{"127.0.0.0/8"}},
		{addr: "::1", allow: []string{"127.0.0.0/8"}, reason: "loopback"},
		{addr: "10.1.2.3", allow: []string{"10.1.0.0/16"}},
		{addr: "10.2.0.1", allow: []string{"10.1.0.0/16"}, reason: "private"},
		{addr: "fe80::1%eth0", allow: []string{"fe80::/10"}},
		// allowing the NAT64 prefix does not open the private IPv4 inside it
		{addr: "64:ff9b::a00:1", allow: []string{"64:ff9b::/96"}, reason: "private (embedded 10.0.0.1)"},
		{addr: "64:ff9b::a00:1", allow: []string{"64:ff9b::/96", "10.0.0.0/8"}},
	}
	for _, s := range scenarios {
		t.Run(s.addr+"/"+strings.Join(s.allow, ","), func(t *testing.T) {
			err := outbound.CheckAddr(netip.MustParseAddr(s.addr), prefixes(t, s.allow...))
			if s.reason == "" {
				if err != nil {
					t.Fatalf("CheckAddr(%s) = %v, want allowed", s.addr, err)
				}
				return
			}
			var be *outbound.BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("CheckAddr(%s) = %v, want *BlockedError", s.addr, err)
			}
			if be.Reason != s.reason {
				t.Fatalf("reason = %q, want %q", be.Reason, s.reason)
			}
			if !strings.Contains(err.Error(), "blocked "+s.reason+" address ") {
				t.Fatalf("message %q does not say why", err.Error())
			}
		})
	}
	if err := outbound.CheckAddr(netip.Addr{}, nil); err == nil {
		t.Fatal("the zero Addr must be refused")
	}
}

func TestParseAllowList(t *testing.T) {
	scenarios := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: " , ", want: nil},
		{in: "127.0.0.0/8", want: []string{"127.0.0.0/8"}},
		{in: "127.0.0.0/8, 10.20.0.0/16,fd00::/8", want: []string{"127.0.0.0/8", "10.20.0.0/16", "fd00::/8"}},
		{in: "10.0.0.5", want: []string{"10.0.0.5/32"}},
		{in: "::1", want: []string{"::1/128"}},
		{in: "10.1.2.3/16", want: []string{"10.1.0.0/16"}},
		{in: "::ffff:10.0.0.0/104", want: []string{"10.0.0.0/8"}},
		{in: "127.0.0.0/8,10.0.0.0/33", wantErr: `entry 2 "10.0.0.0/33"`},
		{in: "localhost", wantErr: `entry 1 "localhost"`},
		{in: "10.0.0.0/8;192.168.0.0/16", wantErr: `entry 1 "10.0.0.0/8;192.168.0.0/16"`},
		{in: "fe80::1%eth0", wantErr: `entry 1 "fe80::1%eth0"`},
	}
	for _, s := range scenarios {
		t.Run(s.in, func(t *testing.T) {
			got, err := outbound.ParseAllowList(s.in)
			if s.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), s.wantErr) || !strings.Contains(err.Error(), outbound.EnvAllow) {
					t.Fatalf("err = %v, want one naming %s and %s", err, outbound.EnvAllow, s.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(s.want) {
				t.Fatalf("got %v, want %v", got, s.want)
			}
			for i := range got {
				if got[i].String() != s.want[i] {
					t.Fatalf("entry %d = %s, want %s", i, got[i], s.want[i])
				}
			}
		})
	}
}

func TestAllowFromEnv(t *testing.T) {
	t.Setenv(outbound.EnvAllow, "127.0.0.0/8")
	got, err := outbound.AllowFromEnv()
	if err != nil || len(got) != 1 || got[0] != netip.MustParsePrefix("127.0.0.0/8") {
		t.Fatalf("AllowFromEnv = %v, %v", got, err)
	}
	t.Setenv(outbound.EnvAllow, "nonsense")
	if _, err := outbound.AllowFromEnv(); err == nil || !strings.Contains(err.Error(), `"nonsense"`) {
		t.Fatalf("err = %v, want it to name the bad entry", err)
	}
}

func BenchmarkCheckAddr(b *testing.B) {
	ip := netip.MustParseAddr("2606:4700:4700::1111")
	for b.Loop() {
		_ = outbound.CheckAddr(ip, nil)
	}
}
