package ics

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"
)

const prodid = "-//Playgram//Bookings//EN"

func sample() Event {
	created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	return Event{
		UID:          "booking-42@playgram.example",
		Start:        time.Date(2026, 3, 20, 15, 0, 0, 0, berlin), // written as 14:00Z
		End:          time.Date(2026, 3, 20, 14, 30, 0, 0, time.UTC),
		Summary:      "Haircut with Anna",
		Location:     "Main St 1",
		Organizer:    Person{Name: "Studio Nord", Email: "bookings@studio.example"},
		Attendee:     Person{Name: "Max Mustermann", Email: "max@example.com"},
		Created:      created,
		LastModified: created,
		URL:          "https://playgram.example/b/42",
		Stamp:        created.Add(5 * time.Second),
	}
}

// unfold splits an iCalendar object into logical content lines, failing on anything RFC 5545 forbids
// at the line level: a line not ended by CRLF, a physical line over 75 octets, a split UTF-8 sequence.
func unfold(t *testing.T, b []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatalf("object does not end with CRLF: %q", b)
	}
	var lines []string
	for i, phys := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
		if strings.ContainsAny(phys, "\r\n") {
			t.Fatalf("physical line %d has a bare CR or LF: %q", i, phys)
		}
		if len(phys) > 75 {
			t.Fatalf("physical line %d is %d octets: %q", i, len(phys), phys)
		}
		if !utf8.ValidString(phys) {
			t.Fatalf("physical line %d splits a UTF-8 sequence: %q", i, phys)
		}
		if strings.HasPrefix(phys, " ") {
			if len(lines) == 0 {
				t.Fatal("object starts with a continuation line")
			}
			lines[len(lines)-1] += phys[1:]
			continue
		}
		lines = append(lines, phys)
	}
	return lines
}

func decode(t *testing.T, b []byte) *goical.Calendar {
	t.Helper()
	cal, err := goical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("go-ical cannot parse the output: %v\n%s", err, b)
	}
	return cal
}

func TestInviteGolden(t *testing.T) {
	got, err := Invite(MethodRequest, sample(), prodid)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//Playgram//Bookings//EN",
		"CALSCALE:GREGORIAN",
		"METHOD:REQUEST",
		"BEGIN:VEVENT",
		"UID:booking-42@playgram.example",
		"SEQUENCE:0",
		"DTSTAMP:20260301T100005Z",
		"DTSTART:20260320T140000Z",
		"DTEND:20260320T143000Z",
		"CREATED:20260301T100000Z",
		"LAST-MODIFIED:20260301T100000Z",
		"SUMMARY:Haircut with Anna",
		"LOCATION:Main St 1",
		"URL:https://playgram.example/b/42",
		"STATUS:CONFIRMED",
		"TRANSP:OPAQUE",
		`ORGANIZER;CN="Studio Nord":mailto:bookings@studio.example`,
		`ATTENDEE;CN="Max Mustermann";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FA`,
		" LSE:mailto:max@example.com",
		"END:VEVENT",
		"END:VCALENDAR",
		"",
	}, "\r\n")
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	again, _ := Invite(MethodRequest, sample(), prodid)
	if !bytes.Equal(got, again) {
		t.Fatal("output is not deterministic")
	}
}

func TestInviteCancel(t *testing.T) {
	ev := sample()
	ev.Sequence = 3
	ev.Status = StatusConfirmed // the caller may pass the booking as it was; CANCEL still cancels
	out, err := Invite(MethodCancel, ev, prodid)
	if err != nil {
		t.Fatal(err)
	}
	cal := decode(t, out)
	if m := cal.Props.Get("METHOD"); m == nil || m.Value != "CANCEL" {
		t.Fatalf("METHOD = %v", m)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("%d events", len(events))
	}
	e := events[0]
	for name, want := range map[string]string{"UID": ev.UID, "SEQUENCE": "3", "STATUS": "CANCELLED", "TRANSP": "TRANSPARENT"} {
		if p := e.Props.Get(name); p == nil || p.Value != want {
			t.Fatalf("%s = %v, want %s", name, p, want)
		}
	}
	if ct := ContentType(MethodCancel); ct != "text/calendar; charset=UTF-8; method=CANCEL" {
		t.Fatalf("content type %q", ct)
	}
}

