package slots

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadLocation("timezone", name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at reads "2006-01-02 15:04" in loc, or "2006-01-02 15:04 -07:00" when the offset must pick one of the
// two instants of a fall-back fold.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout += " -07:00"
	}
	v, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// day returns [local midnight of date, local midnight n days later).
func day(t testing.TB, loc *time.Location, date string, n int) (time.Time, time.Time) {
	t.Helper()
	d, err := ParseDate("date", date)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(boundary(loc, d, 0), 0), time.Unix(boundary(loc, d.AddDays(n), 0), 0)
}

func mustRules(t testing.TB, specs ...RuleSpec) []Rule {
	t.Helper()
	var out []Rule
	for _, s := range specs {
		r, err := ParseRule(s)
		if err != nil {
			t.Fatalf("rule %+v: %v", s, err)
		}
		out = append(out, r)
	}
	return out
}

func mustException(t testing.TB, s ExceptionSpec) Exception {
	t.Helper()
	x, err := ParseException(s)
	if err != nil {
		t.Fatalf("exception %+v: %v", s, err)
	}
	return x
}

// weekdays is one rule per Monday..Friday.
func weekdays(start, end string, breaks ...BreakSpec) []RuleSpec {
	var out []RuleSpec
	for wd := 1; wd <= 5; wd++ {
		out = append(out, RuleSpec{Weekday: wd, Start: start, End: end, Breaks: breaks})
	}
	return out
}

// render writes slots as "MM-DD t t t | MM-DD t": grouped by date in loc, times in layout, and "×n"
// after a time whose SeatsLeft is not 1.
func render(slots []Slot, loc *time.Location, layout string) string {
	var b strings.Builder
	last := ""
	for _, s := range slots {
		st := s.Start.In(loc)
		if d := st.Format("01-02"); d != last {
			if last != "" {
				b.WriteString(" |")
			}
			if b.Len() > 0 {
				b.WriteString(" ")
			}
			b.WriteString(d)
			last = d
		}
		b.WriteString(" " + st.Format(layout))
		if s.SeatsLeft != 1 {
			b.WriteString("×" + strconv.Itoa(s.SeatsLeft))
		}
	}
	return b.String()
}

func booking(t testing.TB, loc *time.Location, start string, minutes int) Booking {
	t.Helper()
	s := at(t, loc, start)
	return Booking{Start: s, End: s.Add(time.Duration(minutes) * time.Minute), Status: StatusConfirmed}
}
