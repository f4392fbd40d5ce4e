// Package autoreply decides which auto-reply rule answers an incoming direct message. It is pure: rules are
// compiled once (a bad regex or an unknown match kind is an error naming the field), then matched against a
// message and the contact's tags and custom fields. Matching ignores case and accents ("Preço" matches
// "preco"), and the enabled rule with the highest priority wins (ties: the rule listed first).
package autoreply

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Match kinds.
const (
	// Keyword matches when one of the comma-separated keywords appears in the message as whole words.
	Keyword = "keyword"
	// Contains matches when the pattern appears anywhere in the message.
	Contains = "contains"
	// Regex matches a Go regular expression (RE2), case-insensitively, against the message without accents.
	Regex = "regex"
)

// Action types.
const (
	ActionReply    = "reply"
	ActionFlow     = "flow"
	ActionAddTag   = "add_tag"
	ActionSetField = "set_field"
)

// Action is one thing a matched rule does.
type Action struct {
	Type     string `json:"type"`
	Template string `json:"template,omitempty"`
	Text     string `json:"text,omitempty"`
	FlowNS   string `json:"flow_ns,omitempty"`
	Tag      string `json:"tag,omitempty"`
	Field    string `json:"field,omitempty"`
	Value    any    `json:"value,omitempty"`
}

// Conditions restrict a rule to some contacts. Every listed condition must hold.
type Conditions struct {
	// TagsAll: the contact has every one of these tags.
	TagsAll []string `json:"tags_all,omitempty"`
	// TagsAny: the contact has at least one of these tags.
	TagsAny []string `json:"tags_any,omitempty"`
	// TagsNone: the contact has none of these tags.
	TagsNone []string `json:"tags_none,omitempty"`
	// Fields: custom field name → required value (compared as text, case- and accent-insensitively; null means
	// the field is empty).
	Fields map[string]any `json:"fields,omitempty"`
}

// Rule is a stored rule as the domain loads it.
type Rule struct {
	ID         string
	Name       string
	Match      string
	Pattern    string
	Priority   int
	Enabled    bool
	Conditions Conditions
	Actions    []Action
}

// FieldError names what is wrong with a rule; Field is the record field ("pattern", "actions", ...).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Compiled is a ready rule.
type Compiled struct {
	Rule
	keywords []string
	needle   string
	re       *regexp.Regexp
}

// Compile checks and prepares one rule.
func Compile(r Rule) (*Compiled, error) {
	c := &Compiled{Rule: r}
	switch r.Match {
	case Keyword:
		for _, k := range strings.Split(r.Pattern, ",") {
			if k = Normalize(k); k != "" {
				c.keywords = append(c.keywords, k)
			}
		}
		if len(c.keywords) == 0 {
			return nil, &FieldError{"pattern", "must name at least one keyword (comma-separated)"}
		}
	case Contains:
		c.needle = Normalize(r.Pattern)
		if c.needle == "" {
			return nil, &FieldError{"pattern", "must not be empty"}
		}
	case Regex:
		if strings.TrimSpace(r.Pattern) == "" {
			return nil, &FieldError{"pattern", "must not be empty"}
		}
		re, err := regexp.Compile("(?i)" + stripAccents(r.Pattern))
		if err != nil {
			return nil, &FieldError{"pattern", "is not a valid regular expression: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
		}
		c.re = re
	default:
		return nil, &FieldError{"match", fmt.Sprintf("must be keyword, contains or regex, not %q", r.Match)}
	}
	if err := ValidateActions(r.Actions); err != nil {
		return nil, err
	}
	return c, nil
}

// ValidateActions checks the shape of a rule's actions.
func ValidateActions(actions []Action) error {
	if len(actions) == 0 {
		return &FieldError{"actions", "must list at least one action"}
	}
	if len(actions) > 10 {
		return &FieldError{"actions", "must list at most 10 actions"}
	}
	for i, a := range actions {
		bad := func(msg string) error { return &FieldError{"actions", fmt.Sprintf("action %d: %s", i, msg)} }
		switch a.Type {
		case ActionReply:
			if (a.Template == "") == (a.Text == "") {
				return bad("a reply needs exactly one of template or text")
			}
		case ActionFlow:
			if strings.TrimSpace(a.FlowNS) == "" {
				return bad("a flow action needs flow_ns")
			}
		case ActionAddTag:
			if strings.TrimSpace(a.Tag) == "" {
				return bad("an add_tag action needs tag")
			}
		case ActionSetField:
			if strings.TrimSpace(a.Field) == "" {
				return bad("a set_field action needs field")
			}
		default:
			return bad(fmt.Sprintf("type must be reply, flow, add_tag or set_field, not %q", a.Type))
		}
	}
	return nil
}

// DecodeActions reads the stored actions JSON.
func DecodeActions(raw []byte) ([]Action, error) {
	var out []Action
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, &FieldError{"actions", "must be a list of {type, ...} objects: " + err.Error()}
	}
	return out, nil
}

