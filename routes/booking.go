package routes

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/internal/dbtime"
	"html/template"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/ics"
	"github.com/playgram/playgram/internal/manychat/dynblock"
	"github.com/playgram/playgram/internal/slots"
	"github.com/playgram/playgram/internal/twilio"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/pocketbase/pocketbase/tools/security"
)

// Booking routes. Every decision about time goes through internal/slots: the slot list (Free, ForHelpers,
// AnyHelper, Next), the check inside the booking transaction (IsBookable, PickHelper) and the alternatives of
// a conflict (Nearest) are the same computation on rows read with the same loader (jobs.LoadSchedule).
//
// Writes are check-then-insert inside one transaction on PocketBase's single writer connection, read through
// the transaction; a unique index on bookings.slot_key (helper/start/seat while a booking holds its slot)
// backs that up at the database level.

const (
	maxSlotRangeDays = 93
	offerTTL         = 48 * time.Hour
	alternativeCount = 3
	alternativeDays  = 35
	manychatButtons  = 9
)

func registerBooking(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	b := &bookingAPI{svc: svc}
	read := Access{Scope: "manychat", MinRole: collections.RoleViewer}
	write := Access{Scope: "manychat", MinRole: collections.RoleManager}
	staff := Access{Scope: "admin", MinRole: collections.RoleManager}

	v1.GET("/bookings/slots", b.listSlots).Bind(require(svc, read), apis.SkipSuccessActivityLog())
	v1.GET("/bookings/next", b.nextSlot).Bind(require(svc, read), apis.SkipSuccessActivityLog())
	v1.GET("/bookings/calendar", b.calendar).Bind(require(svc, read))
	v1.POST("/bookings", b.create).Bind(require(svc, write))
	v1.POST("/bookings/waitlist", b.joinWaitlist).Bind(require(svc, write))
	v1.DELETE("/bookings/waitlist/{id}", b.leaveWaitlist).Bind(require(svc, write))
	// Links carry their token in the URL: successful requests stay out of the request log, so the log does not
	// collect working links (and calendar apps polling feeds do not swamp it).
	quiet := apis.SkipSuccessActivityLog()
	v1.GET("/booking-offers/{token}", b.offerPage).Bind(quiet)
	v1.POST("/booking-offers/{token}", b.takeOffer).Bind(quiet)
	v1.GET("/bookings/{id}", b.view).Bind(memberOrToken(svc, read), quiet)
	v1.POST("/bookings/{id}/cancel", b.cancelRoute).Bind(memberOrToken(svc, write), quiet)
	v1.POST("/bookings/{id}/reschedule", b.rescheduleRoute).Bind(memberOrToken(svc, write), quiet)
	v1.POST("/bookings/{id}/confirm", b.confirm).Bind(require(svc, staff))
	v1.POST("/bookings/{id}/reject", b.reject).Bind(require(svc, staff))
	v1.GET("/bookings/{id}/manage", b.managePage).Bind(quiet)
	v1.POST("/bookings/{id}/manage", b.manageForm).Bind(quiet)
	v1.GET("/helpers/{id}/calendar.ics", b.feed).Bind(quiet)
	v1.POST("/helpers/{id}/calendar-token", b.rotateFeedToken).Bind(require(svc, staff))
}

type bookingAPI struct{ svc *platform.Services }

// memberOrToken lets a request with ?token= (a booking's manage token, checked by the handler) through, and
// authenticates every other request like require.
func memberOrToken(svc *platform.Services, a Access) *hook.Handler[*core.RequestEvent] {
	inner := require(svc, a)
	return &hook.Handler[*core.RequestEvent]{Func: func(e *core.RequestEvent) error {
		if e.Request.URL.Query().Get("token") != "" {
			return e.Next()
		}
		return inner.Func(e)
	}}
}

// ---- errors

// slotTaken is a start that cannot be booked; the answer is a 409 with the nearest free alternatives.
type slotTaken struct{ reason string }

func (s *slotTaken) Error() string { return "slot not bookable: " + s.reason }

// bookingError is a refusal with its HTTP status, for the JSON routes and the customer pages alike.
type bookingError struct {
	status int
	msg    string
}

func (b *bookingError) Error() string { return b.msg }

func refuse(status int, msg string) error { return &bookingError{status, msg} }

var reasonText = map[string]string{
	slots.ReasonMinNotice:    "That time is too soon to book.",
	slots.ReasonMaxAdvance:   "That time is too far ahead to book.",
	slots.ReasonClosed:       "Nobody works on that day.",
	slots.ReasonOutsideHours: "That time is outside working hours.",
	slots.ReasonOffGrid:      "Bookings start on the slot grid; pick one of the listed times.",
	slots.ReasonDailyLimit:   "That day is fully booked.",
	slots.ReasonConflict:     "That time is already taken.",
	slots.ReasonFull:         "That time is fully booked.",
	"no_helper":              "Nobody is free at that time.",
	"seat":                   "That time was just taken.",
}

func (s *slotTaken) message() string {
	if m, ok := reasonText[s.reason]; ok {
		return m
	}
	return "That time cannot be booked."
}

// ---- parameters

// resolveTool finds a booking tool of the workspace by id or slug.
func resolveTool(e *core.RequestEvent, app core.App, ws, ref string) (jobs.Tool, error) {
	if ref == "" {
		return jobs.Tool{}, fieldError(e, "tool", "validation_required", "is required (a booking tool id or slug)")
	}
	tools, err := jobs.LoadTools(app, ws)
	if err != nil {
		return jobs.Tool{}, err
	}
	for _, t := range tools {
		if t.ID != ref && t.Slug != ref {
			continue
		}
		if !t.Enabled {
			return jobs.Tool{}, fieldError(e, "tool", "validation_tool_disabled", "this booking tool is disabled")
		}
		if p := platform.PrincipalOf(e); p != nil && p.Key != nil && p.Key.Tool != "" && p.Key.Tool != t.ID {
			return jobs.Tool{}, e.ForbiddenError("This API key is bound to another tool.", nil)
		}
		return t, nil
	}
	return jobs.Tool{}, fieldError(e, "tool", "validation_invalid_tool", "no booking tool "+ref+" in this workspace")
}

// resolveHelper checks a helper parameter: "" or "any" means any helper (nil ids).
func resolveHelper(e *core.RequestEvent, app core.App, ws string, tool jobs.Tool, ref string) ([]string, *jobs.Helper, error) {
	if ref == "" || ref == "any" {
		return nil, nil, nil
	}
	helpers, _, err := jobs.LoadHelpers(app, ws, []string{ref})
	if err != nil {
		return nil, nil, err
	}
	h, ok := helpers[ref]
	if !ok {
		return nil, nil, fieldError(e, "helper", "validation_invalid_helper", "no helper "+ref+" in this workspace")
	}
	if !h.Serves(tool.ID) {
		return nil, nil, fieldError(e, "helper", "validation_invalid_helper", "this helper is inactive or does not offer this tool")
	}
	return []string{ref}, &h, nil
}

// zoneParam loads an IANA zone from a parameter, falling back to def.
func zoneParam(e *core.RequestEvent, field, name string, def *time.Location) (*time.Location, error) {
	if name == "" {
		return def, nil
	}
	loc, err := slots.LoadLocation(field, name)
	if err != nil {
		return nil, fieldError(e, field, slots.CodeInvalidZone, "must be an IANA time zone such as Europe/Berlin")
	}
	return loc, nil
}

// timeParam reads an RFC 3339 instant, or a YYYY-MM-DD date meaning that date's local midnight in loc (the
// next midnight when endOfDay, so that to=2026-03-31 includes the 31st).
func timeParam(e *core.RequestEvent, field, v string, loc *time.Location, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if endOfDay {
			d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
		}
		return d, nil
	}
	return time.Time{}, fieldError(e, field, "validation_invalid_datetime", "must be an RFC 3339 time (2026-03-29T10:00:00+02:00) or a date (2026-03-29)")
}

func workspaceZone(app core.App, ws string) *time.Location {
	if rec, err := app.FindRecordById(collections.Workspaces, ws); err == nil {
		if loc, err := slots.LoadLocation("timezone", rec.GetString("timezone")); err == nil {
			return loc
		}
	}
	return time.UTC
}

// slotErrors turns the engine's field errors (a range too long, ...) into a 400.
func slotErrors(e *core.RequestEvent, err error) error {
	var list slots.FieldErrors
	if errors.As(err, &list) {
		problems := map[string]string{}
		for _, fe := range list {
			problems[fe.Field] = fe.Message
		}
		return fieldErrors(e, problems)
	}
	return err
}

// ---- slot answers

type slotJSON struct {
	Start      string  `json:"start"`
	End        string  `json:"end"`
	LocalStart string  `json:"local_start"`
	LocalEnd   string  `json:"local_end"`
	Helper     *string `json:"helper"`
	SeatsLeft  int     `json:"seats_left"`
}

func toSlotJSON(s slots.Slot, loc *time.Location) slotJSON {
	out := slotJSON{
		Start: s.Start.UTC().Format(time.RFC3339), End: s.End.UTC().Format(time.RFC3339),
		LocalStart: s.Start.In(loc).Format(time.RFC3339), LocalEnd: s.End.In(loc).Format(time.RFC3339),
		SeatsLeft: s.SeatsLeft,
	}
	if s.Helper != "" {
		h := s.Helper
		out.Helper = &h
	}
	return out
}

// freeSlots lists free slots of one helper, or of any helper (merged) when ids is nil.
func freeSlots(sched *jobs.Schedule, tool jobs.Tool, ids []string, from, to, now time.Time) ([]slots.Slot, error) {
	if ids != nil {
		return slots.Free(sched.Input(ids[0], tool, now, jobs.InputOptions{}), from, to)
	}
	per, err := slots.ForHelpers(sched.Team(tool, now, jobs.InputOptions{}), from, to)
	if err != nil {
		return nil, err
	}
	return slots.AnyHelper(per), nil
}

