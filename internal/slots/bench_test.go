package slots

import (
	"fmt"
	"testing"
	"time"
)

// benchInput is a busy helper: weekdays 08:00-18:00 with lunch, Saturday mornings, 30-minute slots on a
// 15-minute grid, buffers, seats, and n bookings spread from `from` over `days`.
func benchInput(b *testing.B, id, zone string, from time.Time, days, n int) Input {
	loc := mustLoc(b, zone)
	specs := weekdays("08:00", "18:00", BreakSpec{"12:00", "13:00"})
	specs = append(specs, RuleSpec{Weekday: 6, Start: "09:00", End: "13:00"})
	in := Input{
		Helper: Helper{ID: id, Location: loc},
		Config: Config{DurationMinutes: 30, SlotIntervalMinutes: 15, BufferBeforeMinutes: 5, BufferAfterMinutes: 10,
			MinNoticeMinutes: 120, MaxAdvanceDays: 120, Seats: 2, DailyLimit: 30},
		Rules: mustRules(b, specs...),
		Exceptions: []Exception{{Date: DateOf(from, loc).AddDays(10), Closed: true},
			{Date: DateOf(from, loc).AddDays(17), HelperID: id, Start: 600, End: 900}},
		Now: from.Add(-time.Hour),
	}
	span := int64(days) * 24 * 60 / int64(n) // minutes between bookings
	for i := 0; i < n; i++ {
		s := from.Add(time.Duration(int64(i)*span+int64(i*37%60)) * time.Minute).Truncate(15 * time.Minute)
		in.Bookings = append(in.Bookings, Booking{ID: fmt.Sprint(i), Start: s, End: s.Add(30 * time.Minute), Status: StatusConfirmed})
	}
	// Callers hand bookings over in database order, not sorted: reverse them so sorting is measured.
	for i, j := 0, len(in.Bookings)-1; i < j; i, j = i+1, j-1 {
		in.Bookings[i], in.Bookings[j] = in.Bookings[j], in.Bookings[i]
	}
	return in
}

// BenchmarkMonthOneHelper: one helper, one month, 500 bookings (target < 5 ms).
func BenchmarkMonthOneHelper(b *testing.B) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // includes the Berlin spring-forward day
	in := benchInput(b, "h", "Europe/Berlin", from, 31, 500)
	to := from.AddDate(0, 1, 0)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		got, err := Free(in, from, to)
		if err != nil {
			b.Fatal(err)
		}
		n = len(got)
	}
	b.ReportMetric(float64(n), "slots")
}

// BenchmarkTwentyHelpers90Days: 20 helpers in mixed zones, 90 days, 500 bookings each (target < 50 ms).
func BenchmarkTwentyHelpers90Days(b *testing.B) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"}
	var team []Input
	for i := 0; i < 20; i++ {
		team = append(team, benchInput(b, fmt.Sprintf("h%02d", i), zones[i%len(zones)], from, 90, 500))
	}
	to := from.AddDate(0, 0, 90)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		got, err := ForHelpers(team, from, to)
		if err != nil {
			b.Fatal(err)
		}
		n = len(got["h00"])
	}
	b.ReportMetric(float64(n), "slots/helper")
}

// BenchmarkIsBookable is the check inside the booking transaction.
func BenchmarkIsBookable(b *testing.B) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	in := benchInput(b, "h", "Europe/Berlin", from, 31, 500)
	start := time.Date(2026, 3, 18, 14, 15, 0, 0, time.UTC)
	for b.Loop() {
		IsBookable(in, start)
	}
}

// BenchmarkNext finds the first free slot after a fully booked fortnight.
func BenchmarkNext(b *testing.B) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	in := benchInput(b, "h", "Europe/Berlin", from, 31, 500)
	in.Config.DailyLimit = 1
	for b.Loop() {
		if _, ok, err := Next(in, from); err != nil || !ok {
			b.Fatal("no slot", err)
		}
	}
}
