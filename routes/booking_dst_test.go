package routes_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
)

// nextTransition finds the next daylight-saving change of loc after t: spring (clocks forward) or fall.
// The tests look it up instead of naming dates, so they keep testing a real transition whenever they run.
func nextTransition(t *testing.T, loc *time.Location, after time.Time, spring bool) time.Time {
	t.Helper()
	cur := after
	for range 10 {
		_, end := cur.In(loc).ZoneBounds()
		if end.IsZero() {
			break
		}
		_, before := cur.In(loc).Zone()
		_, afterOff := end.In(loc).Zone()
		if (afterOff > before) == spring {
			return end
		}
		cur = end.Add(time.Second)
	}
	t.Fatalf("%s has no transition after %s", loc, after)
	return time.Time{}
}

// localSlots renders a slot list as "HH:MM±hh:mm" local starts.
func localSlots(list []map[string]any) string {
	var out []string
	for _, s := range list {
		ls := str(s, "local_start")
		out = append(out, ls[11:16]+ls[19:])
	}
	return strings.Join(out, " ")
}

func dstWorld(t *testing.T, zone string) (*bookingWorld, string, string, *time.Location) {
	bw := newBookingWorld(t)
	tool := bw.tool("Night shift "+zone, map[string]any{"min_notice_minutes": 0, "max_advance_days": 400})
	helper := bw.helper("Dana", zone, tool)
	// 01:00-04:00 spans every transition hour in use; 13:00-14:00 catches afternoon shifts (cal.com#30021).
	coll, _ := bw.app.FindCollectionByNameOrId(collections.Availability)
	for wd := 1; wd <= 7; wd++ {
		for _, hours := range [][2]string{{"01:00", "04:00"}, {"13:00", "14:00"}} {
			r := core.NewRecord(coll)
			r.Set("workspace", bw.w.Acme)
			r.Set("helper", helper)
			r.Set("weekday", wd)
			r.Set("start", hours[0])
			r.Set("end", hours[1])
			if err := bw.app.Save(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	loc, _ := time.LoadLocation(zone)
	return bw, tool, helper, loc
}

func (bw *bookingWorld) daySlots(tool, helper string, date time.Time, tz string) []map[string]any {
	d := date.Format("2006-01-02")
	return slotsOf(bw.t, bw.do("GET", "/api/v1/bookings/slots?tool="+tool+"&helper="+helper+"&from="+d+"&to="+d+"&tz="+url.QueryEscape(tz), "", bw.key()))
}

func TestSlotsAcrossDSTInBerlin(t *testing.T) {
	bw, tool, helper, loc := dstWorld(t, "Europe/Berlin")
	spring := nextTransition(t, loc, time.Now().Add(48*time.Hour), true).In(loc)
	if got := localSlots(bw.daySlots(tool, helper, spring, "Europe/Berlin")); got != "01:00+01:00 01:30+01:00 03:00+02:00 03:30+02:00 13:00+02:00 13:30+02:00" {
		t.Fatalf("spring-forward day %s: %s", spring.Format("2006-01-02"), got)
	}
	if got := localSlots(bw.daySlots(tool, helper, spring.AddDate(0, 0, -1), "Europe/Berlin")); got != "01:00+01:00 01:30+01:00 02:00+01:00 02:30+01:00 03:00+01:00 03:30+01:00 13:00+01:00 13:30+01:00" {
		t.Fatalf("day before spring-forward: %s", got)
	}
	list := bw.daySlots(tool, helper, spring, "Europe/Berlin")
	if str(list[4], "start") != spring.Format("2006-01-02")+"T11:00:00Z" {
		t.Fatalf("13:00 CEST is 11:00Z, got %s", str(list[4], "start"))
	}

	fall := nextTransition(t, loc, time.Now().Add(48*time.Hour), false).In(loc)
	list = bw.daySlots(tool, helper, fall, "Europe/Berlin")
	if got := localSlots(list); got != "01:00+02:00 01:30+02:00 02:00+02:00 02:30+02:00 02:00+01:00 02:30+01:00 03:00+01:00 03:30+01:00 13:00+01:00 13:30+01:00" {
		t.Fatalf("fall-back day %s: %s", fall.Format("2006-01-02"), got)
	}
	// The second 02:00 (CET) is its own bookable slot, one hour after the first.
	second, _ := time.Parse(time.RFC3339, str(list[4], "start"))
	first, _ := time.Parse(time.RFC3339, str(list[2], "start"))
	if second.Sub(first) != time.Hour {
		t.Fatalf("the two 02:00s are %s apart", second.Sub(first))
	}
	res := bw.book(tool, helper, second, "42")
	if res.Status != 201 || !strings.HasSuffix(str(obj(t, res.Body), "local_start"), "T02:00:00+01:00") {
		t.Fatalf("booking the repeated 02:00: %d %s", res.Status, res.Body)
	}
	if got := localSlots(bw.daySlots(tool, helper, fall, "Europe/Berlin")); !strings.Contains(got, "02:00+02:00") || strings.Contains(got, "02:00+01:00") {
		t.Fatalf("after booking the second 02:00: %s", got)
	}
	// 02:30 local does not exist on the spring day: the instant written as 02:30+01:00 is 03:30 CEST.
	gap := time.Date(spring.Year(), spring.Month(), spring.Day(), 1, 30, 0, 0, time.UTC) // 02:30+01:00
	if res := bw.book(tool, helper, gap, "44"); res.Status != 201 || !strings.HasSuffix(str(obj(t, res.Body), "local_start"), "T03:30:00+02:00") {
		t.Fatalf("02:30+01:00 on the spring day is 03:30 CEST: %d %s", res.Status, res.Body)
	}
}

func TestSlotsAcrossDSTInNewYork(t *testing.T) {
	bw, tool, helper, loc := dstWorld(t, "America/New_York")
	spring := nextTransition(t, loc, time.Now().Add(48*time.Hour), true).In(loc)
	if got := localSlots(bw.daySlots(tool, helper, spring, "America/New_York")); got != "01:00-05:00 01:30-05:00 03:00-04:00 03:30-04:00 13:00-04:00 13:30-04:00" {
		t.Fatalf("spring-forward day %s: %s", spring.Format("2006-01-02"), got)
	}
	fall := nextTransition(t, loc, time.Now().Add(48*time.Hour), false).In(loc)
	if got := localSlots(bw.daySlots(tool, helper, fall, "America/New_York")); got != "01:00-04:00 01:30-04:00 01:00-05:00 01:30-05:00 02:00-05:00 02:30-05:00 03:00-05:00 03:30-05:00 13:00-05:00 13:30-05:00" {
		t.Fatalf("fall-back day %s: %s", fall.Format("2006-01-02"), got)
	}
	// A date exception in a negative-offset zone lands on its own local date, not the UTC one.
	next := fall.AddDate(0, 0, 1)
	coll, _ := bw.app.FindCollectionByNameOrId(collections.AvailabilityExceptions)
	x := core.NewRecord(coll)
	x.Set("workspace", bw.w.Acme)
	x.Set("helper", helper)
	x.Set("date", next.Format("2006-01-02"))
	x.Set("start", "20:00")
	x.Set("end", "21:00")
	if err := bw.app.Save(x); err != nil {
		t.Fatal(err)
	}
	list := bw.daySlots(tool, helper, next, "America/New_York")
	if got := localSlots(list); got != "20:00-05:00 20:30-05:00" || !strings.HasPrefix(str(list[0], "start"), next.AddDate(0, 0, 1).Format("2006-01-02")+"T01:00:00Z") {
		t.Fatalf("custom hours 20:00-21:00 on %s: %s %v", next.Format("2006-01-02"), got, list)
	}
	if got := localSlots(bw.daySlots(tool, helper, next.AddDate(0, 0, 1), "America/New_York")); got != "01:00-05:00 01:30-05:00 02:00-05:00 02:30-05:00 03:00-05:00 03:30-05:00 13:00-05:00 13:30-05:00" {
		t.Fatalf("the day after the exception is a normal day: %s", got)
	}
}

func TestHalfHourZoneAndBookerInAnotherZone(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Consult", map[string]any{"min_notice_minutes": 0})
	helper := bw.helper("Ira", "Asia/Kolkata", tool)
	bw.hours(helper, "09:00", "10:00")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	newYork, _ := time.LoadLocation("America/New_York")
	d := time.Now().In(kolkata).AddDate(0, 0, 10)
	date := d.Format("2006-01-02")

	list := bw.daySlots(tool, helper, d, "Asia/Kolkata")
	if got := localSlots(list); got != "09:00+05:30 09:30+05:30" || str(list[0], "start") != date+"T03:30:00Z" {
		t.Fatalf("Kolkata: %s %v", got, list)
	}
	// The same slots for a booker in New York: the evening before, in their own offset.
	from := url.QueryEscape(date + "T00:00:00+05:30")
	res := bw.do("GET", "/api/v1/bookings/slots?tool="+tool+"&helper="+helper+"&from="+from+"&to="+url.QueryEscape(date+"T23:59:00+05:30")+"&tz=America/New_York", "", bw.key())
	list = slotsOf(t, res)
	start, _ := time.Parse(time.RFC3339, str(list[0], "start"))
	want := start.In(newYork).Format(time.RFC3339)
	if len(list) != 2 || str(list[0], "local_start") != want || !strings.HasPrefix(want, d.AddDate(0, 0, -1).Format("2006-01-02")+"T") {
		t.Fatalf("booker in New York: %v (want %s)", list, want)
	}
	res = bw.book(tool, helper, start, "9", `,"tz":"America/New_York"`)
	b := obj(t, res.Body)
	if res.Status != 201 || str(b, "local_start") != want || str(b, "tz") != "America/New_York" {
		t.Fatalf("booking from New York: %d %s", res.Status, res.Body)
	}
	if res := bw.book(tool, helper, start.Add(15*time.Minute), "10"); res.Status != 409 || !strings.Contains(res.Body, `"reason":"off_grid"`) {
		t.Fatalf("a quarter-hour start in a half-hour zone: %d %s", res.Status, res.Body)
	}
}
