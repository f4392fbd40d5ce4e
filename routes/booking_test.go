package routes_test

import (
	"fmt"
	"github.com/playgram/playgram/internal/dbtime"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestHelpersAndAvailabilityAreValidated(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	mgr := bw.w.Manager.Headers

	res := bw.do("POST", "/api/collections/helpers/records", `{"workspace":"`+bw.w.Acme+`","name":"Anna","timezone":"CEST","tools":["`+bw.w.AcmeQRTool+`"]}`, mgr)
	if res.Status != 400 || !strings.Contains(res.Body, `"timezone":{"code":"validation_invalid_timezone"`) || !strings.Contains(res.Body, `"tools":{"code":"validation_invalid_tool"`) {
		t.Fatalf("bad helper: %d %s", res.Status, res.Body)
	}
	res = bw.do("POST", "/api/collections/helpers/records", `{"workspace":"`+bw.w.Acme+`","name":"Anna","timezone":"Europe/Berlin","tools":["`+tool+`"]}`, mgr)
	if res.Status != 200 || !strings.Contains(res.Body, `"active":true`) || strings.Contains(res.Body, "calendar_token") {
		t.Fatalf("helper: %d %s", res.Status, res.Body)
	}
	helper := obj(t, res.Body)["id"].(string)
	if res := bw.do("POST", "/api/collections/helpers/records", `{"workspace":"`+bw.w.Acme+`","name":"X","timezone":"UTC"}`, bw.w.Viewer.Headers); res.Status != 400 && res.Status != 403 {
		t.Fatalf("a viewer cannot add helpers: %d", res.Status)
	}

	res = bw.do("POST", "/api/collections/availability/records",
		`{"workspace":"`+bw.w.Acme+`","helper":"`+helper+`","weekday":1,"start":"09:00","end":"17:00","breaks":[{"start":"12:00","end":"13:00"},{"start":"12:30","end":"18:00"}]}`, mgr)
	if res.Status != 400 || !strings.Contains(res.Body, `"breaks":{"1":{"start":{"code":"validation_break_outside_hours"`) {
		t.Fatalf("break outside hours: %d %s", res.Status, res.Body)
	}
	res = bw.do("POST", "/api/collections/availability/records", `{"workspace":"`+bw.w.Acme+`","helper":"`+helper+`","weekday":2,"start":"17:00","end":"09:00"}`, mgr)
	if res.Status != 400 || !strings.Contains(res.Body, `"end":{"code":"validation_invalid_order"`) {
		t.Fatalf("end before start: %d %s", res.Status, res.Body)
	}
	res = bw.do("POST", "/api/collections/availability/records", `{"workspace":"`+bw.w.Acme+`","helper":"`+helper+`","weekday":1,"start":"09:00","end":"17:00","breaks":"lunch"}`, mgr)
	if res.Status != 400 || !strings.Contains(res.Body, `"breaks":{"code"`) {
		t.Fatalf("breaks not a list: %d %s", res.Status, res.Body)
	}
	res = bw.do("POST", "/api/collections/availability/records",
		`{"workspace":"`+bw.w.Acme+`","helper":"`+helper+`","weekday":1,"start":"09:00","end":"17:00","breaks":[{"start":"12:00","end":"13:00"}],"valid_from":"2027-01-01"}`, mgr)
	if res.Status != 200 {
		t.Fatalf("valid rule: %d %s", res.Status, res.Body)
	}
	res = bw.do("POST", "/api/collections/availability_exceptions/records", `{"workspace":"`+bw.w.Acme+`","date":"2027-12-25","closed":true}`, mgr)
	if res.Status != 200 {
		t.Fatalf("workspace holiday: %d %s", res.Status, res.Body)
	}
	res = bw.do("POST", "/api/collections/availability_exceptions/records", `{"workspace":"`+bw.w.Acme+`","helper":"`+helper+`","date":"2027-12-24","start":"10:00"}`, mgr)
	if res.Status != 400 || !strings.Contains(res.Body, `"end":{"code":"validation_required"`) {
		t.Fatalf("custom hours need an end: %d %s", res.Status, res.Body)
	}

	// Another workspace can neither see nor use the helper.
	globex := bw.w.GlobexAdmin.Headers
	if res := bw.do("GET", "/api/collections/helpers/records/"+helper, "", globex); res.Status != 404 {
		t.Fatalf("cross-workspace view: %d", res.Status)
	}
	res = bw.do("POST", "/api/collections/availability/records", `{"workspace":"`+bw.w.Globex+`","helper":"`+helper+`","weekday":1,"start":"09:00","end":"17:00"}`, globex)
	if res.Status != 400 || !strings.Contains(res.Body, `"helper":{"code":"validation_invalid_helper"`) {
		t.Fatalf("rule for another workspace's helper: %d %s", res.Status, res.Body)
	}
}

func TestBookingCreateAnswersAndConflicts(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", map[string]any{"duration_minutes": 30, "buffer_after_minutes": 15, "reminder_hours": []any{24, 2}})
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "17:00")
	d := day(5)

	res := bw.book(tool, anna, d.Add(10*time.Hour), "1001", `,"email":"max@example.com","phone":"+4915112345678","notes":"short please","tz":"Europe/Berlin"`)
	if res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	b := obj(t, res.Body)
	if b["status"] != "confirmed" || b["helper"] != anna || b["start"] != d.Add(10*time.Hour).Format(time.RFC3339) || b["end"] != d.Add(10*time.Hour+30*time.Minute).Format(time.RFC3339) {
		t.Fatalf("booking = %v", b)
	}
	if !strings.HasPrefix(str(b, "local_start"), d.Format("2006-01-02")+"T1") || !strings.HasSuffix(str(b, "local_start"), "+01:00") && !strings.HasSuffix(str(b, "local_start"), "+02:00") {
		t.Fatalf("local_start in the booker's zone: %v", b["local_start"])
	}
	if !strings.HasPrefix(str(b, "manage_url"), "http://playgram.test/api/v1/bookings/"+str(b, "id")+"/manage?token=") {
		t.Fatalf("manage_url = %v", b["manage_url"])
	}
	rec := bw.booking(str(b, "id"))
	if rec.GetString("manage_token_hash") == "" || strings.Contains(rec.GetString("manage_token_hash"), manageToken(t, str(b, "manage_url"))) || rec.GetString("source") != "api" {
		t.Fatalf("stored booking: %v", rec)
	}
	contact, err := bw.app.FindRecordById(collections.Contacts, rec.GetString("contact"))
	if err != nil || contact.GetString("subscriber_id") != "1001" || contact.GetString("email") != "max@example.com" {
		t.Fatalf("contact: %v %v", contact, err)
	}
	if n := bw.count(collections.Events, "type = 'booking.created' && subject_id = {:id}", dbx.Params{"id": rec.Id}); n != 1 {
		t.Fatalf("%d booking.created events", n)
	}
	if n := bw.count(collections.Jobs, "kind = 'booking.reminder'", nil); n != 2 {
		t.Fatalf("%d reminders planned", n)
	}

	// The slot is gone from the list, and so are 09:30 and 10:30: a new booking's 15 minutes after must not
	// run into the booking, and the booking's 15 minutes after must stay free.
	list := slotsOf(t, bw.do("GET", "/api/v1/bookings/slots?tool="+tool+"&helper="+anna+"&from="+d.Format("2006-01-02")+"&to="+d.Format("2006-01-02")+"&tz=UTC", "", bw.key()))
	var starts []string
	for _, s := range list {
		starts = append(starts, str(s, "start")[11:16])
	}
	if got := strings.Join(starts[:4], " "); got != "09:00 11:00 11:30 12:00" || len(list) != 13 {
		t.Fatalf("slots after a booking: %v", starts)
	}

	// Taken: 409 in PocketBase's shape, with the three nearest free times.
	res = bw.book(tool, anna, d.Add(10*time.Hour), "1002")
	if res.Status != 409 {
		t.Fatalf("double booking: %d %s", res.Status, res.Body)
	}
	c := obj(t, res.Body)
	alts, _ := c["data"].(map[string]any)["alternatives"].([]any)
	if c["status"] != 409.0 || str(c, "message") == "" || len(alts) != 3 {
		t.Fatalf("conflict = %s", res.Body)
	}
	var altStarts []string
	for _, a := range alts {
		altStarts = append(altStarts, str(a.(map[string]any), "start")[11:16])
	}
	if strings.Join(altStarts, " ") != "09:00 11:00 11:30" {
		t.Fatalf("alternatives = %v", altStarts)
	}
	if res := bw.book(tool, anna, d.Add(10*time.Hour+30*time.Minute), "1002"); res.Status != 409 || !strings.Contains(res.Body, `"reason":"conflict"`) {
		t.Fatalf("inside the buffer: %d %s", res.Status, res.Body)
	}
	if res := bw.book(tool, anna, d.Add(10*time.Hour+10*time.Minute), "1002"); res.Status != 409 || !strings.Contains(res.Body, `"reason":"off_grid"`) {
		t.Fatalf("off grid: %d %s", res.Status, res.Body)
	}
	if res := bw.book(tool, anna, d.Add(20*time.Hour), "1002"); res.Status != 409 || !strings.Contains(res.Body, `"reason":"outside_hours"`) {
		t.Fatalf("outside hours: %d %s", res.Status, res.Body)
	}
	if n := bw.count(collections.Contacts, "subscriber_id = '1002'", nil); n != 0 {
		t.Fatalf("a refused booking left its contact behind (%d)", n)
	}

	// Bad input is a 400 naming the fields.
	res = bw.do("POST", "/api/v1/bookings", `{"tool":"`+tool+`","start":"tomorrow","email":"nope","phone":"0151","tz":"CET1"}`, bw.key())
	for _, f := range []string{`"start":{`, `"email":{`, `"phone":{`, `"subscriber_id":{`, `"tz":{`} {
		if res.Status != 400 || !strings.Contains(res.Body, f) {
			t.Errorf("bad create lacks %s: %d %s", f, res.Status, res.Body)
		}
	}
	if res := bw.do("POST", "/api/v1/bookings", `{"tool":"nope","start":"2027-01-01T10:00:00Z","subscriber_id":"1"}`, bw.key()); res.Status != 400 || !strings.Contains(res.Body, `"tool":{`) {
		t.Fatalf("unknown tool: %d %s", res.Status, res.Body)
	}
	if res := bw.do("POST", "/api/v1/bookings", `{"tool":"cuts","helper":"`+anna+`","start":"`+d.Add(12*time.Hour).Format(time.RFC3339)+`","subscriber_id":"1003"}`, bw.key()); res.Status != 400 || !strings.Contains(res.Body, `"name":{`) {
		t.Fatalf("a new contact needs a name: %d %s", res.Status, res.Body)
	}
	if res := bw.do("POST", "/api/v1/bookings", `{"tool":"cuts","helper":"`+anna+`","start":"`+d.Add(12*time.Hour).Format(time.RFC3339)+`","subscriber_id":"1001"}`, bw.key()); res.Status != 201 {
		t.Fatalf("tool by slug, name from the contact: %d %s", res.Status, res.Body)
	}
	if res := bw.do("POST", "/api/v1/bookings", `{}`, bw.w.Viewer.Headers); res.Status != 403 {
		t.Fatalf("viewers cannot book: %d", res.Status)
	}
}

