package webhook_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/playgram/playgram/internal/webhook"
)

func TestMatchEventType(t *testing.T) {
	scenarios := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{[]string{"*"}, "booking.created", true},
		{[]string{"*"}, "ping", true},
		{[]string{"booking.created"}, "booking.created", true},
		{[]string{"booking.created"}, "booking.cancelled", false},
		{[]string{"booking.created"}, "booking.created.late", false},
		{[]string{"booking.created"}, "Booking.created", false},
		{[]string{"booking.*"}, "booking.created", true},
		{[]string{"booking.*"}, "booking.slot.released", true},
		{[]string{"booking.*"}, "booking", false},
		{[]string{"booking.*"}, "bookings.created", false},
		{[]string{"booking.*"}, "contact.created", false},
		{[]string{"*.created"}, "booking.created", true},
		{[]string{"*.created"}, "contact.created", true},
		{[]string{"*.created"}, "created", false},
		{[]string{"*.created"}, "booking.slot.created", false},
		{[]string{"booking.*.released"}, "booking.slot.released", true},
		{[]string{"booking.*.released"}, "booking.slot.held", false},
		{[]string{"contact.created", "booking.*"}, "booking.cancelled", true},
		{[]string{"contact.created", "booking.*"}, "qr.scanned", false},
		{nil, "booking.created", false},
		{[]string{}, "booking.created", false},
		// invalid patterns never match, even ones that look like catch-alls
		{[]string{"book*"}, "booking.created", false},
		{[]string{"**"}, "booking.created", false},
		{[]string{""}, "booking.created", false},
		{[]string{"booking..created"}, "booking..created", false},
		// invalid event types match nothing
		{[]string{"*"}, "", false},
		{[]string{"*"}, "booking created", false},
	}
	for _, s := range scenarios {
		t.Run(strings.Join(s.patterns, ",")+"~"+s.typ, func(t *testing.T) {
			if got := webhook.MatchEventType(s.patterns, s.typ); got != s.want {
				t.Fatalf("MatchEventType(%q, %q) = %v, want %v", s.patterns, s.typ, got, s.want)
			}
		})
	}
}

// fieldCodes flattens an error into "field=code" strings.
func fieldCodes(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var fes webhook.FieldErrors
	var fe *webhook.FieldError
	switch {
	case errors.As(err, &fes):
	case errors.As(err, &fe):
		fes = webhook.FieldErrors{fe}
	default:
		t.Fatalf("error %v (%T) is not a FieldError", err, err)
	}
	out := make([]string, len(fes))
	for i, e := range fes {
		if e.Message == "" {
			t.Fatalf("%s has no message", e.Field)
		}
		out[i] = e.Field + "=" + e.Code
	}
	return out
}

func TestValidatePatterns(t *testing.T) {
	many := make([]string, webhook.MaxPatterns+1)
	for i := range many {
		many[i] = "t" + strings.Repeat("x", i)
	}
	scenarios := []struct {
		name     string
		patterns []string
		want     []string
		mention  string
	}{
		{"all", []string{"*"}, nil, ""},
		{"mixed valid", []string{"booking.*", "contact.created", "*.deleted", "qr_code.scanned_2"}, nil, ""},
		{"empty list", nil, []string{"event_types=required"}, `"*"`},
		{"too many", many, []string{"event_types=too_many"}, "100"},
		{"partial wildcard", []string{"booking.*", "book*"}, []string{"event_types[1]=invalid_pattern"}, "whole segment"},
		{"empty segment", []string{"booking."}, []string{"event_types[0]=invalid_pattern"}, "segment 2 is empty"},
		{"bad character", []string{"booking.created", "booking-created"}, []string{"event_types[1]=invalid_pattern"}, `'-'`},
		{"space", []string{"booking created"}, []string{"event_types[0]=invalid_pattern"}, `' '`},
		{"empty pattern", []string{""}, []string{"event_types[0]=invalid_pattern"}, "empty"},
		{"too long", []string{strings.Repeat("a", 129)}, []string{"event_types[0]=invalid_pattern"}, "128"},
		{"duplicate", []string{"booking.*", "contact.*", "booking.*"}, []string{"event_types[2]=duplicate"}, "event_types[0]"},
		{"several bad", []string{"ok", "", "a..b", "ok"}, []string{"event_types[1]=invalid_pattern", "event_types[2]=invalid_pattern", "event_types[3]=duplicate"}, ""},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			err := webhook.ValidatePatterns(s.patterns)
			got := fieldCodes(t, err)
			if strings.Join(got, " ") != strings.Join(s.want, " ") {
				t.Fatalf("errors %q, want %q (%v)", got, s.want, err)
			}
			if s.mention != "" && !strings.Contains(err.Error(), s.mention) {
				t.Fatalf("message %q does not mention %q", err, s.mention)
			}
		})
	}
}

func TestValidateEventType(t *testing.T) {
	for typ, ok := range map[string]bool{
		"booking.created": true, "ping": true, "qr_code.scanned_2": true,
		"": false, "booking.*": false, "booking.": false, ".x": false, "bookingé.created": false,
	} {
		err := webhook.ValidateEventType(typ)
		if (err == nil) != ok {
			t.Errorf("ValidateEventType(%q) = %v, want ok=%v", typ, err, ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "type: ") {
			t.Errorf("error %q does not name the field", err)
		}
	}
}
