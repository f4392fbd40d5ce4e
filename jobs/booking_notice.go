package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/ics"
	"github.com/playgram/playgram/internal/twilio"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// Booking notice job kinds. Each change of a booking enqueues its notices in the change's transaction; the
// jobs run later, so no email or SMS is ever sent inside a request.
const (
	KindBookingEmail    = "booking.email"
	KindBookingSMS      = "booking.sms"
	KindBookingReminder = "booking.reminder"
)

// Notices a customer receives.
const (
	NoticeConfirmation = "confirmation" // a confirmed booking: new, or just confirmed by the business
	NoticeRequest      = "request"      // a new booking waiting for the business to confirm it
	NoticeReschedule   = "reschedule"
	NoticeCancellation = "cancellation"
	NoticeRejection    = "rejection"
	NoticeReminder     = "reminder"
	NoticeWaitlist     = "waitlist_offer" // a slot opened and is held for a waitlist entry
)

// ProdID names Playgram in iCalendar objects.
const ProdID = "-//Playgram//Bookings//EN"

type noticePayload struct {
	Booking  string `json:"booking,omitempty"`
	Notice   string `json:"notice"`
	Sequence int    `json:"sequence"`
	// ManageURL carries the customer's manage link: only its hash is stored on the booking.
	ManageURL string `json:"manage_url,omitempty"`
	// Waitlist offers.
	Entry     string `json:"entry,omitempty"`
	OfferURL  string `json:"offer_url,omitempty"`
	HoldUntil string `json:"hold_until,omitempty"`
}

type reminderPayload struct {
	Booking   string `json:"booking"`
	Start     int64  `json:"start"`
	Sequence  int    `json:"sequence"`
	Hours     int    `json:"hours"`
	ManageURL string `json:"manage_url,omitempty"`
}

// TwilioSettings are a workspace's non-secret Twilio settings (workspace settings.twilio); the auth token is
// the workspace secret twilio_auth_token.
type TwilioSettings struct {
	AccountSID          string `json:"account_sid"`
	From                string `json:"from"`
	MessagingServiceSID string `json:"messaging_service_sid"`
}

// TwilioOf reads the workspace's Twilio settings; ok is false when SMS is not configured.
func TwilioOf(ws *core.Record) (TwilioSettings, bool) {
	var s struct {
		Twilio TwilioSettings `json:"twilio"`
	}
	raw, _ := json.Marshal(ws.Get("settings"))
	_ = json.Unmarshal(raw, &s)
	t := s.Twilio
	return t, twilio.ValidAccountSID(t.AccountSID) && (t.From != "" || t.MessagingServiceSID != "")
}

// EnqueueNotices queues the email (when the booking has an address) and the SMS (when it has a phone number
// and the workspace has Twilio) for the booking as it is now. Call it with the change's transaction after
// saving the booking.
func EnqueueNotices(app core.App, booking *core.Record, notice, manageURL string) error {
	p := noticePayload{Booking: booking.Id, Notice: notice, Sequence: booking.GetInt("ics_sequence"), ManageURL: manageURL}
	return enqueueChannels(app, booking.GetString("workspace"), booking.GetString("email"), booking.GetString("phone"), p)
}

func enqueueChannels(app core.App, workspace, email, phone string, p noticePayload) error {
	if email != "" {
		if _, err := Enqueue(app, New{Kind: KindBookingEmail, Workspace: workspace, Payload: p}); err != nil {
			return err
		}
	}
	if phone != "" {
		ws, err := app.FindRecordById(collections.Workspaces, workspace)
		if err != nil {
			return err
		}
		if _, ok := TwilioOf(ws); ok {
			if _, err := Enqueue(app, New{Kind: KindBookingSMS, Workspace: workspace, Payload: p}); err != nil {
				return err
			}
		}
	}
	return nil
}

// PlanReminders queues a reminder job for each reminder_hours entry still in the future. A reminder only
// sends when, at its time, the booking is still confirmed at the same start and version: a reminder of a
// cancelled or moved booking does nothing, and the move planned new ones.
func PlanReminders(app core.App, booking *core.Record, cfg BookingConfig, manageURL string, now time.Time) error {
	start := booking.GetDateTime("start").Time()
	for _, h := range cfg.ReminderHours {
		at := start.Add(-time.Duration(h) * time.Hour)
		if !at.After(now) {
			continue
		}
		_, err := Enqueue(app, New{Kind: KindBookingReminder, Workspace: booking.GetString("workspace"), RunAt: at,
			Payload: reminderPayload{Booking: booking.Id, Start: start.Unix(), Sequence: booking.GetInt("ics_sequence"), Hours: h, ManageURL: manageURL}})
		if err != nil {
			return err
		}
	}
	return nil
}