// slotQuery reads what slot searches share: the tool, the helper (or every helper serving it) and the zone the
// answer is shown in (tz, else the helper's, else the workspace's).
func slotQuery(e *core.RequestEvent) (jobs.Tool, []string, *jobs.Helper, *time.Location, error) {
	q := e.Request.URL.Query()
	ws := platform.PrincipalOf(e).Workspace
	tool, err := resolveTool(e, e.App, ws, q.Get("tool"))
	if err != nil {
		return tool, nil, nil, nil, err
	}
	ids, helper, err := resolveHelper(e, e.App, ws, tool, q.Get("helper"))
	if err != nil {
		return tool, nil, nil, nil, err
	}
	defZone := workspaceZone(e.App, ws)
	if helper != nil {
		defZone = helper.Location
	}
	loc, err := zoneParam(e, "tz", q.Get("tz"), defZone)
	return tool, ids, helper, loc, err
}

func (b *bookingAPI) listSlots(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	ws := platform.PrincipalOf(e).Workspace
	tool, ids, helper, loc, err := slotQuery(e)
	if err != nil {
		return err
	}
	now := time.Now()
	from, to := now, time.Time{}
	if v := q.Get("from"); v != "" {
		if from, err = timeParam(e, "from", v, loc, false); err != nil {
			return err
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = timeParam(e, "to", v, loc, true); err != nil {
			return err
		}
	} else {
		to = from.AddDate(0, 0, 7)
	}
	if !to.After(from) {
		return fieldError(e, "to", "validation_invalid_order", "must be after from")
	}
	if to.Sub(from) > maxSlotRangeDays*24*time.Hour {
		return fieldError(e, "to", "validation_out_of_range", fmt.Sprintf("must be at most %d days after from", maxSlotRangeDays))
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 5000 {
			return fieldError(e, "limit", "validation_out_of_range", "must be a whole number from 1 to 5000")
		}
	}
	manychat := q.Get("format") == "manychat"
	if q.Get("format") != "" && !manychat {
		return fieldError(e, "format", "validation_invalid_value", "must be manychat or left out")
	}
	sched, err := jobs.LoadSchedule(e.App, jobs.ScheduleQuery{Workspace: ws, Helpers: ids, From: from, To: to})
	if err != nil {
		return err
	}
	list, err := freeSlots(sched, tool, ids, from, to, now)
	if err != nil {
		return slotErrors(e, err)
	}
	if manychat {
		return b.slotsBlock(e, ws, tool, helper, ids, list, loc)
	}
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	out := make([]slotJSON, len(list))
	for i, s := range list {
		out[i] = toSlotJSON(s, loc)
	}
	return e.JSON(http.StatusOK, map[string]any{"tool": tool.ID, "helper": helperOrNil(ids), "tz": loc.String(),
		"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339), "slots": out})
}

func helperOrNil(ids []string) any {
	if ids == nil {
		return nil
	}
	return ids[0]
}

// nextSlot finds the first free slot after a time, loading bookings a growing window at a time.
func (b *bookingAPI) nextSlot(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	ws := platform.PrincipalOf(e).Workspace
	tool, ids, _, loc, err := slotQuery(e)
	if err != nil {
		return err
	}
	now := time.Now()
	after := now
	if v := q.Get("after"); v != "" {
		if after, err = timeParam(e, "after", v, loc, false); err != nil {
			return err
		}
	}
	horizon := now.AddDate(0, 0, tool.Config.MaxAdvanceDays+1)
	for from, span := after, 14*24*time.Hour; from.Before(horizon); from, span = from.Add(span), min(span*2, maxSlotRangeDays*24*time.Hour) {
		to := from.Add(span)
		sched, err := jobs.LoadSchedule(e.App, jobs.ScheduleQuery{Workspace: ws, Helpers: ids, From: from, To: to})
		if err != nil {
			return err
		}
		list, err := freeSlots(sched, tool, ids, from, to, now)
		if err != nil {
			return slotErrors(e, err)
		}
		if len(list) > 0 {
			s := toSlotJSON(list[0], loc)
			return e.JSON(http.StatusOK, map[string]any{"tool": tool.ID, "helper": helperOrNil(ids), "tz": loc.String(), "slot": s})
		}
	}
	return e.JSON(http.StatusOK, map[string]any{"tool": tool.ID, "helper": helperOrNil(ids), "tz": loc.String(), "slot": nil})
}

// alternatives are up to three free slots nearest to start, read outside the failed transaction.
func alternatives(app core.App, ws string, tool jobs.Tool, ids []string, start time.Time, opt jobs.InputOptions) []slots.Slot {
	window := alternativeDays * 24 * time.Hour
	sched, err := jobs.LoadSchedule(app, jobs.ScheduleQuery{Workspace: ws, Helpers: ids, From: start.Add(-window), To: start.Add(window), Ignore: opt.IgnoreBooking})
	if err != nil {
		return nil
	}
	now := time.Now()
	var team []slots.Input
	if ids != nil {
		team = []slots.Input{sched.Input(ids[0], tool, now, opt)}
	} else {
		team = sched.Team(tool, now, opt)
	}
	type key struct{ s, e int64 }
	merged := map[key]slots.Slot{}
	for _, in := range team {
		near, err := slots.Nearest(in, start, alternativeCount)
		if err != nil {
			continue
		}
		for _, s := range near {
			if s.Start.Sub(start).Abs() > window {
				continue // beyond the bookings that were read
			}
			k := key{s.Start.Unix(), s.End.Unix()}
			if cur, ok := merged[k]; ok {
				cur.SeatsLeft += s.SeatsLeft
				merged[k] = cur
				continue
			}
			if ids == nil {
				s.Helper = ""
			}
			merged[k] = s
		}
	}
	out := make([]slots.Slot, 0, len(merged))
	for _, s := range merged {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := out[i].Start.Sub(start).Abs(), out[j].Start.Sub(start).Abs()
		if di != dj {
			return di < dj
		}
		return out[i].Start.Before(out[j].Start)
	})
	out = out[:min(alternativeCount, len(out))]
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// conflict answers a taken slot in PocketBase's error shape with data.alternatives.
func conflict(e *core.RequestEvent, taken *slotTaken, alts []slots.Slot, loc *time.Location) error {
	out := make([]slotJSON, len(alts))
	for i, s := range alts {
		out[i] = toSlotJSON(s, loc)
	}
	return e.JSON(http.StatusConflict, map[string]any{
		"status":  http.StatusConflict,
		"message": taken.message() + " Here are the nearest free times.",
		"data":    map[string]any{"reason": taken.reason, "alternatives": out},
	})
}

// ---- booking records

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func tokenMatches(token, hash string) bool {
	if token == "" || hash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(hash)) == 1
}

func newToken() string { return security.RandomString(43) }

func (b *bookingAPI) manageURL(booking *core.Record, token string) string {
	if token == "" {
		return ""
	}
	return b.svc.PublicURL() + "/api/v1/bookings/" + booking.Id + "/manage?token=" + url.QueryEscape(token)
}

func bookingZone(booking *core.Record) *time.Location {
	if loc, err := slots.LoadLocation("tz", booking.GetString("tz")); err == nil {
		return loc
	}
	return time.UTC
}

// bookingJSON is a booking as the API answers it; manage_url only when the token is known.
func bookingJSON(booking *core.Record, manageURL string) map[string]any {
	loc := bookingZone(booking)
	start, end := booking.GetDateTime("start").Time(), booking.GetDateTime("end").Time()
	out := map[string]any{
		"id": booking.Id, "status": booking.GetString("status"),
		"start": start.UTC().Format(time.RFC3339), "end": end.UTC().Format(time.RFC3339),
		"local_start": start.In(loc).Format(time.RFC3339), "local_end": end.In(loc).Format(time.RFC3339), "tz": loc.String(),
		"helper": booking.GetString("helper"), "tool": booking.GetString("tool"), "contact": booking.GetString("contact"),
		"name": booking.GetString("name"), "email": booking.GetString("email"), "phone": booking.GetString("phone"),
		"notes": booking.GetString("notes"), "seats": booking.GetInt("seats"), "source": booking.GetString("source"),
		"ics_sequence": booking.GetInt("ics_sequence"),
		"created":      booking.GetDateTime("created").Time().UTC().Format(time.RFC3339),
		"updated":      booking.GetDateTime("updated").Time().UTC().Format(time.RFC3339),
	}
	if manageURL != "" {
		out["manage_url"] = manageURL
	}
	return out
}

func eventData(booking *core.Record) map[string]any {
	return map[string]any{
		"booking": booking.Id, "tool": booking.GetString("tool"), "helper": booking.GetString("helper"),
		"start": booking.GetDateTime("start").Time().UTC().Format(time.RFC3339), "end": booking.GetDateTime("end").Time().UTC().Format(time.RFC3339),
		"status": booking.GetString("status"), "source": booking.GetString("source"), "contact": booking.GetString("contact"),
	}
}

func emit(tx core.App, booking *core.Record, typ string, actor platform.Actor, data map[string]any) error {
	_, err := platform.Emit(tx, platform.Event{Workspace: booking.GetString("workspace"), Type: typ, SubjectCollection: collections.Bookings,
		SubjectID: booking.Id, Contact: booking.GetString("contact"), Actor: actor.String(), Data: data})
	return err
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		if fe, ok := verrs["slot_key"]; ok && fe != nil {
			return true
		}
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "validation_not_unique")
}

// newBooking is a booking to make.
type newBooking struct {
	tool                          jobs.Tool
	helper                        string // "" = any
	start                         time.Time
	contact                       platform.ContactRef
	name, email, phone, notes, tz string
	source                        string
	actor                         platform.Actor
	contactDefaults               map[string]any
}

// book checks the slot and inserts the booking, its event, its notices and reminders, all with tx. A slot
// that cannot be booked is a *slotTaken (the caller rolls back and offers alternatives); found before anything
// is written, it is platform.Refused, so a grouped transaction goes on without this booking.
func (b *bookingAPI) book(tx core.App, ws string, nb newBooking, now time.Time) (*core.Record, string, error) {
	// Check the slot before writing anything: a taken slot (the common answer under contention) costs reads
	// only. A contact that does not exist yet has no held slot to take.
	contactID := contactIDOf(tx, ws, nb.contact)
	if nb.contact.ContactID != "" && contactID == "" {
		return nil, "", platform.Refused(refuse(http.StatusBadRequest, "contact: no such contact in this workspace"))
	}
	var ids []string
	if nb.helper != "" {
		ids = []string{nb.helper}
	}
	sched, err := jobs.LoadSchedule(tx, jobs.ScheduleQuery{Workspace: ws, Helpers: ids, From: nb.start, To: nb.start.Add(time.Second), WholeDays: ids == nil})
	if err != nil {
		return nil, "", err
	}
	opt := jobs.InputOptions{Contact: contactID}
	var slot slots.Slot
	if nb.helper != "" {
		h, ok := sched.Helpers[nb.helper]
		if !ok || !h.Serves(nb.tool.ID) {
			return nil, "", platform.Refused(&slotTaken{"no_helper"})
		}
		in := sched.Input(nb.helper, nb.tool, now, opt)
		if ok, reason := slots.IsBookable(in, nb.start); !ok {
			return nil, "", platform.Refused(&slotTaken{reason})
		}
		slot = slots.Slot{Start: nb.start, End: nb.start.Add(nb.tool.Config.Duration()), Helper: nb.helper}
	} else {
		team := sched.Team(nb.tool, now, opt)
		var ok bool
		if slot, ok = slots.PickHelper(team, nb.start); !ok {
			return nil, "", platform.Refused(&slotTaken{teamReason(team, nb.start)})
		}
	}
	seat, free, err := jobs.FreeSeat(tx, slot.Helper, slot.Start, nb.tool.Config.Seats)
	if err != nil {
		return nil, "", err
	}
	if !free {
		return nil, "", platform.Refused(&slotTaken{"seat"})
	}
	contact, err := resolveContact(tx, ws, nb.contact, nb.contactDefaults)
	if err != nil {
		return nil, "", err
	}

	coll, err := tx.FindCachedCollectionByNameOrId(collections.Bookings)
	if err != nil {
		return nil, "", err
	}
	rec := core.NewRecord(coll)
	status := collections.BookingConfirmed
	if nb.tool.Config.RequiresConfirmation {
		status = collections.BookingPending
	}
	name, email, phone := firstOf(nb.name, contact.GetString("name"), strings.TrimSpace(contact.GetString("first_name")+" "+contact.GetString("last_name")), contact.GetString("ig_username")),
		firstOf(nb.email, contact.GetString("email")), firstOf(nb.phone, contact.GetString("phone"))
	tz := nb.tz
	if tz == "" {
		tz = sched.Helpers[slot.Helper].Location.String()
	}
	token := newToken()
	rec.Set("workspace", ws)
	rec.Set("tool", nb.tool.ID)
	rec.Set("helper", slot.Helper)
	rec.Set("contact", contact.Id)
	rec.Set("start", slot.Start)
	rec.Set("end", slot.End)
	rec.Set("status", status)
	rec.Set("seats", 1)
	rec.Set("name", name)
	rec.Set("email", email)
	rec.Set("phone", phone)
	rec.Set("notes", nb.notes)
	rec.Set("tz", tz)
	rec.Set("source", nb.source)
	rec.Set("ics_sequence", 0)
	rec.Set("manage_token_hash", hashToken(token))
	rec.Set("slot_key", jobs.SlotKey(slot.Helper, slot.Start, seat))
	if status == collections.BookingConfirmed {
		rec.Set("confirmed_at", now)
	}
	if err := tx.Save(rec); err != nil {
		if isUniqueViolation(err) {
			return nil, "", &slotTaken{"seat"} // not Refused: the contact may have been written
		}
		return nil, "", err
	}
	if err := emit(tx, rec, "booking.created", nb.actor, eventData(rec)); err != nil {
		return nil, "", err
	}
	// A booking is an interaction of its contact (daily counters, engagement score).
	if err := crm.CountInteraction(tx, rec.GetString("workspace"), contact.Id, crm.InteractionBooking, now); err != nil {
		return nil, "", err
	}
	// A waitlist offer of this slot for this contact is now taken.
	if _, err := tx.DB().NewQuery(`UPDATE waitlist SET status = 'booked', booking = {:b}, updated = {:now}
		WHERE contact = {:c} AND tool = {:t} AND status = 'offered' AND offer_start = {:s}`).
		Bind(dbx.Params{"b": rec.Id, "now": dbtime.Format(now), "c": contact.Id, "t": nb.tool.ID, "s": dbtime.Format(slot.Start)}).Execute(); err != nil {
		return nil, "", err
	}
	manage := b.manageURL(rec, token)
	notice := jobs.NoticeConfirmation
	if status == collections.BookingPending {
		notice = jobs.NoticeRequest
	}
	if err := jobs.EnqueueNotices(tx, rec, notice, manage); err != nil {
		return nil, "", err
	}
	if status == collections.BookingConfirmed {
		if err := jobs.PlanReminders(tx, rec, nb.tool.Config, manage, now); err != nil {
			return nil, "", err
		}
	}
	return rec, token, nil
}

// teamReason says why nobody of a team can take start: taken (conflict, full) when that is true of anyone,
// else the first member's reason, e.g. outside hours.
func teamReason(team []slots.Input, start time.Time) string {
	reason := "no_helper"
	for i, in := range team {
		_, r := slots.IsBookable(in, start)
		if r == slots.ReasonConflict || r == slots.ReasonFull {
			return r
		}
		if i == 0 {
			reason = r
		}
	}
	return reason
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

type createRequest struct {
	Tool         string `json:"tool"`
	Helper       string `json:"helper"`
	Start        string `json:"start"`
	SubscriberID string `json:"subscriber_id"`
	Contact      string `json:"contact"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	Notes        string `json:"notes"`
	TZ           string `json:"tz"`
}

// checkPerson validates the name, email and phone of a booking request.
func checkPerson(problems map[string]string, name, email, phone, notes string) {
	if len(name) > 200 {
		problems["name"] = "Must be at most 200 characters."
	}
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			problems["email"] = "Must be a plain email address."
		}
	}
	if phone != "" && !twilio.ValidE164(phone) {
		problems["phone"] = "Must be a phone number in international form, e.g. +4915112345678."
	}
	if len(notes) > 2000 {
		problems["notes"] = "Must be at most 2000 characters."
	}
}

func principalSource(p *platform.Principal) string {
	if p.Key != nil {
		return "api"
	}
	return "dashboard"
}

func (b *bookingAPI) create(e *core.RequestEvent) error {
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	var req createRequest
	if err := decodeJSON(e, raw, &req); err != nil {
		return err
	}
	p := platform.PrincipalOf(e)
	manychat, err := manychatFormat(e)
	if err != nil {
		return err
	}
	tool, err := resolveTool(e, e.App, p.Workspace, req.Tool)
	if err != nil {
		return err
	}
	ids, helper, err := resolveHelper(e, e.App, p.Workspace, tool, req.Helper)
	if err != nil {
		return err
	}
	problems := map[string]string{}
	req.Name, req.Email, req.Phone, req.Notes = strings.TrimSpace(req.Name), strings.TrimSpace(req.Email), strings.TrimSpace(req.Phone), strings.TrimSpace(req.Notes)
	checkPerson(problems, req.Name, req.Email, req.Phone, req.Notes)
	start, perr := time.Parse(time.RFC3339, req.Start)
	switch {
	case req.Start == "":
		problems["start"] = "Is required (RFC 3339, e.g. 2026-03-29T10:00:00+02:00)."
	case perr != nil:
		problems["start"] = "Must be an RFC 3339 time such as 2026-03-29T10:00:00+02:00."
	}
	ref := platform.ContactRef{SubscriberID: strings.TrimSpace(req.SubscriberID), ContactID: strings.TrimSpace(req.Contact)}
	if ref.IsZero() {
		problems["subscriber_id"] = "Name the customer with subscriber_id (Manychat) or contact (a contact id)."
	} else if field, err := ref.Validate(); err != nil {
		problems[field] = err.Error()
	}
	if req.TZ != "" {
		if _, err := slots.LoadLocation("tz", req.TZ); err != nil {
			problems["tz"] = "Must be an IANA time zone such as Europe/Berlin."
		}
	}
	if req.Name == "" && problems["subscriber_id"] == "" && !contactHasName(e.App, p.Workspace, ref) {
		problems["name"] = "Is required (the contact has no name yet)."
	}
	if len(problems) > 0 {
		return fieldErrors(e, problems)
	}
	loc := bookingZoneFor(req.TZ, helper, e.App, p.Workspace)
	nb := newBooking{tool: tool, start: start, contact: ref, name: req.Name, email: req.Email, phone: req.Phone, notes: req.Notes,
		tz: req.TZ, source: principalSource(p), actor: platform.ActorFromRequest(e),
		contactDefaults: map[string]any{"name": req.Name, "email": req.Email, "phone": req.Phone, "timezone": req.TZ}}
	if ids != nil {
		nb.helper = ids[0]
	}
	if manychat {
		nb.source = "manychat"
	}
	create := func(tx core.App) (int, any, error) {
		rec, token, err := b.book(tx, p.Workspace, nb, time.Now())
		if err != nil {
			return 0, nil, err
		}
		if manychat {
			block, err := b.confirmationBlock(tx, manychatChannel(e), rec, b.manageURL(rec, token))
			return http.StatusOK, block, err
		}
		return http.StatusCreated, bookingJSON(rec, b.manageURL(rec, token)), nil
	}
	// Bookings that arrive together share a transaction; a refusal found before writing (platform.Refused, the
	// usual answer in a rush) leaves the others to commit.
	return b.bookingFailure(e, createGrouped(e, raw, create), p.Workspace, tool, ids, start, ref, req.Name, loc, manychat)
}

// bookingFailure answers a failed create: alternatives for a taken slot, the status of a refusal.
func (b *bookingAPI) bookingFailure(e *core.RequestEvent, err error, ws string, tool jobs.Tool, ids []string, start time.Time, ref platform.ContactRef, name string, loc *time.Location, manychat bool) error {
	var taken *slotTaken
	var refused *bookingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &taken):
		alts := alternatives(e.App, ws, tool, ids, start, jobs.InputOptions{Contact: contactIDOf(e.App, ws, ref)})
		if manychat {
			return b.alternativesBlock(e, ws, tool, ids, taken, alts, ref, name, loc)
		}
		return conflict(e, taken, alts, loc)
	case errors.As(err, &refused):
		if refused.status == http.StatusBadRequest {
			field, msg, _ := strings.Cut(refused.msg, ": ")
			return fieldError(e, field, "validation_invalid_value", msg)
		}
		return e.Error(refused.status, refused.msg, nil)
	}
	return err
}

// findContact reads the contact a reference names without creating it; nil when there is none yet.
func findContact(app core.App, ws string, ref platform.ContactRef) *core.Record {
	id := contactIDOf(app, ws, ref)
	if id == "" {
		return nil
	}
	c, err := app.FindRecordById(collections.Contacts, id)
	if err != nil {
		return nil
	}
	return c
}

// resolveContact is platform.ResolveContact with a known subscriber found through the contacts'
// (workspace, subscriber_id) index: the index is partial (subscriber_id != ”), and SQLite uses it only when
// the query repeats that condition.
func resolveContact(tx core.App, ws string, ref platform.ContactRef, defaults map[string]any) (*core.Record, error) {
	if ref.ContactID == "" && ref.SubscriberID != "" {
		if id := contactIDOf(tx, ws, ref); id != "" {
			ref = platform.ContactRef{ContactID: id}
		}
	}
	c, err := platform.ResolveContact(tx, ws, ref, defaults)
	if errors.Is(err, platform.ErrContactNotFound) {
		return nil, refuse(http.StatusBadRequest, "contact: no such contact in this workspace")
	}
	return c, err
}

// contactIDOf finds a contact's id without creating it ("" when there is none yet). The subscriber lookup
// repeats the partial index's condition (subscriber_id != ”), without which SQLite cannot use
// idx_contacts_workspace_subscriber and scans the workspace's contacts.
func contactIDOf(app core.App, ws string, ref platform.ContactRef) string {
	var id string
	q := "SELECT id FROM contacts WHERE workspace = {:ws} AND subscriber_id = {:ref} AND subscriber_id != '' LIMIT 1"
	if ref.ContactID != "" {
		q = "SELECT id FROM contacts WHERE workspace = {:ws} AND id = {:ref}"
	} else if ref.SubscriberID == "" {
		return ""
	}
	ref2 := ref.ContactID + ref.SubscriberID
	_ = app.DB().NewQuery(q).Bind(dbx.Params{"ws": ws, "ref": ref2}).Row(&id)
	return id
}

func contactHasName(app core.App, ws string, ref platform.ContactRef) bool {
	c := findContact(app, ws, ref)
	return c != nil && firstOf(c.GetString("name"), c.GetString("first_name"), c.GetString("ig_username")) != ""
}

func bookingZoneFor(tz string, helper *jobs.Helper, app core.App, ws string) *time.Location {
	if loc, err := slots.LoadLocation("tz", tz); err == nil {
		return loc
	}
	if helper != nil {
		return helper.Location
	}
	return workspaceZone(app, ws)
}

func manychatFormat(e *core.RequestEvent) (bool, error) {
	switch e.Request.URL.Query().Get("format") {
	case "":
		return false, nil
	case "manychat":
		return true, nil
	}
	return false, fieldError(e, "format", "validation_invalid_value", "must be manychat or left out")
}

// ---- view, cancel, reschedule, confirm, reject

// actingOn loads a booking for the request: with ?token= it must be the booking's manage token (the caller is
// the customer); otherwise the principal's workspace must own it. staff is true for members, superusers and
// admin keys, to whom the cut-off does not apply.
func actingOn(app core.App, e *core.RequestEvent, id string) (booking *core.Record, staff bool, token string, err error) {
	booking, err = app.FindRecordById(collections.Bookings, id)
	p := platform.PrincipalOf(e)
	if p == nil {
		token = e.Request.URL.Query().Get("token")
		if err != nil || !tokenMatches(token, booking.GetString("manage_token_hash")) {
			return nil, false, "", refuse(http.StatusNotFound, "No booking for this link; it may have been replaced by a newer one.")
		}
		return booking, false, token, nil
	}
	if err != nil || booking.GetString("workspace") != p.Workspace {
		return nil, false, "", refuse(http.StatusNotFound, "Not found.")
	}
	staff = p.Key == nil || apikey.HasScope(p.Key.Scopes, "admin")
	return booking, staff, "", nil
}

func (b *bookingAPI) view(e *core.RequestEvent) error {
	booking, _, token, err := actingOn(e.App, e, e.Request.PathValue("id"))
	if err != nil {
		return b.refusal(e, err)
	}
	return e.JSON(http.StatusOK, bookingJSON(booking, b.manageURL(booking, token)))
}

func (b *bookingAPI) refusal(e *core.RequestEvent, err error) error {
	var refused *bookingError
	if errors.As(err, &refused) {
		return e.Error(refused.status, refused.msg, nil)
	}
	return err
}

func holdsSlot(booking *core.Record) bool {
	s := booking.GetString("status")
	return s == collections.BookingPending || s == collections.BookingConfirmed
}

func toolOf(app core.App, booking *core.Record) (jobs.Tool, error) {
	tools, err := jobs.LoadTools(app, booking.GetString("workspace"))
	if err != nil {
		return jobs.Tool{}, err
	}
	t, ok := tools[booking.GetString("tool")]
	if !ok {
		return jobs.Tool{}, refuse(http.StatusConflict, "The booking's tool no longer exists.")
	}
	return t, nil
}

// checkCutoff refuses a customer's change later than cutoff_hours before the start.
func checkCutoff(booking *core.Record, tool jobs.Tool, staff bool, now time.Time) error {
	if staff || tool.Config.CutoffHours == 0 {
		return nil
	}
	deadline := booking.GetDateTime("start").Time().Add(-time.Duration(tool.Config.CutoffHours) * time.Hour)
	if now.After(deadline) {
		return refuse(http.StatusForbidden, fmt.Sprintf("Bookings can be changed online until %d hours before they start; please contact us.", tool.Config.CutoffHours))
	}
	return nil
}

// change describes who changes a booking.
type change struct {
	staff bool
	token string // the customer's manage token, when they used it
	actor platform.Actor
}

// customerActor is a customer acting through a link: recorded as "system:customer".
func customerActor(e *core.RequestEvent, via string) platform.Actor {
	return platform.Actor{Type: "system", ID: "customer", Label: "customer (" + via + ")", IP: e.RealIP(), UserAgent: e.Request.UserAgent()}
}

func changer(e *core.RequestEvent, staff bool, token string) change {
	if token != "" {
		return change{token: token, actor: customerActor(e, "manage link")}
	}
	return change{staff: staff, actor: platform.ActorFromRequest(e)}
}

// notifyLink is the manage link sent with a change: the customer's own token when they used it; otherwise a
// new one (only hashes are stored, and the customer needs a working link), which retires the old link.
func (b *bookingAPI) notifyLink(booking *core.Record, who change) string {
	token := who.token
	if token == "" {
		token = newToken()
		booking.Set("manage_token_hash", hashToken(token))
	}
	return b.manageURL(booking, token)
}

func (b *bookingAPI) cancel(id string, e *core.RequestEvent, reason string, target string) (*core.Record, string, error) {
	var out *core.Record
	var link string
	err := platform.WriteTx(e.App, func(tx core.App) error {
		booking, staff, token, err := actingOn(tx, e, id)
		if err != nil {
			return err
		}
		who := changer(e, staff, token)
		if !holdsSlot(booking) {
			out = booking // cancelling twice is harmless
			return nil
		}
		if target == collections.BookingRejected && booking.GetString("status") != collections.BookingPending {
			return refuse(http.StatusConflict, "Only pending bookings can be rejected; cancel a confirmed one.")
		}
		tool, err := toolOf(tx, booking)
		if err != nil {
			return err
		}
		now := time.Now()
		if err := checkCutoff(booking, tool, who.staff, now); err != nil {
			return err
		}
		if len(reason) > 500 {
			return refuse(http.StatusBadRequest, "reason: must be at most 500 characters")
		}
		booking.Set("status", target)
		booking.Set("slot_key", "")
		booking.Set("cancelled_at", now)
		booking.Set("cancelled_by", who.actor.String())
		booking.Set("cancel_reason", reason)
		booking.Set("ics_sequence", booking.GetInt("ics_sequence")+1)
		if token != "" {
			link = b.manageURL(booking, token)
		}
		if err := tx.Save(booking); err != nil {
			return err
		}
		typ, notice := "booking.cancelled", jobs.NoticeCancellation
		if target == collections.BookingRejected {
			typ, notice = "booking.rejected", jobs.NoticeRejection
		}
		data := eventData(booking)
		data["reason"], data["by"] = reason, who.actor.String()
		if err := emit(tx, booking, typ, who.actor, data); err != nil {
			return err
		}
		if err := jobs.EnqueueNotices(tx, booking, notice, ""); err != nil {
			return err
		}
		if _, err := jobs.OfferFreedSlot(tx, booking.GetString("workspace"), booking.GetString("tool"), booking.GetString("helper"), booking.GetDateTime("start").Time(), now); err != nil {
			return err
		}
		out = booking
		return nil
	})
	return out, link, err
}

func (b *bookingAPI) cancelRoute(e *core.RequestEvent) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(e, &req); err != nil {
		return err
	}
	booking, link, err := b.cancel(e.Request.PathValue("id"), e, strings.TrimSpace(req.Reason), collections.BookingCancelled)
	if err != nil {
		return b.changeFailure(e, err)
	}
	return e.JSON(http.StatusOK, bookingJSON(booking, link))
}

func (b *bookingAPI) reject(e *core.RequestEvent) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(e, &req); err != nil {
		return err
	}
	booking, _, err := b.cancel(e.Request.PathValue("id"), e, strings.TrimSpace(req.Reason), collections.BookingRejected)
	if err != nil {
		return b.changeFailure(e, err)
	}
	return e.JSON(http.StatusOK, bookingJSON(booking, ""))
}

func (b *bookingAPI) changeFailure(e *core.RequestEvent, err error) error {
	var refused *bookingError
	if errors.As(err, &refused) && refused.status == http.StatusBadRequest {
		field, msg, _ := strings.Cut(refused.msg, ": ")
		return fieldError(e, field, "validation_invalid_value", msg)
	}
	return b.refusal(e, err)
}

// reschedule moves a booking in one transaction: the new slot is checked (the booking itself ignored) and
// taken, the old one freed and offered to the waitlist. If the new slot is taken nothing changes. With notify
// false (honoured for members and keys, not for a customer's manage link) the customer is sent no notice and
// keeps their manage link: staff who told them in person need not email them; reminders are still planned.
func (b *bookingAPI) reschedule(id string, e *core.RequestEvent, start time.Time, helperRef string, notify bool) (*core.Record, string, error) {
	var out *core.Record
	var link string
	err := platform.WriteTx(e.App, func(tx core.App) error {
		booking, staff, token, err := actingOn(tx, e, id)
		if err != nil {
			return err
		}
		who := changer(e, staff, token)
		if !holdsSlot(booking) {
			return refuse(http.StatusConflict, "This booking is "+booking.GetString("status")+" and cannot be moved; make a new one.")
		}
		tool, err := toolOf(tx, booking)
		if err != nil {
			return err
		}
		now := time.Now()
		if err := checkCutoff(booking, tool, who.staff, now); err != nil {
			return err
		}
		oldStart, oldHelper := booking.GetDateTime("start").Time(), booking.GetString("helper")
		helper := oldHelper
		switch helperRef {
		case "":
		case "any":
			helper = ""
		default:
			helper = helperRef
		}
		if helper == oldHelper && start.Equal(oldStart) {
			return refuse(http.StatusBadRequest, "start: the booking is already at this time")
		}
		var ids []string
		if helper != "" {
			ids = []string{helper}
		}
		sched, err := jobs.LoadSchedule(tx, jobs.ScheduleQuery{Workspace: booking.GetString("workspace"), Helpers: ids, From: start, To: start.Add(time.Second), Ignore: booking.Id, WholeDays: ids == nil})
		if err != nil {
			return err
		}
		opt := jobs.InputOptions{IgnoreBooking: booking.Id, Contact: booking.GetString("contact")}
		var slot slots.Slot
		if helper != "" {
			h, ok := sched.Helpers[helper]
			if !ok || !h.Serves(tool.ID) {
				return refuse(http.StatusBadRequest, "helper: no active helper "+helper+" offers this tool")
			}
			if ok, reason := slots.IsBookable(sched.Input(helper, tool, now, opt), start); !ok {
				return &slotTaken{reason}
			}
			slot = slots.Slot{Start: start, End: start.Add(tool.Config.Duration()), Helper: helper}
		} else {
			team := sched.Team(tool, now, opt)
			var ok bool
			if slot, ok = slots.PickHelper(team, start); !ok {
				return &slotTaken{teamReason(team, start)}
			}
		}
		seat, free, err := jobs.FreeSeat(tx, slot.Helper, slot.Start, tool.Config.Seats)
		if err != nil {
			return err
		}
		if !free {
			return &slotTaken{"seat"}
		}
		oldEnd := booking.GetDateTime("end").Time()
		booking.Set("start", slot.Start)
		booking.Set("end", slot.End)
		booking.Set("helper", slot.Helper)
		booking.Set("slot_key", jobs.SlotKey(slot.Helper, slot.Start, seat))
		booking.Set("ics_sequence", booking.GetInt("ics_sequence")+1)
		notify = notify || who.token != ""
		if notify {
			link = b.notifyLink(booking, who)
		}
		if err := tx.Save(booking); err != nil {
			if isUniqueViolation(err) {
				return &slotTaken{"seat"}
			}
			return err
		}
		data := eventData(booking)
		data["from_start"], data["from_end"], data["from_helper"] = oldStart.UTC().Format(time.RFC3339), oldEnd.UTC().Format(time.RFC3339), oldHelper
		data["by"], data["notified"] = who.actor.String(), notify
		if err := emit(tx, booking, "booking.rescheduled", who.actor, data); err != nil {
			return err
		}
		if notify {
			if err := jobs.EnqueueNotices(tx, booking, jobs.NoticeReschedule, link); err != nil {
				return err
			}
		}
		if booking.GetString("status") == collections.BookingConfirmed {
			if err := jobs.PlanReminders(tx, booking, tool.Config, link, now); err != nil {
				return err
			}
		}
		if _, err := jobs.OfferFreedSlot(tx, booking.GetString("workspace"), tool.ID, oldHelper, oldStart, now); err != nil {
			return err
		}
		out = booking
		return nil
	})
	return out, link, err
}

func (b *bookingAPI) rescheduleRoute(e *core.RequestEvent) error {
	var req struct {
		Start  string `json:"start"`
		Helper string `json:"helper"`
		Notify *bool  `json:"notify"`
	}
	if err := readJSON(e, &req); err != nil {
		return err
	}
	start, err := time.Parse(time.RFC3339, req.Start)
	if err != nil {
		return fieldError(e, "start", "validation_invalid_datetime", "must be an RFC 3339 time such as 2026-03-29T10:00:00+02:00")
	}
	id := e.Request.PathValue("id")
	booking, link, err := b.reschedule(id, e, start, strings.TrimSpace(req.Helper), req.Notify == nil || *req.Notify)
	var taken *slotTaken
	if errors.As(err, &taken) {
		cur, _, _, lerr := actingOn(e.App, e, id)
		if lerr != nil {
			return b.refusal(e, lerr)
		}
		tool, terr := toolOf(e.App, cur)
		if terr != nil {
			return b.refusal(e, terr)
		}
		var ids []string
		switch req.Helper {
		case "":
			ids = []string{cur.GetString("helper")}
		case "any":
		default:
			ids = []string{req.Helper}
		}
		opt := jobs.InputOptions{IgnoreBooking: cur.Id, Contact: cur.GetString("contact")}
		return conflict(e, taken, alternatives(e.App, cur.GetString("workspace"), tool, ids, start, opt), bookingZone(cur))
	}
	if err != nil {
		return b.changeFailure(e, err)
	}
	return e.JSON(http.StatusOK, bookingJSON(booking, link))
}

func (b *bookingAPI) confirm(e *core.RequestEvent) error {
	var out *core.Record
	var link string
	err := platform.WriteTx(e.App, func(tx core.App) error {
		booking, _, _, err := actingOn(tx, e, e.Request.PathValue("id"))
		if err != nil {
			return err
		}
		switch booking.GetString("status") {
		case collections.BookingConfirmed:
			out = booking
			return nil
		case collections.BookingPending:
		default:
			return refuse(http.StatusConflict, "This booking is "+booking.GetString("status")+" and cannot be confirmed.")
		}
		tool, err := toolOf(tx, booking)
		if err != nil {
			return err
		}
		actor := platform.ActorFromRequest(e)
		now := time.Now()
		booking.Set("status", collections.BookingConfirmed)
		booking.Set("confirmed_at", now)
		booking.Set("ics_sequence", booking.GetInt("ics_sequence")+1)
		link = b.notifyLink(booking, change{staff: true, actor: actor})
		if err := tx.Save(booking); err != nil {
			return err
		}
		data := eventData(booking)
		data["by"] = actor.String()
		if err := emit(tx, booking, "booking.confirmed", actor, data); err != nil {
			return err
		}
		if err := jobs.EnqueueNotices(tx, booking, jobs.NoticeConfirmation, link); err != nil {
			return err
		}
		out = booking
		return jobs.PlanReminders(tx, booking, tool.Config, link, now)
	})
	if err != nil {
		return b.refusal(e, err)
	}
	return e.JSON(http.StatusOK, bookingJSON(out, link))
}

// ---- waitlist

func (b *bookingAPI) joinWaitlist(e *core.RequestEvent) error {
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	var req struct {
		Tool         string `json:"tool"`
		Helper       string `json:"helper"`
		Date         string `json:"date"`
		SubscriberID string `json:"subscriber_id"`
		Contact      string `json:"contact"`
		Name         string `json:"name"`
		Email        string `json:"email"`
		Phone        string `json:"phone"`
		TZ           string `json:"tz"`
	}
	if err := decodeJSON(e, raw, &req); err != nil {
		return err
	}
	p := platform.PrincipalOf(e)
	tool, err := resolveTool(e, e.App, p.Workspace, req.Tool)
	if err != nil {
		return err
	}
	ids, helper, err := resolveHelper(e, e.App, p.Workspace, tool, req.Helper)
	if err != nil {
		return err
	}
	problems := map[string]string{}
	req.Name, req.Email, req.Phone = strings.TrimSpace(req.Name), strings.TrimSpace(req.Email), strings.TrimSpace(req.Phone)
	checkPerson(problems, req.Name, req.Email, req.Phone, "")
	zone := workspaceZone(e.App, p.Workspace)
	if helper != nil {
		zone = helper.Location
	}
	date, derr := time.ParseInLocation(time.DateOnly, req.Date, zone)
	today := time.Now().In(zone)
	switch {
	case derr != nil:
		problems["date"] = "Must be a date YYYY-MM-DD."
	case date.Before(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, zone)):
		problems["date"] = "Must not be in the past."
	case date.After(today.AddDate(0, 0, tool.Config.MaxAdvanceDays)):
		problems["date"] = fmt.Sprintf("Must be within %d days.", tool.Config.MaxAdvanceDays)
	}
	ref := platform.ContactRef{SubscriberID: strings.TrimSpace(req.SubscriberID), ContactID: strings.TrimSpace(req.Contact)}
	if ref.IsZero() {
		problems["subscriber_id"] = "Name the customer with subscriber_id (Manychat) or contact (a contact id)."
	} else if field, err := ref.Validate(); err != nil {
		problems[field] = err.Error()
	}
	if req.TZ != "" {
		if _, err := slots.LoadLocation("tz", req.TZ); err != nil {
			problems["tz"] = "Must be an IANA time zone such as Europe/Berlin."
		}
	}
	if len(problems) > 0 {
		return fieldErrors(e, problems)
	}
	helperID := ""
	if ids != nil {
		helperID = ids[0]
	}
	err = createOnce(e, raw, func(tx core.App) (int, any, error) {
		contact, err := resolveContact(tx, p.Workspace, ref, map[string]any{"name": req.Name, "email": req.Email, "phone": req.Phone, "timezone": req.TZ})
		if err != nil {
			return 0, nil, err
		}
		status := http.StatusCreated
		entry, err := tx.FindFirstRecordByFilter(collections.Waitlist, "tool = {:t} && contact = {:c} && date = {:d} && helper = {:h} && status = 'waiting'",
			dbx.Params{"t": tool.ID, "c": contact.Id, "d": req.Date, "h": helperID})
		if err == nil {
			status = http.StatusOK // already waiting: the same entry, same place in the queue
		} else {
			coll, err := tx.FindCachedCollectionByNameOrId(collections.Waitlist)
			if err != nil {
				return 0, nil, err
			}
			entry = core.NewRecord(coll)
			entry.Set("workspace", p.Workspace)
			entry.Set("tool", tool.ID)
			entry.Set("helper", helperID)
			entry.Set("contact", contact.Id)
			entry.Set("date", req.Date)
			entry.Set("name", firstOf(req.Name, contact.GetString("name"), contact.GetString("ig_username")))
			entry.Set("email", firstOf(req.Email, contact.GetString("email")))
			entry.Set("phone", firstOf(req.Phone, contact.GetString("phone")))
			entry.Set("tz", req.TZ)
			entry.Set("status", collections.WaitlistWaiting)
			var last struct {
				Seq int `db:"seq"`
			}
			if err := tx.DB().NewQuery("SELECT COALESCE(MAX(seq), 0) AS seq FROM waitlist WHERE tool = {:t} AND date = {:d}").
				Bind(dbx.Params{"t": tool.ID, "d": req.Date}).One(&last); err != nil {
				return 0, nil, err
			}
			entry.Set("seq", last.Seq+1)
			if err := tx.Save(entry); err != nil {
				return 0, nil, err
			}
		}
		ahead, err := tx.CountRecords(collections.Waitlist, dbx.NewExp("tool = {:t} AND date = {:d} AND status = 'waiting' AND seq < {:seq}",
			dbx.Params{"t": tool.ID, "d": req.Date, "seq": entry.GetInt("seq")}))
		if err != nil {
			return 0, nil, err
		}
		return status, map[string]any{"id": entry.Id, "status": entry.GetString("status"), "tool": tool.ID, "helper": helperOrNil(ids),
			"date": req.Date, "contact": contact.Id, "position": ahead + 1}, nil
	})
	var refused *bookingError
	if errors.As(err, &refused) {
		field, msg, _ := strings.Cut(refused.msg, ": ")
		return fieldError(e, field, "validation_invalid_value", msg)
	}
	return err
}

// leaveWaitlist takes an entry off the waitlist (status cancelled; the row stays as history). An entry holding
// an offered slot gives it up, and the slot goes to the next entry in line at once. Removing an entry that is
// already booked, expired or cancelled changes nothing.
func (b *bookingAPI) leaveWaitlist(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	var out *core.Record
	err := platform.WriteTx(e.App, func(tx core.App) error {
		entry, err := tx.FindRecordById(collections.Waitlist, e.Request.PathValue("id"))
		if err != nil || entry.GetString("workspace") != p.Workspace {
			return refuse(http.StatusNotFound, "Not found.")
		}
		out = entry
		status := entry.GetString("status")
		if status != collections.WaitlistWaiting && status != collections.WaitlistOffered {
			return nil
		}
		entry.Set("status", collections.WaitlistCancelled)
		if err := tx.Save(entry); err != nil {
			return err
		}
		actor := platform.ActorFromRequest(e)
		if _, err := platform.Emit(tx, platform.Event{Workspace: p.Workspace, Type: "waitlist.cancelled", SubjectCollection: collections.Waitlist,
			SubjectID: entry.Id, Contact: entry.GetString("contact"), Actor: actor.String(),
			Data: map[string]any{"entry": entry.Id, "tool": entry.GetString("tool"), "date": entry.GetString("date"), "was": status}}); err != nil {
			return err
		}
		now := time.Now()
		if status == collections.WaitlistOffered && entry.GetDateTime("hold_until").Time().After(now) {
			_, err := jobs.OfferFreedSlot(tx, p.Workspace, entry.GetString("tool"), entry.GetString("offer_helper"), entry.GetDateTime("offer_start").Time(), now)
			return err
		}
		return nil
	})
	if err != nil {
		return b.refusal(e, err)
	}
	return e.JSON(http.StatusOK, map[string]any{"id": out.Id, "status": out.GetString("status")})
}

// ---- slot offers (Manychat buttons, waitlist links)

func (b *bookingAPI) seal(o jobs.SlotOffer) string {
	token, err := jobs.SealOffer(b.svc.Box, o)
	if err != nil {
		return ""
	}
	return token
}

func (b *bookingAPI) offerURL(token string) string {
	return b.svc.PublicURL() + "/api/v1/booking-offers/" + token
}

// openOffer reads the token of an offer route and the tool it names.
func (b *bookingAPI) openOffer(e *core.RequestEvent) (jobs.SlotOffer, jobs.Tool, error) {
	o, err := jobs.OpenOffer(b.svc.Box, e.Request.PathValue("token"), time.Now())
	if err != nil {
		return o, jobs.Tool{}, refuse(http.StatusNotFound, "This booking link is invalid or has expired.")
	}
	tools, err := jobs.LoadTools(e.App, o.Workspace)
	if err != nil {
		return o, jobs.Tool{}, err
	}
	tool, ok := tools[o.Tool]
	if !ok || !tool.Enabled {
		return o, jobs.Tool{}, refuse(http.StatusNotFound, "This booking is no longer offered.")
	}
	return o, tool, nil
}

func (b *bookingAPI) offerPage(e *core.RequestEvent) error {
	o, tool, err := b.openOffer(e)
	if err != nil {
		return b.htmlRefusal(e, err)
	}
	loc := offerZone(e.App, o)
	start := time.Unix(o.Start, 0)
	what := tool.Name
	if o.Helper != "" {
		if h, _, err := jobs.LoadHelpers(e.App, o.Workspace, []string{o.Helper}); err == nil && h[o.Helper].Name != "" {
			what += " with " + h[o.Helper].Name
		}
	}
	paras := []string{what + ": " + formatWhen(start, start.Add(tool.Config.Duration()), loc) + "."}
	if o.Entry != "" {
		paras = append(paras, "This time is held for you until "+time.Unix(o.Expires, 0).In(loc).Format("15:04")+".")
	}
	return page(e, http.StatusOK, pageData{Title: "Book this time?", Paras: paras,
		Forms: []pageForm{{Action: e.Request.URL.Path, Label: "Confirm booking"}}})
}

func offerZone(app core.App, o jobs.SlotOffer) *time.Location {
	if loc, err := slots.LoadLocation("tz", o.TZ); err == nil {
		return loc
	}
	if o.Helper != "" {
		if h, _, err := jobs.LoadHelpers(app, o.Workspace, []string{o.Helper}); err == nil {
			if hh, ok := h[o.Helper]; ok {
				return hh.Location
			}
		}
	}
	return workspaceZone(app, o.Workspace)
}

// takeOffer books the slot an offer names, for the contact it names. A second click finds the booking made
// by the first instead of making another.
func (b *bookingAPI) takeOffer(e *core.RequestEvent) error {
	manychat := e.Request.URL.Query().Get("format") == "manychat"
	wantsHTML := !manychat && (strings.Contains(e.Request.Header.Get("Accept"), "text/html") || strings.HasPrefix(e.Request.Header.Get("Content-Type"), "application/x-www-form-urlencoded"))
	o, tool, err := b.openOffer(e)
	if err != nil {
		if wantsHTML {
			return b.htmlRefusal(e, err)
		}
		return b.refusal(e, err)
	}
	start := time.Unix(o.Start, 0).UTC()
	loc := offerZone(e.App, o)
	ref := platform.ContactRef{SubscriberID: o.Subscriber, ContactID: o.Contact}
	source := o.Source
	if source == "" {
		source = "link"
	}
	var rec *core.Record
	var token string
	err = platform.WriteTx(e.App, func(tx core.App) error {
		if c := findContact(tx, o.Workspace, ref); c != nil {
			existing, err := tx.FindFirstRecordByFilter(collections.Bookings, "contact = {:c} && tool = {:t} && start = {:s} && (status = 'pending' || status = 'confirmed')",
				dbx.Params{"c": c.Id, "t": tool.ID, "s": dbtime.Format(start)})
			if err == nil {
				rec = existing
				return nil
			}
		}
		var err error
		rec, token, err = b.book(tx, o.Workspace, newBooking{tool: tool, helper: o.Helper, start: start, contact: ref, name: o.Name, tz: o.TZ,
			source: source, actor: customerActor(e, "booking link"),
			contactDefaults: map[string]any{"name": o.Name, "timezone": o.TZ}}, time.Now())
		return err
	})
	var taken *slotTaken
	if errors.As(err, &taken) {
		var ids []string
		if o.Helper != "" {
			ids = []string{o.Helper}
		}
		alts := alternatives(e.App, o.Workspace, tool, ids, start, jobs.InputOptions{})
		switch {
		case manychat:
			return b.alternativesBlock(e, o.Workspace, tool, ids, taken, alts, ref, o.Name, loc)
		case wantsHTML:
			forms := make([]pageForm, 0, len(alts))
			for _, s := range alts {
				next := o
				next.Start, next.Helper, next.Entry, next.Expires = s.Start.Unix(), s.Helper, "", time.Now().Add(offerTTL).Unix()
				forms = append(forms, pageForm{Action: "/api/v1/booking-offers/" + b.seal(next), Label: "Book " + formatWhen(s.Start, s.End, loc)})
			}
			return page(e, http.StatusConflict, pageData{Title: "That time is taken", Paras: []string{taken.message()}, Forms: forms})
		}
		return conflict(e, taken, alts, loc)
	}
	if err != nil {
		if wantsHTML {
			return b.htmlRefusal(e, err)
		}
		return b.refusal(e, err)
	}
	link := b.manageURL(rec, token)
	switch {
	case manychat:
		block, err := b.confirmationBlock(e.App, manychatChannel(e), rec, link)
		if err != nil {
			return err
		}
		return e.JSON(http.StatusOK, block)
	case wantsHTML:
		return b.bookedPage(e, rec, link)
	}
	return e.JSON(http.StatusCreated, bookingJSON(rec, link))
}

func (b *bookingAPI) bookedPage(e *core.RequestEvent, rec *core.Record, link string) error {
	title, paras := "Booked", []string{b.describe(e.App, rec) + "."}
	if rec.GetString("status") == collections.BookingPending {
		title, paras = "Request received", append(paras, "We will confirm it shortly; the time is kept for you meanwhile.")
	}
	if rec.GetString("email") != "" {
		paras = append(paras, "A confirmation is on its way to "+rec.GetString("email")+".")
	}
	return page(e, http.StatusOK, pageData{Title: title, Paras: paras, Link: link, LinkText: "Cancel or change this booking"})
}

// describe renders "Haircut with Anna: Tue 3 Mar 2026, 10:00–10:30 (Europe/Berlin)".
func (b *bookingAPI) describe(app core.App, rec *core.Record) string {
	what := ""
	if t, err := app.FindRecordById(collections.Tools, rec.GetString("tool")); err == nil {
		what = t.GetString("name")
	}
	if h, err := app.FindRecordById(collections.Helpers, rec.GetString("helper")); err == nil {
		what += " with " + h.GetString("name")
	}
	return what + ": " + formatWhen(rec.GetDateTime("start").Time(), rec.GetDateTime("end").Time(), bookingZone(rec))
}

func formatWhen(start, end time.Time, loc *time.Location) string {
	s, en := start.In(loc), end.In(loc)
	return s.Format("Mon 2 Jan 2006, 15:04") + "–" + en.Format("15:04") + " (" + loc.String() + ")"
}

// ---- Manychat Dynamic Blocks

func manychatChannel(e *core.RequestEvent) dynblock.Channel {
	if e.Request.URL.Query().Get("channel") == "messenger" {
		return dynblock.Messenger
	}
	return dynblock.Instagram
}

// slotButton books one slot when tapped. On Instagram (url, flow and node buttons only) it opens the offer
// page, whose one button books the slot; on Messenger it is a dynamic_block_callback that books it at once
// and answers with the confirmation block (Manychat calls back over HTTPS only, so a server without an
// https PLAYGRAM_PUBLIC_URL gets the page button there too).
func (b *bookingAPI) slotButton(ch dynblock.Channel, caption string, o jobs.SlotOffer) dynblock.Button {
	u := b.offerURL(b.seal(o))
	if ch == dynblock.Messenger && strings.HasPrefix(u, "https://") {
		return dynblock.CallbackButton(caption, u+"?format=manychat&channel=messenger", nil)
	}
	return dynblock.URLButton(caption, u)
}

// slotsBlock answers ?format=manychat on the slot list: up to nine slots as buttons, three per message,
// grouped by day, each booking its slot for the subscriber.
func (b *bookingAPI) slotsBlock(e *core.RequestEvent, ws string, tool jobs.Tool, helper *jobs.Helper, ids []string, list []slots.Slot, loc *time.Location) error {
	q := e.Request.URL.Query()
	ref := platform.ContactRef{SubscriberID: strings.TrimSpace(q.Get("subscriber_id")), ContactID: strings.TrimSpace(q.Get("contact"))}
	if ref.IsZero() {
		return fieldError(e, "subscriber_id", "validation_required", "is required with format=manychat, so that each button books for this subscriber ({{user_id}})")
	}
	if field, err := ref.Validate(); err != nil {
		return fieldError(e, field, "validation_invalid_value", err.Error())
	}
	ch := manychatChannel(e)
	title := tool.Name
	if helper != nil {
		title += " with " + helper.Name
	}
	if len(list) == 0 {
		return b.sendBlock(e, dynblock.New(ch).Text("Sorry, there are no free times for "+title+" in this period."))
	}
	block := dynblock.New(ch).Text("Free times for " + title + " (" + loc.String() + "). Tap one to book it:")
	list = list[:min(manychatButtons, len(list))]
	base := jobs.SlotOffer{Workspace: ws, Tool: tool.ID, Subscriber: ref.SubscriberID, Contact: ref.ContactID, Name: strings.TrimSpace(q.Get("name")),
		TZ: loc.String(), Source: "manychat", Expires: time.Now().Add(offerTTL).Unix()}
	if helper != nil {
		base.Helper = helper.ID
	}
	var day string
	var row []dynblock.Button
	flush := func() {
		if len(row) > 0 {
			block.Text(day, row...)
			row = nil
		}
	}
	for _, s := range list {
		d := s.Start.In(loc).Format("Mon 2 Jan")
		if d != day || len(row) == 3 {
			flush()
			day = d
		}
		o := base
		o.Start = s.Start.Unix()
		row = append(row, b.slotButton(ch, s.Start.In(loc).Format("15:04"), o))
	}
	flush()
	return b.sendBlock(e, block)
}

func (b *bookingAPI) sendBlock(e *core.RequestEvent, block *dynblock.Response) error {
	if err := block.Validate(); err != nil {
		return fmt.Errorf("building the Manychat reply: %w", err)
	}
	return e.JSON(http.StatusOK, block)
}

// confirmationBlock is the Manychat answer to a booking made.
func (b *bookingAPI) confirmationBlock(app core.App, ch dynblock.Channel, rec *core.Record, link string) (*dynblock.Response, error) {
	text := "Booked! " + b.describe(app, rec) + "."
	if rec.GetString("status") == collections.BookingPending {
		text = "Thanks! We received your request: " + b.describe(app, rec) + ". We will confirm it shortly."
	}
	block := dynblock.New(ch)
	if link != "" {
		block.Text(text, dynblock.URLButton("Manage booking", link))
	} else {
		block.Text(text)
	}
	return block, block.Validate()
}

// alternativesBlock is the Manychat answer to a taken slot: 200 (Manychat's handling of other statuses is
// undocumented) with the nearest free times as buttons.
func (b *bookingAPI) alternativesBlock(e *core.RequestEvent, ws string, tool jobs.Tool, ids []string, taken *slotTaken, alts []slots.Slot, ref platform.ContactRef, name string, loc *time.Location) error {
	ch := manychatChannel(e)
	if len(alts) == 0 {
		return b.sendBlock(e, dynblock.New(ch).Text(taken.message()+" There are no other free times nearby."))
	}
	var buttons []dynblock.Button
	for _, s := range alts {
		o := jobs.SlotOffer{Workspace: ws, Tool: tool.ID, Helper: s.Helper, Start: s.Start.Unix(), Subscriber: ref.SubscriberID, Contact: ref.ContactID,
			Name: name, TZ: loc.String(), Source: "manychat", Expires: time.Now().Add(offerTTL).Unix()}
		if ids == nil {
			o.Helper = ""
		}
		buttons = append(buttons, b.slotButton(ch, s.Start.In(loc).Format("Mon 15:04"), o))
	}
	return b.sendBlock(e, dynblock.New(ch).Text(taken.message()+" The nearest free times:", buttons...))
}

// ---- customer pages (manage link, offers)

type pageForm struct {
	Action string
	Fields map[string]string
	Label  string
}

type pageData struct {
	Title    string
	Paras    []string
	Error    string
	Forms    []pageForm
	Link     string
	LinkText string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
form{display:inline}button{font:inherit;padding:.5rem 1rem;margin:.25rem .25rem .25rem 0;cursor:pointer}.error{color:#a00}</style>
</head><body><h1>{{.Title}}</h1>
{{range .Paras}}<p>{{.}}</p>
{{end}}{{if .Error}}<p class="error">{{.Error}}</p>
{{end}}{{range .Forms}}<form method="post" action="{{.Action}}">{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}<button type="submit">{{.Label}}</button></form>
{{end}}{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}
</body></html>
`))

func page(e *core.RequestEvent, status int, d pageData) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		return err
	}
	e.Response.Header().Set("Cache-Control", "no-store")
	e.Response.Header().Set("Referrer-Policy", "no-referrer")
	return e.HTML(status, buf.String())
}