func TestIdempotentCreate(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "17:00")
	body := fmt.Sprintf(`{"tool":%q,"start":%q,"subscriber_id":"77","name":"Ada"}`, tool, day(3).Add(9*time.Hour).Format(time.RFC3339))
	headers := map[string]string{"Authorization": "Bearer " + bw.w.ManychatKey, "Idempotency-Key": "mc-req-1"}
	first := bw.do("POST", "/api/v1/bookings", body, headers)
	again := bw.do("POST", "/api/v1/bookings", body, headers)
	if first.Status != 201 || again.Status != 201 || first.Body != again.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %d %s", first.Status, again.Status, again.Body)
	}
	if n := bw.count(collections.Bookings, "id != ''", nil); n != 1 {
		t.Fatalf("%d bookings", n)
	}
}

func TestConcurrentRequestsForOneSeatGiveOneBooking(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "17:00")
	start := day(4).Add(13 * time.Hour)

	const n = 200
	statuses := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			res := bw.book(tool, anna, start, fmt.Sprint(5000+i))
			statuses[i], bodies[i] = res.Status, res.Body
		}()
	}
	close(gate)
	wg.Wait()
	created, conflicts := 0, 0
	for i, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
			conflicts++
			if strings.Count(bodies[i], `"seats_left"`) != 3 {
				t.Fatalf("conflict without three alternatives: %s", bodies[i])
			}
		default:
			t.Fatalf("request %d: %d %s", i, s, bodies[i])
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("created %d, conflicts %d", created, conflicts)
	}
	if got := bw.count(collections.Bookings, "helper = {:h} && start = {:s}", dbx.Params{"h": anna, "s": dbtime.Format(start)}); got != 1 {
		t.Fatalf("%d bookings in the slot", got)
	}
	if got := bw.count(collections.Events, "type = 'booking.created'", nil); got != 1 {
		t.Fatalf("%d booking.created events", got)
	}
}