func registerBookingNotices(r *Runner) {
	r.Handle(KindBookingEmail, sendBookingEmail)
	r.Handle(KindBookingSMS, sendBookingSMS)
	r.Handle(KindBookingReminder, func(ctx context.Context, app core.App, job *Job) error {
		var p reminderPayload
		if err := job.Decode(&p); err != nil {
			return err
		}
		b, err := app.FindRecordById(collections.Bookings, p.Booking)
		if err != nil {
			job.Result = map[string]any{"skipped": "booking deleted"}
			return nil
		}
		switch {
		case b.GetString("status") != collections.BookingConfirmed:
			job.Result = map[string]any{"skipped": "booking is " + b.GetString("status")}
			return nil
		case b.GetDateTime("start").Time().Unix() != p.Start || b.GetInt("ics_sequence") != p.Sequence:
			job.Result = map[string]any{"skipped": "booking was changed; its new reminders are planned"}
			return nil
		}
		return EnqueueNotices(app, b, NoticeReminder, p.ManageURL)
	})
}

// noticeView is what a notice says, loaded when it is sent.
type noticeView struct {
	p                     noticePayload
	workspace             *core.Record
	booking               *core.Record // nil for waitlist offers
	entry                 *core.Record
	toolName, helperName  string
	start, end            time.Time
	loc                   *time.Location
	name, email, phone    string
	holdUntil             time.Time
	status, notes, method string
}

// loadNotice loads the subject of a notice, or explains why it is no longer due (skip != "").
func loadNotice(app core.App, p noticePayload) (v *noticeView, skip string, err error) {
	v = &noticeView{p: p}
	var helperID, toolID, tz string
	if p.Entry != "" {
		v.entry, err = app.FindRecordById(collections.Waitlist, p.Entry)
		if err != nil {
			return nil, "waitlist entry deleted", nil
		}
		if v.entry.GetString("status") != collections.WaitlistOffered || v.entry.GetDateTime("hold_until").String() != p.HoldUntil {
			return nil, "the offer is no longer open", nil
		}
		helperID, toolID, tz = v.entry.GetString("offer_helper"), v.entry.GetString("tool"), v.entry.GetString("tz")
		v.name, v.email, v.phone = v.entry.GetString("name"), v.entry.GetString("email"), v.entry.GetString("phone")
		v.start = v.entry.GetDateTime("offer_start").Time()
		v.holdUntil = v.entry.GetDateTime("hold_until").Time()
	} else {
		v.booking, err = app.FindRecordById(collections.Bookings, p.Booking)
		if err != nil {
			return nil, "booking deleted", nil
		}
		if v.booking.GetInt("ics_sequence") > p.Sequence {
			return nil, "superseded by a later change of the booking", nil
		}
		helperID, toolID, tz = v.booking.GetString("helper"), v.booking.GetString("tool"), v.booking.GetString("tz")
		v.name, v.email, v.phone = v.booking.GetString("name"), v.booking.GetString("email"), v.booking.GetString("phone")
		v.start, v.end = v.booking.GetDateTime("start").Time(), v.booking.GetDateTime("end").Time()
		v.status, v.notes = v.booking.GetString("status"), v.booking.GetString("notes")
	}
	subject := v.booking
	if v.entry != nil {
		subject = v.entry
	}
	if v.workspace, err = app.FindRecordById(collections.Workspaces, subject.GetString("workspace")); err != nil {
		return nil, "workspace deleted", nil
	}
	if tool, err := app.FindRecordById(collections.Tools, toolID); err == nil {
		v.toolName = tool.GetString("name")
		if v.end.IsZero() {
			cfg, _ := ParseBookingConfig(tool.GetString("config"))
			v.end = v.start.Add(cfg.Duration())
		}
	}
	helperTZ := ""
	if helper, err := app.FindRecordById(collections.Helpers, helperID); err == nil {
		v.helperName, helperTZ = helper.GetString("name"), helper.GetString("timezone")
	}
	v.loc = time.UTC
	for _, name := range []string{tz, helperTZ, v.workspace.GetString("timezone")} {
		if loc, err := time.LoadLocation(name); err == nil && name != "" {
			v.loc = loc
			break
		}
	}
	return v, "", nil
}

