// Package ics writes RFC 5545 iCalendar objects for Playgram bookings: the invitation and cancellation
// attached to booking emails (iTIP/iMIP, RFC 5546/6047) and the subscribable feed of a helper's bookings.
//
// Output is byte-for-byte deterministic for the same input: nothing reads the clock (DTSTAMP is
// Event.Stamp) and events keep the caller's order, so a feed can be cached and served with an ETag.
// Times are always written in UTC with a Z suffix, which needs no VTIMEZONE and cannot be read as
// floating time (the "TZID without VTIMEZONE" and "floating read as UTC" traps in other products).
package ics

import (
	"bytes"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Method is the iTIP method of an emailed calendar object.
type Method string

// The two methods a booking email uses. A cancellation must be CANCEL: clients leave the event in the
// calendar when they get REQUEST with STATUS:CANCELLED (cal.com#29706).
const (
	MethodRequest Method = "REQUEST"
	MethodCancel  Method = "CANCEL"
)

// Status is the VEVENT STATUS.
type Status string

// Event statuses (RFC 5545 §3.8.1.11). The zero Status means Confirmed.
const (
	StatusConfirmed Status = "CONFIRMED"
	StatusTentative Status = "TENTATIVE"
	StatusCancelled Status = "CANCELLED"
)

// Person is an organizer or attendee; Email becomes a mailto: URI, Name the CN parameter.
type Person struct {
	Name, Email string
}

// Event is one booking as a calendar event.
type Event struct {
	// UID must stay the same for the life of the booking (e.g. "booking-<id>@<host>"): updates and
	// cancellations replace the event with that UID; a changing UID duplicates events in subscribers.
	UID string
	// Sequence grows by one with every change a calendar should apply (time, status, location).
	// A CANCEL must carry a higher Sequence than the last REQUEST.
	Sequence                       int
	Start, End                     time.Time // instants, written in UTC; sub-seconds are dropped
	Summary, Description, Location string
	Organizer                      Person
	Attendee                       Person // optional in feeds
	Status                         Status
	Created, LastModified          time.Time // optional
	URL                            string    // optional absolute http(s) URL, e.g. the booking's manage page
	// Stamp is DTSTAMP: when this calendar object was generated (invites) or the event last changed
	// (feeds). Passed in so the output is reproducible.
	Stamp time.Time
}

// ContentType is the MIME type of an invitation attachment; its method must match the METHOD line.
func ContentType(m Method) string {
	return "text/calendar; charset=UTF-8; method=" + string(m)
}

// FeedContentType is the MIME type to serve a feed with.
const FeedContentType = "text/calendar; charset=utf-8"

// Invite returns a complete VCALENDAR with one VEVENT for an email attachment. REQUEST creates or
// updates the event; CANCEL removes it and always writes STATUS:CANCELLED. iTIP requires an organizer
// and an attendee with valid email addresses.
func Invite(method Method, ev Event, prodid string) ([]byte, error) {
	switch method {
	case MethodRequest:
		if ev.Status == StatusCancelled {
			return nil, fmt.Errorf("ics: status: a cancelled event must be sent with method CANCEL, not REQUEST")
		}
	case MethodCancel:
		ev.Status = StatusCancelled
	default:
		return nil, fmt.Errorf("ics: method: must be REQUEST or CANCEL, got %q", method)
	}
	if ev.Organizer.Email == "" {
		return nil, fmt.Errorf("ics: organizer.email: is required for method %s", method)
	}
	if ev.Attendee.Email == "" {
		return nil, fmt.Errorf("ics: attendee.email: is required for method %s", method)
	}
	var w writer
	if err := w.begin(prodid); err != nil {
		return nil, err
	}
	w.prop("METHOD", string(method))
	if err := w.event("", ev); err != nil {
		return nil, err
	}
	w.prop("END", "VCALENDAR")
	return w.buf.Bytes(), nil
}

// Feed returns a VCALENDAR for calendar subscriptions (no METHOD: it is published data, not a
// scheduling message). Cancelled events stay in the feed with STATUS:CANCELLED and TRANSP:TRANSPARENT,
// so subscribers remove or grey them out instead of keeping a stale copy. The refresh hints are just
// hints; Google and Outlook refresh on their own schedule.
func Feed(name string, events []Event, prodid string) ([]byte, error) {
	var w writer
	if err := w.begin(prodid); err != nil {
		return nil, err
	}
	if name != "" {
		w.prop("NAME", escapeText(name))
		w.prop("X-WR-CALNAME", escapeText(name))
	}
	w.prop("REFRESH-INTERVAL;VALUE=DURATION", "PT1H")
	w.prop("X-PUBLISHED-TTL", "PT1H")
	for i, ev := range events {
		if err := w.event(fmt.Sprintf("events.%d.", i), ev); err != nil {
			return nil, err
		}
	}
	w.prop("END", "VCALENDAR")
	return w.buf.Bytes(), nil
}

type writer struct {
	buf bytes.Buffer
}

func (w *writer) begin(prodid string) error {
	if strings.TrimSpace(prodid) == "" {
		return fmt.Errorf("ics: prodid: is required, e.g. -//Playgram//Bookings//EN")
	}
	w.prop("BEGIN", "VCALENDAR")
	w.prop("VERSION", "2.0")
	w.prop("PRODID", escapeText(prodid))
	w.prop("CALSCALE", "GREGORIAN")
	return nil
}

func (w *writer) event(field string, ev Event) error {
	fail := func(name, format string, args ...any) error {
		return fmt.Errorf("ics: %s%s: %s", field, name, fmt.Sprintf(format, args...))
	}
	status := ev.Status
	if status == "" {
		status = StatusConfirmed
	}
	switch {
	case strings.TrimSpace(ev.UID) == "":
		return fail("uid", "is required and must stay the same for the booking")
	case ev.Sequence < 0:
		return fail("sequence", "must not be negative, got %d", ev.Sequence)
	case ev.Stamp.IsZero():
		return fail("stamp", "is required (DTSTAMP)")
	case ev.Start.IsZero():
		return fail("start", "is required")
	case !ev.End.After(ev.Start):
		return fail("end", "must be after start")
	case status != StatusConfirmed && status != StatusTentative && status != StatusCancelled:
		return fail("status", "must be CONFIRMED, TENTATIVE or CANCELLED, got %q", ev.Status)
	}
	var link string
	if ev.URL != "" {
		u, err := url.Parse(ev.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fail("url", "must be an absolute http(s) URL, got %q", ev.URL)
		}
		link = u.String() // percent-encodes what a URI value cannot hold raw, such as spaces
	}
	organizer, err := person("ORGANIZER", ev.Organizer, "")
	if err != nil {
		return fail("organizer.email", "%v", err)
	}
	attendee, err := person("ATTENDEE", ev.Attendee, ";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE")
	if err != nil {
		return fail("attendee.email", "%v", err)
	}

	w.prop("BEGIN", "VEVENT")
	w.prop("UID", escapeText(ev.UID))
	w.prop("SEQUENCE", strconv.Itoa(ev.Sequence))
	w.prop("DTSTAMP", utc(ev.Stamp))
	w.prop("DTSTART", utc(ev.Start))
	w.prop("DTEND", utc(ev.End))
	if !ev.Created.IsZero() {
		w.prop("CREATED", utc(ev.Created))
	}
	if !ev.LastModified.IsZero() {
		w.prop("LAST-MODIFIED", utc(ev.LastModified))
	}
	for _, p := range [...]struct{ name, value string }{{"SUMMARY", ev.Summary}, {"DESCRIPTION", ev.Description}, {"LOCATION", ev.Location}} {
		if p.value != "" {
			w.prop(p.name, escapeText(p.value))
		}
	}
	if link != "" {
		w.prop("URL", link)
	}
	w.prop("STATUS", string(status))
	if status == StatusCancelled {
		w.prop("TRANSP", "TRANSPARENT")
	} else {
		w.prop("TRANSP", "OPAQUE")
	}
	if organizer != "" {
		w.buf.WriteString(fold(organizer))
	}
	if attendee != "" {
		w.buf.WriteString(fold(attendee))
	}
	w.prop("END", "VEVENT")
	return nil
}

// person renders an ORGANIZER or ATTENDEE content line, or "" when the person has no email.
func person(name string, p Person, params string) (string, error) {
	if p.Email == "" {
		return "", nil
	}
	addr, err := mail.ParseAddress(p.Email)
	if err != nil || addr.Address != p.Email {
		return "", fmt.Errorf("must be a plain email address, got %q", p.Email)
	}
	line := name
	if cn := paramValue(p.Name); cn != "" {
		line += `;CN="` + cn + `"`
	}
	return line + params + ":mailto:" + p.Email, nil
}

// prop writes one content line whose value is already in its final (escaped) form.
func (w *writer) prop(name, value string) {
	w.buf.WriteString(fold(name + ":" + value))
}

func utc(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// escapeText encodes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma are escaped,
// every line break (CRLF, LF or CR) becomes \n, other control characters, which TEXT cannot carry,
// are dropped, and invalid UTF-8 becomes U+FFFD.
func escapeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ';':
			b.WriteString(`\;`)
		case r == ',':
			b.WriteString(`\,`)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// paramValue makes a string safe inside a quoted parameter value (RFC 5545 §3.1: no DQUOTE, no
// control characters): double quotes become single quotes, line breaks spaces, other controls vanish.
func paramValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
}

// fold ends a content line with CRLF and folds it so no physical line exceeds 75 octets, never
// splitting a UTF-8 sequence (RFC 5545 §3.1): continuation lines start with one space.
func fold(line string) string {
	const limit = 75
	if len(line) <= limit {
		return line + "\r\n"
	}
	var b strings.Builder
	b.Grow(len(line) + len(line)/limit*3 + 2)
	room := limit
	for len(line) > room {
		cut := room
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		room = limit - 1 // the leading space counts
	}
	b.WriteString(line)
	b.WriteString("\r\n")
	return b.String()
}