func TestUniqueIndexBacksUpTheCheck(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "17:00")
	start := day(4).Add(9 * time.Hour)
	res := bw.book(tool, anna, start, "1")
	if res.Status != 201 {
		t.Fatal(res.Body)
	}
	// A writer that skipped the availability check still cannot take the same seat.
	first := bw.booking(obj(t, res.Body)["id"].(string))
	dup := core.NewRecord(first.Collection())
	for _, f := range []string{"workspace", "tool", "helper", "start", "end", "status", "seats", "slot_key"} {
		dup.Set(f, first.Get(f))
	}
	if err := bw.app.Save(dup); err == nil || !strings.Contains(err.Error(), "slot_key") {
		t.Fatalf("a second holder of the same slot key: %v", err)
	}
	dup.Set("slot_key", "")
	if err := bw.app.Save(dup); err != nil {
		t.Fatalf("the same row without the key saves (so the key was what refused it): %v", err)
	}
	if err := bw.app.Delete(dup); err != nil {
		t.Fatal(err)
	}
	// Cancelled bookings release their key.
	if res := bw.do("POST", "/api/v1/bookings/"+first.Id+"/cancel", `{}`, bw.w.Manager.Headers); res.Status != 200 {
		t.Fatal(res.Body)
	}
	if bw.booking(first.Id).GetString("slot_key") != "" {
		t.Fatal("a cancelled booking keeps its slot key")
	}
	if res := bw.book(tool, anna, start, "2"); res.Status != 201 {
		t.Fatalf("rebooking a cancelled slot: %d %s", res.Status, res.Body)
	}
}

