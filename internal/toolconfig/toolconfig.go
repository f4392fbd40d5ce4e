// Package toolconfig declares the configuration keys of each tool type and validates a tool's config JSON
// against them, reporting one field-level problem per key (unknown key, wrong type, out of range) so the
// dashboard can show each one next to its input.
package toolconfig

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/playgram/playgram/internal/qrcode"
)

// Tool types.
const (
	TypeQR           = "qr"
	TypeBooking      = "booking"
	TypeAIChat       = "ai_chat"
	TypeVerification = "verification"
	TypeSocial       = "social"
)

// Types lists every tool type in a stable order.
var Types = []string{TypeQR, TypeBooking, TypeAIChat, TypeVerification, TypeSocial}

// Kind is the JSON shape a key accepts.
type Kind int

const (
	String Kind = iota
	Int
	Number
	Bool
	Enum
	StringList // a list of strings, each from Values when Values is set
	IntList
	Object // any JSON object, checked by Check
)

func (k Kind) String() string {
	return [...]string{"a string", "a whole number", "a number", "true or false", "one of the listed values", "a list of strings", "a list of whole numbers", "an object"}[k]
}

// Key describes one configuration key.
type Key struct {
	Kind    Kind
	Min     float64 // numbers: inclusive bounds; strings: Max is the maximum length
	Max     float64
	Values  []string // Enum and StringList choices
	Pattern *regexp.Regexp
	Default any
	Doc     string
	// Check runs after the type and range checks for rules that need more than a range.
	Check func(v any) error
}

// Schema is the set of keys of one tool type.
type Schema map[string]Key

// Problem is one field-level error: Code follows PocketBase's "validation_*" codes.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Problems maps a config key to what is wrong with it.
type Problems map[string]Problem

func (p Problems) Error() string {
	keys := slices.Sorted(maps.Keys(p))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+p[k].Message)
	}
	return strings.Join(parts, "; ")
}

var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

func httpURL(v any) error {
	u, err := url.Parse(v.(string))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http(s) URL")
	}
	return nil
}

// schemas holds every type's keys. Domain packages may add a Check (e.g. the QR template parser) through
// SetCheck at start-up, because the parser lives with its domain.
var schemas = map[string]Schema{
	TypeQR: {
		"prefix":                {Kind: String, Max: 16, Pattern: regexp.MustCompile(`^[A-Za-z0-9]*$`), Default: "PG", Doc: "value of {PREFIX}: letters and digits"},
		"template":              {Kind: String, Max: 128, Default: "{PREFIX}-{RANDOM:8}", Doc: "code format template", Check: checkQRTemplate},
		"content":               {Kind: Enum, Values: []string{"code", "url"}, Default: "code", Doc: "what the image encodes"},
		"url_template":          {Kind: String, Max: 512, Default: "", Doc: "URL encoded when content is url; {CODE} is replaced by the code"},
		"default_max_uses":      {Kind: Int, Min: 0, Max: 1_000_000, Default: 1, Doc: "uses per code; 0 = unlimited"},
		"default_ttl_hours":     {Kind: Int, Min: 0, Max: 87_600, Default: 0, Doc: "hours until a new code expires; 0 = never"},
		"fg":                    {Kind: String, Max: 7, Pattern: hexColor, Default: "#000000", Doc: "foreground colour #RRGGBB"},
		"bg":                    {Kind: String, Max: 7, Pattern: hexColor, Default: "#FFFFFF", Doc: "background colour #RRGGBB"},
		"caption":               {Kind: String, Max: 64, Default: "", Doc: "text printed under the code"},
		"repeat_window_seconds": {Kind: Int, Min: 0, Max: 86_400, Default: 60, Doc: "a second scan within this window is flagged repeat_scan"},
	},
	TypeBooking: {
		"duration_minutes":      {Kind: Int, Min: 5, Max: 1440, Default: 30},
		"slot_interval_minutes": {Kind: Int, Min: 5, Max: 1440, Default: 30},
		"buffer_before_minutes": {Kind: Int, Min: 0, Max: 240, Default: 0},
		"buffer_after_minutes":  {Kind: Int, Min: 0, Max: 240, Default: 0},
		"min_notice_minutes":    {Kind: Int, Min: 0, Max: 43_200, Default: 60},
		"max_advance_days":      {Kind: Int, Min: 1, Max: 730, Default: 60},
		"seats":                 {Kind: Int, Min: 1, Max: 1000, Default: 1},
		"daily_limit":           {Kind: Int, Min: 0, Max: 1000, Default: 0, Doc: "bookings per helper per day; 0 = no limit"},
		"requires_confirmation": {Kind: Bool, Default: false},
		"cutoff_hours":          {Kind: Int, Min: 0, Max: 720, Default: 24, Doc: "customers cannot cancel or reschedule later than this before the start"},
		"hold_minutes":          {Kind: Int, Min: 1, Max: 1440, Default: 15, Doc: "how long a waitlist offer holds a slot"},
		"reminder_hours":        {Kind: IntList, Min: 1, Max: 720, Default: []any{24.0}, Doc: "reminders sent this many hours before the start"},
	},
	TypeAIChat: {
		"base_url":           {Kind: String, Max: 512, Default: "https://api.openai.com/v1", Check: httpURL},
		"model":              {Kind: String, Max: 128, Default: "gpt-4o-mini"},
		"system_prompt":      {Kind: String, Max: 20_000, Default: "You are a helpful assistant for our Instagram customers."},
		"temperature":        {Kind: Number, Min: 0, Max: 2, Default: 0.7},
		"max_tokens":         {Kind: Int, Min: 1, Max: 128_000, Default: 512},
		"context_tokens":     {Kind: Int, Min: 256, Max: 1_000_000, Default: 8000},
		"functions":          {Kind: StringList, Values: []string{"check_availability", "create_booking", "generate_qr", "add_tag", "lookup_contact"}, Default: []any{}},
		"monthly_budget_usd": {Kind: Number, Min: 0, Max: 1_000_000, Default: 0.0, Doc: "0 = no budget"},
		"fallback_text":      {Kind: String, Max: 1000, Default: "Thanks for your message! We will get back to you soon."},
		"prices":             {Kind: Object, Default: map[string]any{}, Doc: "per-model USD prices per 1M tokens: {model: {input, cached_input, output}}", Check: checkPrices},
	},
	TypeVerification: {
		"code_length":           {Kind: Int, Min: 4, Max: 10, Default: 6},
		"ttl_minutes":           {Kind: Int, Min: 1, Max: 1440, Default: 10},
		"instagram_username":    {Kind: String, Max: 30, Pattern: regexp.MustCompile(`^[A-Za-z0-9._]*$`), Default: "", Doc: "the business account visitors DM"},
		"dm_text":               {Kind: String, Max: 200, Default: "My verification code is {CODE}"},
		"require_signature":     {Kind: Bool, Default: false},
		"max_attempts_per_code": {Kind: Int, Min: 1, Max: 20, Default: 5},
	},
	TypeSocial: {
		"platforms":           {Kind: StringList, Values: []string{"instagram", "tiktok", "google"}, Default: []any{"instagram", "tiktok", "google"}},
		"default_limit":       {Kind: Int, Min: 1, Max: 100, Default: 12},
		"ttl_posts_minutes":   {Kind: Int, Min: 1, Max: 10_080, Default: 60},
		"ttl_profile_minutes": {Kind: Int, Min: 1, Max: 10_080, Default: 360},
		"ttl_reviews_minutes": {Kind: Int, Min: 1, Max: 10_080, Default: 720},
	},
}

