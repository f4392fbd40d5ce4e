// Package manychat is Playgram's client for the Manychat Page API
// (https://api.manychat.com/fb/...), plus the inbound side of Manychat's
// External Request action (ParseContact). The wire contract it speaks is
// shared/contracts/manychat.md; internal/fakes/manychat serves the same
// contract for tests.
//
// The client exists because Manychat's API has traps a thin HTTP call falls
// into: logical errors on HTTP 200, ids above 2^53 sent as strings, documented
// per-endpoint rate limits without rate-limit headers, and sends that must
// never be retried blindly because they return no message id.
package manychat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/internal/ratelimit"
)

// DefaultBaseURL is Manychat's API origin. The caller reads MANYCHAT_BASE_URL
// and passes it to New to point Playgram at a fake.
const DefaultBaseURL = "https://api.manychat.com"

// DefaultTimeout bounds one HTTP attempt, as in Manychat's official client.
const DefaultTimeout = 10 * time.Second

// Retry defaults: a few attempts with exponential backoff and jitter.
const (
	DefaultMaxAttempts = 4
	DefaultBackoffBase = 250 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
)

// maxBodyBytes caps how much of a response is read. The largest documented
// answers (100 subscribers, all custom fields) are far smaller.
const maxBodyBytes = 16 << 20

// Client calls the Manychat Page API for one token (one Manychat account). It
// is safe for concurrent use; its rate limiters are shared by all goroutines
// using it, so create one Client per token and keep it.
type Client struct {
	base        *url.URL
	token       string
	hc          *http.Client
	timeout     time.Duration
	clock       ratelimit.Clock
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration
	userAgent   string
	limits      map[Family]limit
	buckets     map[Family]*ratelimit.Bucket
	flowQuota   *ratelimit.KeyedWindow
	jitter      func() float64 // in [0,1)
}