func TestSeatsPerSlot(t *testing.T) {
	bw := newBookingWorld(t)
	class := bw.tool("Yoga", map[string]any{"duration_minutes": 60, "slot_interval_minutes": 60, "seats": 3})
	coach := bw.helper("Coach", "UTC", class)
	bw.hours(coach, "18:00", "20:00")
	start := day(6).Add(18 * time.Hour)
	slotsURL := "/api/v1/bookings/slots?tool=" + class + "&helper=" + coach + "&from=" + day(6).Format("2006-01-02") + "&to=" + day(6).Format("2006-01-02")

	var ids []string
	for i := range 3 {
		res := bw.book(class, coach, start, fmt.Sprint(200+i))
		if res.Status != 201 {
			t.Fatalf("seat %d: %d %s", i, res.Status, res.Body)
		}
		ids = append(ids, str(obj(t, res.Body), "id"))
		list := slotsOf(t, bw.do("GET", slotsURL, "", bw.key()))
		if i < 2 && (len(list) != 2 || list[0]["seats_left"] != float64(2-i)) {
			t.Fatalf("after %d bookings: %v", i+1, list)
		}
	}
	if list := slotsOf(t, bw.do("GET", slotsURL, "", bw.key())); len(list) != 1 || str(list[0], "start") != start.Add(time.Hour).Format(time.RFC3339) {
		t.Fatalf("a full class is not listed: %v", list)
	}
	res := bw.book(class, coach, start, "299")
	if res.Status != 409 || !strings.Contains(res.Body, `"reason":"full"`) {
		t.Fatalf("fourth seat: %d %s", res.Status, res.Body)
	}
	keys := map[string]bool{}
	for _, id := range ids {
		keys[bw.booking(id).GetString("slot_key")] = true
	}
	if len(keys) != 3 {
		t.Fatalf("seat keys %v", keys)
	}
	if res := bw.do("POST", "/api/v1/bookings/"+ids[1]+"/cancel", `{"reason":"ill"}`, bw.w.Manager.Headers); res.Status != 200 {
		t.Fatal(res.Body)
	}
	if res := bw.book(class, coach, start, "299"); res.Status != 201 || bw.booking(str(obj(t, res.Body), "id")).GetString("slot_key") != jobs.SlotKey(coach, start, 1) {
		t.Fatalf("a freed seat is taken again: %d %s", res.Status, res.Body)
	}
}

func TestAnyHelperGetsTheLeastBusy(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	ben := bw.helper("Ben", "UTC", tool)
	other := bw.helper("Cleo", "UTC") // offers nothing
	for _, h := range []string{anna, ben, other} {
		bw.hours(h, "09:00", "12:00")
	}
	d := day(8)
	if res := bw.book(tool, anna, d.Add(9*time.Hour), "1"); res.Status != 201 {
		t.Fatal(res.Body)
	}
	list := slotsOf(t, bw.do("GET", "/api/v1/bookings/slots?tool="+tool+"&helper=any&from="+d.Format("2006-01-02")+"&to="+d.Format("2006-01-02"), "", bw.key()))
	if len(list) != 6 || list[0]["seats_left"] != 1.0 || list[1]["seats_left"] != 2.0 || list[0]["helper"] != nil {
		t.Fatalf("any-helper slots: %v", list)
	}
	// 10:00: both are free; Ben has fewer bookings that day.
	res := bw.book(tool, "any", d.Add(10*time.Hour), "2")
	if res.Status != 201 || str(obj(t, res.Body), "helper") != ben {
		t.Fatalf("any at 10:00: %d %s", res.Status, res.Body)
	}
	res = bw.book(tool, "", d.Add(10*time.Hour), "3")
	if res.Status != 201 || str(obj(t, res.Body), "helper") != anna {
		t.Fatalf("the second any at 10:00: %d %s", res.Status, res.Body)
	}
	res = bw.book(tool, "any", d.Add(10*time.Hour), "4")
	if res.Status != 409 || !strings.Contains(res.Body, `"alternatives":[{`) {
		t.Fatalf("nobody left at 10:00: %d %s", res.Status, res.Body)
	}
	if res := bw.book(tool, other, d.Add(11*time.Hour), "5"); res.Status != 400 || !strings.Contains(res.Body, `"helper":{`) {
		t.Fatalf("a helper who does not offer the tool: %d %s", res.Status, res.Body)
	}
	next := bw.do("GET", "/api/v1/bookings/next?tool="+tool+"&helper=any&after="+url.QueryEscape(d.Add(10*time.Hour).Format(time.RFC3339)), "", bw.key())
	if next.Status != 200 || str(obj(t, next.Body), "slot", "start") != d.Add(10*time.Hour+30*time.Minute).Format(time.RFC3339) {
		t.Fatalf("next: %d %s", next.Status, next.Body)
	}
}

