package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/internal/whsig"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// Playground limits.
const (
	// MaxCaptureBody is how much of a captured request's body is kept.
	MaxCaptureBody = 32 << 10
	// DefaultBinRequests is how many captured requests a bin keeps by default (the oldest go first).
	DefaultBinRequests = 100
	// MaxBinDelay bounds a bin's mock response delay.
	MaxBinDelay = 30 * time.Second
	// MaxBinsPerWorkspace bounds the bins of one workspace.
	MaxBinsPerWorkspace = 20
)

// ValidateBin checks a bin's mock response: headers must be an object of strings with valid names.
func ValidateBin(r *core.Record) error {
	headers, err := stringMap(r.Get("response_headers"))
	if err != nil {
		return validation.Errors{"response_headers": validation.NewError("validation_invalid_type", "must be an object of header names to string values")}
	}
	if len(headers) > MaxHeaders {
		return validation.Errors{"response_headers": validation.NewError("validation_too_many", "at most 20 headers")}
	}
	errs := validation.Errors{}
	for name, value := range headers {
		msg := checkHeaderName(name)
		if msg == "" {
			msg = checkHeaderValue(value)
		}
		switch lower(name) {
		case "content-length", "transfer-encoding", "connection":
			msg = name + " is set by the server"
		}
		if msg != "" {
			errs["response_headers."+name] = validation.NewError("validation_invalid_header", msg)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// Verification is the playground's verdict on a captured request's signature.
type Verification struct {
	Valid     bool   `json:"valid"`
	Secret    string `json:"secret,omitempty"` // "current" or "previous": which of the endpoint's secrets matched
	Error     string `json:"error,omitempty"`
	WebhookID string `json:"webhook_id,omitempty"`
	Timestamp string `json:"webhook_timestamp,omitempty"`
	// CheckedAt is the time the timestamp tolerance (±5 min) was judged against: when the request was captured.
	CheckedAt time.Time `json:"checked_at"`
}

// VerifyCaptured checks a playground_requests record against an endpoint's secrets the way the official
// Standard Webhooks libraries do, judging the timestamp at capture time.
func VerifyCaptured(box *secretbox.Box, endpoint, captured *core.Record) Verification {
	at := time.UnixMilli(int64(captured.GetFloat("ts")))
	v := Verification{CheckedAt: at.UTC()}
	var raw map[string][]string
	_ = json.Unmarshal(jsonBytes(captured.Get("headers")), &raw)
	h := http.Header(raw)
	v.WebhookID, v.Timestamp = headerValue(h, whsig.HeaderID), headerValue(h, whsig.HeaderTimestamp)
	body := []byte(captured.GetString("body"))
	if captured.GetString("body_encoding") == "base64" {
		body, _ = base64.StdEncoding.DecodeString(captured.GetString("body"))
	}
	if captured.GetBool("body_truncated") {
		v.Error = "the body was larger than the playground keeps, so its signature cannot be checked"
		return v
	}
	current, previous, err := EndpointSecrets(box, endpoint)
	if err != nil {
		v.Error = "the endpoint's secret cannot be opened: " + err.Error()
		return v
	}
	err = whsig.Verify(current, h, body, at, 0)
	if err == nil {
		v.Valid, v.Secret = true, "current"
		return v
	}
	if previous != nil && !errors.Is(err, whsig.ErrMissingHeader) {
		if whsig.Verify(*previous, h, body, at, 0) == nil {
			v.Valid, v.Secret = true, "previous"
			return v
		}
	}
	v.Error = err.Error()
	return v
}

func headerValue(h http.Header, name string) string {
	for k, vs := range h {
		if lower(k) == name && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