func (b *bookingAPI) htmlRefusal(e *core.RequestEvent, err error) error {
	var refused *bookingError
	if errors.As(err, &refused) {
		return page(e, refused.status, pageData{Title: "Sorry", Paras: []string{refused.msg}})
	}
	return err
}

// managePage shows a booking to the customer holding its manage link, with cancel and move buttons while
// changes are allowed.
func (b *bookingAPI) managePage(e *core.RequestEvent) error {
	booking, _, token, err := actingOn(e.App, e, e.Request.PathValue("id"))
	if err != nil {
		return b.htmlRefusal(e, err)
	}
	return b.renderManage(e, http.StatusOK, booking, token, "", "")
}

func (b *bookingAPI) renderManage(e *core.RequestEvent, status int, booking *core.Record, token, title, problem string) error {
	if title == "" {
		title = "Your booking"
	}
	d := pageData{Title: title, Error: problem, Paras: []string{b.describe(e.App, booking) + ".", "Status: " + booking.GetString("status") + "."}}
	action := "/api/v1/bookings/" + booking.Id + "/manage?token=" + url.QueryEscape(token)
	tool, err := toolOf(e.App, booking)
	if err != nil || !holdsSlot(booking) {
		return page(e, status, d)
	}
	now := time.Now()
	if checkCutoff(booking, tool, false, now) != nil {
		d.Paras = append(d.Paras, fmt.Sprintf("Changes are possible online until %d hours before the start; please contact us.", tool.Config.CutoffHours))
		return page(e, status, d)
	}
	d.Forms = append(d.Forms, pageForm{Action: action, Fields: map[string]string{"action": "cancel"}, Label: "Cancel booking"})
	ids := []string{booking.GetString("helper")}
	from := now
	sched, err := jobs.LoadSchedule(e.App, jobs.ScheduleQuery{Workspace: booking.GetString("workspace"), Helpers: ids, From: from, To: from.AddDate(0, 0, 14), Ignore: booking.Id})
	if err == nil {
		in := sched.Input(ids[0], tool, now, jobs.InputOptions{IgnoreBooking: booking.Id, Contact: booking.GetString("contact")})
		if free, err := slots.Free(in, from, from.AddDate(0, 0, 14)); err == nil {
			loc := bookingZone(booking)
			n := 0
			for _, s := range free {
				if s.Start.Equal(booking.GetDateTime("start").Time()) || n == 6 {
					continue
				}
				d.Forms = append(d.Forms, pageForm{Action: action, Fields: map[string]string{"action": "reschedule", "start": s.Start.UTC().Format(time.RFC3339)},
					Label: "Move to " + s.Start.In(loc).Format("Mon 2 Jan 15:04")})
				n++
			}
		}
	}
	return page(e, status, d)
}

