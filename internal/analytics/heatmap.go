package analytics

import "time"

// SlotMillis is the grain heatmaps are counted at in SQL: every zone offset in use is a multiple of 15
// minutes, so a slot never straddles a local hour.
const SlotMillis = 15 * 60 * 1000

// Heatmap spreads per-slot counts (slot = unix ms / SlotMillis) over 7 weekdays × 24 local hours;
// row 0 is Monday (weekday 1), column h is the local hour h.
func Heatmap(slots map[int64]int64, loc *time.Location) [7][24]int64 {
	var out [7][24]int64
	for slot, n := range slots {
		t := time.UnixMilli(slot * SlotMillis).In(loc)
		wd := (int(t.Weekday()) + 6) % 7
		out[wd][t.Hour()] += n
	}
	return out
}
