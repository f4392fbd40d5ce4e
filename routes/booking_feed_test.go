package routes_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
)

func TestHelperCalendarFeed(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Beratung, lang; mit Ümlauten", nil)
	anna := bw.helper("Anna", "Europe/Berlin", tool)
	bw.hours(anna, "09:00", "17:00")
	d := day(11)
	a := obj(t, bw.book(tool, anna, d.Add(9*time.Hour), "1", `,"notes":"`+strings.Repeat("Lange Notiz mit Umlauten äöü und Kommas, ", 4)+`"`).Body)
	b := obj(t, bw.book(tool, anna, d.Add(11*time.Hour), "2").Body)
	bw.do("POST", "/api/v1/bookings/"+str(b, "id")+"/cancel", `{}`, bw.w.Manager.Headers)

	if res := bw.do("POST", "/api/v1/helpers/"+anna+"/calendar-token", "", bw.w.Viewer.Headers); res.Status != 403 {
		t.Fatalf("a viewer rotates the token: %d", res.Status)
	}
	if res := bw.do("POST", "/api/v1/helpers/"+anna+"/calendar-token", "", bw.w.GlobexAdmin.Headers); res.Status != 404 {
		t.Fatalf("another workspace rotates the token: %d", res.Status)
	}
	res := bw.do("POST", "/api/v1/helpers/"+anna+"/calendar-token", "", bw.w.Manager.Headers)
	feedURL := str(obj(t, res.Body), "feed_url")
	if res.Status != 200 || !strings.HasPrefix(feedURL, "http://playgram.test/api/v1/helpers/"+anna+"/calendar.ics?token=") || !strings.HasPrefix(str(obj(t, res.Body), "webcal_url"), "webcal://playgram.test/") {
		t.Fatalf("rotate: %d %s", res.Status, res.Body)
	}
	if n := bw.count(collections.AuditLog, "action = 'helper.calendar_token_rotated' && target_id = {:id}", dbx.Params{"id": anna}); n != 1 {
		t.Fatalf("%d audit rows", n)
	}
	path := strings.TrimPrefix(feedURL, "http://playgram.test")

	feed := bw.do("GET", path, "", nil) // no cookies, no auth header
	if feed.Status != 200 || feed.Header.Get("Content-Type") != "text/calendar; charset=utf-8" || feed.Header.Get("ETag") == "" || feed.Header.Get("Last-Modified") == "" {
		t.Fatalf("feed: %d %v", feed.Status, feed.Header)
	}
	for i, line := range strings.Split(strings.TrimSuffix(feed.Body, "\r\n"), "\r\n") {
		if len(line) > 75 || strings.ContainsAny(line, "\r\n") || !utf8.ValidString(line) {
			t.Fatalf("line %d breaks RFC 5545 folding: %q", i, line)
		}
	}
	cal, err := goical.NewDecoder(bytes.NewReader([]byte(feed.Body))).Decode()
	if err != nil {
		t.Fatalf("feed does not parse: %v", err)
	}
	if m := cal.Props.Get("METHOD"); m != nil {
		t.Fatalf("a feed carries no METHOD, got %s", m.Value)
	}
	status := map[string]string{}
	for _, ev := range cal.Events() {
		uid := ev.Props.Get("UID").Value
		status[uid] = ev.Props.Get("STATUS").Value
		if start, err := ev.DateTimeStart(time.UTC); err != nil || start.IsZero() {
			t.Fatalf("event %s: start %v %v", uid, start, err)
		}
		summary, _ := ev.Props.Text("SUMMARY")
		if summary != "Beratung, lang; mit Ümlauten: Customer "+map[bool]string{true: "1", false: "2"}[strings.Contains(uid, str(a, "id"))] {
			t.Fatalf("summary %q", summary)
		}
	}
	if len(status) != 2 || status["booking-"+str(a, "id")+"@"+bw.w.Acme+".playgram"] != "CONFIRMED" || status["booking-"+str(b, "id")+"@"+bw.w.Acme+".playgram"] != "CANCELLED" {
		t.Fatalf("events: %v", status)
	}

	if again := bw.do("GET", path, "", map[string]string{"If-None-Match": feed.Header.Get("ETag")}); again.Status != 304 {
		t.Fatalf("unchanged feed: %d", again.Status)
	}
	bw.book(tool, anna, d.Add(13*time.Hour), "3")
	if changed := bw.do("GET", path, "", map[string]string{"If-None-Match": feed.Header.Get("ETag")}); changed.Status != 200 || strings.Count(changed.Body, "BEGIN:VEVENT") != 3 {
		t.Fatalf("changed feed: %d", changed.Status)
	}

	// Rotating retires the old link at once.
	bw.do("POST", "/api/v1/helpers/"+anna+"/calendar-token", "", bw.w.Admin.Headers)
	if res := bw.do("GET", path, "", nil); res.Status != 404 {
		t.Fatalf("old feed link: %d", res.Status)
	}
	if res := bw.do("GET", "/api/v1/helpers/"+anna+"/calendar.ics", "", nil); res.Status != 404 {
		t.Fatalf("feed without a token: %d", res.Status)
	}
}
