package routes_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/playgram/playgram/collections"
	fake "github.com/playgram/playgram/internal/fakes/twilio"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// invite is an emailed .ics, parsed.
type invite struct {
	method, uid, sequence, status, start string
}

func parseInvite(t *testing.T, m *mailer.Message) (string, invite) {
	t.Helper()
	if len(m.Attachments) != 1 {
		t.Fatalf("%q has %d attachments", m.Subject, len(m.Attachments))
	}
	for name, r := range m.Attachments {
		raw, _ := io.ReadAll(r)
		if !bytes.Contains(raw, []byte("\r\n")) {
			t.Fatalf("%s lacks CRLF line endings", name)
		}
		cal, err := goical.NewDecoder(bytes.NewReader(raw)).Decode()
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", name, err, raw)
		}
		events := cal.Events()
		if len(events) != 1 {
			t.Fatalf("%s has %d events", name, len(events))
		}
		ev := events[0]
		get := func(p string) string {
			if prop := ev.Props.Get(p); prop != nil {
				return prop.Value
			}
			return ""
		}
		if ev.Props.Get("ORGANIZER") == nil || ev.Props.Get("ATTENDEE") == nil {
			t.Fatalf("%s lacks ORGANIZER or ATTENDEE:\n%s", name, raw)
		}
		return name, invite{method: cal.Props.Get("METHOD").Value, uid: get("UID"), sequence: get("SEQUENCE"), status: get("STATUS"), start: get("DTSTART")}
	}
	return "", invite{}
}

func TestEmailsCarryInvitesThatUpdateAndCancel(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", map[string]any{"reminder_hours": []any{24}, "cutoff_hours": 0})
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "17:00")
	d := day(6)
	res := bw.book(tool, anna, d.Add(10*time.Hour), "1", `,"email":"max@example.com","tz":"Europe/Berlin"`)
	b := obj(t, res.Body)
	id, token := str(b, "id"), manageToken(t, str(b, "manage_url"))
	if bw.app.TestMailer.TotalSend() != 0 {
		t.Fatal("an email was sent inside the request")
	}
	bw.runJobs()

	msgs := bw.app.TestMailer.Messages()
	if len(msgs) != 1 || msgs[0].To[0].Address != "max@example.com" || !strings.HasPrefix(msgs[0].Subject, "Confirmed: Cuts with Anna") ||
		!strings.Contains(msgs[0].Text, str(b, "manage_url")) || !strings.Contains(msgs[0].Text, "(Europe/Berlin)") || !strings.Contains(msgs[0].HTML, "<a href=") {
		t.Fatalf("confirmation: %+v", msgs)
	}
	name, first := parseInvite(t, msgs[0])
	if name != "invite.ics" || first.method != "REQUEST" || first.sequence != "0" || first.status != "CONFIRMED" || first.uid != "booking-"+id+"@"+bw.w.Acme+".playgram" ||
		first.start != d.Add(10*time.Hour).Format("20060102T150405Z") {
		t.Fatalf("first invite: %+v", first)
	}

	// Moved: same UID, higher SEQUENCE, new time.
	bw.app.TestMailer.Reset()
	if res := bw.do("POST", "/api/v1/bookings/"+id+"/reschedule?token="+token, `{"start":"`+d.Add(12*time.Hour).Format(time.RFC3339)+`"}`, nil); res.Status != 200 {
		t.Fatal(res.Body)
	}
	bw.runJobs()
	msgs = bw.app.TestMailer.Messages()
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "Moved: ") {
		t.Fatalf("after the move: %+v", msgs)
	}
	if _, moved := parseInvite(t, msgs[0]); moved.method != "REQUEST" || moved.uid != first.uid || moved.sequence != "1" || moved.start != d.Add(12*time.Hour).Format("20060102T150405Z") {
		t.Fatalf("moved invite: %+v", moved)
	}

	// Reminders: the one planned for the old time does nothing; the new one sends.
	bw.app.TestMailer.Reset()
	bw.makeDue(jobs.KindBookingReminder)
	bw.runJobs()
	msgs = bw.app.TestMailer.Messages()
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "Reminder: ") {
		t.Fatalf("reminders: %d %+v", len(msgs), msgs)
	}
	if _, rem := parseInvite(t, msgs[0]); rem.sequence != "1" || rem.uid != first.uid {
		t.Fatalf("reminder invite: %+v", rem)
	}
	if _, err := bw.app.FindFirstRecordByFilter(collections.Jobs, "kind = 'booking.reminder' && status = 'done' && result ~ 'changed'", nil); err != nil {
		t.Fatalf("the stale reminder did not report why it did nothing: %v", err)
	}

	// Cancelled: METHOD:CANCEL with the same UID and a higher SEQUENCE, so calendars remove the entry.
	bw.app.TestMailer.Reset()
	if res := bw.do("POST", "/api/v1/bookings/"+id+"/cancel?token="+token, `{"reason":"moving away"}`, nil); res.Status != 200 {
		t.Fatal(res.Body)
	}
	bw.runJobs()
	msgs = bw.app.TestMailer.Messages()
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "Cancelled: ") || strings.Contains(msgs[0].Text, "manage?token") {
		t.Fatalf("cancellation: %+v", msgs)
	}
	name, cancelled := parseInvite(t, msgs[0])
	if name != "cancel.ics" || cancelled.method != "CANCEL" || cancelled.status != "CANCELLED" || cancelled.uid != first.uid || cancelled.sequence != "2" {
		t.Fatalf("cancel invite: %+v", cancelled)
	}
}

