package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

const (
	// MaxTransformFields bounds the rules of one transformation.
	MaxTransformFields = 64
	// MaxPathLength and MaxPathDepth bound one path.
	MaxPathLength = 256
	MaxPathDepth  = 16
)

// Transform reshapes the envelope for one endpoint, for receivers that expect
// their own shape (a chat webhook wanting {"text": ...}, a CRM wanting flat
// fields). It is a list of copy rules, stored as JSON:
//
//	{"fields": [
//	  {"to": "event",       "from": "type"},
//	  {"to": "booking.id",  "from": "data.id"},
//	  {"to": "first_item",  "from": "data.items.0.sku"}
//	]}
//
// The output starts empty and each rule copies the value found at the
// dotted path "from" in the envelope ({"type","timestamp","data"}) to the
// dotted path "to", creating the objects on the way. In "from", a segment
// that is a non-negative integer indexes an array; in "to", every segment is
// an object key. Values are copied whole (objects and arrays included). A
// "from" that is absent leaves its "to" out; a JSON null is copied as null.
// Only the listed fields are sent, so keep "type" if the receiver needs it.
// Keys containing "." cannot be addressed. A Transform without fields is no
// transformation: the envelope is sent as it is.
type Transform struct {
	Fields []FieldMap `json:"fields"`
}

// FieldMap is one copy rule of a Transform.
type FieldMap struct {
	To   string `json:"to"`
	From string `json:"from"`
}

// IsZero reports whether t leaves payloads unchanged.
func (t Transform) IsZero() bool { return len(t.Fields) == 0 }

// ParseTransform decodes a stored or submitted transformation strictly
// (unknown keys are errors, so a typo such as "form" is not silently
// ignored) and validates it. Empty input means no transformation.
func ParseTransform(raw []byte) (Transform, error) {
	var t Transform
	if len(bytes.TrimSpace(raw)) == 0 {
		return t, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Transform{}, FieldErrors{{Field: "transform", Code: "invalid_json", Message: err.Error()}}
	}
	if dec.More() {
		return Transform{}, FieldErrors{{Field: "transform", Code: "invalid_json", Message: "unexpected data after the JSON object"}}
	}
	if err := t.Validate(); err != nil {
		return Transform{}, err
	}
	return t, nil
}

// Validate reports every bad rule, each naming its index and side, e.g.
// "transform.fields[2].to: duplicate of transform.fields[0].to". Besides path
// syntax it refuses two rules writing the same "to", and a "to" inside
// another rule's "to" ("a" and "a.b"), since one would overwrite the other.
func (t Transform) Validate() error {
	if len(t.Fields) > MaxTransformFields {
		return FieldErrors{{Field: "transform.fields", Code: "too_many", Message: fmt.Sprintf("at most %d fields", MaxTransformFields)}}
	}
	var errs FieldErrors
	targets := make(map[string]int, len(t.Fields))
	for i, f := range t.Fields {
		prefix := fmt.Sprintf("transform.fields[%d]", i)
		if msg := checkPath(f.From); msg != "" {
			errs = append(errs, &FieldError{Field: prefix + ".from", Code: "invalid_path", Message: msg})
		}
		if msg := checkPath(f.To); msg != "" {
			errs = append(errs, &FieldError{Field: prefix + ".to", Code: "invalid_path", Message: msg})
			continue
		}
		if j, dup := targets[f.To]; dup {
			errs = append(errs, &FieldError{Field: prefix + ".to", Code: "duplicate", Message: fmt.Sprintf("%q is already written by transform.fields[%d].to", f.To, j)})
			continue
		}
		for other, j := range targets {
			if strings.HasPrefix(f.To, other+".") || strings.HasPrefix(other, f.To+".") {
				errs = append(errs, &FieldError{Field: prefix + ".to", Code: "conflict", Message: fmt.Sprintf("%q overlaps %q of transform.fields[%d].to", f.To, other, j)})
				break
			}
		}
		targets[f.To] = i
	}
	return errs.err()
}

func checkPath(p string) string {
	if p == "" {
		return "required"
	}
	if len(p) > MaxPathLength {
		return fmt.Sprintf("longer than %d characters", MaxPathLength)
	}
	segs := strings.Split(p, ".")
	if len(segs) > MaxPathDepth {
		return fmt.Sprintf("%q is deeper than %d segments", p, MaxPathDepth)
	}
	for i, s := range segs {
		if s == "" {
			return fmt.Sprintf("%q: segment %d is empty", p, i+1)
		}
		if strings.IndexFunc(s, unicode.IsControl) >= 0 {
			return fmt.Sprintf("%q: segment %d has a control character", p, i+1)
		}
	}
	return ""
}

// Apply builds the transformed payload. The input is not modified and the
// output shares no maps or slices with it. A zero Transform returns payload
// itself. Apply never panics, even on a Transform that failed Validate: later
// rules then overwrite earlier ones.
func (t Transform) Apply(payload map[string]any) map[string]any {
	if t.IsZero() {
		return payload
	}
	out := make(map[string]any, len(t.Fields))
	for _, f := range t.Fields {
		if v, ok := lookup(payload, f.From); ok {
			setPath(out, f.To, deepCopy(v))
		}
	}
	return out
}

func lookup(root map[string]any, path string) (any, bool) {
	var cur any = root
	for _, seg := range strings.Split(path, ".") {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) || seg != strconv.Itoa(i) {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func setPath(root map[string]any, path string, v any) {
	segs := strings.Split(path, ".")
	node := root
	for _, seg := range segs[:len(segs)-1] {
		next, ok := node[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			node[seg] = next
		}
		node = next
	}
	node[segs[len(segs)-1]] = v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}
