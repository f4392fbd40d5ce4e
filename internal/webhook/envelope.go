package webhook

import (
	"bytes"
	"encoding/json"
	"time"
)

// envelope is the Standard Webhooks body shape; field order is the wire order.
type envelope struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// BuildPayload returns the exact bytes to sign and send for one event and
// one endpoint: {"type","timestamp","data"} with the timestamp in RFC 3339
// UTC, reshaped by t when it has fields.
//
// The output is stable — the same input gives the same bytes — so the
// attempt log, replays and the signature all agree: object keys are sorted
// (envelope keys stay in type, timestamp, data order), there is no
// insignificant whitespace and no HTML escaping ("<" stays "<"). Numbers are
// kept as written, also through a transformation, so 64-bit ids do not lose
// digits. data must marshal to a JSON object; nil means {}.
func BuildPayload(eventType string, ts time.Time, data any, t Transform) ([]byte, error) {
	if err := ValidateEventType(eventType); err != nil {
		return nil, err
	}
	raw := json.RawMessage("{}")
	if data != nil {
		b, err := marshal(data)
		if err != nil {
			return nil, &FieldError{Field: "data", Code: "invalid_json", Message: err.Error()}
		}
		if len(b) == 0 || b[0] != '{' {
			return nil, &FieldError{Field: "data", Code: "not_object", Message: "must be a JSON object"}
		}
		raw = b
	}
	body, err := marshal(envelope{Type: eventType, Timestamp: ts.UTC().Format(time.RFC3339Nano), Data: raw})
	if err != nil {
		return nil, err
	}
	if t.IsZero() {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return marshal(t.Apply(m))
}

// marshal encodes v compactly (json.RawMessage values included) without HTML
// escaping; encoding/json sorts map keys, which makes the bytes deterministic.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