func TestInviteErrors(t *testing.T) {
	scenarios := []struct {
		name   string
		method Method
		mod    func(ev *Event)
		prodid string
		want   string // substring naming the field
	}{
		{name: "unknown method", method: "PUBLISH", want: "method"},
		{name: "cancelled event sent as REQUEST", method: MethodRequest, mod: func(ev *Event) { ev.Status = StatusCancelled }, want: "status"},
		{name: "no organizer", method: MethodRequest, mod: func(ev *Event) { ev.Organizer = Person{} }, want: "organizer.email"},
		{name: "no attendee", method: MethodCancel, mod: func(ev *Event) { ev.Attendee.Email = "" }, want: "attendee.email"},
		{name: "attendee with display name in email", method: MethodRequest, mod: func(ev *Event) { ev.Attendee.Email = "Max <max@example.com>" }, want: "attendee.email"},
		{name: "organizer email injecting a line", method: MethodRequest, mod: func(ev *Event) { ev.Organizer.Email = "a@b.c\r\nX-EVIL:1" }, want: "organizer.email"},
		{name: "empty uid", method: MethodRequest, mod: func(ev *Event) { ev.UID = " " }, want: "uid"},
		{name: "negative sequence", method: MethodRequest, mod: func(ev *Event) { ev.Sequence = -1 }, want: "sequence"},
		{name: "no dtstamp", method: MethodRequest, mod: func(ev *Event) { ev.Stamp = time.Time{} }, want: "stamp"},
		{name: "no start", method: MethodRequest, mod: func(ev *Event) { ev.Start = time.Time{} }, want: "start"},
		{name: "end not after start", method: MethodRequest, mod: func(ev *Event) { ev.End = ev.Start }, want: "end"},
		{name: "unknown status", method: MethodRequest, mod: func(ev *Event) { ev.Status = "DONE" }, want: "status"},
		{name: "script url", method: MethodRequest, mod: func(ev *Event) { ev.URL = "javascript:alert(1)" }, want: "url"},
		{name: "relative url", method: MethodRequest, mod: func(ev *Event) { ev.URL = "/b/42" }, want: "url"},
		{name: "no prodid", method: MethodRequest, prodid: " ", want: "prodid"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			ev := sample()
			if s.mod != nil {
				s.mod(&ev)
			}
			p := prodid
			if s.prodid != "" {
				p = s.prodid
			}
			out, err := Invite(s.method, ev, p)
			if err == nil || !strings.Contains(err.Error(), s.want+":") || out != nil {
				t.Fatalf("want an error naming %q, got %v", s.want, err)
			}
		})
	}
}

func TestEscapeText(t *testing.T) {
	scenarios := []struct{ in, want string }{
		{"plain", "plain"},
		{`back\slash`, `back\\slash`},
		{"a;b,c", `a\;b\,c`},
		{"line1\nline2", `line1\nline2`},
		{"crlf\r\nline", `crlf\nline`},
		{"old mac\rline", `old mac\nline`},
		{"two\n\nbreaks", `two\n\nbreaks`},
		{`already \n escaped`, `already \\n escaped`},
		{"tab\tkept, bell\a dropped", "tab\tkept\\, bell dropped"},
		{"colon: fine", "colon: fine"},
		{"Grüße 😀", "Grüße 😀"},
		{"bad \xff byte", "bad \uFFFD byte"},
	}
	for _, s := range scenarios {
		if got := escapeText(s.in); got != s.want {
			t.Errorf("escapeText(%q) = %q, want %q", s.in, got, s.want)
		}
	}
}