// manageForm performs the manage page's buttons.
func (b *bookingAPI) manageForm(e *core.RequestEvent) error {
	id, token := e.Request.PathValue("id"), e.Request.URL.Query().Get("token")
	if err := e.Request.ParseForm(); err != nil {
		return page(e, http.StatusBadRequest, pageData{Title: "Sorry", Paras: []string{"The form could not be read."}})
	}
	var err error
	var title string
	switch e.Request.PostForm.Get("action") {
	case "cancel":
		_, _, err = b.cancel(id, e, "", collections.BookingCancelled)
		title = "Booking cancelled"
	case "reschedule":
		start, perr := time.Parse(time.RFC3339, e.Request.PostForm.Get("start"))
		if perr != nil {
			return page(e, http.StatusBadRequest, pageData{Title: "Sorry", Paras: []string{"That time could not be read."}})
		}
		_, _, err = b.reschedule(id, e, start, "", true)
		title = "Booking moved"
	default:
		return page(e, http.StatusBadRequest, pageData{Title: "Sorry", Paras: []string{"Unknown action."}})
	}
	booking, _, _, lerr := actingOn(e.App, e, id)
	if lerr != nil {
		return b.htmlRefusal(e, lerr)
	}
	var taken *slotTaken
	var refused *bookingError
	switch {
	case errors.As(err, &taken):
		return b.renderManage(e, http.StatusConflict, booking, token, "", taken.message()+" Your booking was not changed.")
	case errors.As(err, &refused):
		return b.renderManage(e, refused.status, booking, token, "", refused.msg)
	case err != nil:
		return err
	}
	return b.renderManage(e, http.StatusOK, booking, token, title, "")
}

