package slots

import (
	"sort"
	"time"
)

// Reasons a start time is not bookable, returned by IsBookable. They are stable strings for API answers.
const (
	ReasonInvalidInput = "invalid_input" // Input.Validate fails
	ReasonMinNotice    = "min_notice"    // starts before now + min_notice_minutes
	ReasonMaxAdvance   = "max_advance"   // local date after today + max_advance_days
	ReasonClosed       = "closed"        // no working hours on that local date
	ReasonOutsideHours = "outside_hours" // the slot does not fit inside one working segment
	ReasonOffGrid      = "off_grid"      // inside working hours, but not on the slot_interval grid
	ReasonDailyLimit   = "daily_limit"   // the helper has daily_limit bookings that day
	ReasonConflict     = "conflict"      // overlaps a booking, buffers included
	ReasonFull         = "full"          // every seat of the slot is taken
)

// wallRange is working time [a, b) in wall minutes of one local date.
type wallRange struct{ a, b int }

// held is a booking that holds time, in unix seconds, with the padding the searched tool needs.
type held struct {
	start, end       int64
	padStart, padEnd int64 // conflict window: start-(own before+tool after), end+(own after+tool before)
	seats            int
}

type cand struct{ start, end int64 }

// plan is an Input prepared once per call: rules indexed by weekday with breaks already cut out,
// exceptions indexed by date, held bookings sorted for the sweep.
type plan struct {
	helper     string
	loc        *time.Location
	dur, step  int64 // seconds
	stepMin    int
	seats      int
	dailyLimit int
	earliest   int64 // now + min notice
	last       Date  // last bookable local date
	bounded    bool  // max advance applies
	weekly     [8][]ruleHours
	helperDays map[Date][]Exception
	wsDays     map[Date][]Exception
	byPad      []held  // sorted by padStart, for the conflict sweep
	starts     []int64 // sorted held starts, for daily counts
	scratch    []wallRange
}

type ruleHours struct {
	from, until Date
	pieces      []wallRange
}

func prepare(in Input) (*plan, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := in.Config
	p := &plan{
		helper:     in.Helper.ID,
		loc:        in.Helper.Location,
		dur:        int64(c.DurationMinutes) * 60,
		stepMin:    c.SlotIntervalMinutes,
		seats:      max(c.Seats, 1),
		dailyLimit: c.DailyLimit,
		earliest:   ceilSec(in.Now.Add(time.Duration(c.MinNoticeMinutes) * time.Minute)),
		bounded:    c.MaxAdvanceDays > 0,
	}
	if p.stepMin == 0 {
		p.stepMin = c.DurationMinutes
	}
	p.step = int64(p.stepMin) * 60
	p.last = DateOf(in.Now, p.loc).AddDays(c.MaxAdvanceDays)
	for _, r := range in.Rules {
		p.weekly[r.Weekday] = append(p.weekly[r.Weekday], ruleHours{r.ValidFrom, r.ValidUntil, cutBreaks(nil, r.Start, r.End, r.Breaks)})
	}
	for _, x := range in.Exceptions {
		switch x.HelperID {
		case in.Helper.ID:
			p.helperDays = addException(p.helperDays, x)
		case "":
			p.wsDays = addException(p.wsDays, x)
		}
	}
	toolBefore, toolAfter := int64(c.BufferBeforeMinutes)*60, int64(c.BufferAfterMinutes)*60
	for _, b := range in.Bookings {
		if !HoldsSlot(b.Status) || (in.IgnoreBookingID != "" && b.ID == in.IgnoreBookingID) {
			continue
		}
		own := Buffers{c.BufferBeforeMinutes, c.BufferAfterMinutes}
		if b.Buffers != nil {
			own = *b.Buffers
		}
		h := held{start: floorSec(b.Start), end: ceilSec(b.End), seats: max(b.Seats, 1)}
		h.end = max(h.end, h.start)
		h.padStart = h.start - int64(own.Before)*60 - toolAfter
		h.padEnd = h.end + int64(own.After)*60 + toolBefore
		p.byPad = append(p.byPad, h)
		p.starts = append(p.starts, h.start)
	}
	sort.Slice(p.byPad, func(i, j int) bool { return p.byPad[i].padStart < p.byPad[j].padStart })
	sort.Slice(p.starts, func(i, j int) bool { return p.starts[i] < p.starts[j] })
	return p, nil
}