func TestPendingBookingsAreConfirmedOrRejected(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Tattoo", map[string]any{"requires_confirmation": true, "duration_minutes": 60, "slot_interval_minutes": 60})
	ink := bw.helper("Ink", "UTC", tool)
	bw.hours(ink, "10:00", "14:00")
	d := day(7)
	p1 := obj(t, bw.book(tool, ink, d.Add(10*time.Hour), "1", `,"email":"a@example.com"`).Body)
	p2 := obj(t, bw.book(tool, ink, d.Add(11*time.Hour), "2", `,"email":"b@example.com"`).Body)
	if p1["status"] != "pending" {
		t.Fatalf("status %v", p1["status"])
	}
	if res := bw.book(tool, ink, d.Add(10*time.Hour), "3"); res.Status != 409 {
		t.Fatalf("a pending booking holds its slot: %d", res.Status)
	}
	bw.runJobs()
	msgs := bw.app.TestMailer.Messages()
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0].Subject, "Request received") {
		t.Fatalf("requests: %+v", msgs)
	}
	if _, inv := parseInvite(t, msgs[0]); inv.status != "TENTATIVE" || inv.method != "REQUEST" {
		t.Fatalf("pending invite: %+v", inv)
	}
	if n := bw.count(collections.Jobs, "kind = 'booking.reminder'", nil); n != 0 {
		t.Fatalf("reminders for an unconfirmed booking: %d", n)
	}

	bw.app.TestMailer.Reset()
	if res := bw.do("POST", "/api/v1/bookings/"+str(p1, "id")+"/confirm", "", bw.key()); res.Status != 403 {
		t.Fatalf("a Manychat key cannot confirm: %d", res.Status)
	}
	res := bw.do("POST", "/api/v1/bookings/"+str(p1, "id")+"/confirm", "", bw.w.Manager.Headers)
	if res.Status != 200 || str(obj(t, res.Body), "status") != "confirmed" {
		t.Fatalf("confirm: %d %s", res.Status, res.Body)
	}
	if n := bw.count(collections.Events, "type = 'booking.confirmed' && subject_id = {:id}", dbx.Params{"id": str(p1, "id")}); n != 1 {
		t.Fatalf("%d booking.confirmed events", n)
	}
	if res := bw.do("POST", "/api/v1/bookings/"+str(p2, "id")+"/reject", `{"reason":"fully booked that week"}`, bw.w.Manager.Headers); res.Status != 200 || str(obj(t, res.Body), "status") != "rejected" {
		t.Fatalf("reject: %d %s", res.Status, res.Body)
	}
	if res := bw.do("POST", "/api/v1/bookings/"+str(p1, "id")+"/reject", `{}`, bw.w.Manager.Headers); res.Status != 409 {
		t.Fatalf("rejecting a confirmed booking: %d %s", res.Status, res.Body)
	}
	bw.runJobs()
	subjects := map[string]invite{}
	for _, m := range bw.app.TestMailer.Messages() {
		_, inv := parseInvite(t, m)
		subjects[strings.SplitN(m.Subject, ":", 2)[0]] = inv
	}
	if c := subjects["Confirmed"]; c.sequence != "1" || c.status != "CONFIRMED" {
		t.Fatalf("confirmation after approval: %+v", subjects)
	}
	if r := subjects["Declined"]; r.method != "CANCEL" || r.sequence != "1" {
		t.Fatalf("rejection: %+v", subjects)
	}
	if n := bw.count(collections.Jobs, "kind = 'booking.reminder'", nil); n != 1 {
		t.Fatalf("reminders after confirming: %d", n)
	}
	if res := bw.book(tool, ink, d.Add(11*time.Hour), "4"); res.Status != 201 {
		t.Fatalf("a rejected booking frees its slot: %d %s", res.Status, res.Body)
	}
}