type limit struct {
	perSecond float64
	burst     int
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send through hc (Playgram passes its own
// instrumented or proxied client). The per-attempt timeout still applies
// through the request context.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithTimeout bounds each HTTP attempt (default DefaultTimeout). The caller's
// context bounds the whole call including retries and rate-limit waits.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithRetry sets how many attempts a retryable call gets (1 disables retries)
// and the backoff between them.
func WithRetry(maxAttempts int, base, max time.Duration) Option {
	return func(c *Client) {
		if maxAttempts >= 1 {
			c.maxAttempts = maxAttempts
		}
		if base > 0 {
			c.backoffBase = base
		}
		if max > 0 {
			c.backoffMax = max
		}
	}
}

// WithRateLimit overrides one family's limit, e.g. to share a token's budget
// between several processes. perSecond <= 0 disables limiting for the family.
func WithRateLimit(f Family, perSecond float64, burst int) Option {
	return func(c *Client) {
		if burst < 1 {
			burst = 1
		}
		c.limits[f] = limit{perSecond: perSecond, burst: burst}
	}
}

// WithClock replaces the clock used for rate limiting, backoff sleeps and the
// sendFlow quota. Tests pass a ratelimit.ManualClock.
func WithClock(clock ratelimit.Clock) Option {
	return func(c *Client) {
		if clock != nil {
			c.clock = clock
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for baseURL ("" means DefaultBaseURL) and token
// ("<page-id>:<secret>"). An empty token is allowed and sent as no
// Authorization header, which Manychat answers with 401 "Token is required".
func New(baseURL, token string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(baseURL) == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &FieldError{Field: "base_url", Code: "invalid_url", Message: fmt.Sprintf("%q is not an http(s) URL", baseURL)}
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, &FieldError{Field: "token", Code: "invalid_token", Message: "the token must not contain whitespace"}
	}
	c := &Client{
		base:        u,
		token:       token,
		hc:          http.DefaultClient,
		timeout:     DefaultTimeout,
		clock:       ratelimit.System(),
		maxAttempts: DefaultMaxAttempts,
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
		userAgent:   "playgram-manychat/1",
		limits:      map[Family]limit{},
		jitter:      rand.Float64,
	}
	for _, f := range families {
		c.limits[f] = limit{perSecond: float64(f.QPS()), burst: f.QPS()}
	}
	for _, o := range opts {
		o(c)
	}
	c.buckets = map[Family]*ratelimit.Bucket{}
	for f, l := range c.limits {
		if l.perSecond > 0 {
			c.buckets[f] = ratelimit.NewBucket(l.perSecond, l.burst, c.clock)
		}
	}
	c.flowQuota = ratelimit.NewKeyedWindow(SendFlowPerSubscriberPerHour, time.Hour)
	return c, nil
}

// endpoint describes one Manychat operation.
type endpoint struct {
	method string
	path   string
	family Family
	// idempotent calls are retried on 5xx and network errors; the others
	// (creates and sends, which return no id to deduplicate on) only on 429,
	// where Manychat did not process the request.
	idempotent bool
}

func get(path string, f Family) endpoint  { return endpoint{http.MethodGet, path, f, true} }
func post(path string, f Family) endpoint { return endpoint{http.MethodPost, path, f, true} }
func postOnce(path string, f Family) endpoint {
	return endpoint{http.MethodPost, path, f, false}
}

// envelope is every Manychat JSON answer.
type envelope struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Code    json.RawMessage `json:"code"`
	Details json.RawMessage `json:"details"`
	Data    json.RawMessage `json:"data"`
}

// call performs ep and decodes the success envelope's data into out (nil:
// ignore data). Retries, rate limiting and error typing all happen here.
func (c *Client) call(ctx context.Context, ep endpoint, query url.Values, body any, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("manychat: encode %s body: %w", ep.path, err)
		}
	}
	var lastErr error
	for attempt := 1; attempt <= c.maxAttempts; attempt++ {
		if b := c.buckets[ep.family]; b != nil {
			if err := b.Wait(ctx); err != nil {
				return c.abort(ep, err, lastErr)
			}
		}
		data, retryAfter, err := c.attempt(ctx, ep, query, payload)
		if err == nil {
			return decodeData(ep, data, out)
		}
		lastErr = err
		if attempt == c.maxAttempts || !c.retryable(ep, err) {
			return err
		}
		wait := c.backoff(attempt, retryAfter)
		if deadline, ok := ctx.Deadline(); ok && c.clock.Now().Add(wait).After(deadline) {
			return c.abort(ep, ratelimit.ErrWouldExceedDeadline, lastErr)
		}
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return c.abort(ep, err, lastErr)
		}
	}
	return lastErr
}

// abort reports a rate-limit or backoff wait cut short by ctx, keeping the
// last Manychat error visible.
func (c *Client) abort(ep endpoint, waitErr, lastErr error) error {
	if lastErr != nil {
		return fmt.Errorf("manychat: %s %s: gave up waiting to retry (%w) after: %w", ep.method, ep.path, waitErr, lastErr)
	}
	return fmt.Errorf("manychat: %s %s: waiting for the rate limiter: %w", ep.method, ep.path, waitErr)
}

// retryable decides whether err is worth another attempt for ep: 429
// always (Manychat did not process it), 5xx and broken connections only
// when repeating the call cannot do anything twice.
func (c *Client) retryable(ep endpoint, err error) bool {
	if e, ok := asAPIError(err); ok {
		if e.HTTPStatus == http.StatusTooManyRequests {
			return true
		}
		return ep.idempotent && e.HTTPStatus >= 500
	}
	var ne *networkError
	if !errors.As(err, &ne) {
		return false
	}
	// a failed dial never reached Manychat, so even a send is safe to repeat
	var op *net.OpError
	return ep.idempotent || (errors.As(err, &op) && op.Op == "dial")
}

// backoff is exponential with equal jitter, at least retryAfter when the
// server sent one, and at most backoffMax.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.backoffBase << (attempt - 1)
	if d > c.backoffMax || d <= 0 {
		d = c.backoffMax
	}
	d = d/2 + time.Duration(c.jitter()*float64(d/2))
	if retryAfter > d {
		d = min(retryAfter, c.backoffMax)
	}
	return d
}

