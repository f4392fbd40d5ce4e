package manychat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// FieldType is the type of a custom field or bot field. It decides which JSON
// type a value must have (see Value).
type FieldType string

// The field types Manychat knows.
const (
	FieldText     FieldType = "text"
	FieldNumber   FieldType = "number"
	FieldBoolean  FieldType = "boolean"
	FieldDate     FieldType = "date"     // "YYYY-MM-DD"
	FieldDatetime FieldType = "datetime" // "YYYY-MM-DDTHH:MM:SS±HH:MM" through the API
)

// Valid reports whether t is one of the five Manychat field types.
func (t FieldType) Valid() bool {
	switch t {
	case FieldText, FieldNumber, FieldBoolean, FieldDate, FieldDatetime:
		return true
	}
	return false
}

// Value is a custom or bot field value exactly as Manychat sent it: a JSON
// string, number, boolean or null. It keeps the raw JSON so that numbers keep
// their precision and callers decide how to read it for the field's type.
type Value struct {
	raw json.RawMessage
}

// RawValue wraps already-encoded JSON as a Value.
func RawValue(raw json.RawMessage) Value {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return Value{}
	}
	return Value{raw: append(json.RawMessage(nil), raw...)}
}

// IsNull reports whether the value is absent or JSON null (an unset field).
func (v Value) IsNull() bool { return len(v.raw) == 0 || string(v.raw) == "null" }

// Raw returns the JSON encoding ("null" for an unset value).
func (v Value) Raw() json.RawMessage {
	if len(v.raw) == 0 {
		return json.RawMessage("null")
	}
	return v.raw
}

// Text returns the value if it is a JSON string (text, date and datetime
// fields).
func (v Value) Text() (string, bool) {
	if len(v.raw) == 0 || v.raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v.raw, &s) != nil {
		return "", false
	}
	return s, true
}

// Number returns the value if it is a JSON number, without loss of precision.
func (v Value) Number() (json.Number, bool) {
	if len(v.raw) == 0 || !(v.raw[0] == '-' || (v.raw[0] >= '0' && v.raw[0] <= '9')) {
		return "", false
	}
	return json.Number(v.raw), true
}

// Bool returns the value if it is a JSON boolean.
func (v Value) Bool() (bool, bool) {
	switch string(v.raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// String renders the value for people and CSV exports: strings unquoted,
// numbers and booleans as written, null as "".
func (v Value) String() string {
	if v.IsNull() {
		return ""
	}
	if s, ok := v.Text(); ok {
		return s
	}
	return string(v.raw)
}

// MarshalJSON writes the raw value (null when unset).
func (v Value) MarshalJSON() ([]byte, error) { return v.Raw(), nil }

// UnmarshalJSON keeps a compact copy of the raw JSON.
func (v *Value) UnmarshalJSON(b []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	*v = RawValue(buf.Bytes())
	return nil
}

// apiDatetimeLayout is how the Page API wants datetime field values: local
// time with the offset, no fractional seconds.
const apiDatetimeLayout = "2006-01-02T15:04:05-07:00"

// encodeFieldValue turns a Go value into a field_value. Only the JSON types
// Manychat fields hold are accepted, so a mistake (a struct, a nil) fails
// here, naming the field, instead of as an opaque 400 from Manychat. A
// time.Time is written in the API's datetime layout.
func encodeFieldValue(field string, v any) (json.RawMessage, error) {
	bad := func(msg string) error {
		return &FieldError{Field: field, Code: "invalid_value", Message: msg}
	}
	switch x := v.(type) {
	case nil:
		return nil, &FieldError{Field: field, Code: "required", Message: "a value is required (Manychat has no null field values)"}
	case Value:
		if x.IsNull() {
			return nil, &FieldError{Field: field, Code: "required", Message: "a value is required (Manychat has no null field values)"}
		}
		return x.raw, nil
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return json.Marshal(x)
	case float32:
		return encodeFloat(float64(x), bad)
	case float64:
		return encodeFloat(x, bad)
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return nil, bad(fmt.Sprintf("%q is not a number", string(x)))
		}
		return json.RawMessage(x), nil
	case time.Time:
		if x.IsZero() {
			return nil, bad("zero time")
		}
		return json.Marshal(x.Format(apiDatetimeLayout))
	default:
		return nil, bad(fmt.Sprintf("type %T cannot be a Manychat field value (use string, number, bool or time.Time)", v))
	}
}

func encodeFloat(f float64, bad func(string) error) (json.RawMessage, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, bad("NaN and infinity are not JSON numbers")
	}
	return json.Marshal(f)
}
