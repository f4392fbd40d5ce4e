package analytics

import (
	"testing"
	"time"
)

func berlin(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDayBucketsAcrossDST(t *testing.T) {
	loc := berlin(t)
	from := time.Date(2026, 3, 28, 12, 0, 0, 0, loc)
	to := time.Date(2026, 3, 31, 0, 0, 0, 0, loc)
	bs, err := Buckets(from, to, Daily, loc)
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{24 * time.Hour, 23 * time.Hour, 24 * time.Hour}
	if len(bs) != 3 {
		t.Fatalf("buckets %v", bs)
	}
	for i, b := range bs {
		if b.End.Sub(b.Start) != want[i] || b.Start.In(loc).Hour() != 0 {
			t.Fatalf("bucket %d: %v..%v", i, b.Start.In(loc), b.End.In(loc))
		}
	}
	// Autumn: the 25-hour day and two local 02:00 hours.
	bs, _ = Buckets(time.Date(2026, 10, 25, 0, 0, 0, 0, loc), time.Date(2026, 10, 26, 0, 0, 0, 0, loc), Daily, loc)
	if len(bs) != 1 || bs[0].End.Sub(bs[0].Start) != 25*time.Hour {
		t.Fatalf("25h day: %v", bs)
	}
	hs, _ := Buckets(time.Date(2026, 10, 25, 0, 0, 0, 0, loc), time.Date(2026, 10, 26, 0, 0, 0, 0, loc), Hourly, loc)
	if len(hs) != 25 || hs[2].Start.In(loc).Hour() != 2 || hs[3].Start.In(loc).Hour() != 2 {
		t.Fatalf("hours of the 25h day: %d", len(hs))
	}
	hs, _ = Buckets(time.Date(2026, 3, 29, 0, 0, 0, 0, loc), time.Date(2026, 3, 30, 0, 0, 0, 0, loc), Hourly, loc)
	if len(hs) != 23 || hs[2].Start.In(loc).Hour() != 3 {
		t.Fatalf("hours of the 23h day: %d", len(hs))
	}
}

func TestWeekAndMonthBuckets(t *testing.T) {
	loc := berlin(t)
	bs, _ := Buckets(time.Date(2026, 3, 25, 15, 0, 0, 0, loc), time.Date(2026, 4, 2, 0, 0, 0, 0, loc), Weekly, loc)
	if len(bs) != 2 || bs[0].Start.In(loc).Weekday() != time.Monday || bs[0].Start.In(loc).Day() != 23 ||
		bs[0].End.Sub(bs[0].Start) != 7*24*time.Hour-time.Hour {
		t.Fatalf("weeks: %v", bs)
	}
	bs, _ = Buckets(time.Date(2026, 1, 31, 23, 0, 0, 0, loc), time.Date(2026, 3, 1, 0, 0, 0, 0, loc), Monthly, loc)
	if len(bs) != 2 || bs[0].Start.In(loc).Month() != time.January || bs[1].End.In(loc).Month() != time.March {
		t.Fatalf("months: %v", bs)
	}
	if i := Index(bs, time.Date(2026, 2, 1, 0, 0, 0, 0, loc).UnixMilli()); i != 1 {
		t.Fatalf("index of Feb 1 local midnight = %d", i)
	}
	if i := Index(bs, time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC).UnixMilli()); i != 1 {
		t.Fatalf("00:30 Berlin on Feb 1 is in February: %d", i)
	}
	if _, err := Buckets(bs[0].Start, bs[0].Start, Daily, loc); err == nil {
		t.Fatal("empty range accepted")
	}
	if _, err := Buckets(time.Unix(0, 0), time.Unix(0, 0).AddDate(2, 0, 0), Hourly, loc); err == nil {
		t.Fatal("two years of hours accepted")
	}
}

func TestDayPeriods(t *testing.T) {
	loc := berlin(t)
	// 23:30 UTC on Sunday 2026-03-29 is Monday 01:30 in Berlin.
	d := DayOf(time.Date(2026, 3, 29, 23, 30, 0, 0, time.UTC).UnixMilli(), loc)
	if y, m, dd := d.Date(); y != 2026 || m != 3 || dd != 30 {
		t.Fatalf("local day %d-%d-%d", y, m, dd)
	}
	if ws := PeriodStart(d.Period(Weekly), Weekly); ws != d {
		t.Fatalf("week of a Monday starts on %v, not itself", ws)
	}
	if PeriodStart(d.Period(Monthly), Monthly) != d-29 || d.Period(Weekly)-(d-1).Period(Weekly) != 1 {
		t.Fatal("month or week numbering")
	}
	for p := -30; p < 30; p++ {
		for _, iv := range []Interval{Daily, Weekly, Monthly} {
			if PeriodStart(p, iv).Period(iv) != p || (PeriodStart(p, iv)-1).Period(iv) != p-1 {
				t.Fatalf("%s period %d does not round-trip", iv, p)
			}
		}
	}
}

