package slots

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	// Embedded zone data: time.LoadLocation must work in slim containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Error codes, in PocketBase's "validation_*" style so the HTTP layer can pass them through unchanged.
const (
	CodeRequired     = "validation_required"
	CodeInvalid      = "validation_invalid_value"
	CodeInvalidTime  = "validation_invalid_time"
	CodeInvalidDate  = "validation_invalid_date"
	CodeInvalidZone  = "validation_invalid_timezone"
	CodeOutOfRange   = "validation_out_of_range"
	CodeOrder        = "validation_invalid_order"
	CodeBreakOutside = "validation_break_outside_hours"
	CodeBreakOverlap = "validation_break_overlap"
	CodeDuplicate    = "validation_duplicate"
)

// FieldError is bad input in one named field; Field uses the JSON names and dotted indexes
// ("breaks.1.end") so the HTTP layer can answer with a 400 that points at it.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors collects every problem of one input, so a form can show them all at once.
// errors.As(err, new(*FieldError)) finds the first one.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes the single errors to errors.Is and errors.As.
func (es FieldErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func fieldErr(field, code, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
}

// add appends err (nil, a *FieldError or FieldErrors) with every field name prefixed.
func (es *FieldErrors) add(prefix string, err error) {
	if err == nil {
		return
	}
	var list FieldErrors
	var one *FieldError
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = FieldErrors{one}
	default:
		list = FieldErrors{fieldErr(strings.TrimSuffix(prefix, "."), CodeInvalid, "%v", err)}
		prefix = ""
	}
	for _, e := range list {
		*es = append(*es, &FieldError{Field: prefix + e.Field, Code: e.Code, Message: e.Message})
	}
}

