package analytics

import (
	"fmt"
	"sort"
	"time"
)

// Interval is the width of a time-series bucket, counted in the workspace's calendar.
type Interval string

// Intervals of a series.
const (
	Hourly  Interval = "hour"
	Daily   Interval = "day"
	Weekly  Interval = "week" // Monday to Monday
	Monthly Interval = "month"
)

// ParseInterval accepts hour, day, week and month.
func ParseInterval(s string) (Interval, error) {
	switch Interval(s) {
	case Hourly, Daily, Weekly, Monthly:
		return Interval(s), nil
	}
	return "", fmt.Errorf("must be one of hour, day, week, month")
}

// Bucket is one half-open period [Start, End) of a series. Start and End are instants; a local day across a
// DST change is 23 or 25 hours long.
type Bucket struct {
	Start, End time.Time
}

// StartOf is the start of the period of interval that holds t, in loc.
func StartOf(t time.Time, iv Interval, loc *time.Location) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	switch iv {
	case Hourly:
		// Truncating the instant keeps the two 01:00 hours of a fall-back night apart; zones whose offset is
		// not a whole number of hours are aligned on their local hour.
		_, off := t.Zone()
		shift := time.Duration(off) * time.Second
		return t.Add(shift).Truncate(time.Hour).Add(-shift)
	case Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	case Weekly:
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, m, d-wd, 0, 0, 0, 0, loc)
	case Monthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc)
	}
	panic("analytics: unknown interval " + string(iv))
}

// Next is the start of the period after the one starting at start.
func Next(start time.Time, iv Interval, loc *time.Location) time.Time {
	start = start.In(loc)
	y, m, d := start.Date()
	switch iv {
	case Hourly:
		return StartOf(start.Add(time.Hour), Hourly, loc)
	case Daily:
		return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case Weekly:
		return time.Date(y, m, d+7, 0, 0, 0, 0, loc)
	case Monthly:
		return time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	}
	panic("analytics: unknown interval " + string(iv))
}

// MaxBuckets bounds a series so one request cannot ask for millions of hours.
const MaxBuckets = 5000

// Buckets splits [from, to) into the periods of iv in loc. The first bucket starts at the period holding
// from (so a series always shows whole periods); the last one ends at or after to.
func Buckets(from, to time.Time, iv Interval, loc *time.Location) ([]Bucket, error) {
	if !to.After(from) {
		return nil, fmt.Errorf("to must be after from")
	}
	var out []Bucket
	for s := StartOf(from, iv, loc); s.Before(to); {
		e := Next(s, iv, loc)
		out = append(out, Bucket{s, e})
		if len(out) > MaxBuckets {
			return nil, fmt.Errorf("more than %d %s buckets; use a wider interval", MaxBuckets, iv)
		}
		s = e
	}
	return out, nil
}

// Index finds the bucket holding ms (unix milliseconds), or -1.
func Index(bs []Bucket, ms int64) int {
	i := sort.Search(len(bs), func(i int) bool { return bs[i].End.UnixMilli() > ms })
	if i < len(bs) && bs[i].Start.UnixMilli() <= ms {
		return i
	}
	return -1
}

// Day is a civil date in a workspace's zone as days since 1970-01-01 (the rollup's key).
type Day int32

// DayOf is the local civil date of the instant ms.
func DayOf(ms int64, loc *time.Location) Day {
	t := time.UnixMilli(ms).In(loc)
	y, m, d := t.Date()
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Date is the civil date of d.
func (d Day) Date() (int, time.Month, int) { return time.Unix(int64(d)*86400, 0).UTC().Date() }

// Start is local midnight of d in loc.
func (d Day) Start(loc *time.Location) time.Time {
	y, m, dd := d.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// Period numbers a day's day, week (from Monday) or month, so consecutive periods differ by one.
func (d Day) Period(iv Interval) int {
	switch iv {
	case Daily:
		return int(d)
	case Weekly:
		return floorDiv(int(d)+3, 7) // 1970-01-01 was a Thursday
	case Monthly:
		y, m, _ := d.Date()
		return y*12 + int(m) - 1
	}
	panic("analytics: no day periods for " + string(iv))
}

// PeriodStart is the first day of period p of iv.
func PeriodStart(p int, iv Interval) Day {
	switch iv {
	case Daily:
		return Day(p)
	case Weekly:
		return Day(p*7 - 3)
	case Monthly:
		return Day(time.Date(floorDiv(p, 12), time.Month(p-floorDiv(p, 12)*12+1), 1, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}
	panic("analytics: no day periods for " + string(iv))
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