// networkError marks a transport failure that is not the caller's context.
type networkError struct{ err error }

func (e *networkError) Error() string { return e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// attempt sends one request and returns the success envelope's data.
func (c *Client) attempt(ctx context.Context, ep endpoint, query url.Values, payload []byte) (json.RawMessage, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	u := *c.base
	u.Path = c.base.Path + ep.path
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rdr io.Reader
	if payload != nil {
		rdr = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, ep.method, u.String(), rdr)
	if err != nil {
		return nil, 0, fmt.Errorf("manychat: build %s request: %w", ep.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, c.transportError(ctx, actx, ep, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, 0, c.transportError(ctx, actx, ep, err)
	}
	if len(raw) > maxBodyBytes {
		return nil, 0, fmt.Errorf("manychat: %s %s: response larger than %d bytes", ep.method, ep.path, maxBodyBytes)
	}
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
	data, err := parseEnvelope(ep, resp.StatusCode, raw)
	if e, ok := asAPIError(err); ok {
		e.RetryAfter = retryAfter
	}
	return data, retryAfter, err
}

// transportError separates the caller's own cancellation or deadline
// (returned as is, never retried), the per-attempt timeout (a deadline error,
// not retried: Manychat was given its full 10 s), and real network failures
// (retried for idempotent calls).
func (c *Client) transportError(ctx, actx context.Context, ep endpoint, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("manychat: %s %s: %w", ep.method, ep.path, ctx.Err())
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("manychat: %s %s: no answer within %s: %w", ep.method, ep.path, c.timeout, context.DeadlineExceeded)
	}
	return &networkError{err: fmt.Errorf("manychat: %s %s: %w", ep.method, ep.path, err)}
}

// parseEnvelope applies Manychat's rule that only `"status":"success"` is a
// success, whatever the HTTP status.
func parseEnvelope(ep endpoint, status int, raw []byte) (json.RawMessage, error) {
	var env envelope
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &env) != nil {
		apiErr := &APIError{Method: ep.method, Path: ep.path, HTTPStatus: status, Body: snippet(raw)}
		if status >= 200 && status < 300 {
			apiErr.Message = "response is not a JSON object"
		}
		return nil, apiErr
	}
	if env.Status == "success" && status >= 200 && status < 300 {
		return env.Data, nil
	}
	apiErr := &APIError{
		Method:     ep.method,
		Path:       ep.path,
		HTTPStatus: status,
		Message:    env.Message,
		Code:       parseCode(env.Code),
		Details:    parseDetails(env.Details),
	}
	if apiErr.Message == "" && len(apiErr.Details) > 0 {
		apiErr.Message = apiErr.Details[0].Message
	}
	if apiErr.Message == "" && env.Status == "" {
		apiErr.Message = "response has no status"
	}
	return nil, apiErr
}

// parseCode accepts 3011 and "3011".
func parseCode(raw json.RawMessage) int {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	n, _ := strconv.Atoi(s)
	return n
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

func snippet(raw []byte) string {
	const n = 256
	s := strings.TrimSpace(string(raw))
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// list calls a GET endpoint whose data is an array.
func list[T any](ctx context.Context, c *Client, ep endpoint, q url.Values) ([]T, error) {
	var out []T
	if err := c.call(ctx, ep, q, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// errNoData marks a success envelope without the data the endpoint promises.
var errNoData = errors.New("success response without data")

// decodeData unmarshals data into out. An expected but missing data is an
// error: callers would otherwise return a zero object as if it were real.
func decodeData(ep endpoint, data json.RawMessage, out any) error {
	if out == nil {
		return nil
	}
	if d := bytes.TrimSpace(data); len(d) == 0 || string(d) == "null" {
		return fmt.Errorf("manychat: %s %s: %w", ep.method, ep.path, errNoData)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("manychat: %s %s: decode data: %w", ep.method, ep.path, err)
	}
	return nil
}
