package aichat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Failure kinds of a model call.
const (
	KindRateLimited   = "rate_limited"       // 429 rate_limit_exceeded / slow_down: retried with backoff
	KindQuota         = "insufficient_quota" // out of credit: not retried, the admin is told
	KindAuth          = "auth"               // 401/403
	KindModelNotFound = "model_not_found"
	KindContextLength = "context_length"
	KindBadRequest    = "bad_request"
	KindServer        = "server" // 5xx: retried
	KindTimeout       = "timeout"
	KindNetwork       = "network"
	KindStream        = "stream" // an error inside the stream
	KindOther         = "other"
)

// Failure is a model call's error explained: its kind, whether a retry can help, the provider's suggested
// wait and a sentence an admin can act on.
type Failure struct {
	Kind       string
	Status     int
	Retry      bool
	RetryAfter time.Duration
	Words      string
	Err        error
}

func (f *Failure) Error() string { return f.Words }
func (f *Failure) Unwrap() error { return f.Err }

// Classify explains err from go-openai (APIError, RequestError, context and network errors).
func Classify(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return &Failure{Kind: KindTimeout, Retry: false, Err: err,
			Words: "The model did not answer in time; the customer got the fallback text."}
	case errors.As(err, &reqErr):
		// checked first: a body like Ollama's {"error":"text"} yields a RequestError wrapping an empty APIError
		body := strings.TrimSpace(string(reqErr.Body))
		if len(body) > 300 {
			body = body[:300]
		}
		return classifyStatus(reqErr.HTTPStatusCode, "", "", body, err)
	case errors.As(err, &apiErr):
		code := fmt.Sprint(apiErr.Code)
		if apiErr.Code == nil {
			code = ""
		}
		return classifyStatus(apiErr.HTTPStatusCode, apiErr.Type, code, apiErr.Message, err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "outbound") {
		return &Failure{Kind: KindNetwork, Retry: false, Err: err,
			Words: "Could not reach the model server (" + err.Error() + "); check base_url, and that a local server is allowed with PLAYGRAM_OUTBOUND_ALLOW."}
	}
	return &Failure{Kind: KindOther, Err: err, Words: "The model call failed: " + err.Error()}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func classifyStatus(status int, typ, code, msg string, err error) *Failure {
	f := &Failure{Status: status, Err: err}
	says := ""
	if msg != "" {
		says = " The provider says: " + msg
	}
	switch {
	case status == 429 && (code == "insufficient_quota" || typ == "insufficient_quota"):
		f.Kind, f.Words = KindQuota, "The model provider account is out of credit (429 insufficient_quota): add credit or raise the limit in the provider's billing settings."+says
	case status == 429:
		f.Kind, f.Retry, f.Words = KindRateLimited, true, "The model provider is rate limiting this API key (429 "+orDefault(code, typ, "rate_limit_exceeded")+")."+says
	case status == 401 || status == 403:
		f.Kind, f.Words = KindAuth, fmt.Sprintf("The model provider refused the API key (%d): set a valid key with POST /api/v1/tools/{id}/secret or the workspace's openai_api_key.%s", status, says)
	case status == 404 || code == "model_not_found":
		f.Kind, f.Words = KindModelNotFound, "The model server does not know this model (404): check the tool's model name."+says
	case code == "context_length_exceeded":
		f.Kind, f.Words = KindContextLength, "The conversation is longer than the model's context window: lower context_tokens."+says
	case status >= 500:
		f.Kind, f.Retry, f.Words = KindServer, true, fmt.Sprintf("The model server failed (%d).%s", status, says)
	case status >= 400:
		f.Kind, f.Words = KindBadRequest, fmt.Sprintf("The model server refused the request (%d).%s", status, says)
	case status == 200 || status == 0:
		f.Kind, f.Retry, f.Words = KindStream, true, "The model server reported an error while answering."+says
	default:
		f.Kind, f.Words = KindOther, fmt.Sprintf("The model call failed (%d).%s", status, says)
	}
	return f
}

func orDefault(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// RetryAfterFrom reads Retry-After (seconds) or x-ratelimit-reset-requests (a duration such as "6m0s" or
// "20ms") from a header getter; 0 when neither is usable.
func RetryAfterFrom(get func(string) string) time.Duration {
	if v := strings.TrimSpace(get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
	}
	if v := strings.TrimSpace(get("x-ratelimit-reset-requests")); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return 0
}

// Backoff is the wait before retry number attempt (1 = first retry): the provider's hint when given, else
// base doubled per attempt with ±20 % jitter; never more than max.
func Backoff(attempt int, hint, base, max time.Duration) time.Duration {
	if hint > 0 {
		return min(hint, max)
	}
	d := base << (attempt - 1)
	if d <= 0 || d > max {
		d = max
	}
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return min(d+jitter, max)
}
