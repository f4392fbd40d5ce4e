// Package manychat is an in-memory fake of the Manychat Page API that speaks
// shared/contracts/manychat.md: bearer-token accounts with isolated state,
// the success/error envelopes, logical errors on HTTP 200, the HTML 404,
// per-family rate limits answering 429, and the validation rules the
// contract lists. Tests seed it with Go methods, inspect what was sent, and
// inject failures and latency. `playgram seed --fake-manychat` runs it on an
// address with Listen.
//
// It is written independently of internal/manychat (it shares only the
// ratelimit package) so that a misunderstanding of the contract in the
// client is not silently mirrored here.
package manychat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/playgram/playgram/internal/ratelimit"
)

// DefaultToken is the default account's token, in Manychat's
// "<page-id>:<secret>" form.
const DefaultToken = "100000000000001:0123456789abcdef0123456789abcdef"

// DefaultPageID is the default account's page id.
const DefaultPageID int64 = 100000000000001

// Server is a running fake. The embedded *Account is the default account
// (token Token), so fake.AddSubscriber(...) seeds it directly.
type Server struct {
	*Account

	// URL is the base URL to give the client (MANYCHAT_BASE_URL).
	URL string
	// Token is the default account's token.
	Token string

	srv *httptest.Server

	mu           sync.Mutex
	accounts     map[string]*Account
	clock        ratelimit.Clock
	latency      time.Duration
	failures     map[string][]Failure
	calls        []Call
	sentContent  []SentContent
	sentFlows    []SentFlow
	rateLimits   bool
	rlStatus     int
	rlMessage    string
	keyedDetails bool
	nextID       int64
	nextSubID    int64
	seq          int64
}

// Call is one request the fake received, whatever its outcome.
type Call struct {
	Method string
	Path   string
	Query  string
	Body   []byte
	Token  string
	Status int
	At     time.Time
}

// SentContent is one accepted sendContent / sendContentByUserRef.
type SentContent struct {
	Token        string
	SubscriberID int64  // 0 for sendContentByUserRef
	UserRef      string // only for sendContentByUserRef
	Data         json.RawMessage
	MessageTag   string
	OTNTopicName string
	At           time.Time
}

// SentFlow is one accepted sendFlow.
type SentFlow struct {
	Token        string
	SubscriberID int64
	FlowNS       string
	At           time.Time
}

// Failure is an answer to force on the next requests to a path.
type Failure struct {
	// Status is the HTTP status; 200 makes a logical error
	// (`200 {"status":"error",…}`).
	Status int
	// Message is the error message; empty picks one for the status.
	Message string
	// Code is an optional Manychat error code (e.g. 3011).
	Code int
	// HTML answers with an HTML page instead of JSON, like a proxy's 502.
	HTML bool
}

// New starts a fake on a loopback port with one default account.
func New() *Server {
	s := newServer()
	s.srv = httptest.NewServer(s.Handler())
	s.URL = s.srv.URL
	return s
}

// NewOnListener starts a fake serving on l (which it takes ownership of).
func NewOnListener(l net.Listener) *Server {
	s := newServer()
	s.srv = httptest.NewUnstartedServer(s.Handler())
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Listen starts a fake on addr (e.g. "127.0.0.1:8091"), for demos and
// `playgram seed --fake-manychat`.
func Listen(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake manychat: listen on %s: %w", addr, err)
	}
	return NewOnListener(l), nil
}

func newServer() *Server {
	s := &Server{
		accounts:   map[string]*Account{},
		clock:      ratelimit.System(),
		failures:   map[string][]Failure{},
		rateLimits: true,
		rlStatus:   http.StatusTooManyRequests,
		rlMessage:  "Too many requests",
		nextID:     1000,
		nextSubID:  1<<53 + 1, // ids above 2^53 by default: float64 clients break at once
		Token:      DefaultToken,
	}
	s.Account = s.AddAccount(DefaultToken, Page{ID: DefaultPageID, Name: "Playgram Demo", Category: "Shopping & Retail",
		Username: "playgram.demo", IsPro: true, Timezone: "UTC"})
	return s
}

// Close stops the server.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// SetClock replaces the clock used for rate limits, the 24 h window,
// recorded times and field update order. Tests share a
// ratelimit.ManualClock with the client.
func (s *Server) SetClock(c ratelimit.Clock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = c
}

// SetLatency delays every answer by d (real time), to exercise timeouts.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetRateLimits turns the per-family and per-subscriber limits on (the
// default) or off.
func (s *Server) SetRateLimits(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimits = on
}

// SetRateLimitResponse changes what an over-limit request gets; Manychat
// does not document it, 429 {"status":"error","message":"Too many requests"}
// is the default.
func (s *Server) SetRateLimitResponse(status int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rlStatus, s.rlMessage = status, message
}

// SetKeyedDetails switches validation errors to the undocumented variant
// seen live: no top-level status/message, and details.messages keyed by
// field, {"wa_id":{"message":["…"]}}.
func (s *Server) SetKeyedDetails(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyedDetails = on
}

// FailNext makes the next n requests to path (e.g. "/fb/sending/sendFlow",
// or "*" for any path) fail with status; 200 means a logical error.
func (s *Server) FailNext(path string, status, n int) {
	s.InjectFailure(path, Failure{Status: status}, n)
}

