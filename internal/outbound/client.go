// Package outbound is the one HTTP client Playgram uses for requests to
// user-supplied URLs: webhook deliveries, the media proxy and model calls.
//
// Its guard refuses loopback, private, link-local, metadata and other
// special-purpose addresses. The check runs on the resolved IP inside the
// dialer, on every new connection, so DNS rebinding, keep-alive re-dials and
// literal IPs in any notation are all judged on the address actually dialled.
// It never follows redirects, never uses an environment proxy (that would make
// the guard judge the proxy instead of the target), accepts only http and
// https, and caps response bodies. If an egress proxy is ever put in front,
// SSRF filtering becomes that proxy's job.
package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

const (
	// DefaultTimeout bounds a whole request, body included (contract §7: 15–30 s).
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBody caps how much of a response body can be read.
	DefaultMaxBody = 1 << 20
	// DefaultUserAgent is sent when the request carries none.
	DefaultUserAgent = "Playgram/1.0"

	// MaxURLLength bounds stored URLs; longer ones are refused at save time.
	MaxURLLength = 2048

	connectTimeout      = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
)

// ErrBodyTooLarge is returned by a response body's Read once more than
// Options.MaxBody bytes would be read.
var ErrBodyTooLarge = errors.New("response body exceeds the size limit")

// Options configures New. Zero values pick the defaults above.
type Options struct {
	// AllowCIDRs are let through even when they are in a blocked range
	// (see ParseAllowList and EnvAllow).
	AllowCIDRs []netip.Prefix
	// Timeout bounds each request from dial to the end of the body.
	Timeout time.Duration
	// MaxBody is the most a caller can read of any response body.
	MaxBody int64
	// UserAgent is set on requests that have no User-Agent header.
	UserAgent string
	// MaxIdleConnsPerHost is how many kept-alive connections to one host are
	// kept for reuse (default 4). A sender with many requests in flight to
	// one receiver raises it, so that connections are reused instead of
	// re-dialled (and re-checked) for every request.
	MaxIdleConnsPerHost int
	// LookupIP resolves a host name; nil uses the system resolver. Tests and
	// deployments with their own DNS inject one here; whatever it returns is
	// still judged by CheckAddr, before dialling and again in the dialer.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
}

// New returns a guarded *http.Client. Give it to any library that accepts an
// *http.Client; every connection it opens goes through CheckAddr.
func New(opts Options) *http.Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = 4
	}
	if opts.LookupIP == nil {
		opts.LookupIP = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	g := &guard{allow: opts.AllowCIDRs, lookup: opts.LookupIP}
	g.dialer = &net.Dialer{Timeout: connectTimeout, ControlContext: g.control}
	base := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.dial,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		MaxIdleConns:          max(100, opts.MaxIdleConnsPerHost),
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Timeout:   opts.Timeout,
		Transport: &transport{base: base, guard: g, userAgent: opts.UserAgent, maxBody: opts.MaxBody},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			// A 3xx is handed back as it is: the user must update the URL.
			return http.ErrUseLastResponse
		},
	}
}

type guard struct {
	allow  []netip.Prefix
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	dialer *net.Dialer
}

// dial resolves the host itself so that blocked addresses are dropped before
// any socket exists and the attempt log names the host; each remaining
// address is dialled as a literal IP, which control checks once more.
func (g *guard) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var blocked, lastErr error
	for _, ip := range ips {
		if err := CheckAddr(ip, g.allow); err != nil {
			if be, ok := err.(*BlockedError); ok {
				be.Host = host
			}
			if blocked == nil {
				blocked = err
			}
			continue
		}
		conn, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	if blocked != nil {
		return nil, blocked
	}
	return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
}

func (g *guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	return g.lookup(ctx, host)
}

// control is the dialer's last word, run after the socket is created and
// before connect. Anything it cannot parse is refused (fail closed).
func (g *guard) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("outbound: refusing unparsable dial address %q: %w", address, err)
	}
	return CheckAddr(ap.Addr(), g.allow)
}

// transport validates each request's URL (redirect targets included, should
// a caller re-issue them), sets the User-Agent and caps the response body.
type transport struct {
	base      *http.Transport
	guard     *guard
	userAgent string
	maxBody   int64
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.maxBody, limit: t.maxBody}
	return resp, nil
}

type cappedBody struct {
	rc          io.ReadCloser
	left, limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var probe [1]byte
		n, err := b.rc.Read(probe[:])
		if n > 0 {
			return 0, fmt.Errorf("%w of %d bytes", ErrBodyTooLarge, b.limit)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// ReadCapped reads at most n bytes of resp's body and closes it, reporting
// whether anything was left unread. It is for keeping a response excerpt on an
// attempt log (contract §9: about 50 KB), where a long body is not an error.
func ReadCapped(resp *http.Response, n int64) (body []byte, truncated bool, err error) {
	defer resp.Body.Close()
	n = max(n, 0)
	body, err = io.ReadAll(io.LimitReader(resp.Body, n+1))
	if errors.Is(err, ErrBodyTooLarge) {
		return body[:min(int64(len(body)), n)], true, nil
	}
	if err != nil {
		return body, false, err
	}
	if int64(len(body)) > n {
		return body[:n], true, nil
	}
	return body, false, nil
}

// URLError explains why a URL was refused. Code is stable for programs
// ("required", "too_long", "parse", "scheme", "host", "userinfo", "port"); Message is
// for people.
type URLError struct {
	Code    string
	Message string
}

func (e *URLError) Error() string { return "invalid URL: " + e.Message }

// ValidateURL is the save-time check for a user-supplied URL: it must parse,
// use http or https, name a host, carry no user:password (which would be sent
// as credentials and end up in logs) and have a port in 1–65535. It does not
// resolve the host: addresses are judged at dial time only, because DNS
// answers can change between saving and sending.
func ValidateURL(raw string) error {
	if len(raw) > MaxURLLength {
		return &URLError{Code: "too_long", Message: fmt.Sprintf("longer than %d characters", MaxURLLength)}
	}
	if raw == "" {
		return &URLError{Code: "required", Message: "empty"}
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, credentials included
		}
		return &URLError{Code: "parse", Message: err.Error()}
	}
	return checkURL(u)
}

func checkURL(u *url.URL) error {
	switch u.Scheme {
	case "http", "https":
	case "":
		return &URLError{Code: "scheme", Message: "missing scheme: use http:// or https://"}
	default:
		return &URLError{Code: "scheme", Message: fmt.Sprintf("scheme %q is not allowed: use http or https", u.Scheme)}
	}
	if u.User != nil {
		return &URLError{Code: "userinfo", Message: "user name or password in the URL is not allowed"}
	}
	if u.Hostname() == "" {
		return &URLError{Code: "host", Message: "missing host"}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return &URLError{Code: "port", Message: fmt.Sprintf("port %q is outside 1-65535", p)}
		}
	}
	return nil
}