func TestRescheduleIsAtomic(t *testing.T) {
	bw := newBookingWorld(t)
	tool, anna := bw.annaWorks(map[string]any{"cutoff_hours": 0}, "09:00", "17:00")
	d := day(9)
	a := obj(t, bw.book(tool, anna, d.Add(10*time.Hour), "1", `,"email":"a@example.com"`).Body)
	b := obj(t, bw.book(tool, anna, d.Add(11*time.Hour), "2").Body)
	token := manageToken(t, str(a, "manage_url"))

	// The new slot is taken: 409 with alternatives, and A keeps its time and seat.
	res := bw.do("POST", "/api/v1/bookings/"+str(a, "id")+"/reschedule?token="+token, `{"start":"`+d.Add(11*time.Hour).Format(time.RFC3339)+`"}`, nil)
	if res.Status != 409 || !strings.Contains(res.Body, `"alternatives":[{`) {
		t.Fatalf("move onto B: %d %s", res.Status, res.Body)
	}
	ra := bw.booking(str(a, "id"))
	if !ra.GetDateTime("start").Time().Equal(d.Add(10*time.Hour)) || ra.GetInt("ics_sequence") != 0 || ra.GetString("slot_key") != jobs.SlotKey(anna, d.Add(10*time.Hour), 0) {
		t.Fatalf("A changed after a failed move: %v", ra)
	}
	if res := bw.book(tool, anna, d.Add(10*time.Hour), "3"); res.Status != 409 {
		t.Fatalf("A's slot was lost: %d", res.Status)
	}

	// Moving works, bumps the sequence, frees the old slot and keeps the customer's link.
	res = bw.do("POST", "/api/v1/bookings/"+str(a, "id")+"/reschedule?token="+token, `{"start":"`+d.Add(14*time.Hour).Format(time.RFC3339)+`"}`, nil)
	if res.Status != 200 || str(obj(t, res.Body), "start") != d.Add(14*time.Hour).Format(time.RFC3339) || str(obj(t, res.Body), "manage_url") == "" {
		t.Fatalf("move: %d %s", res.Status, res.Body)
	}
	if ra := bw.booking(str(a, "id")); ra.GetInt("ics_sequence") != 1 || !tokenStillWorks(bw, ra.Id, token) {
		t.Fatalf("after the move: seq %d", ra.GetInt("ics_sequence"))
	}
	ev, err := bw.app.FindFirstRecordByFilter(collections.Events, "type = 'booking.rescheduled' && subject_id = {:id}", dbx.Params{"id": str(a, "id")})
	if err != nil || !strings.Contains(ev.GetString("data"), d.Add(10*time.Hour).Format(time.RFC3339)) {
		t.Fatalf("rescheduled event: %v %v", ev, err)
	}
	if res := bw.book(tool, anna, d.Add(10*time.Hour), "3"); res.Status != 201 {
		t.Fatalf("the old slot is free again: %d %s", res.Status, res.Body)
	}

	// Staff may move B, too; B's customer gets a new link and the old one stops working.
	res = bw.do("POST", "/api/v1/bookings/"+str(b, "id")+"/reschedule", `{"start":"`+d.Add(15*time.Hour).Format(time.RFC3339)+`"}`, bw.w.Manager.Headers)
	if res.Status != 200 {
		t.Fatalf("staff move: %d %s", res.Status, res.Body)
	}
	if tokenStillWorks(bw, str(b, "id"), manageToken(t, str(b, "manage_url"))) || !tokenStillWorks(bw, str(b, "id"), manageToken(t, str(obj(t, res.Body), "manage_url"))) {
		t.Fatal("a staff move must replace the customer's link")
	}
	if res := bw.do("POST", "/api/v1/bookings/"+str(b, "id")+"/reschedule", `{"start":"nope"}`, bw.w.Manager.Headers); res.Status != 400 || !strings.Contains(res.Body, `"start":{`) {
		t.Fatalf("bad start: %d %s", res.Status, res.Body)
	}
}

func tokenStillWorks(bw *bookingWorld, id, token string) bool {
	return bw.do("GET", "/api/v1/bookings/"+id+"?token="+token, "", nil).Status == 200
}

func TestCutoffAppliesToCustomersNotStaff(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", map[string]any{"cutoff_hours": 24, "min_notice_minutes": 60})
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "00:00", "24:00")
	soon := time.Now().UTC().Truncate(30 * time.Minute).Add(3 * time.Hour)
	later := day(10).Add(10 * time.Hour)

	a := obj(t, bw.book(tool, anna, soon, "1").Body)
	token := manageToken(t, str(a, "manage_url"))
	for _, c := range []struct {
		name, url string
		headers   map[string]string
	}{
		{"customer link", "/api/v1/bookings/" + str(a, "id") + "/cancel?token=" + token, nil},
		{"manychat key", "/api/v1/bookings/" + str(a, "id") + "/cancel", bw.key()},
	} {
		if res := bw.do("POST", c.url, `{}`, c.headers); res.Status != 403 || !strings.Contains(res.Body, "24 hours") {
			t.Fatalf("%s within the cut-off: %d %s", c.name, res.Status, res.Body)
		}
	}
	if res := bw.do("POST", "/api/v1/bookings/"+str(a, "id")+"/reschedule?token="+token, `{"start":"`+later.Format(time.RFC3339)+`"}`, nil); res.Status != 403 {
		t.Fatalf("customer move within the cut-off: %d %s", res.Status, res.Body)
	}
	if page := bw.do("GET", "/api/v1/bookings/"+str(a, "id")+"/manage?token="+token, "", nil); page.Status != 200 || strings.Contains(page.Body, "Cancel booking") || !strings.Contains(page.Body, "24 hours") {
		t.Fatalf("manage page inside the cut-off: %d %s", page.Status, page.Body)
	}
	// Staff are not bound by it: an admin key moves it, a manager cancels it.
	if res := bw.do("POST", "/api/v1/bookings/"+str(a, "id")+"/reschedule", `{"start":"`+later.Format(time.RFC3339)+`"}`, testutil.Bearer(bw.w.AdminKey)); res.Status != 200 {
		t.Fatalf("admin key move: %d %s", res.Status, res.Body)
	}
	b := obj(t, bw.book(tool, anna, soon, "2").Body)
	if res := bw.do("POST", "/api/v1/bookings/"+str(b, "id")+"/cancel", `{"reason":"helper ill"}`, bw.w.Manager.Headers); res.Status != 200 || str(obj(t, res.Body), "status") != "cancelled" {
		t.Fatalf("manager cancel: %d %s", res.Status, res.Body)
	}
	// Outside the cut-off the customer may cancel with their link; twice is harmless.
	c := obj(t, bw.book(tool, anna, later.Add(2*time.Hour), "3").Body)
	ctoken := manageToken(t, str(c, "manage_url"))
	for range 2 {
		if res := bw.do("POST", "/api/v1/bookings/"+str(c, "id")+"/cancel?token="+ctoken, `{}`, nil); res.Status != 200 || str(obj(t, res.Body), "status") != "cancelled" {
			t.Fatalf("customer cancel: %d %s", res.Status, res.Body)
		}
	}
	if n := bw.count(collections.Events, "type = 'booking.cancelled' && subject_id = {:id} && actor = 'system:customer'", dbx.Params{"id": str(c, "id")}); n != 1 {
		t.Fatalf("%d cancellation events by the customer", n)
	}
	if by := bw.booking(str(c, "id")).GetString("cancelled_by"); by != "system:customer" {
		t.Fatalf("cancelled_by %q", by)
	}
	if by := bw.booking(str(b, "id")).GetString("cancelled_by"); by != "user:"+bw.w.Manager.ID {
		t.Fatalf("cancelled_by %q", by)
	}
	if res := bw.do("POST", "/api/v1/bookings/"+str(c, "id")+"/reschedule?token="+ctoken, `{"start":"`+later.Format(time.RFC3339)+`"}`, nil); res.Status != 409 {
		t.Fatalf("moving a cancelled booking: %d %s", res.Status, res.Body)
	}
}

