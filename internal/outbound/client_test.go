package outbound_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/outbound"
)

var loopback8 = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// fakeDNS answers from a fixed table, so no test depends on or reaches real DNS.
func fakeDNS(table map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		addrs, ok := table[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		out := make([]netip.Addr, len(addrs))
		for i, a := range addrs {
			out[i] = netip.MustParseAddr(a)
		}
		return out, nil
	}
}

// counter is a test server handler that counts hits.
type counter struct{ hits atomic.Int32 }

func serve(t *testing.T, h http.HandlerFunc) (*httptest.Server, *counter) {
	t.Helper()
	c := &counter{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

func TestResolvedAddressesAreRefused(t *testing.T) {
	dns := fakeDNS(map[string][]string{
		"evil.test":   {"10.0.0.1"},
		"meta.test":   {"169.254.169.254"},
		"v6.test":     {"::1"},
		"mapped.test": {"::ffff:127.0.0.1"},
		"ula.test":    {"fd00::1"},
		"cgnat.test":  {"100.64.1.1"},
		"imds6.test":  {"fd00:ec2::254"},
		"multi.test":  {"192.168.0.10", "10.9.9.9"},
	})
	client := outbound.New(outbound.Options{LookupIP: dns})
	scenarios := []struct {
		host, addr, reason string
	}{
		{"evil.test", "10.0.0.1", "private"},
		{"meta.test", "169.254.169.254", "cloud metadata"},
		{"v6.test", "::1", "loopback"},
		{"mapped.test", "127.0.0.1", "loopback"},
		{"ula.test", "fd00::1", "unique local"},
		{"cgnat.test", "100.64.1.1", "shared (CGNAT)"},
		{"imds6.test", "fd00:ec2::254", "cloud metadata"},
		{"multi.test", "192.168.0.10", "private"},
		{"10.0.0.1", "10.0.0.1", "private"},
		{"[::ffff:169.254.169.254]", "169.254.169.254", "cloud metadata"},
		{"[fe80::1%25eth0]", "fe80::1", "link-local"},
	}
	for _, s := range scenarios {
		t.Run(s.host, func(t *testing.T) {
			resp, err := client.Get("http://" + s.host + ":8080/hook")
			if err == nil {
				resp.Body.Close()
				t.Fatal("request succeeded, want it blocked")
			}
			var be *outbound.BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want a *BlockedError", err)
			}
			if be.Addr.String() != s.addr || be.Reason != s.reason {
				t.Fatalf("blocked %s for %q, want %s for %q", be.Addr, be.Reason, s.addr, s.reason)
			}
			if !strings.Contains(err.Error(), "blocked "+s.reason+" address "+s.addr) {
				t.Fatalf("message %q does not name the address and reason", err)
			}
		})
	}
}

func TestResolverFailureIsNotABlock(t *testing.T) {
	client := outbound.New(outbound.Options{LookupIP: fakeDNS(nil)})
	_, err := client.Get("http://nowhere.test/")
	var be *outbound.BlockedError
	var dnsErr *net.DNSError
	if err == nil || errors.As(err, &be) || !errors.As(err, &dnsErr) {
		t.Fatalf("err = %v, want a DNS error that is not a BlockedError", err)
	}
}

func TestLoopbackReceiver(t *testing.T) {
	srv, hits := serve(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok:"+r.Method)
	})

	t.Run("refused by default", func(t *testing.T) {
		_, err := outbound.New(outbound.Options{}).Get(srv.URL)
		var be *outbound.BlockedError
		if !errors.As(err, &be) || be.Reason != "loopback" {
			t.Fatalf("err = %v, want loopback BlockedError", err)
		}
		if hits.hits.Load() != 0 {
			t.Fatal("the receiver was reached")
		}
	})

	t.Run("localhost by name refused by default", func(t *testing.T) {
		u, _ := url.Parse(srv.URL)
		_, err := outbound.New(outbound.Options{}).Get("http://localhost:" + u.Port())
		var be *outbound.BlockedError
		if !errors.As(err, &be) || be.Reason != "loopback" || be.Host != "localhost" {
			t.Fatalf("err = %v, want loopback BlockedError naming localhost", err)
		}
	})

	t.Run("reached when 127.0.0.0/8 is allowed", func(t *testing.T) {
		resp, err := outbound.New(outbound.Options{AllowCIDRs: loopback8}).Post(srv.URL, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, _, err := outbound.ReadCapped(resp, 100)
		if err != nil || resp.StatusCode != 200 || string(body) != "ok:POST" {
			t.Fatalf("got %d %q %v", resp.StatusCode, body, err)
		}
	})

	t.Run("blocked addresses skipped, allowed one dialled", func(t *testing.T) {
		u, _ := url.Parse(srv.URL)
		client := outbound.New(outbound.Options{
			AllowCIDRs: loopback8,
			LookupIP:   fakeDNS(map[string][]string{"mixed.test": {"10.0.0.1", "127.0.0.1"}}),
		})
		resp, err := client.Get("http://mixed.test:" + u.Port())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var targetHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) { targetHits.Add(1) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := outbound.New(outbound.Options{AllowCIDRs: loopback8}).Get(srv.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/target" {
		t.Fatalf("got %d Location %q, want the 302 as it is", resp.StatusCode, resp.Header.Get("Location"))
	}
	if targetHits.Load() != 0 {
		t.Fatal("the redirect target was requested")
	}
}

func TestBodyCap(t *testing.T) {
	payload := strings.Repeat("a", 4096)
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n := 4096
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		io.WriteString(w, payload[:n])
	})
	get := func(t *testing.T, maxBody int64, n int) *http.Response {
		t.Helper()
		resp, err := outbound.New(outbound.Options{AllowCIDRs: loopback8, MaxBody: maxBody}).Get(fmt.Sprintf("%s/?n=%d", srv.URL, n))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	t.Run("reading past MaxBody fails", func(t *testing.T) {
		resp := get(t, 1024, 4096)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if !errors.Is(err, outbound.ErrBodyTooLarge) || len(body) != 1024 {
			t.Fatalf("read %d bytes, err %v; want 1024 bytes and ErrBodyTooLarge", len(body), err)
		}
	})
	t.Run("exactly MaxBody is fine", func(t *testing.T) {
		resp := get(t, 1024, 1024)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || len(body) != 1024 {
			t.Fatalf("read %d bytes, err %v", len(body), err)
		}
	})
	scenarios := []struct {
		name      string
		maxBody   int64
		n         int
		keep      int64
		wantLen   int
		truncated bool
	}{
		{"excerpt shorter than body", 0, 4096, 100, 100, true},
		{"excerpt equal to body", 0, 100, 100, 100, false},
		{"excerpt longer than body", 0, 50, 100, 50, false},
		{"excerpt beyond the hard cap", 1024, 4096, 2000, 1024, true},
		{"hard cap equals body", 1024, 1024, 2000, 1024, false},
		{"empty body", 0, 0, 100, 0, false},
	}
	for _, s := range scenarios {
		t.Run("ReadCapped "+s.name, func(t *testing.T) {
			body, truncated, err := outbound.ReadCapped(get(t, s.maxBody, s.n), s.keep)
			if err != nil || len(body) != s.wantLen || truncated != s.truncated || string(body) != payload[:s.wantLen] {
				t.Fatalf("got %d bytes truncated=%v err=%v; want %d truncated=%v", len(body), truncated, err, s.wantLen, s.truncated)
			}
		})
	}
}

func TestOnlyHTTPAndHTTPSAreRequested(t *testing.T) {
	client := outbound.New(outbound.Options{AllowCIDRs: loopback8})
	srv, hits := serve(t, func(http.ResponseWriter, *http.Request) {})
	u, _ := url.Parse(srv.URL)
	for raw, code := range map[string]string{
		"ftp://" + u.Host + "/x":        "scheme",
		"file:///etc/passwd":            "scheme",
		"gopher://" + u.Host + "/":      "scheme",
		"http://user:pw@" + u.Host:      "userinfo",
		"http://" + u.Host + "/" + "ok": "",
	} {
		t.Run(raw, func(t *testing.T) {
			resp, err := client.Get(raw)
			if code == "" {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return
			}
			var ue *outbound.URLError
			if !errors.As(err, &ue) || ue.Code != code {
				t.Fatalf("err = %v, want URLError %q", err, code)
			}
		})
	}
	if hits.hits.Load() != 1 {
		t.Fatalf("receiver hit %d times, want only the valid request", hits.hits.Load())
	}
}

func TestEnvironmentProxyIsIgnored(t *testing.T) {
	proxy, proxyHits := serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(599) })
	target, targetHits := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	u, _ := url.Parse(target.URL)
	client := outbound.New(outbound.Options{
		AllowCIDRs: loopback8,
		LookupIP:   fakeDNS(map[string][]string{"receiver.test": {"127.0.0.1"}}),
	})
	resp, err := client.Get("http://receiver.test:" + u.Port() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || proxyHits.hits.Load() != 0 || targetHits.hits.Load() != 1 {
		t.Fatalf("status %d, proxy hits %d, target hits %d; want the target reached directly", resp.StatusCode, proxyHits.hits.Load(), targetHits.hits.Load())
	}
}

func TestUserAgent(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.UserAgent()) })
	scenarios := []struct {
		name, option, header, want string
	}{
		{"default", "", "", outbound.DefaultUserAgent},
		{"configured", "Playgram-Webhooks/1.0", "", "Playgram-Webhooks/1.0"},
		{"caller's own wins", "Playgram-Webhooks/1.0", "Custom/2", "Custom/2"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			if s.header != "" {
				req.Header.Set("User-Agent", s.header)
			}
			resp, err := outbound.New(outbound.Options{AllowCIDRs: loopback8, UserAgent: s.option}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _, _ := outbound.ReadCapped(resp, 100)
			if string(body) != s.want {
				t.Fatalf("receiver saw User-Agent %q, want %q", body, s.want)
			}
			if req.Header.Get("User-Agent") != s.header {
				t.Fatal("the caller's request was modified")
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	_, err := outbound.New(outbound.Options{AllowCIDRs: loopback8, Timeout: 50 * time.Millisecond}).Get(srv.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	var be *outbound.BlockedError
	if errors.As(err, &be) {
		t.Fatal("a timeout must not look like a block")
	}
}

func TestTLSIsVerified(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	_, err := outbound.New(outbound.Options{AllowCIDRs: loopback8}).Get(srv.URL)
	var unknownCA x509.UnknownAuthorityError
	if !errors.As(err, &unknownCA) {
		t.Fatalf("err = %v, want the self-signed certificate refused", err)
	}
}

func TestValidateURL(t *testing.T) {
	scenarios := []struct {
		raw, code, mention string
	}{
		{"https://hooks.example.com/playgram", "", ""},
		{"http://hooks.example.com:8080/p?q=1", "", ""},
		{"HTTPS://Hooks.Example.com/", "", ""},
		{"http://[2001:db8::1]:443/", "", ""},
		{"", "required", "empty"},
		{"hooks.example.com/path", "scheme", "missing scheme"},
		{"ftp://hooks.example.com/", "scheme", `"ftp"`},
		{"javascript:alert(1)", "scheme", `"javascript"`},
		{"file:///etc/passwd", "scheme", `"file"`},
		{"https:///path-only", "host", "missing host"},
		{"http:hooks.example.com", "host", "missing host"},
		{"https://alice:secret@hooks.example.com/", "userinfo", "password"},
		{"https://alice@hooks.example.com/", "userinfo", "user name"},
		{"https://hooks.example.com:0/", "port", `"0"`},
		{"https://hooks.example.com:65536/", "port", `"65536"`},
		{"https://hooks.example.com:99999999999999999999/", "port", "outside"},
		{"https://hooks.example.com:abc/", "parse", "port"},
		{"https://hooks.exa mple.com/", "parse", "invalid character"},
		{"https://alice:secret@hooks.example.com:bad/", "parse", ""},
		{"https://hooks.example.com/" + strings.Repeat("a", outbound.MaxURLLength), "too_long", "2048"},
	}
	for _, s := range scenarios {
		t.Run(s.raw, func(t *testing.T) {
			err := outbound.ValidateURL(s.raw)
			if s.code == "" {
				if err != nil {
					t.Fatalf("ValidateURL: %v", err)
				}
				return
			}
			var ue *outbound.URLError
			if !errors.As(err, &ue) || ue.Code != s.code || !strings.Contains(ue.Message, s.mention) {
				t.Fatalf("err = %#v, want code %q mentioning %q", err, s.code, s.mention)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q leaks the password", err)
			}
		})
	}
}

func BenchmarkLoopbackRequest(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	client := outbound.New(outbound.Options{AllowCIDRs: loopback8})
	for b.Loop() {
		resp, err := client.Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		outbound.ReadCapped(resp, 100)
	}
}
