package routes_test

import (
	"github.com/playgram/playgram/internal/dbtime"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func (bw *bookingWorld) entry(id string) *core.Record {
	bw.t.Helper()
	r, err := bw.app.FindRecordById(collections.Waitlist, id)
	if err != nil {
		bw.t.Fatal(err)
	}
	return r
}

func TestWaitlistOffersAFreedSlotInOrderWithAHold(t *testing.T) {
	bw := newBookingWorld(t)
	tool, anna := bw.annaWorks(map[string]any{"hold_minutes": 15}, "09:00", "10:00")
	d := day(9)
	date := d.Format("2006-01-02")
	a := obj(t, bw.book(tool, anna, d.Add(9*time.Hour), "1").Body)
	b := obj(t, bw.book(tool, anna, d.Add(9*time.Hour+30*time.Minute), "2").Body)

	join := func(sub, email string) map[string]any {
		return bw.joinWaitlist(tool, date, sub, `,"email":"`+email+`"`)
	}
	c, dd, e := join("3", "c@example.com"), join("4", "d@example.com"), join("5", "e@example.com")
	if c["position"] != 1.0 || dd["position"] != 2.0 || e["position"] != 3.0 || c["status"] != "waiting" {
		t.Fatalf("positions: %v %v %v", c, dd, e)
	}
	if again := join("3", "c@example.com"); again["id"] != c["id"] || again["position"] != 1.0 {
		t.Fatalf("joining twice: %v", again)
	}
	if res := bw.do("POST", "/api/v1/bookings/waitlist", `{"tool":"`+tool+`","date":"2001-01-01","subscriber_id":"3"}`, bw.key()); res.Status != 400 || !strings.Contains(res.Body, `"date":{`) {
		t.Fatalf("a past date: %d %s", res.Status, res.Body)
	}

	// A cancels: the slot goes to C (first in line) and is held for C.
	if res := bw.do("POST", "/api/v1/bookings/"+str(a, "id")+"/cancel", `{}`, bw.w.Manager.Headers); res.Status != 200 {
		t.Fatal(res.Body)
	}
	ce := bw.entry(str(c, "id"))
	hold := ce.GetDateTime("hold_until").Time()
	if ce.GetString("status") != "offered" || !ce.GetDateTime("offer_start").Time().Equal(d.Add(9*time.Hour)) || hold.Sub(time.Now()) < 14*time.Minute || hold.Sub(time.Now()) > 16*time.Minute {
		t.Fatalf("C's entry: %v", ce)
	}
	if bw.entry(str(dd, "id")).GetString("status") != "waiting" {
		t.Fatal("D was offered too")
	}
	if n := bw.count(collections.Events, "type = 'waitlist.offered' && subject_id = {:id}", dbx.Params{"id": ce.Id}); n != 1 {
		t.Fatalf("%d waitlist.offered events", n)
	}
	// Held: not listed, and nobody else can book it.
	if list := slotsOf(t, bw.do("GET", "/api/v1/bookings/slots?tool="+tool+"&from="+date+"&to="+date+"&tz=UTC", "", bw.key())); len(list) != 0 {
		t.Fatalf("a held slot is listed: %v", list)
	}
	if res := bw.book(tool, anna, d.Add(9*time.Hour), "9"); res.Status != 409 {
		t.Fatalf("someone else took a held slot: %d %s", res.Status, res.Body)
	}

	// C is told by email, with a link that books the held slot.
	bw.runJobs()
	msgs := bw.app.TestMailer.Messages()
	if len(msgs) != 1 || msgs[0].To[0].Address != "c@example.com" || !strings.HasPrefix(msgs[0].Subject, "A time opened up") || len(msgs[0].Attachments) != 0 {
		t.Fatalf("offer email: %+v", msgs)
	}
	i := strings.Index(msgs[0].Text, "http://playgram.test/api/v1/booking-offers/")
	if i < 0 {
		t.Fatalf("no offer link in %q", msgs[0].Text)
	}
	link := strings.Fields(msgs[0].Text[i:])[0]
	path := strings.TrimPrefix(link, "http://playgram.test")
	if page := bw.do("GET", path, "", nil); page.Status != 200 || !strings.Contains(page.Body, "held for you") {
		t.Fatalf("offer page: %d %s", page.Status, page.Body)
	}
	res := bw.do("POST", path, "", nil)
	if res.Status != 201 || str(obj(t, res.Body), "start") != d.Add(9*time.Hour).Format(time.RFC3339) || str(obj(t, res.Body), "contact") != ce.GetString("contact") {
		t.Fatalf("taking the offer: %d %s", res.Status, res.Body)
	}
	ce = bw.entry(ce.Id)
	if ce.GetString("status") != "booked" || ce.GetString("booking") != str(obj(t, res.Body), "id") || bw.booking(ce.GetString("booking")).GetString("source") != "waitlist" {
		t.Fatalf("C's entry after booking: %v", ce)
	}
	if again := bw.do("POST", path, "", nil); again.Status != 201 || str(obj(t, again.Body), "id") != ce.GetString("booking") {
		t.Fatalf("a second click: %d %s", again.Status, again.Body)
	}

	// B cancels: D is next. D lets the hold run out, and E gets it.
	if res := bw.do("POST", "/api/v1/bookings/"+str(b, "id")+"/cancel", `{}`, bw.w.Manager.Headers); res.Status != 200 {
		t.Fatal(res.Body)
	}
	de := bw.entry(str(dd, "id"))
	if de.GetString("status") != "offered" || !de.GetDateTime("offer_start").Time().Equal(d.Add(9*time.Hour+30*time.Minute)) {
		t.Fatalf("D's entry: %v", de)
	}
	bw.runJobs()
	var to []string
	for _, m := range bw.app.TestMailer.Messages() {
		to = append(to, m.To[0].Address+" "+strings.SplitN(m.Subject, ":", 2)[0])
	}
	if got := strings.Join(to, ", "); !strings.Contains(got, "c@example.com Confirmed") || !strings.Contains(got, "d@example.com A time opened up") {
		t.Fatalf("emails after B cancelled: %v", got)
	}
	past := dbtime.Format(time.Now().Add(-time.Minute).Truncate(time.Second))
	if _, err := bw.app.NonconcurrentDB().NewQuery("UPDATE waitlist SET hold_until = {:p} WHERE id = {:id}").Bind(dbx.Params{"p": past, "id": de.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := bw.app.NonconcurrentDB().NewQuery("UPDATE jobs SET run_at = {:p}, payload = json_set(payload, '$.hold_until', {:p}) WHERE kind = {:k}").
		Bind(dbx.Params{"p": past, "k": jobs.KindWaitlistExpire}).Execute(); err != nil {
		t.Fatal(err)
	}
	bw.app.TestMailer.Reset()
	bw.runJobs()
	if got := bw.entry(de.Id).GetString("status"); got != "expired" {
		t.Fatalf("D after the hold: %s", got)
	}
	ee := bw.entry(str(e, "id"))
	if ee.GetString("status") != "offered" || !ee.GetDateTime("offer_start").Time().Equal(d.Add(9*time.Hour+30*time.Minute)) {
		t.Fatalf("E's entry: %v", ee)
	}
	if msgs := bw.app.TestMailer.Messages(); len(msgs) != 1 || msgs[0].To[0].Address != "e@example.com" || !strings.HasPrefix(msgs[0].Subject, "A time opened up") {
		t.Fatalf("after the hold ran out: %+v", msgs)
	}
	// D's old link no longer books anything.
	if res := bw.book(tool, anna, d.Add(9*time.Hour+30*time.Minute), "4"); res.Status != 409 {
		t.Fatalf("D booking E's hold: %d", res.Status)
	}
	if res := bw.do("GET", "/api/v1/booking-offers/"+url.PathEscape("garbage"), "", nil); res.Status != 404 {
		t.Fatalf("a forged offer: %d", res.Status)
	}
}
