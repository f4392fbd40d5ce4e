package manychat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Contact is the contact of a Manychat External Request body ("+ Add Full
// Contact Data"), decoded like a Subscriber. Values Manychat left as
// unreplaced placeholders ({{cuf_123}}, {{first_name}}) are empty, and
// their paths are listed in Unresolved so a route can decide whether a
// missing value matters.
type Contact struct {
	Subscriber
	// Unresolved lists the paths (inside the contact) of values that were
	// placeholders, sorted, e.g. ["custom_fields.plan", "email"].
	Unresolved []string
	// Extra holds the other top-level keys of a wrapped body such as
	// {"event":"booked","contact":{…}}, placeholders replaced by null.
	Extra map[string]json.RawMessage
}

// ParseContact reads an External Request body: either the Full Contact Data
// object itself or an object with it under "contact". Manychat's quirks are
// absorbed here: ids as strings or numbers, custom_fields as an object
// name→value or [] when empty, nulls anywhere, and placeholders left in the
// text, quoted or (for a number pill) bare. The contact id is required;
// errors are *FieldError naming the field.
func ParseContact(body []byte) (*Contact, error) {
	body = quoteBarePlaceholders(body)
	var root any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, &FieldError{Field: "body", Code: "invalid_json", Message: fmt.Sprintf("not JSON: %v", err)}
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, &FieldError{Field: "body", Code: "invalid_json", Message: "must be a JSON object"}
	}
	prefix := ""
	contactObj := obj
	extra := map[string]json.RawMessage{}
	if raw, wrapped := obj["contact"]; wrapped {
		prefix = "contact."
		if s, isStr := raw.(string); isStr && isPlaceholder(s) {
			return nil, &FieldError{Field: "contact", Code: "unresolved_placeholder",
				Message: fmt.Sprintf("Manychat did not replace %s; insert Full Contact Data from the variable picker", strings.TrimSpace(s))}
		}
		if contactObj, ok = raw.(map[string]any); !ok {
			return nil, &FieldError{Field: "contact", Code: "invalid", Message: "must be the Full Contact Data object"}
		}
		for k, v := range obj {
			if k == "contact" {
				continue
			}
			clean, _ := stripPlaceholders(v, "")
			extra[k], _ = json.Marshal(clean)
		}
	}

	var unresolved []string
	cleaned, paths := stripPlaceholders(contactObj, "")
	unresolved = append(unresolved, paths...)
	if err := checkContactID(cleaned.(map[string]any), prefix, contactObj["id"]); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(cleaned)
	if err != nil {
		return nil, &FieldError{Field: "body", Code: "invalid_json", Message: err.Error()}
	}
	c := &Contact{Unresolved: unresolved}
	if err := json.Unmarshal(raw, &c.Subscriber); err != nil {
		return nil, &FieldError{Field: strings.TrimSuffix(prefix, "."), Code: "invalid", Message: fmt.Sprintf("not Full Contact Data: %v", err)}
	}
	sort.Strings(c.Unresolved)
	if len(extra) > 0 {
		c.Extra = extra
	}
	return c, nil
}

// checkContactID insists on a usable contact id: it is what every later
// Page API call needs, and a placeholder or a literal like "Contact Id"
// (what a hand-typed pill sends) means the flow is misconfigured.
func checkContactID(contact map[string]any, prefix string, original any) error {
	field := prefix + "id"
	v, present := contact["id"]
	if !present || v == nil {
		if s, ok := original.(string); ok && isPlaceholder(s) {
			return &FieldError{Field: field, Code: "unresolved_placeholder", Message: fmt.Sprintf("Manychat did not replace %s", strings.TrimSpace(s))}
		}
		return &FieldError{Field: field, Code: "required", Message: "the contact id is required"}
	}
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = x
	default:
		return &FieldError{Field: field, Code: "invalid", Message: fmt.Sprintf("must be a number or a digit string, got %T", v)}
	}
	if id, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64); err != nil || id <= 0 {
		return &FieldError{Field: field, Code: "invalid", Message: fmt.Sprintf("%q is not a Manychat contact id", text)}
	}
	return nil
}

// isPlaceholder reports a value that is exactly one {{…}} token.
func isPlaceholder(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 4 && strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}") &&
		!strings.ContainsAny(s[2:len(s)-2], "{}")
}

// stripPlaceholders returns v with every placeholder string replaced by nil
// and the paths where that happened.
func stripPlaceholders(v any, path string) (any, []string) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case string:
		if isPlaceholder(x) {
			return nil, []string{path}
		}
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		var paths []string
		for k, val := range x {
			c, p := stripPlaceholders(val, join(k))
			out[k] = c
			paths = append(paths, p...)
		}
		return out, paths
	case []any:
		out := make([]any, len(x))
		var paths []string
		for i, val := range x {
			c, p := stripPlaceholders(val, fmt.Sprintf("%s[%d]", path, i))
			out[i] = c
			paths = append(paths, p...)
		}
		return out, paths
	}
	return v, nil
}

// quoteBarePlaceholders turns {{token}} written outside a JSON string (a
// number or boolean pill Manychat left unreplaced: {"age": {{cuf_5}}}) into
// a quoted string, so the body parses and the token is handled like any
// other placeholder.
func quoteBarePlaceholders(b []byte) []byte {
	if !bytes.Contains(b, []byte("{{")) {
		return b
	}
	var out bytes.Buffer
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if inString {
			out.WriteByte(ch)
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		if ch == '"' {
			inString = true
			out.WriteByte(ch)
			continue
		}
		if ch == '{' && i+1 < len(b) && b[i+1] == '{' {
			if end := bytes.Index(b[i:], []byte("}}")); end > 0 {
				token := b[i : i+end+2]
				if !bytes.ContainsAny(token[2:len(token)-2], "{}\"\n") {
					q, _ := json.Marshal(string(token))
					out.Write(q)
					i += end + 1
					continue
				}
			}
		}
		out.WriteByte(ch)
	}
	return out.Bytes()
}