func (es FieldErrors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// ParseClock parses a strict "HH:MM" wall-clock time between 00:00 and 24:00. Strictness matters: a
// 12-hour "hh" mix-up shifted Cal.com's afternoon slots by an hour on DST days (cal.com#30021).
func ParseClock(field, s string) (Clock, error) {
	if s == "" {
		return 0, fieldErr(field, CodeRequired, "is required (HH:MM)")
	}
	bad := fieldErr(field, CodeInvalidTime, "must be a time HH:MM between 00:00 and 24:00, got %q", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, bad
	}
	return Clock(h*60 + m), nil
}

// ParseDate parses a strict YYYY-MM-DD calendar date.
func ParseDate(field, s string) (Date, error) {
	if s == "" {
		return Date{}, fieldErr(field, CodeRequired, "is required (YYYY-MM-DD)")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fieldErr(field, CodeInvalidDate, "must be a date YYYY-MM-DD, got %q", s)
	}
	return DateOf(t, time.UTC), nil
}

// ValidateWeekday checks an ISO weekday, 1 = Monday .. 7 = Sunday.
func ValidateWeekday(field string, wd int) error {
	if wd < 1 || wd > 7 {
		return fieldErr(field, CodeOutOfRange, "must be a weekday from 1 (Monday) to 7 (Sunday), got %d", wd)
	}
	return nil
}

var locations sync.Map // name -> *time.Location

// LoadLocation loads an IANA zone by name, caching it for the life of the process. Unlike
// time.LoadLocation it refuses "" and "Local" (which mean UTC and the server's zone, never what a
// helper meant).
func LoadLocation(field, name string) (*time.Location, error) {
	if name == "" {
		return nil, fieldErr(field, CodeRequired, "is required (an IANA time zone such as Europe/Berlin)")
	}
	if cached, ok := locations.Load(name); ok {
		return cached.(*time.Location), nil
	}
	if name == "Local" {
		return nil, fieldErr(field, CodeInvalidZone, "must be an IANA time zone such as Europe/Berlin, got %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fieldErr(field, CodeInvalidZone, "must be an IANA time zone such as Europe/Berlin, got %q", name)
	}
	locations.Store(name, loc)
	return loc, nil
}

// BreakSpec is a break as the HTTP layer receives it.
type BreakSpec struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// RuleSpec is a weekly rule as the HTTP layer receives and stores it.
type RuleSpec struct {
	Weekday    int         `json:"weekday"`
	Start      string      `json:"start"`
	End        string      `json:"end"`
	Breaks     []BreakSpec `json:"breaks"`
	ValidFrom  string      `json:"valid_from"`  // optional YYYY-MM-DD
	ValidUntil string      `json:"valid_until"` // optional YYYY-MM-DD, inclusive
}

// ExceptionSpec is a date exception as the HTTP layer receives and stores it.
type ExceptionSpec struct {
	Date   string      `json:"date"`
	Helper string      `json:"helper"` // empty = workspace-wide
	Closed bool        `json:"closed"`
	Start  string      `json:"start"` // required unless closed
	End    string      `json:"end"`
	Breaks []BreakSpec `json:"breaks"`
}

// ParseRule parses and validates a weekly rule. The error is FieldErrors naming every bad field.
func ParseRule(spec RuleSpec) (Rule, error) {
	var es FieldErrors
	r := Rule{Weekday: spec.Weekday}
	es.add("", ValidateWeekday("weekday", spec.Weekday))
	var err error
	r.Start, r.End, r.Breaks, err = parseHours(spec.Start, spec.End, spec.Breaks)
	es.add("", err)
	if spec.ValidFrom != "" {
		r.ValidFrom, err = ParseDate("valid_from", spec.ValidFrom)
		es.add("", err)
	}
	if spec.ValidUntil != "" {
		r.ValidUntil, err = ParseDate("valid_until", spec.ValidUntil)
		es.add("", err)
	}
	if len(es) == 0 {
		es.add("", r.Validate())
	}
	return r, es.err()
}

// ParseException parses and validates a date exception.
func ParseException(spec ExceptionSpec) (Exception, error) {
	var es FieldErrors
	x := Exception{HelperID: spec.Helper, Closed: spec.Closed}
	var err error
	x.Date, err = ParseDate("date", spec.Date)
	es.add("", err)
	if !spec.Closed {
		x.Start, x.End, x.Breaks, err = parseHours(spec.Start, spec.End, spec.Breaks)
		es.add("", err)
	}
	if len(es) == 0 {
		es.add("", x.Validate())
	}
	return x, es.err()
}

func parseHours(start, end string, breaks []BreakSpec) (Clock, Clock, []Range, error) {
	var es FieldErrors
	s, err := ParseClock("start", start)
	es.add("", err)
	e, err := ParseClock("end", end)
	es.add("", err)
	var rs []Range
	for i, b := range breaks {
		p := fmt.Sprintf("breaks.%d.", i)
		bs, err := ParseClock("start", b.Start)
		es.add(p, err)
		be, err := ParseClock("end", b.End)
		es.add(p, err)
		rs = append(rs, Range{bs, be})
	}
	return s, e, rs, es.err()
}

// Validate checks a rule built in code or parsed: weekday, hours, breaks and the validity period.
func (r Rule) Validate() error {
	var es FieldErrors
	es.add("", ValidateWeekday("weekday", r.Weekday))
	es.add("", validateHours(r.Start, r.End, r.Breaks))
	if !r.ValidFrom.IsZero() && !r.ValidUntil.IsZero() && r.ValidUntil.Compare(r.ValidFrom) < 0 {
		es = append(es, fieldErr("valid_until", CodeOrder, "must not be before valid_from (%s), got %s", r.ValidFrom, r.ValidUntil))
	}
	return es.err()
}

// Validate checks an exception; custom hours are validated like a rule's.
func (x Exception) Validate() error {
	var es FieldErrors
	if x.Date.IsZero() {
		es = append(es, fieldErr("date", CodeRequired, "is required (YYYY-MM-DD)"))
	}
	if !x.Closed {
		es.add("", validateHours(x.Start, x.End, x.Breaks))
	}
	return es.err()
}

// validateHours checks start < end within the day and that breaks lie inside and do not overlap.
// Breaks may touch (12:00-12:30 and 12:30-13:00).
func validateHours(start, end Clock, breaks []Range) error {
	var es FieldErrors
	inDay := func(field string, c Clock) bool {
		if c < 0 || c > EndOfDay {
			es = append(es, fieldErr(field, CodeInvalidTime, "must be between 00:00 and 24:00"))
			return false
		}
		return true
	}
	if inDay("start", start) && inDay("end", end) && end <= start {
		es = append(es, fieldErr("end", CodeOrder, "must be after start (%s), got %s; split a range that crosses midnight into two rules", start, end))
	}
	order := make([]int, 0, len(breaks))
	for i, b := range breaks {
		p := fmt.Sprintf("breaks.%d.", i)
		if !inDay(p+"start", b.Start) || !inDay(p+"end", b.End) {
			continue
		}
		switch {
		case b.End <= b.Start:
			es = append(es, fieldErr(p+"end", CodeOrder, "must be after the break's start (%s), got %s", b.Start, b.End))
		case b.Start < start || b.End > end:
			es = append(es, fieldErr(p+"start", CodeBreakOutside, "break %s-%s must lie inside the working hours %s-%s", b.Start, b.End, start, end))
		default:
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return breaks[order[a]].Start < breaks[order[b]].Start })
	for k := 1; k < len(order); k++ {
		prev, cur := breaks[order[k-1]], breaks[order[k]]
		if cur.Start < prev.End {
			es = append(es, fieldErr(fmt.Sprintf("breaks.%d.start", order[k]), CodeBreakOverlap,
				"break %s-%s overlaps break %d (%s-%s)", cur.Start, cur.End, order[k-1], prev.Start, prev.End))
		}
	}
	return es.err()
}

// Validate checks the tool configuration. The bounds are generous; they exist so that a typo cannot make
// one request walk years of days.
func (c Config) Validate() error {
	var es FieldErrors
	check := func(field string, v, lo, hi int) {
		if v < lo || v > hi {
			es = append(es, fieldErr(field, CodeOutOfRange, "must be between %d and %d, got %d", lo, hi, v))
		}
	}
	check("duration_minutes", c.DurationMinutes, 1, 24*60)
	check("slot_interval_minutes", c.SlotIntervalMinutes, 0, 24*60)
	check("buffer_before_minutes", c.BufferBeforeMinutes, 0, 24*60)
	check("buffer_after_minutes", c.BufferAfterMinutes, 0, 24*60)
	check("min_notice_minutes", c.MinNoticeMinutes, 0, 366*24*60)
	check("max_advance_days", c.MaxAdvanceDays, 0, MaxAdvanceDays)
	check("seats", c.Seats, 0, 100000)
	check("daily_limit", c.DailyLimit, 0, 100000)
	return es.err()
}

// MaxAdvanceDays bounds max_advance_days, and MaxRangeDays bounds one query's from..to.
const (
	MaxAdvanceDays = 3660
	MaxRangeDays   = 400
)

// Validate checks everything Free needs; field names are dotted paths into Input ("rules.2.breaks.0.end").
func (in Input) Validate() error {
	var es FieldErrors
	if in.Helper.ID == "" {
		es = append(es, fieldErr("helper.id", CodeRequired, "is required"))
	}
	if in.Helper.Location == nil {
		es = append(es, fieldErr("helper.timezone", CodeRequired, "is required (an IANA time zone)"))
	}
	if in.Now.IsZero() {
		es = append(es, fieldErr("now", CodeRequired, "is required"))
	}
	es.add("config.", in.Config.Validate())
	for i, r := range in.Rules {
		es.add(fmt.Sprintf("rules.%d.", i), r.Validate())
	}
	for i, x := range in.Exceptions {
		es.add(fmt.Sprintf("exceptions.%d.", i), x.Validate())
	}
	for i, b := range in.Bookings {
		if b.Seats < 0 {
			es = append(es, fieldErr(fmt.Sprintf("bookings.%d.seats", i), CodeOutOfRange, "must not be negative, got %d", b.Seats))
		}
		if b.Buffers != nil && (b.Buffers.Before < 0 || b.Buffers.After < 0) {
			es = append(es, fieldErr(fmt.Sprintf("bookings.%d.buffers", i), CodeOutOfRange, "must not be negative"))
		}
	}
	return es.err()
}
