package slots

import (
	"fmt"
	"sort"
	"time"
)

// Free returns the helper's free slots with from <= Start < to, sorted by Start. It is the availability
// computation; IsBookable, Next, Nearest, ForHelpers and PickHelper all run through the same steps.
// The error is FieldErrors: bad Input fields, or a from/to range that is reversed or longer than
// MaxRangeDays (field "to").
func Free(in Input, from, to time.Time) ([]Slot, error) {
	p, err := prepare(in)
	if err != nil {
		return nil, err
	}
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	return p.collect(ceilSec(from), ceilSec(to)), nil
}

// collect gathers walk's slots into pointer-free records first and builds the []Slot once at its
// exact size: for a team over months this halves the time, most of which was slice growth and GC.
func (p *plan) collect(from, to int64) []Slot {
	type found struct {
		start int64
		left  int
	}
	var fs []found
	p.walk(from, to, func(c cand, left int) bool {
		fs = append(fs, found{c.start, left})
		return true
	})
	if len(fs) == 0 {
		return nil
	}
	out := make([]Slot, len(fs))
	for i, f := range fs {
		out[i] = p.slot(cand{f.start, f.start + p.dur}, f.left)
	}
	return out
}

func checkRange(from, to time.Time) error {
	switch {
	case from.IsZero():
		return FieldErrors{fieldErr("from", CodeRequired, "is required")}
	case to.IsZero():
		return FieldErrors{fieldErr("to", CodeRequired, "is required")}
	case to.Before(from):
		return FieldErrors{fieldErr("to", CodeOrder, "must not be before from")}
	case to.Sub(from) > MaxRangeDays*24*time.Hour:
		return FieldErrors{fieldErr("to", CodeOutOfRange, "must be at most %d days after from", MaxRangeDays)}
	}
	return nil
}

// IsBookable decides whether a booking may start at start, for the check inside the booking
// transaction. It runs the same computation as Free over start's local day, so a listed slot is
// bookable and an unlisted one is refused. reason is one of the Reason constants when ok is false.
func IsBookable(in Input, start time.Time) (ok bool, reason string) {
	p, err := prepare(in)
	if err != nil {
		return false, ReasonInvalidInput
	}
	_, reason, _ = p.check(start)
	return reason == "", reason
}

// searchHorizon bounds Next and Nearest when max_advance_days is 0 (no limit).
const searchHorizon = 366 * 24 * time.Hour

// Next returns the first free slot starting at or after after, walking day by day and stopping at the
// first hit; without a max advance it looks one year past after.
func Next(in Input, after time.Time) (Slot, bool, error) {
	p, err := prepare(in)
	if err != nil {
		return Slot{}, false, err
	}
	var found Slot
	ok := false
	p.walk(ceilSec(after), p.horizon(after), func(c cand, left int) bool {
		found, ok = p.slot(c, left), true
		return false
	})
	return found, ok, nil
}

// horizon is the unix second after which nothing can be bookable, for searches from t.
func (p *plan) horizon(t time.Time) int64 {
	if p.bounded {
		return newLocalDay(p.loc, p.last).next
	}
	return t.Add(searchHorizon).Unix()
}

// Nearest returns up to n free slots closest to t (ties go to the earlier slot), sorted by Start:
// the alternatives offered when a requested time is taken. It widens a window around t until the n-th
// nearest slot is provably inside it or nothing bookable lies outside it.
func Nearest(in Input, t time.Time, n int) ([]Slot, error) {
	p, err := prepare(in)
	if err != nil || n <= 0 {
		return nil, err
	}
	target := t.Unix()
	dist := func(s Slot) int64 {
		d := s.Start.Unix() - target
		if d < 0 {
			return -d
		}
		return d
	}
	horizon := p.horizon(t)
	for w := int64(86400); ; w *= 4 {
		lo, hi := target-w, target+w
		got := p.collect(lo, min(hi, horizon))
		sort.SliceStable(got, func(i, j int) bool { return dist(got[i]) < dist(got[j]) }) // stable keeps earlier first on ties
		covered := lo <= p.earliest && hi >= horizon
		if len(got) >= n && dist(got[n-1]) < w || covered {
			got = got[:min(n, len(got))]
			sort.Slice(got, func(i, j int) bool { return got[i].Start.Before(got[j].Start) })
			return got, nil
		}
	}
}

// ForHelpers runs Free for each helper of a team over the same range and returns the slots keyed by
// helper id. Errors name the team member ("team.2.rules.0.end").
func ForHelpers(team []Input, from, to time.Time) (map[string][]Slot, error) {
	out := make(map[string][]Slot, len(team))
	for i, in := range team {
		if _, dup := out[in.Helper.ID]; dup {
			return nil, FieldErrors{fieldErr(fmt.Sprintf("team.%d.helper.id", i), CodeDuplicate, "helper %q appears twice", in.Helper.ID)}
		}
		slots, err := Free(in, from, to)
		if err != nil {
			var es FieldErrors
			es.add(fmt.Sprintf("team.%d.", i), err)
			return nil, es
		}
		out[in.Helper.ID] = slots
	}
	return out, nil
}

// AnyHelper merges per-helper slots into the list shown for "any helper": one slot per distinct
// start and end, Helper empty, SeatsLeft summed over the helpers free then. Sorted by Start.
func AnyHelper(perHelper map[string][]Slot) []Slot {
	type key struct{ start, end int64 }
	seats := map[key]int{}
	for _, list := range perHelper {
		for _, s := range list {
			seats[key{s.Start.Unix(), s.End.Unix()}] += s.SeatsLeft
		}
	}
	out := make([]Slot, 0, len(seats))
	for k, n := range seats {
		out = append(out, Slot{Start: time.Unix(k.start, 0).UTC(), End: time.Unix(k.end, 0).UTC(), SeatsLeft: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Start.Equal(out[j].Start) {
			return out[i].End.Before(out[j].End)
		}
		return out[i].Start.Before(out[j].Start)
	})
	return out
}

// PickHelper chooses who takes a "helper=any" booking at start: among the team members for whom the
// start is bookable, the one with the fewest held bookings on their local day of start, ties broken by
// the smaller helper id so that retries pick the same person. ok is false when nobody is free.
func PickHelper(team []Input, start time.Time) (Slot, bool) {
	var best Slot
	bestCount := -1
	for _, in := range team {
		p, err := prepare(in)
		if err != nil {
			continue
		}
		s, reason, count := p.check(start)
		if reason != "" {
			continue
		}
		if bestCount < 0 || count < bestCount || (count == bestCount && s.Helper < best.Helper) {
			best, bestCount = s, count
		}
	}
	return best, bestCount >= 0
}
