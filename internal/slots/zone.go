package slots

import (
	"time"
)

// Instants are unix seconds inside the engine: comparisons in the hot loops stay integer compares.

func offsetAt(loc *time.Location, unix int64) int64 {
	_, off := time.Unix(unix, 0).In(loc).Zone()
	return int64(off)
}

// wallInstants returns the instants whose wall clock in loc reads date d, minute w (w may be 1440, the
// next midnight), ascending: none in a spring-forward gap, two in a fall-back fold. time.Date does not
// promise which instant it picks in those cases, so every candidate offset is tried and round-tripped.
// It assumes at most one offset change within a day either side, true of every zone in use today.
func wallInstants(loc *time.Location, d Date, w int) (out [2]int64, n int, gapEnd int64) {
	naive := time.Date(d.Year, d.Month, d.Day, 0, w, 0, 0, time.UTC).Unix()
	before := offsetAt(loc, naive-86400)
	offs := [3]int64{before, offsetAt(loc, naive), offsetAt(loc, naive+86400)}
	for i, o := range offs {
		if (i > 0 && o == offs[0]) || (i == 2 && o == offs[1]) {
			continue
		}
		if cand := naive - o; offsetAt(loc, cand) == o && n < 2 {
			out[n] = cand
			n++
		}
	}
	if n == 2 && out[1] < out[0] {
		out[0], out[1] = out[1], out[0]
	}
	if n == 0 {
		// Read with the offset before the gap, the wall time lands just after the jump; the zone period
		// containing that instant starts at the jump.
		start, _ := time.Unix(naive-before, 0).In(loc).ZoneBounds()
		gapEnd = start.Unix()
	}
	return out, n, gapEnd
}

// boundary maps a wall-clock boundary to an instant: the first occurrence in a fold, the jump in a gap.
func boundary(loc *time.Location, d Date, w int) int64 {
	inst, n, gapEnd := wallInstants(loc, d, w)
	if n == 0 {
		return gapEnd
	}
	return inst[0]
}

// localDay converts wall minutes of one local date to instants, with a fast path for the ~363 days a
// year on which the offset does not change.
type localDay struct {
	loc            *time.Location
	date           Date
	midnight, next int64 // the day is [midnight, next)
	uniform        bool  // one offset all day: instant = midnight + 60*w
}

func newLocalDay(loc *time.Location, d Date) localDay {
	ld := localDay{loc: loc, date: d, midnight: boundary(loc, d, 0), next: boundary(loc, d.AddDays(1), 0)}
	if ld.next-ld.midnight == 86400 {
		_, end := time.Unix(ld.midnight, 0).In(loc).ZoneBounds()
		ld.uniform = end.IsZero() || end.Unix() >= ld.next
	}
	return ld
}

func (ld localDay) boundary(w int) int64 {
	if ld.uniform {
		return ld.midnight + int64(w)*60
	}
	return boundary(ld.loc, ld.date, w)
}

// starts returns the slot-start instants of grid time w: none in a gap, both occurrences in a fold.
func (ld localDay) starts(w int) ([2]int64, int) {
	if ld.uniform {
		return [2]int64{ld.midnight + int64(w)*60}, 1
	}
	inst, n, _ := wallInstants(ld.loc, ld.date, w)
	return inst, n
}