func addException(m map[Date][]Exception, x Exception) map[Date][]Exception {
	if m == nil {
		m = map[Date][]Exception{}
	}
	m[x.Date] = append(m[x.Date], x)
	return m
}

func floorSec(t time.Time) int64 { return t.Unix() }

func ceilSec(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// cutBreaks appends [start, end) minus breaks to out.
func cutBreaks(out []wallRange, start, end Clock, breaks []Range) []wallRange {
	bs := append([]Range(nil), breaks...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].Start < bs[j].Start })
	cur := int(start)
	for _, b := range bs {
		if int(b.Start) > cur {
			out = append(out, wallRange{cur, int(b.Start)})
		}
		cur = max(cur, int(b.End))
	}
	if cur < int(end) {
		out = append(out, wallRange{cur, int(end)})
	}
	return out
}

// hours returns the merged working segments of local date d (see the package doc for precedence).
func (p *plan) hours(d Date) []wallRange {
	out := p.scratch[:0]
	exceptions := p.helperDays[d]
	if len(exceptions) == 0 {
		exceptions = p.wsDays[d]
	}
	if len(exceptions) > 0 {
		for _, x := range exceptions {
			if x.Closed {
				return nil
			}
		}
		for _, x := range exceptions {
			out = cutBreaks(out, x.Start, x.End, x.Breaks)
		}
	} else {
		for _, r := range p.weekly[d.Weekday()] {
			if (r.from.IsZero() || d.Compare(r.from) >= 0) && (r.until.IsZero() || d.Compare(r.until) <= 0) {
				out = append(out, r.pieces...)
			}
		}
	}
	p.scratch = out
	return mergeRanges(out)
}

// mergeRanges sorts ranges and joins overlapping or touching ones, in place.
func mergeRanges(rs []wallRange) []wallRange {
	if len(rs) < 2 {
		return rs
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].a < rs[j].a })
	n := 0
	for _, r := range rs[1:] {
		if r.a <= rs[n].b {
			rs[n].b = max(rs[n].b, r.b)
			continue
		}
		n++
		rs[n] = r
	}
	return rs[:n+1]
}

// candidates appends the grid starts of one local date that fit inside a working segment, ascending.
func (p *plan) candidates(ld localDay, segs []wallRange, out []cand) []cand {
	first := len(out)
	sorted := true
	for _, sg := range segs {
		segStart, segEnd := ld.boundary(sg.a), ld.boundary(sg.b)
		for w := sg.a; w < sg.b; w += p.stepMin {
			inst, n := ld.starts(w)
			for _, s := range inst[:n] {
				if s < segStart || s+p.dur > segEnd {
					continue
				}
				if k := len(out); k > first && out[k-1].start >= s {
					sorted = false
				}
				out = append(out, cand{s, s + p.dur})
			}
		}
	}
	if !sorted { // only in a fall-back fold, where grid order and time order differ
		day := out[first:]
		sort.Slice(day, func(i, j int) bool { return day[i].start < day[j].start })
	}
	return out
}

// dayCount is the number of held bookings starting on the local day.
func (p *plan) dayCount(ld localDay) int {
	lo := sort.Search(len(p.starts), func(i int) bool { return p.starts[i] >= ld.midnight })
	hi := sort.Search(len(p.starts), func(i int) bool { return p.starts[i] >= ld.next })
	return hi - lo
}

// sweep walks held bookings alongside candidates in start order. Every candidate has the same length,
// so both its start and its end only grow: a booking enters the active set once its padded start is
// before the candidate's end and leaves for good once its padded end is not after the candidate's start.
// A month of candidates against all bookings is one pass, not slots x bookings.
type sweep struct {
	books  []held
	next   int
	active []held
}

