package outbound

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// The dialer's Control hook is the guard that DNS rebinding cannot get
// around: it judges the literal address being connected, whatever name or
// pre-check led there. These tests call it without the pre-dial check.
func TestControlJudgesTheDialledAddress(t *testing.T) {
	g := &guard{}
	scenarios := []struct {
		addr    string
		blocked bool
	}{
		{"8.8.8.8:443", false},
		{"[2606:4700:4700::1111]:443", false},
		{"10.0.0.1:80", true},
		{"169.254.169.254:80", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"[fe80::1%eth0]:80", true},
		{"[fd00::1]:80", true},
		{"not-an-address", true},
		{"example.com:80", true},
	}
	for _, s := range scenarios {
		t.Run(s.addr, func(t *testing.T) {
			err := g.control(context.Background(), "tcp", s.addr, nil)
			if (err != nil) != s.blocked {
				t.Fatalf("control(%s) = %v, want blocked=%v", s.addr, err, s.blocked)
			}
		})
	}
}

// New's own dialer, used without the pre-dial check, still refuses.
func TestDialerRefusesLoopbackWithoutPrecheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("connection reached the handler")
	}))
	defer srv.Close()
	g := New(Options{}).Transport.(*transport).guard
	conn, err := g.dialer.DialContext(context.Background(), "tcp", srv.Listener.Addr().String())
	if err == nil {
		conn.Close()
		t.Fatal("dial to loopback succeeded")
	}
	var be *BlockedError
	if !errors.As(err, &be) || be.Reason != "loopback" {
		t.Fatalf("err = %v, want loopback BlockedError", err)
	}

	g.allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	conn, err = g.dialer.DialContext(context.Background(), "tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial with 127.0.0.0/8 allowed: %v", err)
	}
	conn.Close()
}

// The environment-proxy test in client_test.go can only fail when it is the
// first to consult ProxyFromEnvironment (net/http caches the environment per
// process), so the settings that keep the guard honest are pinned here too.
func TestTransportSettings(t *testing.T) {
	tr := New(Options{}).Transport.(*transport).base
	if tr.Proxy != nil {
		t.Error("an environment proxy would make the guard judge the proxy's address")
	}
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("TLS verification must stay on")
	}
	if tr.DialTLSContext != nil || tr.Dial != nil || tr.DialTLS != nil {
		t.Error("a second dial path would bypass the guard")
	}
	if tr.MaxIdleConnsPerHost != 4 {
		t.Errorf("default idle connections per host = %d, want 4", tr.MaxIdleConnsPerHost)
	}
	if tr := New(Options{MaxIdleConnsPerHost: 64}).Transport.(*transport).base; tr.MaxIdleConnsPerHost != 64 || tr.MaxIdleConns < 64 {
		t.Errorf("idle connections per host = %d (total %d), want 64", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
}