// cross-key rules that a single key's Check cannot see.
var crossChecks = map[string]func(cfg map[string]any, p Problems){
	TypeQR: func(cfg map[string]any, p Problems) {
		if cfg["content"] == "url" {
			tpl, _ := cfg["url_template"].(string)
			if !strings.Contains(tpl, "{CODE}") {
				p["url_template"] = Problem{"validation_required", "must contain {CODE} when content is url"}
			} else if err := httpURL(tpl); err != nil {
				p["url_template"] = Problem{"validation_invalid_value", err.Error()}
			}
		}
	},
	TypeBooking: func(cfg map[string]any, p Problems) {
		if num(cfg["slot_interval_minutes"]) > num(cfg["duration_minutes"])*4 {
			p["slot_interval_minutes"] = Problem{"validation_out_of_range", "must not exceed four times duration_minutes"}
		}
	},
}

func checkQRTemplate(v any) error {
	_, err := qrcode.Parse(v.(string))
	return err
}

func checkPrices(v any) error {
	for model, raw := range v.(map[string]any) {
		entry, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: must be an object {input, cached_input, output}", model)
		}
		for k, price := range entry {
			if k != "input" && k != "cached_input" && k != "output" {
				return fmt.Errorf("%s: unknown price %q (input, cached_input, output)", model, k)
			}
			f, ok := price.(float64)
			if !ok || f < 0 || f > 10_000 {
				return fmt.Errorf("%s.%s: must be a number of USD per 1M tokens between 0 and 10000", model, k)
			}
		}
	}
	return nil
}

// SetCheck attaches a domain rule to a key, e.g. the QR template parser; it panics for an unknown key
// because that is a programming error caught at start-up.
func SetCheck(toolType, key string, check func(v any) error) {
	k, ok := schemas[toolType][key]
	if !ok {
		panic("toolconfig: unknown key " + toolType + "." + key)
	}
	k.Check = check
	schemas[toolType][key] = k
}

// SchemaOf returns the keys of a tool type, or nil for an unknown type.
func SchemaOf(toolType string) Schema { return schemas[toolType] }