func TestFold(t *testing.T) {
	scenarios := []struct {
		name  string
		line  string
		first string // expected first physical line
	}{
		{"short stays", "SUMMARY:hi", "SUMMARY:hi"},
		{"exactly 75 octets stays", "X:" + strings.Repeat("a", 73), "X:" + strings.Repeat("a", 73)},
		{"76 octets folds", "X:" + strings.Repeat("a", 74), "X:" + strings.Repeat("a", 73)},
		{"emoji straddling octet 75 moves whole", "X:" + strings.Repeat("a", 72) + "😀b", "X:" + strings.Repeat("a", 72)},
		{"umlaut ending at octet 75 stays", "X:" + strings.Repeat("a", 71) + "äb", "X:" + strings.Repeat("a", 71) + "ä"},
		{"umlaut straddling octet 75 moves whole", "X:" + strings.Repeat("a", 72) + "äb", "X:" + strings.Repeat("a", 72)},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			out := fold(s.line)
			if first := strings.SplitN(out, "\r\n", 2)[0]; first != s.first {
				t.Fatalf("first line %q (%d octets), want %q", first, len(first), s.first)
			}
			if lines := unfold(t, []byte(out)); len(lines) != 1 || lines[0] != s.line {
				t.Fatalf("unfolds to %q", lines)
			}
		})
	}

	// Every length from 0 to 400 octets, of text mixing 1- to 4-octet characters and a combining
	// accent, at every alignment against the 75/74-octet limits.
	pieces := []string{"a", "ä", "€", "😀", "e\u0301", "ß", "中"}
	for n := 0; n < 120; n++ {
		var b strings.Builder
		b.WriteString("DESCRIPTION:")
		for i := 0; i < n; i++ {
			b.WriteString(pieces[(i*5+n)%len(pieces)])
		}
		line := b.String()
		if lines := unfold(t, []byte(fold(line))); len(lines) != 1 || lines[0] != line {
			t.Fatalf("n=%d: unfolding does not give the original", n)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	ev := sample()
	ev.Sequence = 2
	ev.Status = StatusTentative
	ev.Summary = "Termin: Haarschnitt, Färben; 😀 \\ backslash"
	ev.Description = "Hallo Max,\r\nbitte 10 Minuten früher da sein; Parkplatz: Hof.\nGrüße 👋🏽 aus München — Straße \"Nord\""
	ev.Location = strings.Repeat("Königsallee 1, 40212 Düsseldorf; ", 4)
	ev.Organizer.Name = `Studio "Nord", Düsseldorf`
	ev.URL = "https://playgram.example/b/42?x=1&y=a b"
	out, err := Invite(MethodRequest, ev, prodid)
	if err != nil {
		t.Fatal(err)
	}
	lines := unfold(t, out) // strict line checks
	if lines[0] != "BEGIN:VCALENDAR" || lines[len(lines)-1] != "END:VCALENDAR" {
		t.Fatalf("not a VCALENDAR: %q ... %q", lines[0], lines[len(lines)-1])
	}
	cal := decode(t, out)
	e := cal.Events()[0]
	for name, want := range map[string]string{
		"SUMMARY":     ev.Summary,
		"DESCRIPTION": strings.ReplaceAll(ev.Description, "\r\n", "\n"),
		"LOCATION":    ev.Location,
		"UID":         ev.UID,
	} {
		got, err := e.Props.Text(name)
		if err != nil || got != want {
			t.Fatalf("%s round-trips to %q (%v), want %q", name, got, err, want)
		}
	}
	start, err := e.DateTimeStart(nil)
	if err != nil || !start.Equal(ev.Start) {
		t.Fatalf("DTSTART %v %v", start, err)
	}
	end, err := e.DateTimeEnd(nil)
	if err != nil || !end.Equal(ev.End) {
		t.Fatalf("DTEND %v %v", end, err)
	}
	if seq, err := e.Props.Get("SEQUENCE").Int(); err != nil || seq != 2 {
		t.Fatalf("SEQUENCE %v %v", seq, err)
	}
	if st, err := e.Status(); err != nil || st != goical.EventTentative {
		t.Fatalf("STATUS %v %v", st, err)
	}
	org := e.Props.Get("ORGANIZER")
	if org.Value != "mailto:bookings@studio.example" || org.Params.Get("CN") != `Studio 'Nord', Düsseldorf` {
		t.Fatalf("ORGANIZER %q CN %q", org.Value, org.Params.Get("CN"))
	}
	att := e.Props.Get("ATTENDEE")
	if att.Value != "mailto:max@example.com" || att.Params.Get("PARTSTAT") != "ACCEPTED" || att.Params.Get("CN") != "Max Mustermann" {
		t.Fatalf("ATTENDEE %q %v", att.Value, att.Params)
	}
	if u, err := e.Props.URI("URL"); err != nil || u.Query().Get("y") != "a b" {
		t.Fatalf("URL %v %v", u, err)
	}
	if ds, err := e.Props.DateTime("DTSTAMP", nil); err != nil || !ds.Equal(ev.Stamp) {
		t.Fatalf("DTSTAMP %v %v", ds, err)
	}
}

func TestFeed(t *testing.T) {
	a := sample()
	b := sample()
	b.UID, b.Sequence, b.Status = "booking-43@playgram.example", 1, StatusCancelled
	b.Attendee = Person{} // feeds may leave people out
	c := sample()
	c.UID, c.Organizer = "booking-44@playgram.example", Person{}
	out, err := Feed("Anna, Studio Nord", []Event{a, b, c}, prodid)
	if err != nil {
		t.Fatal(err)
	}
	lines := unfold(t, out)
	for _, l := range lines {
		if strings.HasPrefix(l, "METHOD") {
			t.Fatalf("a feed must not carry a METHOD: %q", l)
		}
	}
	cal := decode(t, out)
	if name, err := cal.Props.Text("X-WR-CALNAME"); err != nil || name != "Anna, Studio Nord" {
		t.Fatalf("X-WR-CALNAME %q %v", name, err)
	}
	if p := cal.Props.Get("REFRESH-INTERVAL"); p == nil || p.Value != "PT1H" || p.Params.Get("VALUE") != "DURATION" {
		t.Fatalf("REFRESH-INTERVAL %v", p)
	}
	events := cal.Events()
	if len(events) != 3 {
		t.Fatalf("%d events, want 3 (cancelled ones stay)", len(events))
	}
	want := []struct{ uid, status, transp, seq string }{
		{a.UID, "CONFIRMED", "OPAQUE", "0"},
		{b.UID, "CANCELLED", "TRANSPARENT", "1"},
		{c.UID, "CONFIRMED", "OPAQUE", "0"},
	}
	for i, w := range want {
		p := events[i].Props
		if p.Get("UID").Value != w.uid || p.Get("STATUS").Value != w.status || p.Get("TRANSP").Value != w.transp || p.Get("SEQUENCE").Value != w.seq {
			t.Fatalf("event %d: %v", i, p)
		}
	}
	if events[1].Props.Get("ATTENDEE") != nil || events[2].Props.Get("ORGANIZER") != nil {
		t.Fatal("absent people were written")
	}
	again, _ := Feed("Anna, Studio Nord", []Event{a, b, c}, prodid)
	if !bytes.Equal(out, again) {
		t.Fatal("feed output is not deterministic")
	}

	bad := sample()
	bad.End = bad.Start.Add(-time.Minute)
	if _, err := Feed("x", []Event{a, bad}, prodid); err == nil || !strings.Contains(err.Error(), "events.1.end:") {
		t.Fatalf("want an error naming events.1.end, got %v", err)
	}
	empty, err := Feed("", nil, prodid)
	if err != nil || len(decode(t, empty).Events()) != 0 {
		t.Fatalf("empty feed: %v", err)
	}
}