func TestManageLinkAndPage(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "12:00")
	d := day(12)
	a := obj(t, bw.book(tool, anna, d.Add(9*time.Hour), "1").Body)
	id, token := str(a, "id"), manageToken(t, str(a, "manage_url"))

	if res := bw.do("GET", "/api/v1/bookings/"+id+"?token="+token, "", nil); res.Status != 200 || str(obj(t, res.Body), "manage_url") != str(a, "manage_url") {
		t.Fatalf("view with token: %d %s", res.Status, res.Body)
	}
	for _, bad := range []string{"", "wrong", token + "x"} {
		if res := bw.do("GET", "/api/v1/bookings/"+id+"?token="+bad, "", nil); res.Status != 401 && res.Status != 404 {
			t.Fatalf("token %q: %d", bad, res.Status)
		}
	}
	if res := bw.do("GET", "/api/v1/bookings/"+id, "", bw.w.Viewer.Headers); res.Status != 200 || strings.Contains(res.Body, "manage_url") {
		t.Fatalf("member view: %d %s", res.Status, res.Body)
	}

	page := bw.do("GET", "/api/v1/bookings/"+id+"/manage?token="+token, "", nil)
	if page.Status != 200 || !strings.Contains(page.Body, "Cuts with Anna") || !strings.Contains(page.Body, "Cancel booking") || !strings.Contains(page.Body, "Move to ") {
		t.Fatalf("manage page: %d %s", page.Status, page.Body)
	}
	form := url.Values{"action": {"reschedule"}, "start": {d.Add(10 * time.Hour).Format(time.RFC3339)}}
	res := testutil.Do(bw.h, "POST", "/api/v1/bookings/"+id+"/manage?token="+token, form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if res.Status != 200 || !strings.Contains(res.Body, "Booking moved") || !bw.booking(id).GetDateTime("start").Time().Equal(d.Add(10*time.Hour)) {
		t.Fatalf("move from the page: %d %s", res.Status, res.Body)
	}
	res = testutil.Do(bw.h, "POST", "/api/v1/bookings/"+id+"/manage?token="+token, "action=cancel", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if res.Status != 200 || !strings.Contains(res.Body, "Booking cancelled") || bw.booking(id).GetString("status") != "cancelled" {
		t.Fatalf("cancel from the page: %d %s", res.Status, res.Body)
	}
	if res := bw.do("GET", "/api/v1/bookings/"+id+"/manage?token=nope", "", nil); res.Status != 404 || !strings.Contains(res.Body, "<html") {
		t.Fatalf("bad link page: %d %s", res.Status, res.Body)
	}
}

func TestBookingsStayInTheirWorkspace(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "12:00")
	a := obj(t, bw.book(tool, anna, day(5).Add(9*time.Hour), "1").Body)
	globexKey := testutil.Bearer(bw.w.GlobexManychatKey)

	if res := bw.do("GET", "/api/v1/bookings/slots?tool="+tool, "", globexKey); res.Status != 400 || !strings.Contains(res.Body, `"tool":{`) {
		t.Fatalf("another workspace's tool: %d %s", res.Status, res.Body)
	}
	for path, body := range map[string]string{"/cancel": `{}`, "/reschedule": `{"start":"2030-01-01T10:00:00Z"}`} {
		if res := bw.do("POST", "/api/v1/bookings/"+str(a, "id")+path, body, globexKey); res.Status != 404 {
			t.Fatalf("%s from another workspace: %d %s", path, res.Status, res.Body)
		}
	}
	if res := bw.do("GET", "/api/v1/bookings/"+str(a, "id"), "", bw.w.GlobexOwner.Headers); res.Status != 404 {
		t.Fatalf("view from another workspace: %d", res.Status)
	}
	if res := bw.do("GET", "/api/v1/bookings/calendar", "", bw.w.GlobexOwner.Headers); res.Status != 200 || strings.Contains(res.Body, str(a, "id")) {
		t.Fatalf("calendar of another workspace: %d %s", res.Status, res.Body)
	}
	// Collection API: members read their own workspace's bookings (and get them over realtime); nobody writes.
	if res := bw.do("GET", "/api/collections/bookings/records", "", bw.w.Viewer.Headers); res.Status != 200 || !strings.Contains(res.Body, str(a, "id")) || strings.Contains(res.Body, "manage_token") || strings.Contains(res.Body, "slot_key") {
		t.Fatalf("viewer list: %d %s", res.Status, res.Body)
	}
	if res := bw.do("GET", "/api/collections/bookings/records", "", bw.w.GlobexOwner.Headers); res.Status != 200 || strings.Contains(res.Body, str(a, "id")) {
		t.Fatalf("globex list: %d %s", res.Status, res.Body)
	}
	if res := bw.do("PATCH", "/api/collections/bookings/records/"+str(a, "id"), `{"start":"2030-01-01 10:00:00.000Z"}`, bw.w.Owner.Headers); res.Status != 403 {
		t.Fatalf("bookings are changed only through the booking routes: %d %s", res.Status, res.Body)
	}
}