// InjectFailure queues n copies of f for path ("*" for any path).
func (s *Server) InjectFailure(path string, f Failure, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failures[path] = append(s.failures[path], f)
	}
}

// Calls returns every request received, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount returns how many requests hit path.
func (s *Server) CallCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Path == path {
			n++
		}
	}
	return n
}

// SentContent returns every accepted sendContent/sendContentByUserRef.
func (s *Server) SentContent() []SentContent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentContent(nil), s.sentContent...)
}

// SentFlows returns every accepted sendFlow.
func (s *Server) SentFlows() []SentFlow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentFlow(nil), s.sentFlows...)
}

// ResetRecords forgets recorded calls and sends (state stays).
func (s *Server) ResetRecords() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.sentContent, s.sentFlows = nil, nil, nil
}

// Handler is the fake's HTTP handler, for mounting it elsewhere.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

const notFoundHTML = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>404 Not Found</title></head>
<body><h1>Page not found</h1><p>The page you are looking for does not exist.</p></body></html>
`

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	token := bearer(r.Header.Get("Authorization"))

	s.mu.Lock()
	latency := s.latency
	callIdx := len(s.calls)
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body, Token: token, At: s.clock.Now()})
	s.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.setStatus(callIdx, 0)
			return
		}
	}

	res := s.handle(r, token, body)
	s.setStatus(callIdx, res.status)
	if res.html {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(res.status)
		io.WriteString(w, res.htmlBody)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(res.body)
}

func (s *Server) setStatus(i, status int) {
	s.mu.Lock()
	s.calls[i].Status = status
	s.mu.Unlock()
}

func bearer(h string) string {
	const p = "bearer "
	if len(h) < len(p) || !strings.EqualFold(h[:len(p)], p) {
		return ""
	}
	return strings.TrimSpace(h[len(p):])
}

// result is a handler's answer.
type result struct {
	status   int
	body     any
	html     bool
	htmlBody string
}

func (s *Server) handle(r *http.Request, token string, body []byte) result {
	rt, ok := routes[r.URL.Path]
	if !ok || rt.method != r.Method {
		return result{status: http.StatusNotFound, html: true, htmlBody: notFoundHTML}
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	if f, ok := s.takeFailure(r.URL.Path); ok {
		return failureResult(f, s.rlMessage)
	}
	if token == "" {
		return result{status: http.StatusUnauthorized, body: errBody("Token is required")}
	}
	acc := s.accounts[token]
	if acc == nil {
		return result{status: http.StatusUnauthorized, body: errBody("Wrong token")}
	}
	now := s.clock.Now()
	if s.rateLimits && !acc.bucket(rt.family).AllowAt(now) {
		return result{status: s.rlStatus, body: errBody(s.rlMessage)}
	}
	in := &request{q: r.URL.Query()}
	if r.Method == http.MethodPost {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&in.body); err != nil || in.body == nil {
			return acc.invalid("body", "Request body must be a JSON object")
		}
	}
	return rt.handler(acc, in, now)
}

func (s *Server) takeFailure(path string) (Failure, bool) {
	for _, key := range []string{path, "*"} {
		if q := s.failures[key]; len(q) > 0 {
			s.failures[key] = q[1:]
			return q[0], true
		}
	}
	return Failure{}, false
}

func failureResult(f Failure, rlMessage string) result {
	msg := f.Message
	if msg == "" {
		switch {
		case f.Status == http.StatusOK:
			msg = "Something went wrong"
		case f.Status == http.StatusTooManyRequests:
			msg = rlMessage
		default:
			msg = http.StatusText(f.Status)
		}
	}
	if f.HTML {
		return result{status: f.Status, html: true, htmlBody: "<html><body><h1>" + msg + "</h1></body></html>"}
	}
	return result{status: f.Status, body: envelope{Status: "error", Message: msg, Code: f.Code}}
}

// envelope is every JSON answer, fields in Manychat's order.
type envelope struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Code    int    `json:"code,omitempty"`
	Details any    `json:"details,omitempty"`
	Data    any    `json:"data,omitempty"`
}

func errBody(msg string) envelope { return envelope{Status: "error", Message: msg} }

func success(data any) result {
	return result{status: http.StatusOK, body: envelope{Status: "success", Data: data}}
}

func successEmpty() result {
	return result{status: http.StatusOK, body: envelope{Status: "success"}}
}

// logical is an error Manychat reports on HTTP 200.
func logical(msg string) result {
	return result{status: http.StatusOK, body: errBody(msg)}
}

// withCode is Response_Error_With_Code.
func withCode(msg string, code int) result {
	return result{status: http.StatusBadRequest, body: envelope{Status: "error", Message: msg, Code: code}}
}

func keyedDetails(param, msg string) map[string]any {
	return map[string]any{"messages": map[string]any{param: map[string]any{"message": []string{msg}}}}
}

// invalid is Response_Error, or the keyed variant when switched on.
func (a *Account) invalid(param, msg string) result {
	if a.s.keyedDetails {
		return result{status: http.StatusBadRequest, body: envelope{Details: keyedDetails(param, msg)}}
	}
	return result{status: http.StatusBadRequest, body: envelope{Status: "error", Message: msg,
		Details: map[string]any{"messages": []map[string]string{{"message": msg}}}}}
}
