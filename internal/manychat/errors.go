package manychat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/playgram/playgram/internal/manychat/dynblock"
)

// FieldError names a bad input field so that an HTTP layer can answer 400
// pointing at it. It is the same type the dynblock validator returns.
type FieldError = dynblock.FieldError

// Known Manychat error codes (Response_Error_With_Code).
const (
	CodeOutsideWindow          = 3011 // sendContent outside the 24 h window without message_tag
	CodeNoOTNToken             = 3021 // no one-time-notification token for the topic
	CodeNoNotificationReason   = 3031 // outside the window without a "Notification Reason"
	CodeUserRefNotRegistered   = 2011 // getInfoByUserRef: user_ref unknown
	CodeUserRefNotLinked       = 2012 // getInfoByUserRef: user_ref not linked to a subscriber
	codeChannelUnsupportedLow  = 3040 // 304X: cannot send on that channel
	codeChannelUnsupportedHigh = 3049
)

// ErrNotFound is returned by lookups that came back empty
// (findBySystemField's `"data":[]`). IsNotFound matches it.
var ErrNotFound = errors.New("manychat: not found")

// Detail is one entry of an error's details.messages, flattened from either
// the documented array form or the keyed-by-field object form.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// APIError is any answer whose status is not "success": a 4xx/5xx, an HTML
// page, or a logical error on HTTP 200. HTTPStatus keeps the transport status
// so callers can tell a 200-logical error from a real 400.
type APIError struct {
	Method     string
	Path       string
	HTTPStatus int
	Message    string
	Code       int      // Manychat error code, 0 when none was sent
	Details    []Detail // details.messages, in the order sent (object form sorted by field)
	Body       string   // start of a non-JSON body (e.g. the HTML 404), else ""
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "manychat: %s %s: HTTP %d", e.Method, e.Path, e.HTTPStatus)
	if e.Code != 0 {
		fmt.Fprintf(&b, " code %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, d := range e.Details {
		if d.Message == "" || d.Message == e.Message {
			continue
		}
		b.WriteString("; ")
		if d.Field != "" {
			b.WriteString(d.Field)
			b.WriteString(": ")
		}
		b.WriteString(d.Message)
	}
	if e.Body != "" && e.Message == "" {
		fmt.Fprintf(&b, " (body %q)", e.Body)
	}
	return b.String()
}

// Temporary reports whether repeating the same request later may succeed:
// rate limiting and server-side failures.
func (e *APIError) Temporary() bool {
	return e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus >= 500
}

// QuotaError is returned by SendFlow without calling Manychat when the
// subscriber already received the documented maximum of flows in the last
// hour. RetryAfter is when the oldest of those leaves the window.
type QuotaError struct {
	SubscriberID ID
	Limit        int
	RetryAfter   time.Duration
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("manychat: sendFlow quota of %d per hour reached for subscriber %s; retry in %s",
		e.Limit, e.SubscriberID, e.RetryAfter.Round(time.Second))
}

func asAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// IsAuth reports whether Manychat refused the token (missing, wrong, or the
// account lost API access): retrying cannot help, the owner must act.
func IsAuth(err error) bool {
	e, ok := asAPIError(err)
	return ok && (e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden)
}

// IsRateLimited reports whether Manychat answered 429 or the local sendFlow
// per-subscriber quota was reached.
func IsRateLimited(err error) bool {
	var q *QuotaError
	if errors.As(err, &q) {
		return true
	}
	e, ok := asAPIError(err)
	return ok && e.HTTPStatus == http.StatusTooManyRequests
}

// IsNotFound reports an empty lookup (ErrNotFound), an unknown path (HTML
// 404), or an unregistered/unlinked user_ref.
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	e, ok := asAPIError(err)
	return ok && (e.HTTPStatus == http.StatusNotFound || e.Code == CodeUserRefNotRegistered || e.Code == CodeUserRefNotLinked)
}

// IsTemporary reports whether a job may retry the call later (429, 5xx, or
// the local sendFlow quota).
func IsTemporary(err error) bool {
	var q *QuotaError
	if errors.As(err, &q) {
		return true
	}
	e, ok := asAPIError(err)
	return ok && e.Temporary()
}

// IsLogical reports a `"status":"error"` answer on HTTP 200.
func IsLogical(err error) bool {
	e, ok := asAPIError(err)
	return ok && e.HTTPStatus == http.StatusOK
}

// HasCode reports whether err carries the Manychat error code.
func HasCode(err error, code int) bool {
	e, ok := asAPIError(err)
	return ok && e.Code == code
}

// IsOutsideWindow reports a send refused because the 24 h window is closed
// (3011, or 3031 for a missing notification reason): the caller needs a
// message_tag, an OTN topic, or to wait for the contact to write again.
func IsOutsideWindow(err error) bool {
	return HasCode(err, CodeOutsideWindow) || HasCode(err, CodeNoNotificationReason)
}

// IsChannelUnsupported reports a 304X code: Manychat cannot send to that
// contact on its channel.
func IsChannelUnsupported(err error) bool {
	e, ok := asAPIError(err)
	return ok && e.Code >= codeChannelUnsupportedLow && e.Code <= codeChannelUnsupportedHigh
}

// parseDetails flattens details.messages, which Manychat documents as an
// array of {"message":"…"} but has been seen as an object keyed by field with
// a message string or array of strings. Unknown shapes yield nothing rather
// than failing: the top-level message still explains the error.
func parseDetails(raw json.RawMessage) []Detail {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var d struct {
		Messages json.RawMessage `json:"messages"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return nil
	}
	m := bytes.TrimSpace(d.Messages)
	if len(m) == 0 {
		return nil
	}
	var out []Detail
	switch m[0] {
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(m, &items) != nil {
			return nil
		}
		for _, it := range items {
			out = append(out, detailsFrom("", it)...)
		}
	case '{':
		var keyed map[string]json.RawMessage
		if json.Unmarshal(m, &keyed) != nil {
			return nil
		}
		keys := make([]string, 0, len(keyed))
		for k := range keyed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, detailsFrom(k, keyed[k])...)
		}
	}
	return out
}

// detailsFrom reads one details entry: "text", ["a","b"], {"message":"text"},
// {"message":["a","b"]} or {"field":…,"message":…}.
func detailsFrom(field string, raw json.RawMessage) []Detail {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return []Detail{{Field: field, Message: s}}
		}
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil {
			var out []Detail
			for _, it := range items {
				out = append(out, detailsFrom(field, it)...)
			}
			return out
		}
	case '{':
		var obj struct {
			Field   string          `json:"field"`
			Message json.RawMessage `json:"message"`
		}
		if json.Unmarshal(raw, &obj) == nil {
			if obj.Field != "" {
				field = obj.Field
			}
			return detailsFrom(field, obj.Message)
		}
	}
	return nil
}