func TestQuantileAndReduce(t *testing.T) {
	if m := Median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Fatalf("median %v", m)
	}
	xs := make([]float64, 0, 11)
	for i := 10; i >= 0; i-- {
		xs = append(xs, float64(i*10))
	}
	if p := Quantile(xs, 0.9); p != 90 {
		t.Fatalf("p90 %v", p)
	}
	if Reduce(AggAvg, nil) != nil || *Reduce(AggSum, nil) != 0 || *Reduce(AggAvg, []float64{1, 2}) != 1.5 || *Reduce(AggCount, []float64{1, 2}) != 2 {
		t.Fatal("reduce")
	}
}

func TestHeatmapLocalHours(t *testing.T) {
	loc := berlin(t)
	at := func(t time.Time) int64 { return t.UnixMilli() / SlotMillis }
	slots := map[int64]int64{
		at(time.Date(2026, 7, 6, 7, 15, 0, 0, time.UTC)):  2, // Monday 09:15 CEST
		at(time.Date(2026, 1, 4, 23, 45, 0, 0, time.UTC)): 1, // Monday 00:45 CET (Sunday in UTC)
		at(time.Date(2026, 1, 4, 22, 45, 0, 0, time.UTC)): 5, // Sunday 23:45 CET
	}
	h := Heatmap(slots, loc)
	if h[0][9] != 2 || h[0][0] != 1 || h[6][23] != 5 {
		t.Fatalf("heatmap %v", h)
	}
}

func TestAttribution(t *testing.T) {
	day := int64(86400000)
	touches := []Touch{
		{"a", 1 * day, "spring", "instagram"},
		{"a", 5 * day, "summer", "qr"},
		{"b", 1 * day, "spring", ""},
	}
	purchases := []Purchase{
		{"a", 6 * day, 100, "EUR"},
		{"a", 20 * day, 50, "EUR"}, // both touches are older than the window
		{"b", 2 * day, 30, "USD"},
	}
	got := Attribute(purchases, touches, FirstTouch, 7*day, false, map[string]float64{"spring": 50})
	want := map[string]Credit{"spring/EUR": {Purchases: 1, Revenue: 100}, "(none)/EUR": {Purchases: 1, Revenue: 50}, "spring/USD": {Purchases: 1, Revenue: 30}}
	if len(got) != 3 {
		t.Fatalf("credits %+v", got)
	}
	for _, c := range got {
		w, ok := want[c.Key+"/"+c.Currency]
		if !ok || w.Purchases != c.Purchases || w.Revenue != c.Revenue {
			t.Fatalf("credit %+v", c)
		}
		if c.Key == "spring" && c.Currency == "EUR" && (c.ROI == nil || *c.ROI != 1) {
			t.Fatalf("roi %+v", c)
		}
	}
	last := Attribute(purchases[:1], touches, LastTouch, 7*day, false, nil)
	if len(last) != 1 || last[0].Key != "summer" {
		t.Fatalf("last touch %+v", last)
	}
	ch := Attribute(purchases[2:], touches, LastTouch, 7*day, true, nil)
	if len(ch) != 1 || ch[0].Key != Unattributed {
		t.Fatalf("channel attribution skips touches without a channel: %+v", ch)
	}
}

func TestScheduleNextRun(t *testing.T) {
	loc := berlin(t)
	after := time.Date(2026, 3, 27, 9, 0, 0, 0, loc) // a Friday
	daily := Schedule{Frequency: "daily", Hour: 8, Min: 30}
	if got := daily.NextRun(after, loc); !got.Equal(time.Date(2026, 3, 28, 8, 30, 0, 0, loc)) {
		t.Fatalf("daily: %v", got)
	}
	weekly := Schedule{Frequency: "weekly", Hour: 7, Weekday: 1}
	got := weekly.NextRun(after, loc)
	if got.In(loc).Weekday() != time.Monday || got.In(loc).Hour() != 7 || got.In(loc).Day() != 30 {
		t.Fatalf("weekly: %v", got.In(loc))
	}
	if got.Sub(after) != 70*time.Hour-time.Hour { // the clocks went forward on Sunday
		t.Fatalf("weekly across DST: %v", got.Sub(after))
	}
	monthly := Schedule{Frequency: "monthly", Hour: 6, DayOfMonth: 1}
	if got := monthly.NextRun(after, loc); !got.Equal(time.Date(2026, 4, 1, 6, 0, 0, 0, loc)) {
		t.Fatalf("monthly: %v", got)
	}
	if h, m, err := ParseClock("23:05"); err != nil || h != 23 || m != 5 {
		t.Fatal("clock")
	}
	if _, _, err := ParseClock("24:00"); err == nil {
		t.Fatal("24:00 accepted")
	}
}