func TestDashboardCalendar(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	ben := bw.helper("Ben", "UTC", tool)
	bw.hours(anna, "09:00", "12:00")
	bw.hours(ben, "09:00", "12:00")
	d := day(20)
	a := obj(t, bw.book(tool, anna, d.Add(9*time.Hour), "1").Body)
	bw.book(tool, ben, d.Add(10*time.Hour), "2")
	bw.book(tool, anna, day(28).Add(9*time.Hour), "3")
	bw.do("POST", "/api/v1/bookings/"+str(a, "id")+"/cancel", `{}`, bw.w.Manager.Headers)

	res := bw.do("GET", "/api/v1/bookings/calendar?from="+d.Format("2006-01-02")+"&to="+d.AddDate(0, 0, 6).Format("2006-01-02"), "", bw.w.Viewer.Headers)
	if res.Status != 200 || strings.Count(res.Body, `"tool_name":"Cuts"`) != 2 || !strings.Contains(res.Body, `"status":"cancelled"`) || !strings.Contains(res.Body, `"helper_name":"Ben"`) {
		t.Fatalf("week: %d %s", res.Status, res.Body)
	}
	res = bw.do("GET", "/api/v1/bookings/calendar?helper="+anna+"&status=confirmed&from="+d.Format("2006-01-02")+"&to="+d.AddDate(0, 0, 30).Format("2006-01-02"), "", bw.w.Viewer.Headers)
	if res.Status != 200 || strings.Count(res.Body, `"tool_name"`) != 1 {
		t.Fatalf("anna's confirmed month: %d %s", res.Status, res.Body)
	}
	if res := bw.do("GET", "/api/v1/bookings/calendar?from=2027-01-01&to=2027-12-31", "", bw.w.Viewer.Headers); res.Status != 400 || !strings.Contains(res.Body, `"to":{`) {
		t.Fatalf("a year at once: %d %s", res.Status, res.Body)
	}
}

func TestDailyLimitCountsTheHelpersDay(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", map[string]any{"daily_limit": 2})
	anna := bw.helper("Anna", "America/New_York", tool)
	bw.hours(anna, "18:00", "23:00") // evenings in New York are the next UTC day
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Now().In(ny)
	d := time.Date(now.Year(), now.Month(), now.Day()+5, 0, 0, 0, 0, ny)
	for i, h := range []int{18, 22} {
		if res := bw.book(tool, anna, d.Add(time.Duration(h)*time.Hour), fmt.Sprint(i+1)); res.Status != 201 {
			t.Fatalf("booking %d: %d %s", i, res.Status, res.Body)
		}
	}
	if res := bw.book(tool, anna, d.Add(20*time.Hour), "3"); res.Status != 409 || !strings.Contains(res.Body, `"reason":"daily_limit"`) {
		t.Fatalf("third booking of the day: %d %s", res.Status, res.Body)
	}
	if list := bw.daySlots(tool, anna, d, "America/New_York"); len(list) != 0 {
		t.Fatalf("a full day still lists %d slots", len(list))
	}
	if list := bw.daySlots(tool, anna, d.AddDate(0, 0, 1), "America/New_York"); len(list) != 10 {
		t.Fatalf("the next day lists %d slots", len(list))
	}
}

