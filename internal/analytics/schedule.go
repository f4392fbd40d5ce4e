package analytics

import (
	"fmt"
	"time"
)

// Schedule is when a report is emailed: daily, weekly (on Weekday, 1 = Monday) or monthly (on DayOfMonth,
// 1..28) at the local time HH:MM.
type Schedule struct {
	Frequency  string
	Hour, Min  int
	Weekday    int
	DayOfMonth int
}

// ParseClock reads HH:MM.
func ParseClock(s string) (int, int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, fmt.Errorf("must be HH:MM")
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 {
		return 0, 0, fmt.Errorf("must be HH:MM")
	}
	return h, m, nil
}

// NextRun is the first run strictly after after, in loc. A local time skipped by a DST change runs at the
// same wall-clock offset after the change (02:30 on a spring-forward night runs at 03:30).
func (s Schedule) NextRun(after time.Time, loc *time.Location) time.Time {
	t := after.In(loc)
	y, m, d := t.Date()
	for i := 0; i < 400; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		switch s.Frequency {
		case "weekly":
			if int((day.Weekday()+6)%7)+1 != max(s.Weekday, 1) {
				continue
			}
		case "monthly":
			if day.Day() != max(s.DayOfMonth, 1) {
				continue
			}
		}
		dy, dm, dd := day.Date()
		run := time.Date(dy, dm, dd, s.Hour, s.Min, 0, 0, loc)
		if run.After(after) {
			return run
		}
	}
	return after.Add(24 * time.Hour)
}