func TestSMSGoesThroughTwilio(t *testing.T) {
	acct := fake.NewAccount("+15005550006")
	tw := fake.New(acct)
	defer tw.Close()
	t.Setenv("TWILIO_BASE_URL", tw.URL)
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "17:00")
	d := day(5)

	// Without Twilio settings no SMS job is queued.
	bw.book(tool, anna, d.Add(9*time.Hour), "1", `,"phone":"+4915111111111"`)
	if n := bw.count(collections.Jobs, "kind = 'booking.sms'", nil); n != 0 {
		t.Fatalf("SMS queued without Twilio: %d", n)
	}

	admin := bw.w.Admin.Headers
	if res := bw.do("PATCH", "/api/collections/workspaces/records/"+bw.w.Acme, `{"settings":{"twilio":{"account_sid":"`+acct.SID+`","from":"+15005550006"}}}`, admin); res.Status != 200 {
		t.Fatal(res.Body)
	}
	if res := bw.do("POST", "/api/v1/workspace/secrets", `{"twilio_auth_token":"`+acct.AuthToken+`"}`, admin); res.Status != 200 {
		t.Fatal(res.Body)
	}
	b := obj(t, bw.book(tool, anna, d.Add(10*time.Hour), "2", `,"phone":"+4915122222222"`).Body)
	if len(tw.Sent()) != 0 {
		t.Fatal("an SMS was sent inside the request")
	}
	bw.runJobs()
	sent := tw.Sent()
	if len(sent) != 1 || sent[0].To != "+4915122222222" || sent[0].From != "+15005550006" || !strings.HasPrefix(sent[0].Body, "Confirmed: Cuts with Anna") || !strings.Contains(sent[0].Body, str(b, "manage_url")) {
		t.Fatalf("sms: %+v", sent)
	}
	job, err := bw.app.FindFirstRecordByFilter(collections.Jobs, "kind = 'booking.sms' && status = 'done'", nil)
	if err != nil || !strings.Contains(job.GetString("result"), sent[0].SID) {
		t.Fatalf("sms job: %v %v", job, err)
	}

	// Twilio down: the job retries later and then succeeds.
	tw.FailNext(fake.Fault{Status: 503, Code: 20503, Message: "Service unavailable"}, fake.Fault{Status: 503, Code: 20503, Message: "Service unavailable"})
	if res := bw.do("POST", "/api/v1/bookings/"+str(b, "id")+"/cancel", `{}`, bw.w.Manager.Headers); res.Status != 200 {
		t.Fatal(res.Body)
	}
	bw.runJobs()
	if len(tw.Sent()) != 1 {
		t.Fatal("sent despite the outage")
	}
	retry, err := bw.app.FindFirstRecordByFilter(collections.Jobs, "kind = 'booking.sms' && status = 'queued'", nil)
	if err != nil || !strings.Contains(retry.GetString("last_error"), "503") {
		t.Fatalf("transient failure: %v %v", retry, err)
	}
	bw.makeDue(jobs.KindBookingSMS)
	bw.runJobs()
	if sent := tw.Sent(); len(sent) != 2 || !strings.HasPrefix(sent[1].Body, "Cancelled: ") {
		t.Fatalf("after the retry: %+v", sent)
	}

	// A recipient who replied STOP: Twilio refuses, the job is dead at once (retrying cannot help).
	tw.Unsubscribe("+4915133333333")
	bw.book(tool, anna, d.Add(11*time.Hour), "3", `,"phone":"+4915133333333"`)
	bw.runJobs()
	dead, err := bw.app.FindFirstRecordByFilter(collections.Jobs, "kind = 'booking.sms' && status = 'dead'", nil)
	if err != nil || !strings.Contains(dead.GetString("last_error"), "21610") || dead.GetInt("attempts") != 1 {
		t.Fatalf("unsubscribed: %v %v", dead, err)
	}
}
