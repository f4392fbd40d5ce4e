package webhook

import (
	"fmt"
	"strings"
)

const (
	// MaxEventTypeLength bounds an event type or pattern.
	MaxEventTypeLength = 128
	// MaxPatterns bounds the event-type patterns one endpoint subscribes to.
	MaxPatterns = 100
)

// ValidateEventType checks the Standard Webhooks form of a type: dotted
// segments of [a-zA-Z0-9_], e.g. "booking.created".
func ValidateEventType(eventType string) error {
	if msg := checkDotted(eventType, false); msg != "" {
		return &FieldError{Field: "type", Code: "invalid_event_type", Message: msg}
	}
	return nil
}

// ValidatePatterns checks an endpoint's subscription list. A pattern is an
// event type in which any whole segment may be "*":
//
//	"*"                  every event
//	"booking.created"    exactly that type
//	"booking.*"          a trailing * matches one or more segments:
//	                     booking.created, booking.slot.released
//	"*.created"          any other * matches exactly one segment:
//	                     booking.created, contact.created
//
// Partial wildcards ("book*"), empty segments and duplicates are refused.
// Every bad pattern is reported, each naming its index.
func ValidatePatterns(patterns []string) error {
	if len(patterns) == 0 {
		return FieldErrors{{Field: "event_types", Code: "required", Message: `subscribe to at least one event type; use "*" for all`}}
	}
	if len(patterns) > MaxPatterns {
		return FieldErrors{{Field: "event_types", Code: "too_many", Message: fmt.Sprintf("at most %d patterns", MaxPatterns)}}
	}
	var errs FieldErrors
	seen := make(map[string]int, len(patterns))
	for i, p := range patterns {
		field := fmt.Sprintf("event_types[%d]", i)
		if msg := checkDotted(p, true); msg != "" {
			errs = append(errs, &FieldError{Field: field, Code: "invalid_pattern", Message: msg})
			continue
		}
		if j, dup := seen[p]; dup {
			errs = append(errs, &FieldError{Field: field, Code: "duplicate", Message: fmt.Sprintf("%q repeats event_types[%d]", p, j)})
			continue
		}
		seen[p] = i
	}
	return errs.err()
}

// checkDotted returns why s is not a valid event type (or pattern, when
// wildcards are allowed), or "" when it is.
func checkDotted(s string, wildcards bool) string {
	if s == "" {
		return "empty"
	}
	if len(s) > MaxEventTypeLength {
		return fmt.Sprintf("longer than %d characters", MaxEventTypeLength)
	}
	for i, seg := range strings.Split(s, ".") {
		if seg == "" {
			return fmt.Sprintf("%q: segment %d is empty", s, i+1)
		}
		if wildcards && seg == "*" {
			continue
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
				if wildcards && r == '*' {
					return fmt.Sprintf("%q: * must be a whole segment", s)
				}
				return fmt.Sprintf("%q: segment %d has %q; use letters, digits and _", s, i+1, r)
			}
		}
	}
	return ""
}

// MatchEventType reports whether any pattern selects eventType (see
// ValidatePatterns for the syntax). Matching is case-sensitive. An empty
// list matches nothing: an endpoint that wants everything stores ["*"], so
// "subscribed to nothing" is never mistaken for "subscribed to all".
// Invalid patterns never match.
func MatchEventType(patterns []string, eventType string) bool {
	if checkDotted(eventType, false) != "" {
		return false
	}
	typ := strings.Split(eventType, ".")
	for _, p := range patterns {
		if checkDotted(p, true) == "" && matchSegments(strings.Split(p, "."), typ) {
			return true
		}
	}
	return false
}

func matchSegments(pat, typ []string) bool {
	for i, seg := range pat {
		last := i == len(pat)-1
		if i >= len(typ) {
			return false
		}
		if seg == "*" && last {
			return true // a trailing * takes the rest, at least one segment
		}
		if seg != "*" && seg != typ[i] {
			return false
		}
	}
	return len(pat) == len(typ)
}
