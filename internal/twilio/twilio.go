// Package twilio is a client for Twilio's Programmable Messaging REST API (the 2010-04-01 Messages resource):
// it sends an SMS with POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To, From (or
// MessagingServiceSid) and Body, authenticated with HTTP basic auth (account SID and auth token).
//
// Failures are typed: *Error carries Twilio's error JSON (code, message, more_info, status). Rate limiting
// (429), server errors (5xx) and transport errors are retried with exponential backoff; 4xx answers are not,
// because Twilio refused the message and sending it again cannot help (a bad number stays bad). Whether a
// failure is worth retrying later is Retryable(err).
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Twilio's API host.
const DefaultBaseURL = "https://api.twilio.com"

// APIVersion is the version segment of the Messages resource path.
const APIVersion = "2010-04-01"

// MaxBodyRunes is Twilio's limit on one message body (error 21617 above it).
const MaxBodyRunes = 1600

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164Pattern       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// ValidAccountSID reports whether s looks like a Twilio account SID (AC + 32 hex digits).
func ValidAccountSID(s string) bool { return accountSIDPattern.MatchString(s) }

// ValidE164 reports whether s is a phone number in E.164 form (+ and 7 to 15 digits).
func ValidE164(s string) bool { return e164Pattern.MatchString(s) }

// Client sends messages for one Twilio account.
type Client struct {
	AccountSID string
	AuthToken  string
	// BaseURL defaults to DefaultBaseURL; tests point it at internal/fakes/twilio.
	BaseURL string
	// HTTP defaults to a client with a 15 s timeout.
	HTTP *http.Client
	// MaxAttempts bounds tries per Send (default 3); Backoff is the wait before the second try, doubled after
	// each further failure (default 500 ms). A Retry-After header, when present, is honoured up to 30 s.
	MaxAttempts int
	Backoff     time.Duration
}

// Message is what to send. Set From (a Twilio number in E.164 form or an alphanumeric sender id) or
// MessagingServiceSID.
type Message struct {
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	StatusCallback      string
}

// Resource is the Message resource Twilio answers with (the fields Playgram reads).
type Resource struct {
	SID                 string  `json:"sid"`
	AccountSID          string  `json:"account_sid"`
	MessagingServiceSID *string `json:"messaging_service_sid"`
	To                  string  `json:"to"`
	From                string  `json:"from"`
	Body                string  `json:"body"`
	Status              string  `json:"status"`
	NumSegments         string  `json:"num_segments"`
	Direction           string  `json:"direction"`
	APIVersion          string  `json:"api_version"`
	DateCreated         string  `json:"date_created"`
	ErrorCode           *int    `json:"error_code"`
	ErrorMessage        *string `json:"error_message"`
	URI                 string  `json:"uri"`
}

// Error is a refusal by Twilio, decoded from its error JSON. Status is the HTTP status.
type Error struct {
	Status   int    `json:"status"`
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("twilio: %d error %d: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("twilio: HTTP %d: %s", e.Status, e.Message)
}

// Well-known error codes.
const (
	CodeAuthenticate     = 20003 // wrong account SID or auth token
	CodeNotFound         = 20404
	CodeTooManyRequests  = 20429
	CodeInvalidTo        = 21211
	CodeBodyRequired     = 21602
	CodeFromRequired     = 21603 // neither From nor MessagingServiceSid
	CodeToRequired       = 21604
	CodeFromNotOwned     = 21606
	CodeUnsubscribed     = 21610 // the recipient replied STOP
	CodeBodyTooLong      = 21617
	CodeServiceNotExists = 21701
)

// ErrConfig is returned before any request when the client or message is incomplete.
var ErrConfig = errors.New("twilio: invalid configuration")

// Retryable reports whether a later attempt could succeed: rate limiting, Twilio server errors and transport
// failures. Refusals of the message itself (bad number, missing body, unsubscribed recipient, bad
// credentials) are not.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, ErrConfig) || errors.Is(err, context.Canceled) {
		return false
	}
	var te *Error
	if errors.As(err, &te) {
		return te.Status == http.StatusTooManyRequests || te.Status >= 500
	}
	return true // transport errors
}

// Send posts one message and returns the created resource. It retries what Retryable allows, up to
// MaxAttempts, and stops early when ctx is done.
func (c *Client) Send(ctx context.Context, m Message) (*Resource, error) {
	if err := c.check(m); err != nil {
		return nil, err
	}
	form := url.Values{}
	form.Set("To", m.To)
	if m.From != "" {
		form.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	form.Set("Body", m.Body)
	if m.StatusCallback != "" {
		form.Set("StatusCallback", m.StatusCallback)
	}
	endpoint := strings.TrimRight(c.baseURL(), "/") + "/" + APIVersion + "/Accounts/" + url.PathEscape(c.AccountSID) + "/Messages.json"

	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = 3
	}
	wait := c.Backoff
	if wait <= 0 {
		wait = 500 * time.Millisecond
	}
	var lastErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		res, retryAfter, err := c.post(ctx, endpoint, form)
		if err == nil {
			return res, nil
		}
		lastErr = err
		if !Retryable(err) || attempt == attempts {
			break
		}
		delay := wait
		if retryAfter > 0 {
			delay = min(retryAfter, 30*time.Second)
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(lastErr, ctx.Err())
		case <-time.After(delay):
		}
		wait *= 2
	}
	return nil, lastErr
}

func (c *Client) check(m Message) error {
	switch {
	case !ValidAccountSID(c.AccountSID):
		return fmt.Errorf("%w: account SID must be AC followed by 32 hex digits", ErrConfig)
	case c.AuthToken == "":
		return fmt.Errorf("%w: auth token is required", ErrConfig)
	case m.To == "":
		return fmt.Errorf("%w: To is required", ErrConfig)
	case m.From == "" && m.MessagingServiceSID == "":
		return fmt.Errorf("%w: From or MessagingServiceSID is required", ErrConfig)
	case m.MessagingServiceSID != "" && !serviceSIDPattern.MatchString(m.MessagingServiceSID):
		return fmt.Errorf("%w: messaging service SID must be MG followed by 32 hex digits", ErrConfig)
	case strings.TrimSpace(m.Body) == "":
		return fmt.Errorf("%w: Body is required", ErrConfig)
	case len([]rune(m.Body)) > MaxBodyRunes:
		return fmt.Errorf("%w: Body is longer than %d characters", ErrConfig, MaxBodyRunes)
	}
	return nil
}

func (c *Client) baseURL() string {
	if c.BaseURL != "" {
		return c.BaseURL
	}
	return DefaultBaseURL
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 15 * time.Second}
}

func (c *Client) post(ctx context.Context, endpoint string, form url.Values) (*Resource, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, err
	}
	req.SetBasicAuth(c.AccountSID, c.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "playgram-twilio/1")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("twilio: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("twilio: reading the answer: %w", err)
	}
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		var res Resource
		if err := json.Unmarshal(raw, &res); err != nil || res.SID == "" {
			return nil, 0, &Error{Status: resp.StatusCode, Message: "the answer is not a Message resource: " + truncate(string(raw), 200)}
		}
		return &res, 0, nil
	}
	te := &Error{}
	if err := json.Unmarshal(raw, te); err != nil || (te.Code == 0 && te.Message == "") {
		te = &Error{Message: http.StatusText(resp.StatusCode) + ": " + truncate(string(raw), 200)}
	}
	te.Status = resp.StatusCode
	return nil, retryAfter(resp.Header.Get("Retry-After")), te
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