// ---- dashboard calendar

func (b *bookingAPI) calendar(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	ws := platform.PrincipalOf(e).Workspace
	loc := workspaceZone(e.App, ws)
	loc, err := zoneParam(e, "tz", q.Get("tz"), loc)
	if err != nil {
		return err
	}
	today := time.Now().In(loc)
	from := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	if v := q.Get("from"); v != "" {
		if from, err = timeParam(e, "from", v, loc, false); err != nil {
			return err
		}
	}
	to := from.AddDate(0, 0, 7)
	if v := q.Get("to"); v != "" {
		if to, err = timeParam(e, "to", v, loc, true); err != nil {
			return err
		}
	}
	if !to.After(from) {
		return fieldError(e, "to", "validation_invalid_order", "must be after from")
	}
	if to.Sub(from) > maxSlotRangeDays*24*time.Hour {
		return fieldError(e, "to", "validation_out_of_range", fmt.Sprintf("must be at most %d days after from", maxSlotRangeDays))
	}
	helpers, order, err := jobs.LoadHelpers(e.App, ws, nil)
	if err != nil {
		return err
	}
	params := dbx.Params{"ws": ws, "from": dbtime.Format(from), "early": dbtime.Format(from.Add(-25 * time.Hour)), "to": dbtime.Format(to)}
	where := "workspace = {:ws} AND [[start]] >= {:early} AND [[start]] < {:to} AND [[end]] > {:from}"
	if h := q.Get("helper"); h != "" {
		if _, ok := helpers[h]; !ok {
			return fieldError(e, "helper", "validation_invalid_helper", "no helper "+h+" in this workspace")
		}
		where += " AND helper = {:helper}"
		params["helper"] = h
	}
	if t := q.Get("tool"); t != "" {
		tool, err := resolveTool(e, e.App, ws, t)
		if err != nil {
			return err
		}
		where += " AND tool = {:tool}"
		params["tool"] = tool.ID
	}
	if s := q.Get("status"); s != "" {
		if !slices.Contains(collections.BookingStatuses, s) {
			return fieldError(e, "status", "validation_invalid_value", "must be one of "+strings.Join(collections.BookingStatuses, ", "))
		}
		where += " AND status = {:status}"
		params["status"] = s
	}
	var rows []struct {
		ID      string `db:"id"`
		Status  string `db:"status"`
		Start   string `db:"start"`
		End     string `db:"end"`
		Helper  string `db:"helper"`
		Tool    string `db:"tool"`
		Contact string `db:"contact"`
		Name    string `db:"name"`
		Email   string `db:"email"`
		Phone   string `db:"phone"`
		Notes   string `db:"notes"`
		Source  string `db:"source"`
		Seats   int    `db:"seats"`
	}
	if err := e.App.DB().NewQuery(`SELECT id, status, [[start]], [[end]], helper, tool, contact, name, email, phone, notes, source, seats
		FROM bookings WHERE ` + where + ` ORDER BY [[start]], id LIMIT 5000`).Bind(params).All(&rows); err != nil {
		return err
	}
	tools, err := jobs.LoadTools(e.App, ws)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		start := dbtime.Parse(r.Start)
		end := dbtime.Parse(r.End)
		out[i] = map[string]any{"id": r.ID, "status": r.Status,
			"start": start.UTC().Format(time.RFC3339), "end": end.UTC().Format(time.RFC3339),
			"local_start": start.In(loc).Format(time.RFC3339), "local_end": end.In(loc).Format(time.RFC3339),
			"helper": r.Helper, "helper_name": helpers[r.Helper].Name, "tool": r.Tool, "tool_name": tools[r.Tool].Name,
			"contact": r.Contact, "name": r.Name, "email": r.Email, "phone": r.Phone, "notes": r.Notes, "source": r.Source, "seats": r.Seats}
	}
	hs := make([]map[string]any, 0, len(order))
	for _, id := range order {
		h := helpers[id]
		hs = append(hs, map[string]any{"id": id, "name": h.Name, "timezone": h.Location.String(), "active": h.Active})
	}
	return e.JSON(http.StatusOK, map[string]any{"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339), "tz": loc.String(),
		"helpers": hs, "bookings": out})
}