// Validate checks a decoded config object of a tool type. A nil result means valid.
func Validate(toolType string, cfg map[string]any) Problems {
	schema, ok := schemas[toolType]
	if !ok {
		return Problems{"type": {"validation_invalid_value", fmt.Sprintf("unknown tool type %q (allowed: %s)", toolType, strings.Join(Types, ", "))}}
	}
	p := Problems{}
	for name, v := range cfg {
		key, ok := schema[name]
		if !ok {
			p[name] = Problem{"validation_unknown_key", fmt.Sprintf("unknown key %q for a %s tool (allowed: %s)", name, toolType, strings.Join(sortedKeys(schema), ", "))}
			continue
		}
		if prob, bad := checkValue(key, v); bad {
			p[name] = prob
		}
	}
	if len(p) == 0 {
		if cross := crossChecks[toolType]; cross != nil {
			cross(WithDefaults(toolType, cfg), p)
		}
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// ValidateJSON decodes raw config JSON (null or empty means {}) and validates it.
func ValidateJSON(toolType string, raw []byte) (map[string]any, Problems) {
	cfg := map[string]any{}
	if s := strings.TrimSpace(string(raw)); s != "" && s != "null" {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return nil, Problems{"config": {"validation_invalid_type", "must be a JSON object"}}
		}
	}
	return cfg, Validate(toolType, cfg)
}

// Decode fills dst (a struct with json tags) from cfg with defaults applied.
func Decode(toolType string, cfg map[string]any, dst any) error {
	raw, err := json.Marshal(WithDefaults(toolType, cfg))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, dst)
}

// WithDefaults returns cfg with every missing key set to its default. cfg is not modified.
func WithDefaults(toolType string, cfg map[string]any) map[string]any {
	out := make(map[string]any, len(schemas[toolType]))
	for name, key := range schemas[toolType] {
		out[name] = key.Default
	}
	maps.Copy(out, cfg)
	return out
}

func checkValue(key Key, v any) (Problem, bool) {
	typeErr := Problem{"validation_invalid_type", "must be " + key.Kind.String()}
	switch key.Kind {
	case String, Enum:
		s, ok := v.(string)
		if !ok {
			return typeErr, true
		}
		if key.Kind == Enum && !slices.Contains(key.Values, s) {
			return Problem{"validation_invalid_value", fmt.Sprintf("must be one of %s", strings.Join(key.Values, ", "))}, true
		}
		if key.Max > 0 && float64(len([]rune(s))) > key.Max {
			return Problem{"validation_out_of_range", fmt.Sprintf("must be at most %d characters", int(key.Max))}, true
		}
		if key.Pattern != nil && !key.Pattern.MatchString(s) {
			return Problem{"validation_invalid_format", "has an invalid format (expected " + key.Pattern.String() + ")"}, true
		}
	case Int, Number:
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return typeErr, true
		}
		if key.Kind == Int && f != math.Trunc(f) {
			return typeErr, true
		}
		if f < key.Min || f > key.Max {
			return Problem{"validation_out_of_range", fmt.Sprintf("must be between %s and %s", fmtNum(key.Min), fmtNum(key.Max))}, true
		}
	case Bool:
		if _, ok := v.(bool); !ok {
			return typeErr, true
		}
	case StringList, IntList:
		list, ok := v.([]any)
		if !ok {
			return typeErr, true
		}
		seen := map[any]bool{}
		for i, item := range list {
			if key.Kind == StringList {
				s, ok := item.(string)
				if !ok {
					return Problem{"validation_invalid_type", fmt.Sprintf("item %d must be a string", i)}, true
				}
				if len(key.Values) > 0 && !slices.Contains(key.Values, s) {
					return Problem{"validation_invalid_value", fmt.Sprintf("item %d %q must be one of %s", i, s, strings.Join(key.Values, ", "))}, true
				}
			} else {
				f, ok := item.(float64)
				if !ok || f != math.Trunc(f) {
					return Problem{"validation_invalid_type", fmt.Sprintf("item %d must be a whole number", i)}, true
				}
				if f < key.Min || f > key.Max {
					return Problem{"validation_out_of_range", fmt.Sprintf("item %d must be between %s and %s", i, fmtNum(key.Min), fmtNum(key.Max))}, true
				}
			}
			if seen[item] {
				return Problem{"validation_invalid_value", fmt.Sprintf("item %d repeats %v", i, item)}, true
			}
			seen[item] = true
		}
	case Object:
		if _, ok := v.(map[string]any); !ok {
			return typeErr, true
		}
	}
	if key.Check != nil {
		if err := key.Check(v); err != nil {
			return Problem{"validation_invalid_value", err.Error()}, true
		}
	}
	return Problem{}, false
}

func num(v any) float64 { f, _ := v.(float64); return f }

func fmtNum(f float64) string {
	if f == math.Trunc(f) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}

func sortedKeys(s Schema) []string {
	keys := slices.Collect(maps.Keys(s))
	sort.Strings(keys)
	return keys
}
