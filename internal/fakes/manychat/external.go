package manychat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ExternalRequestTimeout is how long Manychat waits for an External
// Request's answer before failing the step.
const ExternalRequestTimeout = 10 * time.Second

// FullContactDataPill is the fake's spelling of the "+ Add Full Contact Data"
// pill in a body template: it is replaced by the contact as a JSON object,
// unquoted.
const FullContactDataPill = "{{full_contact_data}}"

// ExternalRequest is an External Request step as configured in a flow.
type ExternalRequest struct {
	Method  string            // default POST
	URL     string            // Playgram's endpoint
	Headers map[string]string // e.g. {"x-webhook-secret": "…"}; Manychat signs nothing itself
	// Body is the JSON template with pills: {{user_id}}, {{first_name}},
	// {{last_name}}, {{name}}, {{email}}, {{phone}}, {{ig_username}},
	// {{last_input_text}}, {{cuf_<id>}} and FullContactDataPill. Anything
	// else in {{…}} (a hand-typed pill) is sent as is.
	Body    string
	Timeout time.Duration // default ExternalRequestTimeout
}

// ExternalResponse is what Playgram answered.
type ExternalResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// FullContactData renders a subscriber as the "+ Add Full Contact Data"
// pill does: the Page API shape plus key/status/last_growth_tool, with
// custom_fields as an object name→value of the set fields, or [] (PHP's
// empty map) when none is set.
func (a *Account) FullContactData(subscriberID int64) (json.RawMessage, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.fullContactData(subscriberID)
}

func (a *Account) fullContactData(id int64) (json.RawMessage, error) {
	st := a.subs[id]
	if st == nil {
		return nil, fmt.Errorf("fake manychat: no subscriber %d", id)
	}
	m := a.subscriberJSON(st)
	m["key"] = "user:" + strconv.FormatInt(id, 10)
	m["status"] = "active"
	m["last_growth_tool"] = nil
	values := map[string]any{}
	for _, f := range a.fields {
		if v, ok := st.values[f.id]; ok {
			values[f.name] = v.value
		}
	}
	if len(values) == 0 {
		m["custom_fields"] = []any{}
	} else {
		m["custom_fields"] = values
	}
	return json.Marshal(m)
}

var pillRE = regexp.MustCompile(`\{\{([a-z_0-9]+)\}\}`)

// RenderBody substitutes the pills of an External Request body for a
// subscriber, the way Manychat does: values are JSON-escaped into the
// surrounding string, an empty custom field stays as the literal
// {{cuf_<id>}}, and unknown pills are left untouched.
func (a *Account) RenderBody(template string, subscriberID int64) ([]byte, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	st := a.subs[subscriberID]
	if st == nil {
		return nil, fmt.Errorf("fake manychat: no subscriber %d", subscriberID)
	}
	var renderErr error
	out := pillRE.ReplaceAllStringFunc(template, func(tok string) string {
		name := tok[2 : len(tok)-2]
		if tok == FullContactDataPill {
			raw, err := a.fullContactData(subscriberID)
			if err != nil {
				renderErr = err
			}
			return string(raw)
		}
		if strings.HasPrefix(name, "cuf_") {
			id, err := strconv.ParseInt(strings.TrimPrefix(name, "cuf_"), 10, 64)
			if v, ok := st.values[id]; err == nil && ok {
				return escapeValue(v.value)
			}
			return tok
		}
		s := st.Subscriber
		switch name {
		case "user_id":
			return strconv.FormatInt(s.ID, 10)
		case "first_name":
			return escape(s.FirstName)
		case "last_name":
			return escape(s.LastName)
		case "name":
			return escape(strings.TrimSpace(s.FirstName + " " + s.LastName))
		case "email":
			return escape(s.Email)
		case "phone":
			return escape(s.Phone)
		case "ig_username":
			return escape(s.IGUsername)
		case "last_input_text":
			return escape(s.LastInputText)
		}
		return tok
	})
	return []byte(out), renderErr
}

// escape JSON-escapes s without the surrounding quotes.
func escape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func escapeValue(v any) string {
	if s, ok := v.(string); ok {
		return escape(s)
	}
	return fmt.Sprint(v)
}

// FireExternalRequest plays an External Request step for a subscriber:
// renders the body, sends it with the configured headers, and fails like
// Manychat when Playgram does not answer within the timeout (10 s).
func (a *Account) FireExternalRequest(ctx context.Context, req ExternalRequest, subscriberID int64) (*ExternalResponse, error) {
	body, err := a.RenderBody(req.Body, subscriberID)
	if err != nil {
		return nil, err
	}
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = ExternalRequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, method, req.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("fake manychat: external request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "ManyChat")
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("fake manychat: external request to %s failed (Manychat waits %s): %w", req.URL, timeout, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fake manychat: external request to %s: reading the answer: %w", req.URL, err)
	}
	return &ExternalResponse{Status: resp.StatusCode, Header: resp.Header, Body: rb}, nil
}