// ---- helper calendar feeds

const feedPast, feedAhead = 30 * 24 * time.Hour, 400 * 24 * time.Hour

// feed serves a helper's bookings as an iCalendar feed that calendar apps subscribe to: no cookies or auth
// headers, an unguessable rotatable token in the query, ETag and Last-Modified, cancelled bookings kept with
// STATUS:CANCELLED so subscribed calendars drop them.
func (b *bookingAPI) feed(e *core.RequestEvent) error {
	helper, err := e.App.FindRecordById(collections.Helpers, e.Request.PathValue("id"))
	if err != nil || !tokenMatches(e.Request.URL.Query().Get("token"), helper.GetString("calendar_token_hash")) {
		return e.NotFoundError("No calendar for this link; the link may have been replaced by a newer one.", nil)
	}
	now := time.Now()
	var rows []*core.Record
	rows, err = e.App.FindRecordsByFilter(collections.Bookings, "helper = {:h} && start >= {:from} && start < {:to}", "start,id", 10000, 0,
		dbx.Params{"h": helper.Id, "from": dbtime.Format(now.Add(-feedPast)), "to": dbtime.Format(now.Add(feedAhead))})
	if err != nil {
		return err
	}
	tools, err := jobs.LoadTools(e.App, helper.GetString("workspace"))
	if err != nil {
		return err
	}
	events := make([]ics.Event, 0, len(rows))
	var last time.Time
	for _, r := range rows {
		var desc []string
		for _, f := range []struct{ label, field string }{{"Name", "name"}, {"Email", "email"}, {"Phone", "phone"}, {"Notes", "notes"}, {"Status", "status"}} {
			if v := r.GetString(f.field); v != "" {
				desc = append(desc, f.label+": "+v)
			}
		}
		ev := jobs.CalendarEvent(r, strings.TrimSpace(tools[r.GetString("tool")].Name+": "+r.GetString("name")), strings.Join(desc, "\n"))
		ev.Stamp = ev.LastModified
		events = append(events, ev)
		if u := r.GetDateTime("updated").Time(); u.After(last) {
			last = u
		}
	}
	if last.IsZero() {
		last = helper.GetDateTime("updated").Time()
	}
	name := helper.GetString("name")
	if ws, err := e.App.FindRecordById(collections.Workspaces, helper.GetString("workspace")); err == nil {
		name += " – " + ws.GetString("name")
	}
	body, err := ics.Feed(name, events, jobs.ProdID)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := e.Response.Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", last.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "private, max-age=300")
	if e.Request.Header.Get("If-None-Match") == etag {
		return e.NoContent(http.StatusNotModified)
	}
	return e.Blob(http.StatusOK, ics.FeedContentType, body)
}

// rotateFeedToken gives a helper a new calendar feed token; the previous link stops working at once.
func (b *bookingAPI) rotateFeedToken(e *core.RequestEvent) error {
	helper, err := findInWorkspace(e, collections.Helpers, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	token := newToken()
	actor := platform.ActorFromRequest(e)
	err = platform.WriteTx(e.App, func(tx core.App) error {
		helper.Set("calendar_token_hash", hashToken(token))
		platform.WithActor(helper, actor)
		if err := tx.Save(helper); err != nil {
			return err
		}
		return platform.Audit(tx, actor, helper.GetString("workspace"), "helper.calendar_token_rotated", collections.Helpers, helper.Id, nil, map[string]any{"name": helper.GetString("name")})
	})
	if err != nil {
		return err
	}
	feedURL := b.svc.PublicURL() + "/api/v1/helpers/" + helper.Id + "/calendar.ics?token=" + token
	return e.JSON(http.StatusOK, map[string]any{"helper": helper.Id, "feed_url": feedURL,
		"webcal_url": "webcal://" + strings.TrimPrefix(strings.TrimPrefix(feedURL, "https://"), "http://")})
}