func (sw *sweep) seatsTaken(c cand) (taken int, blocked bool) {
	for sw.next < len(sw.books) && sw.books[sw.next].padStart < c.end {
		sw.active = append(sw.active, sw.books[sw.next])
		sw.next++
	}
	keep := sw.active[:0]
	for _, b := range sw.active {
		if b.padEnd <= c.start {
			continue
		}
		keep = append(keep, b)
		if b.start == c.start && b.end == c.end {
			taken += b.seats
		} else {
			blocked = true
		}
	}
	sw.active = keep
	return taken, blocked
}

// judge decides one candidate of local date d. Listing and booking both end here.
func (p *plan) judge(sw *sweep, d Date, dayCount int, c cand) (reason string, seatsLeft int) {
	if c.start < p.earliest {
		return ReasonMinNotice, 0
	}
	if p.bounded && d.Compare(p.last) > 0 {
		return ReasonMaxAdvance, 0
	}
	if p.dailyLimit > 0 && dayCount >= p.dailyLimit {
		return ReasonDailyLimit, 0
	}
	taken, blocked := sw.seatsTaken(c)
	if blocked {
		return ReasonConflict, 0
	}
	if taken >= p.seats {
		return ReasonFull, 0
	}
	return "", p.seats - taken
}

func (p *plan) slot(c cand, seatsLeft int) Slot {
	return Slot{Start: time.Unix(c.start, 0).UTC(), End: time.Unix(c.end, 0).UTC(), Helper: p.helper, SeatsLeft: seatsLeft}
}

// walk calls fn for each free slot with from <= start < to, in start order, until fn returns false.
func (p *plan) walk(from, to int64, fn func(c cand, seatsLeft int) bool) {
	if to <= from {
		return
	}
	d := DateOf(time.Unix(max(from, p.earliest), 0), p.loc)
	end := DateOf(time.Unix(to-1, 0), p.loc)
	if p.bounded && end.Compare(p.last) > 0 {
		end = p.last
	}
	sw := sweep{books: p.byPad}
	var buf []cand
	for ; d.Compare(end) <= 0; d = d.AddDays(1) {
		segs := p.hours(d)
		if len(segs) == 0 {
			continue
		}
		ld := newLocalDay(p.loc, d)
		buf = p.candidates(ld, segs, buf[:0])
		count := p.dayCount(ld)
		for _, c := range buf {
			if c.start < from || c.start >= to {
				continue
			}
			if reason, left := p.judge(&sw, d, count, c); reason == "" && !fn(c, left) {
				return
			}
		}
	}
}

// check judges one exact start instant with the same steps as walk, and also says why a start that is
// not a candidate at all is refused.
func (p *plan) check(start time.Time) (Slot, string, int) {
	s := start.Unix()
	d := DateOf(start, p.loc)
	ld := newLocalDay(p.loc, d)
	count := p.dayCount(ld)
	switch {
	case s < p.earliest:
		return Slot{}, ReasonMinNotice, count
	case p.bounded && d.Compare(p.last) > 0:
		return Slot{}, ReasonMaxAdvance, count
	}
	segs := p.hours(d)
	if len(segs) == 0 {
		return Slot{}, ReasonClosed, count
	}
	sw := sweep{books: p.byPad}
	for _, c := range p.candidates(ld, segs, nil) {
		reason, left := p.judge(&sw, d, count, c)
		if c.start == s && start.Nanosecond() == 0 {
			if reason != "" {
				return Slot{}, reason, count
			}
			return p.slot(c, left), "", count
		}
	}
	for _, sg := range segs {
		if s >= ld.boundary(sg.a) && s+p.dur <= ld.boundary(sg.b) {
			return Slot{}, ReasonOffGrid, count
		}
	}
	return Slot{}, ReasonOutsideHours, count
}