// DecodeConditions reads the stored conditions JSON.
func DecodeConditions(raw []byte) (Conditions, error) {
	var c Conditions
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, &FieldError{"conditions", "must be an object with tags_all, tags_any, tags_none and fields: " + err.Error()}
	}
	return c, nil
}

// Set is a workspace's compiled rules, in matching order.
type Set struct {
	rules []*Compiled
}

// NewSet sorts the enabled rules by priority (highest first, stable).
func NewSet(rules []*Compiled) *Set {
	s := &Set{}
	for _, r := range rules {
		if r.Enabled {
			s.rules = append(s.rules, r)
		}
	}
	sort.SliceStable(s.rules, func(i, j int) bool { return s.rules[i].Priority > s.rules[j].Priority })
	return s
}

// Len is the number of enabled rules.
func (s *Set) Len() int { return len(s.rules) }

// Contact is what conditions look at.
type Contact struct {
	Tags   []string
	Fields map[string]any
}

// Match returns the first rule that matches text and whose conditions the contact meets, or nil.
func (s *Set) Match(text string, c Contact) *Compiled {
	if s == nil {
		return nil
	}
	norm := Normalize(text)
	plain := stripAccents(text)
	var tags map[string]bool
	for _, r := range s.rules {
		if !r.matches(norm, plain) {
			continue
		}
		if tags == nil {
			tags = make(map[string]bool, len(c.Tags))
			for _, t := range c.Tags {
				tags[Normalize(t)] = true
			}
		}
		if r.Conditions.hold(tags, c.Fields) {
			return r
		}
	}
	return nil
}

func (r *Compiled) matches(norm, plain string) bool {
	switch r.Match {
	case Keyword:
		for _, k := range r.keywords {
			if containsWords(norm, k) {
				return true
			}
		}
	case Contains:
		return strings.Contains(norm, r.needle)
	case Regex:
		return r.re.MatchString(plain)
	}
	return false
}

// containsWords reports whether k occurs in s bounded by non-letters/digits on both sides.
func containsWords(s, k string) bool {
	for from := 0; from <= len(s)-len(k); {
		i := strings.Index(s[from:], k)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(k)
		if (i == 0 || !isWordByte(s, i, true)) && (end == len(s) || !isWordByte(s, end, false)) {
			return true
		}
		from = i + 1
	}
	return false
}

// isWordByte reports whether the rune before (before=true) or at position i is a letter or digit.
func isWordByte(s string, i int, before bool) bool {
	var r rune
	if before {
		r = lastRune(s[:i])
	} else {
		r = []rune(s[i:min(len(s), i+4)])[0]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func lastRune(s string) rune {
	rs := []rune(s[max(0, len(s)-4):])
	return rs[len(rs)-1]
}

func (c Conditions) hold(tags map[string]bool, fields map[string]any) bool {
	for _, t := range c.TagsAll {
		if !tags[Normalize(t)] {
			return false
		}
	}
	if len(c.TagsAny) > 0 {
		ok := false
		for _, t := range c.TagsAny {
			if tags[Normalize(t)] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, t := range c.TagsNone {
		if tags[Normalize(t)] {
			return false
		}
	}
	for name, want := range c.Fields {
		got, ok := lookupField(fields, name)
		if want == nil {
			if ok && ValueText(got) != "" {
				return false
			}
			continue
		}
		if !ok || Normalize(ValueText(got)) != Normalize(ValueText(want)) {
			return false
		}
	}
	return true
}

func lookupField(fields map[string]any, name string) (any, bool) {
	if v, ok := fields[name]; ok {
		return v, true
	}
	for k, v := range fields {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// ValueText renders a field value as text: strings as they are, numbers without a trailing ".0", booleans as
// true/false, null as "".
func ValueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%g", x)
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var accentStripper = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// stripAccents removes combining marks: "Olá Ção" → "Ola Cao".
func stripAccents(s string) string {
	isASCII := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			isASCII = false
			break
		}
	}
	if isASCII {
		return s
	}
	out, _, err := transform.String(accentStripper, s)
	if err != nil {
		return s
	}
	return out
}

// Normalize lowercases, removes accents and collapses white space: what matching compares.
func Normalize(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(stripAccents(s))), " ")
}

// Render fills {name}-style variables of a template from vars; unknown variables become empty, and text that
// is not a variable ("{" alone, "{not closed") is kept.
func Render(body string, vars map[string]string) string {
	if !strings.Contains(body, "{") {
		return body
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(body, '{')
		if i < 0 {
			b.WriteString(body)
			break
		}
		j := strings.IndexByte(body[i:], '}')
		if j < 0 {
			b.WriteString(body)
			break
		}
		name := body[i+1 : i+j]
		if !isVarName(name) {
			b.WriteString(body[:i+1])
			body = body[i+1:]
			continue
		}
		b.WriteString(body[:i])
		b.WriteString(vars[name])
		body = body[i+j+1:]
	}
	return b.String()
}

func isVarName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '.' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}
