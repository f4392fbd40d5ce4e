package analytics

import "fmt"

// RetentionMode says what a return in period i means.
type RetentionMode string

// Retention modes.
const (
	// On counts contacts with a return event in exactly the i-th period after their cohort's.
	On RetentionMode = "on"
	// OnOrAfter counts contacts with a return event in the i-th period or any later one.
	OnOrAfter RetentionMode = "on_or_after"
)

// ParseMode accepts on and on_or_after.
func ParseMode(s string) (RetentionMode, error) {
	switch RetentionMode(s) {
	case On, OnOrAfter:
		return RetentionMode(s), nil
	case "":
		return On, nil
	}
	return "", fmt.Errorf("must be on or on_or_after")
}

// RetentionSpec is a retention table's shape. Cohorts are the periods from the one holding FromDay to the one
// holding ToDay; each has Periods values, cut at the period holding Today (later ones have not happened).
type RetentionSpec struct {
	Period         Interval // day, week or month
	Periods        int
	FromDay, ToDay Day
	Today          Day
	Mode           RetentionMode
}

// Cohort is one row: the contacts whose first cohort event fell in the period starting at Start. Values[0] is
// the cohort's size and Values[i] the contacts that returned i periods later (or later, for on_or_after).
type Cohort struct {
	Start  Day
	Size   int
	Values []int
}

// Retention builds the table from each contact's first cohort day and the days of its return events; contacts
// are keyed by anything comparable (their ids, or numbers standing for them).
func Retention[K comparable](first map[K]Day, returns map[K][]Day, s RetentionSpec) []Cohort {
	p0, p1, now := s.FromDay.Period(s.Period), s.ToDay.Period(s.Period), s.Today.Period(s.Period)
	if p1 < p0 {
		return nil
	}
	out := make([]Cohort, p1-p0+1)
	for i := range out {
		p := p0 + i
		n := s.Periods
		if avail := now - p + 1; avail < n {
			n = max(avail, 0)
		}
		out[i] = Cohort{Start: PeriodStart(p, s.Period), Values: make([]int, n)}
	}
	for contact, d := range first {
		p := d.Period(s.Period)
		if d < s.FromDay || d > s.ToDay || p < p0 || p > p1 {
			continue
		}
		c := &out[p-p0]
		c.Size++
		if len(c.Values) == 0 {
			continue
		}
		c.Values[0]++
		seen := make([]bool, len(c.Values))
		last := -1
		for _, rd := range returns[contact] {
			i := rd.Period(s.Period) - p
			if i >= 1 && i < len(seen) {
				seen[i] = true
			}
			if i >= 1 && i > last {
				last = i
			}
		}
		for i := 1; i < len(c.Values); i++ {
			if (s.Mode == OnOrAfter && last >= i) || (s.Mode != OnOrAfter && seen[i]) {
				c.Values[i]++
			}
		}
	}
	return out
}
