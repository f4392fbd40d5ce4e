package slots

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

func TestParseClock(t *testing.T) {
	scenarios := []struct {
		in   string
		want Clock
		code string
	}{
		{"00:00", 0, ""},
		{"09:05", 545, ""},
		{"23:59", 1439, ""},
		{"24:00", 1440, ""},
		{"", 0, CodeRequired},
		{"9:00", 0, CodeInvalidTime},
		{"09:0", 0, CodeInvalidTime},
		{"24:01", 0, CodeInvalidTime},
		{"12:60", 0, CodeInvalidTime},
		{"25:00", 0, CodeInvalidTime},
		{"+1:00", 0, CodeInvalidTime},
		{"09.00", 0, CodeInvalidTime},
		{"09:00:00", 0, CodeInvalidTime},
		{"1 pm", 0, CodeInvalidTime},
	}
	for _, s := range scenarios {
		t.Run(s.in, func(t *testing.T) {
			got, err := ParseClock("start", s.in)
			if s.code == "" {
				if err != nil || got != s.want || got.String() != s.in {
					t.Fatalf("got %v (%s), %v", got, got, err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "start" || fe.Code != s.code || !strings.Contains(fe.Error(), "start: ") {
				t.Fatalf("want start/%s, got %v", s.code, err)
			}
		})
	}
}

func TestParseRule(t *testing.T) {
	scenarios := []struct {
		name   string
		spec   RuleSpec
		fields []string // fields named by the error, sorted; nil = valid
	}{
		{name: "valid with breaks and season", spec: RuleSpec{Weekday: 7, Start: "08:00", End: "24:00",
			Breaks: []BreakSpec{{"12:30", "13:00"}, {"12:00", "12:30"}}, ValidFrom: "2026-06-01", ValidUntil: "2026-08-31"}},
		{name: "single-day season", spec: RuleSpec{Weekday: 1, Start: "08:00", End: "09:00", ValidFrom: "2026-06-01", ValidUntil: "2026-06-01"}},
		{name: "weekday 0", spec: RuleSpec{Weekday: 0, Start: "08:00", End: "09:00"}, fields: []string{"weekday"}},
		{name: "weekday 8", spec: RuleSpec{Weekday: 8, Start: "08:00", End: "09:00"}, fields: []string{"weekday"}},
		{name: "end before start", spec: RuleSpec{Weekday: 1, Start: "17:00", End: "09:00"}, fields: []string{"end"}},
		{name: "empty range", spec: RuleSpec{Weekday: 1, Start: "09:00", End: "09:00"}, fields: []string{"end"}},
		{name: "missing times", spec: RuleSpec{Weekday: 1}, fields: []string{"end", "start"}},
		{name: "bad break time", spec: RuleSpec{Weekday: 1, Start: "09:00", End: "17:00", Breaks: []BreakSpec{{"12:00", "1pm"}}},
			fields: []string{"breaks.0.end"}},
		{name: "break outside", spec: RuleSpec{Weekday: 1, Start: "09:00", End: "17:00", Breaks: []BreakSpec{{"08:00", "09:30"}}},
			fields: []string{"breaks.0.start"}},
		{name: "break reversed", spec: RuleSpec{Weekday: 1, Start: "09:00", End: "17:00", Breaks: []BreakSpec{{"13:00", "12:00"}}},
			fields: []string{"breaks.0.end"}},
		{name: "breaks overlap", spec: RuleSpec{Weekday: 1, Start: "09:00", End: "17:00",
			Breaks: []BreakSpec{{"14:00", "15:00"}, {"12:00", "13:00"}, {"12:30", "13:30"}}}, fields: []string{"breaks.2.start"}},
		{name: "bad valid_from", spec: RuleSpec{Weekday: 1, Start: "09:00", End: "17:00", ValidFrom: "2026-13-01"}, fields: []string{"valid_from"}},
		{name: "season reversed", spec: RuleSpec{Weekday: 1, Start: "09:00", End: "17:00", ValidFrom: "2026-06-02", ValidUntil: "2026-06-01"},
			fields: []string{"valid_until"}},
		{name: "everything wrong at once", spec: RuleSpec{Weekday: 9, Start: "x", End: "17:00", ValidUntil: "June"},
			fields: []string{"start", "valid_until", "weekday"}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			r, err := ParseRule(s.spec)
			if s.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				if r.Start.String() != s.spec.Start || r.End.String() != s.spec.End || len(r.Breaks) != len(s.spec.Breaks) || r.ValidUntil.String() != s.spec.ValidUntil {
					t.Fatalf("parsed %+v from %+v", r, s.spec)
				}
				return
			}
			var es FieldErrors
			if !errors.As(err, &es) {
				t.Fatalf("want FieldErrors, got %T %v", err, err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Field)
				if e.Code == "" || e.Message == "" {
					t.Fatalf("incomplete error %+v", e)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(s.fields, ",") {
				t.Fatalf("fields %v, want %v (%v)", got, s.fields, err)
			}
		})
	}
}

func TestParseException(t *testing.T) {
	x, err := ParseException(ExceptionSpec{Date: "2026-12-24", Closed: true, Start: "garbage"})
	if err != nil || !x.Closed || x.Date != (Date{2026, 12, 24}) {
		t.Fatalf("closed day: %+v %v", x, err)
	}
	x, err = ParseException(ExceptionSpec{Date: "2026-12-24", Helper: "h1", Start: "10:00", End: "14:00", Breaks: []BreakSpec{{"12:00", "12:30"}}})
	if err != nil || x.HelperID != "h1" || x.Start != 600 || x.End != 840 || x.Breaks[0] != (Range{720, 750}) {
		t.Fatalf("custom hours: %+v %v", x, err)
	}
	_, err = ParseException(ExceptionSpec{Date: "24.12.2026", Start: "10:00"})
	var es FieldErrors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Field != "date" || es[1].Field != "end" {
		t.Fatalf("want date and end errors, got %v", err)
	}
}

func TestLoadLocation(t *testing.T) {
	scenarios := []struct {
		name string
		code string
	}{
		{"Europe/Berlin", ""},
		{"America/New_York", ""},
		{"Asia/Kolkata", ""},
		{"UTC", ""},
		{"", CodeRequired},
		{"Local", CodeInvalidZone},
		{"Mars/Olympus_Mons", CodeInvalidZone},
		{"+05:30", CodeInvalidZone},
		{"../etc/passwd", CodeInvalidZone},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			loc, err := LoadLocation("timezone", s.name)
			if s.code == "" {
				if err != nil || loc.String() != s.name {
					t.Fatalf("got %v %v", loc, err)
				}
				again, _ := LoadLocation("timezone", s.name)
				if again != loc {
					t.Fatal("location not cached")
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "timezone" || fe.Code != s.code {
				t.Fatalf("want timezone/%s, got %v", s.code, err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{DurationMinutes: 30}).Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	err := Config{DurationMinutes: 0, SlotIntervalMinutes: -1, BufferBeforeMinutes: 2000, BufferAfterMinutes: -1,
		MinNoticeMinutes: -1, MaxAdvanceDays: MaxAdvanceDays + 1, Seats: -1, DailyLimit: -1}.Validate()
	var es FieldErrors
	if !errors.As(err, &es) {
		t.Fatalf("want FieldErrors, got %v", err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Field)
	}
	want := "duration_minutes,slot_interval_minutes,buffer_before_minutes,buffer_after_minutes,min_notice_minutes,max_advance_days,seats,daily_limit"
	if strings.Join(got, ",") != want {
		t.Fatalf("fields %v", got)
	}
}

func TestDate(t *testing.T) {
	d := Date{2026, 12, 31}
	if d.AddDays(1) != (Date{2027, 1, 1}) || d.AddDays(-365) != (Date{2025, 12, 31}) {
		t.Fatal("AddDays does not normalise")
	}
	if d.Weekday() != 4 || (Date{2026, 3, 1}).Weekday() != 7 || (Date{2026, 3, 2}).Weekday() != 1 {
		t.Fatal("ISO weekday wrong")
	}
	if d.Compare(Date{2027, 1, 1}) != -1 || d.Compare(d) != 0 || d.Compare(Date{2026, 12, 30}) != 1 || d.String() != "2026-12-31" {
		t.Fatal("Compare or String wrong")
	}
}
