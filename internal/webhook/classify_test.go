package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/webhook"
)

func TestClassify(t *testing.T) {
	blocked := &url.Error{Op: "Post", URL: "http://evil.test/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &outbound.BlockedError{Addr: netip.MustParseAddr("10.0.0.1"), Host: "evil.test", Reason: "private"}}}
	refused := &url.Error{Op: "Post", URL: "http://receiver.example/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	netTimeout := &url.Error{Op: "Post", URL: "http://receiver.example/", Err: os.ErrDeadlineExceeded}
	scenarios := []struct {
		name     string
		status   int
		err      error
		action   webhook.Action
		throttle bool
		blocked  bool
		minDelay time.Duration
		reason   string
	}{
		{name: "200", status: 200, action: webhook.ActionDelivered, reason: "HTTP 200"},
		{name: "204", status: 204, action: webhook.ActionDelivered},
		{name: "299", status: 299, action: webhook.ActionDelivered},
		{name: "200 with body read error", status: 200, err: errors.New("unexpected EOF"), action: webhook.ActionDelivered},
		{name: "301", status: 301, action: webhook.ActionRetry, reason: "redirects are not followed"},
		{name: "308", status: 308, action: webhook.ActionRetry, reason: "update the endpoint URL"},
		{name: "400", status: 400, action: webhook.ActionRetry, reason: "HTTP 400"},
		{name: "401", status: 401, action: webhook.ActionRetry},
		{name: "404", status: 404, action: webhook.ActionRetry},
		{name: "410", status: 410, action: webhook.ActionDisable, reason: "410"},
		{name: "429", status: 429, action: webhook.ActionRetry, throttle: true, minDelay: time.Minute, reason: "429"},
		{name: "500", status: 500, action: webhook.ActionRetry, reason: "HTTP 500"},
		{name: "502", status: 502, action: webhook.ActionRetry, throttle: true},
		{name: "503", status: 503, action: webhook.ActionRetry},
		{name: "504", status: 504, action: webhook.ActionRetry, throttle: true},
		{name: "199", status: 199, action: webhook.ActionRetry},
		{name: "blocked by the guard", err: blocked, action: webhook.ActionRetry, blocked: true, reason: "blocked private address 10.0.0.1 (evil.test)"},
		{name: "context deadline", err: fmt.Errorf("post: %w", context.DeadlineExceeded), action: webhook.ActionRetry, minDelay: time.Minute, reason: "timeout"},
		{name: "net timeout", err: netTimeout, action: webhook.ActionRetry, minDelay: time.Minute, reason: "timeout"},
		{name: "connection refused", err: refused, action: webhook.ActionRetry, reason: "connection refused"},
		{name: "nothing at all", action: webhook.ActionRetry, reason: "no response"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			o := webhook.Classify(s.status, s.err)
			if o.Action != s.action || o.Throttle != s.throttle || o.Blocked != s.blocked || o.MinDelay != s.minDelay {
				t.Fatalf("Classify = %+v, want action %s throttle %v blocked %v minDelay %s", o, s.action, s.throttle, s.blocked, s.minDelay)
			}
			if !strings.Contains(o.Reason, s.reason) {
				t.Fatalf("reason %q does not contain %q", o.Reason, s.reason)
			}
		})
	}
}

func TestClassifyResponse(t *testing.T) {
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"120"}}}
	o := webhook.ClassifyResponse(resp, nil, t0)
	if o.Action != webhook.ActionRetry || o.RetryAfter != 2*time.Minute {
		t.Fatalf("got %+v, want retry with RetryAfter 2m", o)
	}
	// attempt 2 (d = 5 min): a 2 min Retry-After is shorter than d, so d stands
	if at, _ := webhook.NextAttempt(2, t0, o, fixed(0.5)); at.Sub(t0) != 5*time.Minute {
		t.Fatalf("next after %s, want 5m", at.Sub(t0))
	}
	// attempt 1 (d = 5 s): 2 min is cut at 2d
	if at, _ := webhook.NextAttempt(1, t0, o, fixed(0.5)); at.Sub(t0) != 10*time.Second {
		t.Fatalf("next after %s, want 10s", at.Sub(t0))
	}

	bad := webhook.ClassifyResponse(&http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"later"}}}, nil, t0)
	if bad.RetryAfter != 0 {
		t.Fatalf("malformed Retry-After gave %s", bad.RetryAfter)
	}
	if o := webhook.ClassifyResponse(nil, context.DeadlineExceeded, t0); o.Reason != "timeout" {
		t.Fatalf("nil response: %+v", o)
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[webhook.Action]string{webhook.ActionRetry: "retry", webhook.ActionDelivered: "delivered", webhook.ActionDisable: "disable"} {
		if a.String() != want {
			t.Errorf("%d.String() = %q, want %q", a, a.String(), want)
		}
	}
}