func TestStaffRescheduleWithoutNotice(t *testing.T) {
	bw := newBookingWorld(t)
	tool, anna := bw.annaWorks(map[string]any{"cutoff_hours": 0}, "09:00", "17:00")
	d := day(9)
	a := obj(t, bw.book(tool, anna, d.Add(10*time.Hour), "1", `,"email":"a@example.com"`).Body)
	id, token := str(a, "id"), manageToken(t, str(a, "manage_url"))
	bw.runJobs() // the confirmation
	sent := bw.app.TestMailer.TotalSend()
	emailJobs := func() int {
		return bw.count(collections.Jobs, "kind = {:k}", dbx.Params{"k": jobs.KindBookingEmail})
	}
	queued := emailJobs()

	// notify:false: moved, no notice queued or sent, and the customer's link keeps working.
	res := bw.do("POST", "/api/v1/bookings/"+id+"/reschedule", `{"start":"`+d.Add(14*time.Hour).Format(time.RFC3339)+`","notify":false}`, bw.w.Manager.Headers)
	if res.Status != 200 || str(obj(t, res.Body), "start") != d.Add(14*time.Hour).Format(time.RFC3339) {
		t.Fatalf("move without notice: %d %s", res.Status, res.Body)
	}
	bw.runJobs()
	if n := emailJobs(); n != queued {
		t.Fatalf("%d notice jobs queued by a move with notify:false", n-queued)
	}
	if n := bw.app.TestMailer.TotalSend(); n != sent {
		t.Fatalf("%d emails sent after a move with notify:false", n-sent)
	}
	if !tokenStillWorks(bw, id, token) {
		t.Fatal("a silent move replaced the customer's link")
	}
	ev, err := bw.app.FindFirstRecordByFilter(collections.Events, "type = 'booking.rescheduled' && subject_id = {:id}", dbx.Params{"id": id})
	if err != nil || !strings.Contains(ev.GetString("data"), `"notified":false`) {
		t.Fatalf("rescheduled event: %v %v", ev, err)
	}

	// Without the key the customer is told, as before.
	res = bw.do("POST", "/api/v1/bookings/"+id+"/reschedule", `{"start":"`+d.Add(15*time.Hour).Format(time.RFC3339)+`"}`, bw.w.Manager.Headers)
	if res.Status != 200 {
		t.Fatalf("move: %d %s", res.Status, res.Body)
	}
	bw.runJobs()
	if n := emailJobs(); n != queued+1 {
		t.Fatalf("%d notice jobs after a default move", n-queued)
	}
	msgs := bw.app.TestMailer.Messages()
	if len(msgs) != int(sent)+1 || msgs[len(msgs)-1].To[0].Address != "a@example.com" {
		t.Fatalf("default move emails: %+v", msgs)
	}

	// A customer moving through their link is always sent the notice, whatever the body says.
	token = manageToken(t, str(obj(t, res.Body), "manage_url"))
	res = bw.do("POST", "/api/v1/bookings/"+id+"/reschedule?token="+token, `{"start":"`+d.Add(16*time.Hour).Format(time.RFC3339)+`","notify":false}`, nil)
	if res.Status != 200 || emailJobs() != queued+2 {
		t.Fatalf("customer move: %d %s, %d jobs", res.Status, res.Body, emailJobs()-queued)
	}
}

func TestRemoveWaitlistEntryPassesItsHeldSlotOn(t *testing.T) {
	bw := newBookingWorld(t)
	tool, anna := bw.annaWorks(map[string]any{"hold_minutes": 15}, "09:00", "09:30")
	d := day(9)
	date := d.Format("2006-01-02")
	a := obj(t, bw.book(tool, anna, d.Add(9*time.Hour), "1").Body)
	join := func(sub string) string { return str(bw.joinWaitlist(tool, date, sub, ""), "id") }
	c, dd, e := join("3"), join("4"), join("5")

	// A viewer may not remove; another workspace sees no such entry.
	if res := bw.do("DELETE", "/api/v1/bookings/waitlist/"+e, "", bw.w.Viewer.Headers); res.Status != 403 {
		t.Fatalf("viewer remove: %d %s", res.Status, res.Body)
	}
	if res := bw.do("DELETE", "/api/v1/bookings/waitlist/"+e, "", bw.w.GlobexOwner.Headers); res.Status != 404 {
		t.Fatalf("other workspace: %d %s", res.Status, res.Body)
	}
	// A waiting entry leaves the queue.
	if res := bw.do("DELETE", "/api/v1/bookings/waitlist/"+e, "", bw.w.Manager.Headers); res.Status != 200 || str(obj(t, res.Body), "status") != "cancelled" {
		t.Fatalf("remove waiting: %d %s", res.Status, res.Body)
	}
	if n := bw.count(collections.Events, "type = 'waitlist.cancelled' && subject_id = {:id}", dbx.Params{"id": e}); n != 1 {
		t.Fatalf("%d waitlist.cancelled events", n)
	}
	// A cancels: C is offered the slot. Removing C hands the held slot to D at once.
	if res := bw.do("POST", "/api/v1/bookings/"+str(a, "id")+"/cancel", `{}`, bw.w.Manager.Headers); res.Status != 200 {
		t.Fatal(res.Body)
	}
	if s := bw.entry(c).GetString("status"); s != "offered" {
		t.Fatalf("C is %s", s)
	}
	if res := bw.do("DELETE", "/api/v1/bookings/waitlist/"+c, "", bw.w.Manager.Headers); res.Status != 200 {
		t.Fatalf("remove offered: %d %s", res.Status, res.Body)
	}
	de := bw.entry(dd)
	if bw.entry(c).GetString("status") != "cancelled" || de.GetString("status") != "offered" || !de.GetDateTime("offer_start").Time().Equal(d.Add(9*time.Hour)) {
		t.Fatalf("after removing C: C %s, D %v", bw.entry(c).GetString("status"), de)
	}
	// Removing twice changes nothing.
	if res := bw.do("DELETE", "/api/v1/bookings/waitlist/"+c, "", bw.w.Manager.Headers); res.Status != 200 || str(obj(t, res.Body), "status") != "cancelled" {
		t.Fatalf("remove twice: %d %s", res.Status, res.Body)
	}
}