// when renders the appointment time for the customer, e.g. "Tue 3 Mar 2026, 10:00–10:30 (Europe/Berlin)".
func (v *noticeView) when() string {
	s, e := v.start.In(v.loc), v.end.In(v.loc)
	out := s.Format("Mon 2 Jan 2006, 15:04") + "–" + e.Format("15:04")
	if s.Format(time.DateOnly) != e.Format(time.DateOnly) {
		out = s.Format("Mon 2 Jan 2006, 15:04") + " – " + e.Format("Mon 2 Jan 15:04")
	}
	return out + " (" + v.loc.String() + ")"
}

// lines returns the subject and the body paragraphs of a notice.
func (v *noticeView) lines() (subject string, paras []string) {
	what := v.toolName
	if v.helperName != "" {
		what += " with " + v.helperName
	}
	when := v.when()
	greet := "Hello"
	if v.name != "" {
		greet += " " + v.name
	}
	switch v.p.Notice {
	case NoticeConfirmation:
		subject, paras = "Confirmed: "+what, []string{"your booking is confirmed: " + what + ", " + when + "."}
	case NoticeRequest:
		subject, paras = "Request received: "+what, []string{"we received your booking request for " + what + ", " + when + ". We will confirm it shortly; the time is kept for you meanwhile."}
	case NoticeReschedule:
		subject, paras = "Moved: "+what, []string{"your booking has moved. " + what + " is now " + when + "."}
	case NoticeCancellation:
		subject, paras = "Cancelled: "+what, []string{"your booking for " + what + ", " + when + ", is cancelled."}
	case NoticeRejection:
		subject, paras = "Declined: "+what, []string{"we are sorry: we cannot take your booking request for " + what + ", " + when + "."}
	case NoticeReminder:
		subject, paras = "Reminder: "+what, []string{"a reminder of your booking: " + what + ", " + when + "."}
	case NoticeWaitlist:
		subject = "A time opened up: " + what
		paras = []string{"a time you were waiting for is free: " + what + ", " + when + ". It is held for you until " +
			v.holdUntil.In(v.loc).Format("15:04 (Mon 2 Jan)") + "."}
	}
	paras[0] = greet + ", " + paras[0]
	if v.notes != "" && v.p.Notice != NoticeCancellation && v.p.Notice != NoticeRejection {
		paras = append(paras, "Your notes: "+v.notes)
	}
	switch {
	case v.p.OfferURL != "":
		paras = append(paras, "Book it: "+v.p.OfferURL)
	case v.p.ManageURL != "" && v.p.Notice != NoticeCancellation && v.p.Notice != NoticeRejection:
		paras = append(paras, "Cancel or change your booking: "+v.p.ManageURL)
	}
	return subject, paras
}

var emailHTML = template.Must(template.New("notice").Parse(`<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
{{range .Paras}}<p>{{.}}</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}<p style="color:#888">{{.Workspace}}</p></body></html>`))

