package aichat

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Function names a tool may allow (the "functions" config key).
const (
	FnCheckAvailability = "check_availability"
	FnCreateBooking     = "create_booking"
	FnGenerateQR        = "generate_qr"
	FnAddTag            = "add_tag"
	FnLookupContact     = "lookup_contact"
)

// MaxRounds bounds model ↔ function round trips in one reply.
const MaxRounds = 4

// Param is one argument of a function.
type Param struct {
	Name     string
	Type     string // string, integer
	Doc      string
	Required bool
	Enum     []string
}

// FunctionDef describes a function to the model.
type FunctionDef struct {
	Name   string
	Doc    string
	Params []Param
}

// Functions are the definitions of every function Playgram can run for a model.
var Functions = map[string]FunctionDef{
	FnCheckAvailability: {FnCheckAvailability, "List free appointment slots of the business on a day.", []Param{
		{Name: "date", Type: "string", Doc: "day to check, YYYY-MM-DD", Required: true},
		{Name: "service", Type: "string", Doc: "service name or id when the business offers several"},
	}},
	FnCreateBooking: {FnCreateBooking, "Book an appointment for the customer in a free slot.", []Param{
		{Name: "start", Type: "string", Doc: "slot start, RFC 3339 with offset", Required: true},
		{Name: "service", Type: "string", Doc: "service name or id"},
		{Name: "name", Type: "string", Doc: "the customer's name, when the business does not know it yet"},
		{Name: "note", Type: "string", Doc: "anything the customer asked to pass on"},
	}},
	FnGenerateQR: {FnGenerateQR, "Issue a personal QR code (voucher, ticket, discount) to the customer.", []Param{
		{Name: "label", Type: "string", Doc: "what the code is for, e.g. '10% off'"},
	}},
	FnAddTag: {FnAddTag, "Tag the customer in the CRM (e.g. 'interested', 'vip').", []Param{
		{Name: "tag", Type: "string", Doc: "tag name", Required: true},
	}},
	FnLookupContact: {FnLookupContact, "Look up what the business knows about the customer (name, tags, fields).", nil},
}

// Schema is a function's JSON schema for the tools list (strict-mode shape: every property required, nulls
// standing for optional ones are not used; optional properties are simply not listed as required).
func (f FunctionDef) Schema() map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, p := range f.Params {
		s := map[string]any{"type": p.Type, "description": p.Doc}
		if len(p.Enum) > 0 {
			s["enum"] = p.Enum
		}
		props[p.Name] = s
		if p.Required {
			required = append(required, p.Name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

// ParseArgs checks a model's arguments string against f: valid JSON object, no unknown keys, required
// keys present and of the right type. The error is a sentence fed back to the model so it can correct itself.
func (f FunctionDef) ParseArgs(raw string) (map[string]any, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = "{}"
	}
	var args map[string]any
	if err := json.Unmarshal([]byte(raw), &args); err != nil || args == nil {
		return nil, fmt.Errorf("the arguments of %s are not a JSON object", f.Name)
	}
	for k := range args {
		if !slices.ContainsFunc(f.Params, func(p Param) bool { return p.Name == k }) {
			return nil, fmt.Errorf("%s has no argument %q", f.Name, k)
		}
	}
	for _, p := range f.Params {
		v, ok := args[p.Name]
		if !ok || v == nil {
			if p.Required {
				return nil, fmt.Errorf("%s needs the argument %q (%s)", f.Name, p.Name, p.Doc)
			}
			delete(args, p.Name)
			continue
		}
		switch p.Type {
		case "string":
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("argument %q of %s must be a string", p.Name, f.Name)
			}
		case "integer":
			n, ok := v.(float64)
			if !ok || n != float64(int64(n)) {
				return nil, fmt.Errorf("argument %q of %s must be a whole number", p.Name, f.Name)
			}
		}
	}
	return args, nil
}
