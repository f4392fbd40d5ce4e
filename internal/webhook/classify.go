package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/playgram/playgram/internal/outbound"
)

// Action is what the delivery worker does after an attempt.
type Action int

const (
	// ActionRetry schedules another attempt (Schedule.Next), or marks the
	// message dead when attempts are used up.
	ActionRetry Action = iota
	// ActionDelivered records success; only a 2xx counts.
	ActionDelivered
	// ActionDisable turns the endpoint off: the receiver answered 410 Gone.
	ActionDisable
)

func (a Action) String() string {
	switch a {
	case ActionDelivered:
		return "delivered"
	case ActionDisable:
		return "disable"
	default:
		return "retry"
	}
}

// Outcome is the verdict on one attempt, with what the scheduler and the
// attempt log need.
type Outcome struct {
	Action Action
	// Throttle asks the worker to slow deliveries to this endpoint (429, 502,
	// 504: the receiver or its gateway is overloaded).
	Throttle bool
	// Blocked is set when the SSRF guard refused the address: retrying only
	// helps if DNS changes, so the UI should point at the URL or allow-list.
	Blocked bool
	// MinDelay is the shortest wait before the next attempt (ThrottleFloor
	// after a 429 or a timeout).
	MinDelay time.Duration
	// RetryAfter is the receiver's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Reason is a short human explanation for the attempt log.
	Reason string
}

// Classify judges an attempt from the response status (0 when no response
// arrived) and the transport error. Rules, contract §7: 2xx delivered; 410
// disables the endpoint; everything else is retried on the schedule — 3xx
// (redirects are never followed), other 4xx, 5xx, resets and refusals — with
// 429/502/504 also throttling the endpoint and 429 and timeouts waiting at
// least ThrottleFloor. A status, when present, decides over err: a receiver
// that answered 200 has the message even if reading its body failed.
func Classify(status int, err error) Outcome {
	switch {
	case status >= 200 && status <= 299:
		return Outcome{Action: ActionDelivered, Reason: fmt.Sprintf("HTTP %d", status)}
	case status == http.StatusGone:
		return Outcome{Action: ActionDisable, Reason: "HTTP 410: the receiver asked to stop deliveries"}
	case status == http.StatusTooManyRequests:
		return Outcome{Action: ActionRetry, Throttle: true, MinDelay: ThrottleFloor, Reason: "HTTP 429: rate limited by the receiver"}
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return Outcome{Action: ActionRetry, Throttle: true, Reason: fmt.Sprintf("HTTP %d", status)}
	case status >= 300 && status <= 399:
		return Outcome{Action: ActionRetry, Reason: fmt.Sprintf("HTTP %d: redirects are not followed; update the endpoint URL", status)}
	case status != 0:
		return Outcome{Action: ActionRetry, Reason: fmt.Sprintf("HTTP %d", status)}
	}
	var blocked *outbound.BlockedError
	var netErr net.Error
	switch {
	case err == nil:
		return Outcome{Action: ActionRetry, Reason: "no response"}
	case errors.As(err, &blocked):
		return Outcome{Action: ActionRetry, Blocked: true, Reason: blocked.Error()}
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return Outcome{Action: ActionRetry, MinDelay: ThrottleFloor, Reason: "timeout"}
	default:
		return Outcome{Action: ActionRetry, Reason: err.Error()}
	}
}

// ClassifyResponse is Classify for an *http.Response (nil when the request
// failed), adding the receiver's Retry-After.
func ClassifyResponse(resp *http.Response, err error, now time.Time) Outcome {
	if resp == nil {
		return Classify(0, err)
	}
	o := Classify(resp.StatusCode, err)
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		o.RetryAfter = d
	}
	return o
}