func sendBookingEmail(ctx context.Context, app core.App, job *Job) error {
	var p noticePayload
	if err := job.Decode(&p); err != nil {
		return err
	}
	v, skip, err := loadNotice(app, p)
	if err != nil || skip != "" {
		job.Result = map[string]any{"skipped": skip}
		return err
	}
	to, err := mail.ParseAddress(v.email)
	if err != nil {
		return Permanent(fmt.Errorf("booking email %q: %w", v.email, err))
	}
	to.Name = v.name
	subject, paras := v.lines()
	link, linkText := p.ManageURL, "Manage your booking"
	if p.OfferURL != "" {
		link, linkText = p.OfferURL, "Book this time"
	} else if p.Notice == NoticeCancellation || p.Notice == NoticeRejection {
		link = ""
	}
	var html bytes.Buffer
	if err := emailHTML.Execute(&html, map[string]any{"Paras": paras[:len(paras)-boolInt(link != "")], "Link": link, "LinkText": linkText, "Workspace": v.workspace.GetString("name")}); err != nil {
		return err
	}
	sender := app.Settings().Meta
	msg := &mailer.Message{
		From:    mail.Address{Name: v.workspace.GetString("name"), Address: sender.SenderAddress},
		To:      []mail.Address{*to},
		Subject: subject,
		HTML:    html.String(),
		Text:    strings.Join(paras, "\n\n") + "\n\n" + v.workspace.GetString("name") + "\n",
	}
	if v.booking != nil {
		method, name := ics.MethodRequest, "invite.ics"
		if p.Notice == NoticeCancellation || p.Notice == NoticeRejection {
			method, name = ics.MethodCancel, "cancel.ics"
		}
		cal, err := inviteICS(v, method, sender.SenderAddress)
		if err != nil {
			return Permanent(err)
		}
		msg.Attachments = map[string]io.Reader{name: bytes.NewReader(cal)}
	}
	if err := app.NewMailClient().Send(msg); err != nil {
		return err
	}
	job.Result = map[string]any{"to": to.Address, "notice": p.Notice}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// EventUID is the booking's iCalendar UID: it never changes, so every update and the cancellation replace the
// same calendar entry.
func EventUID(booking *core.Record) string {
	return "booking-" + booking.Id + "@" + booking.GetString("workspace") + ".playgram"
}

// CalendarEvent describes a booking as an iCalendar event (without organizer and attendee).
func CalendarEvent(booking *core.Record, summary, description string) ics.Event {
	status := ics.StatusConfirmed
	switch booking.GetString("status") {
	case collections.BookingPending:
		status = ics.StatusTentative
	case collections.BookingCancelled, collections.BookingRejected:
		status = ics.StatusCancelled
	}
	return ics.Event{
		UID:          EventUID(booking),
		Sequence:     booking.GetInt("ics_sequence"),
		Start:        booking.GetDateTime("start").Time(),
		End:          booking.GetDateTime("end").Time(),
		Summary:      summary,
		Description:  description,
		Status:       status,
		Created:      booking.GetDateTime("created").Time(),
		LastModified: booking.GetDateTime("updated").Time(),
		Stamp:        time.Now(),
	}
}

func inviteICS(v *noticeView, method ics.Method, organizer string) ([]byte, error) {
	summary := v.toolName
	if v.helperName != "" {
		summary += " with " + v.helperName
	}
	ev := CalendarEvent(v.booking, summary, v.notes)
	ev.Sequence = v.p.Sequence
	ev.Organizer = ics.Person{Name: v.workspace.GetString("name"), Email: organizer}
	ev.Attendee = ics.Person{Name: v.name, Email: v.email}
	if v.p.ManageURL != "" && method == ics.MethodRequest {
		ev.URL = v.p.ManageURL
	}
	return ics.Invite(method, ev, ProdID)
}

func sendBookingSMS(ctx context.Context, app core.App, job *Job) error {
	var p noticePayload
	if err := job.Decode(&p); err != nil {
		return err
	}
	v, skip, err := loadNotice(app, p)
	if err != nil || skip != "" {
		job.Result = map[string]any{"skipped": skip}
		return err
	}
	settings, ok := TwilioOf(v.workspace)
	if !ok {
		job.Result = map[string]any{"skipped": "Twilio is no longer configured for the workspace"}
		return nil
	}
	deps := Deps(app)
	token, err := deps.Secret(v.workspace, "twilio_auth_token")
	if err != nil {
		return Permanent(fmt.Errorf("opening twilio_auth_token: %w", err))
	}
	if token == "" {
		job.Result = map[string]any{"skipped": "the workspace has no twilio_auth_token"}
		return nil
	}
	subject, paras := v.lines()
	body := subject + ". " + v.when() + "."
	if len(paras) > 1 {
		last := paras[len(paras)-1]
		if strings.HasPrefix(last, "Book it: ") || strings.HasPrefix(last, "Cancel or change") {
			body += " " + last
		}
	}
	c := &twilio.Client{AccountSID: settings.AccountSID, AuthToken: token, BaseURL: deps.TwilioBaseURL, HTTP: deps.HTTP, MaxAttempts: 2}
	res, err := c.Send(ctx, twilio.Message{To: v.phone, From: settings.From, MessagingServiceSID: settings.MessagingServiceSID, Body: body})
	if err != nil {
		if !twilio.Retryable(err) {
			return Permanent(err)
		}
		return err
	}
	job.Result = map[string]any{"sid": res.SID, "to": res.To, "notice": p.Notice}
	return nil
}
