package jobs

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/dbtime"
	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/internal/slots"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/playgram/playgram/internal/wscache"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The booking domain's shared core: loading what availability needs, tool configuration, waitlist offers,
// slot-offer tokens and the notices a change enqueues. Routes (create, cancel, reschedule) and the booking
// job handlers both use it; it lives here because the platform package imports jobs, so job handlers cannot
// import platform and get its services (events, secrets, the public URL) through BookingDeps instead.

// EmitFunc records a domain event with app (the caller's transaction): platform.Emit.
type EmitFunc func(app core.App, workspace, typ, subjectCollection, subjectID, contact string, data any) error

// BookingDeps are the platform services booking code needs, given once at start-up by hooks.Register.
type BookingDeps struct {
	Emit      EmitFunc
	Box       func() *secretbox.Box // the secret box is opened after bootstrap
	PublicURL func() string
	// Secret opens a sealed workspace secret ("twilio_auth_token"); "" when not set.
	Secret func(ws *core.Record, name string) (string, error)
	// TwilioBaseURL is Twilio's API base (TWILIO_BASE_URL; tests point it at internal/fakes/twilio).
	TwilioBaseURL string
	HTTP          *http.Client
}

const bookingDepsKey = "playgram.booking.deps"

// RegisterBookingKinds binds the booking job kinds and makes deps reachable from any app of this process.
func RegisterBookingKinds(r *Runner, deps BookingDeps) {
	r.app.Store().Set(bookingDepsKey, deps)
	invalidateBookingCaches(r.app)
	registerBookingNotices(r)
	registerBookingWaitlist(r)
}

// Deps returns the booking services registered for app.
func Deps(app core.App) BookingDeps {
	d, _ := app.Store().Get(bookingDepsKey).(BookingDeps)
	return d
}

// BookingConfig is a booking tool's configuration with every default applied (README "Tool configuration").
type BookingConfig struct {
	DurationMinutes      int   `json:"duration_minutes"`
	SlotIntervalMinutes  int   `json:"slot_interval_minutes"`
	BufferBeforeMinutes  int   `json:"buffer_before_minutes"`
	BufferAfterMinutes   int   `json:"buffer_after_minutes"`
	MinNoticeMinutes     int   `json:"min_notice_minutes"`
	MaxAdvanceDays       int   `json:"max_advance_days"`
	Seats                int   `json:"seats"`
	DailyLimit           int   `json:"daily_limit"`
	RequiresConfirmation bool  `json:"requires_confirmation"`
	CutoffHours          int   `json:"cutoff_hours"`
	HoldMinutes          int   `json:"hold_minutes"`
	ReminderHours        []int `json:"reminder_hours"`
}

var configCache sync.Map // raw config JSON -> BookingConfig; configs are few and change rarely

// ParseBookingConfig decodes a tool's stored config JSON with defaults for unset keys.
func ParseBookingConfig(raw string) (BookingConfig, error) {
	if c, ok := configCache.Load(raw); ok {
		return c.(BookingConfig), nil
	}
	c, err := parseBookingConfig(raw)
	if err == nil && len(raw) < 64<<10 {
		configCache.Store(raw, c)
	}
	return c, err
}

func parseBookingConfig(raw string) (BookingConfig, error) {
	cfg := map[string]any{}
	if s := strings.TrimSpace(raw); s != "" && s != "null" {
		if err := json.Unmarshal([]byte(s), &cfg); err != nil {
			return BookingConfig{}, fmt.Errorf("booking tool config: %w", err)
		}
	}
	full, _ := json.Marshal(toolconfig.WithDefaults(toolconfig.TypeBooking, cfg))
	var c BookingConfig
	if err := json.Unmarshal(full, &c); err != nil {
		return BookingConfig{}, fmt.Errorf("booking tool config: %w", err)
	}
	return c, nil
}

// Slots is the part of the config the availability engine uses.
func (c BookingConfig) Slots() slots.Config {
	return slots.Config{
		DurationMinutes: c.DurationMinutes, SlotIntervalMinutes: c.SlotIntervalMinutes,
		BufferBeforeMinutes: c.BufferBeforeMinutes, BufferAfterMinutes: c.BufferAfterMinutes,
		MinNoticeMinutes: c.MinNoticeMinutes, MaxAdvanceDays: c.MaxAdvanceDays,
		Seats: c.Seats, DailyLimit: c.DailyLimit,
	}
}

// Duration is the length of one appointment.
func (c BookingConfig) Duration() time.Duration {
	return time.Duration(c.DurationMinutes) * time.Minute
}

// Tool is a booking tool as the booking code needs it.
type Tool struct {
	ID, Workspace, Name, Slug string
	Enabled                   bool
	Config                    BookingConfig
}

// Helper is a helper row.
type Helper struct {
	ID, Name, Email, Phone string
	Location               *time.Location
	Active                 bool
	Tools                  []string
}

// Serves reports whether the helper is active and offers the tool.
func (h Helper) Serves(tool string) bool { return h.Active && slices.Contains(h.Tools, tool) }

// Schedule is everything availability needs for some helpers of one workspace over a window of time,
// loaded with one query per table (no per-day or per-helper queries).
type Schedule struct {
	Workspace  string
	Tools      map[string]Tool
	Helpers    map[string]Helper
	Order      []string // helper ids in a stable order
	Rules      map[string][]slots.Rule
	Exceptions []slots.Exception
	Bookings   map[string][]BookingRow
	Holds      map[string][]Hold
}

// BookingRow is a booking as availability sees it.
type BookingRow struct {
	ID, Tool, Status string
	Start, End       time.Time
	Seats            int
}

// Hold is a slot held for a waitlist entry until Until.
type Hold struct {
	Entry, Tool, Contact string
	Start, Until         time.Time
}

func parseDBTime(s string) time.Time {
	t, err := time.Parse(dbtime.Layout, s)
	if err != nil {
		d, _ := types.ParseDateTime(s)
		return d.Time()
	}
	return t
}

// LoadTools returns the workspace's booking tools, parsed once and kept until a tool changes. The map is
// shared: callers must not modify it.
func LoadTools(app core.App, workspace string) (map[string]Tool, error) {
	return cachesOf(app).tools.Get(workspace, !app.IsTransactional(), func() (map[string]Tool, error) {
		return readTools(app, workspace)
	})
}

func readTools(app core.App, workspace string) (map[string]Tool, error) {
	var rows []struct {
		ID      string `db:"id"`
		Name    string `db:"name"`
		Slug    string `db:"slug"`
		Enabled bool   `db:"enabled"`
		Config  dbText `db:"config"`
	}
	err := app.DB().NewQuery("SELECT id, name, slug, enabled, config FROM tools WHERE workspace = {:ws} AND type = 'booking'").
		Bind(dbx.Params{"ws": workspace}).All(&rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Tool, len(rows))
	for _, r := range rows {
		cfg, err := ParseBookingConfig(string(r.Config))
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", r.ID, err)
		}
		out[r.ID] = Tool{ID: r.ID, Workspace: workspace, Name: r.Name, Slug: r.Slug, Enabled: r.Enabled, Config: cfg}
	}
	return out, nil
}

// helperSet is every helper of a workspace, in name order.
type helperSet struct {
	byID  map[string]Helper
	order []string
}

// LoadHelpers returns helpers of the workspace: the given ids, or every helper when ids is empty, in name
// order. Helpers are read once and kept until one changes.
func LoadHelpers(app core.App, workspace string, ids []string) (map[string]Helper, []string, error) {
	all, err := cachesOf(app).helpers.Get(workspace, !app.IsTransactional(), func() (helperSet, error) {
		return readHelpers(app, workspace)
	})
	if err != nil {
		return nil, nil, err
	}
	if len(ids) == 0 {
		return maps.Clone(all.byID), slices.Clone(all.order), nil
	}
	out := make(map[string]Helper, len(ids))
	for _, id := range ids {
		if h, ok := all.byID[id]; ok {
			out[id] = h
		}
	}
	order := make([]string, 0, len(out))
	for _, id := range all.order {
		if _, ok := out[id]; ok {
			order = append(order, id)
		}
	}
	return out, order, nil
}

func readHelpers(app core.App, workspace string) (helperSet, error) {
	var rows []struct {
		ID       string `db:"id"`
		Name     string `db:"name"`
		Email    string `db:"email"`
		Phone    string `db:"phone"`
		Timezone string `db:"timezone"`
		Active   bool   `db:"active"`
		Tools    dbText `db:"tools"`
	}
	err := app.DB().Select("id", "name", "email", "phone", "timezone", "active", "tools").From(collections.Helpers).
		Where(dbx.HashExp{"workspace": workspace}).OrderBy("name", "id").All(&rows)
	if err != nil {
		return helperSet{}, err
	}
	set := helperSet{byID: make(map[string]Helper, len(rows)), order: make([]string, 0, len(rows))}
	for _, r := range rows {
		loc, err := slots.LoadLocation("timezone", r.Timezone)
		if err != nil {
			continue // saved before validation existed; such a helper offers nothing
		}
		var tools []string
		_ = json.Unmarshal([]byte(string(r.Tools)), &tools)
		set.byID[r.ID] = Helper{ID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone, Location: loc, Active: r.Active, Tools: tools}
		set.order = append(set.order, r.ID)
	}
	return set, nil
}

// bookingsSQL reads the bookings of n helpers whose start lies in [from, to), one row per slot with its seats
// summed, or one row per booking when perSlot is false (a daily limit counts bookings). The grouping follows the
// idx_bookings_helper_slot index, which holds every column read: no table lookups, no sort.
func bookingsSQL(n int, perSlot bool) string {
	cols, group := "id, helper, tool, [[start]], [[end]], MAX(seats, 1)", ""
	if perSlot {
		cols = "MIN(id), helper, tool, [[start]], [[end]], SUM(MAX(seats, 1))"
		group = " GROUP BY helper, [[start]], tool, [[end]]"
	}
	return `SELECT ` + cols + ` FROM bookings
		WHERE helper IN (` + placeholders(n) + `) AND [[start]] >= {:from} AND [[start]] < {:to}
		AND status NOT IN ('cancelled', 'rejected') AND id != {:ignore}` + group
}

// bookingCaches hold the parsed tools and helpers of each workspace: every slot search and booking needs them,
// and they change a few times a day.
type bookingCaches struct {
	tools   *wscache.Cache[map[string]Tool]
	helpers *wscache.Cache[helperSet]
}

const bookingCachesKey = "playgram.booking.caches"

func cachesOf(app core.App) *bookingCaches {
	return app.Store().GetOrSet(bookingCachesKey, func() any {
		return &bookingCaches{tools: wscache.New[map[string]Tool](), helpers: wscache.New[helperSet]()}
	}).(*bookingCaches)
}

// invalidateBookingCaches drops a workspace's cached tools and helpers when one is written: right after the
// statement (so the writing transaction reads its own change) and again after the commit or rollback (so
// nothing read in between outlives it).
func invalidateBookingCaches(app core.App) {
	c := cachesOf(app)
	drop := func(r *core.Record) {
		c.tools.Invalidate(r.GetString("workspace"))
		c.helpers.Invalidate(r.GetString("workspace"))
	}
	onWrite := func(e *core.RecordEvent) error {
		err := e.Next()
		drop(e.Record)
		return err
	}
	onFailure := func(e *core.RecordErrorEvent) error {
		drop(e.Record)
		return e.Next()
	}
	for _, coll := range []string{collections.Tools, collections.Helpers} {
		app.OnRecordCreateExecute(coll).BindFunc(onWrite)
		app.OnRecordUpdateExecute(coll).BindFunc(onWrite)
		app.OnRecordDeleteExecute(coll).BindFunc(onWrite)
		app.OnRecordAfterCreateSuccess(coll).BindFunc(onWrite)
		app.OnRecordAfterUpdateSuccess(coll).BindFunc(onWrite)
		app.OnRecordAfterDeleteSuccess(coll).BindFunc(onWrite)
		app.OnRecordAfterCreateError(coll).BindFunc(onFailure)
		app.OnRecordAfterUpdateError(coll).BindFunc(onFailure)
		app.OnRecordAfterDeleteError(coll).BindFunc(onFailure)
	}
}

// ScheduleQuery says which helpers and which slot starts a schedule is loaded for.
type ScheduleQuery struct {
	Workspace string
	Helpers   []string // nil: every helper of the workspace
	From, To  time.Time
	// Ignore leaves out one booking: the one being rescheduled, which must not block its own move.
	Ignore string
	// WholeDays reads every booking of the slots' local days one by one, for PickHelper, which gives a
	// "helper=any" booking to whoever has the fewest bookings that day.
	WholeDays bool
}

// LoadSchedule reads, for the helpers named (all of the workspace when none), their rules, the exceptions and
// held bookings and holds that can matter to slots starting in [q.From, q.To).
func LoadSchedule(app core.App, q ScheduleQuery) (*Schedule, error) {
	workspace, helperIDs, from, to, ignore := q.Workspace, q.Helpers, q.From, q.To, q.Ignore
	s := &Schedule{Workspace: workspace, Rules: map[string][]slots.Rule{}, Bookings: map[string][]BookingRow{}, Holds: map[string][]Hold{}}
	var err error
	if s.Tools, err = LoadTools(app, workspace); err != nil {
		return nil, err
	}
	if s.Helpers, s.Order, err = LoadHelpers(app, workspace, helperIDs); err != nil {
		return nil, err
	}
	if len(s.Order) == 0 {
		return s, nil
	}
	ids := anySlice(s.Order)

	var rules []struct {
		Helper     string `db:"helper"`
		Weekday    int    `db:"weekday"`
		Start      string `db:"start"`
		End        string `db:"end"`
		Breaks     dbText `db:"breaks"`
		ValidFrom  string `db:"valid_from"`
		ValidUntil string `db:"valid_until"`
	}
	if err := app.DB().Select("helper", "weekday", "start", "end", "breaks", "valid_from", "valid_until").From(collections.Availability).
		Where(dbx.In("helper", ids...)).All(&rules); err != nil {
		return nil, err
	}
	for _, r := range rules {
		rule, err := slots.ParseRule(slots.RuleSpec{Weekday: r.Weekday, Start: r.Start, End: r.End, Breaks: parseBreaks(r.Breaks), ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil})
		if err != nil {
			app.Logger().Warn("booking: skipping an invalid availability rule", "helper", r.Helper, "error", err)
			continue
		}
		s.Rules[r.Helper] = append(s.Rules[r.Helper], rule)
	}

	// Local dates of [from, to) lie within a day of their UTC dates.
	var excs []struct {
		Helper string `db:"helper"`
		Date   string `db:"date"`
		Closed bool   `db:"closed"`
		Start  string `db:"start"`
		End    string `db:"end"`
		Breaks dbText `db:"breaks"`
	}
	if err := app.DB().Select("helper", "date", "closed", "start", "end", "breaks").From(collections.AvailabilityExceptions).
		Where(dbx.HashExp{"workspace": workspace}).
		AndWhere(dbx.Between("date", from.UTC().AddDate(0, 0, -2).Format(time.DateOnly), to.UTC().AddDate(0, 0, 2).Format(time.DateOnly))).
		AndWhere(dbx.Or(dbx.HashExp{"helper": ""}, dbx.In("helper", ids...))).All(&excs); err != nil {
		return nil, err
	}
	for _, x := range excs {
		ex, err := slots.ParseException(slots.ExceptionSpec{Date: x.Date, Helper: x.Helper, Closed: x.Closed, Start: x.Start, End: x.End, Breaks: parseBreaks(x.Breaks)})
		if err != nil {
			app.Logger().Warn("booking: skipping an invalid availability exception", "helper", x.Helper, "date", x.Date, "error", err)
			continue
		}
		s.Exceptions = append(s.Exceptions, ex)
	}

	// Bookings of one slot share its seats: unless a daily limit needs each booking counted, they are read
	// as one row per slot with the seats summed, so a class of 1000 seats costs one row, not 1000.
	pad, limit := s.bookingReach(q.WholeDays)
	rows, err := app.DB().NewQuery(bookingsSQL(len(ids), !limit)).
		Bind(inParams(ids, dbx.Params{"from": dbtime.Format(from.Add(-pad)), "to": dbtime.Format(to.Add(pad)), "ignore": ignore})).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		b := BookingRow{Status: collections.BookingConfirmed}
		var helper, start, end string
		if err := rows.Scan(&b.ID, &helper, &b.Tool, &start, &end, &b.Seats); err != nil {
			return nil, err
		}
		b.Start, b.End = parseDBTime(start), parseDBTime(end)
		s.Bookings[helper] = append(s.Bookings[helper], b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var holds []struct {
		ID      string `db:"id"`
		Helper  string `db:"offer_helper"`
		Tool    string `db:"tool"`
		Contact string `db:"contact"`
		Start   string `db:"offer_start"`
		Until   string `db:"hold_until"`
	}
	if err := app.DB().NewQuery(`SELECT id, offer_helper, tool, contact, offer_start, hold_until FROM waitlist
		WHERE offer_helper IN (` + placeholders(len(ids)) + `) AND status = 'offered' AND hold_until > {:now}`).
		Bind(inParams(ids, dbx.Params{"now": dbtime.Format(time.Now())})).All(&holds); err != nil {
		return nil, err
	}
	for _, h := range holds {
		s.Holds[h.Helper] = append(s.Holds[h.Helper], Hold{Entry: h.ID, Tool: h.Tool, Contact: h.Contact, Start: parseDBTime(h.Start), Until: parseDBTime(h.Until)})
	}
	return s, nil
}

// bookingReach is how far from a slot start a booking's start can be and still matter to it. A booking
// conflicts with a slot when they overlap with the buffers facing each other, so within the longest duration
// plus two buffers; with a daily limit (or for PickHelper), every booking starting on the slot's local day
// counts, one by one, and a local day reaches at most 26 h from any of its instants. Reading only that range keeps the scan on the (helper, start)
// index short however long the history is.
func (s *Schedule) bookingReach(wholeDays bool) (reach time.Duration, countEach bool) {
	var dur, buf time.Duration
	limit := wholeDays
	for _, t := range s.Tools {
		c := t.Config
		dur = max(dur, c.Duration())
		buf = max(buf, time.Duration(max(c.BufferBeforeMinutes, c.BufferAfterMinutes))*time.Minute)
		limit = limit || c.DailyLimit > 0
	}
	reach = dur + 2*buf + time.Minute
	if limit {
		reach = max(reach, 26*time.Hour+dur)
	}
	return reach, limit
}

// InputOptions tailor one availability input.
type InputOptions struct {
	// IgnoreBooking is the booking being rescheduled: it does not block its own move.
	IgnoreBooking string
	// Contact is who is booking: a slot held for them on the waitlist is theirs to take.
	Contact string
}

// Input builds the availability input of one helper for one tool.
func (s *Schedule) Input(helperID string, tool Tool, now time.Time, opt InputOptions) slots.Input {
	h := s.Helpers[helperID]
	in := slots.Input{
		Helper:          slots.Helper{ID: helperID, Location: h.Location},
		Config:          tool.Config.Slots(),
		Rules:           s.Rules[helperID],
		Exceptions:      s.Exceptions,
		Now:             now,
		IgnoreBookingID: opt.IgnoreBooking,
	}
	for _, b := range s.Bookings[helperID] {
		sb := slots.Booking{ID: b.ID, Start: b.Start, End: b.End, Seats: b.Seats, Status: b.Status}
		if b.Tool != tool.ID {
			if other, ok := s.Tools[b.Tool]; ok {
				sb.Buffers = &slots.Buffers{Before: other.Config.BufferBeforeMinutes, After: other.Config.BufferAfterMinutes}
			}
		}
		in.Bookings = append(in.Bookings, sb)
	}
	for _, hold := range s.Holds[helperID] {
		if opt.Contact != "" && hold.Contact == opt.Contact {
			continue
		}
		dur := tool.Config.Duration()
		if other, ok := s.Tools[hold.Tool]; ok {
			dur = other.Config.Duration()
		}
		in.Bookings = append(in.Bookings, slots.Booking{ID: "hold:" + hold.Entry, Start: hold.Start, End: hold.Start.Add(dur), Seats: 1, Status: "held"})
	}
	return in
}

// Team returns the inputs of every helper of the schedule who serves the tool.
func (s *Schedule) Team(tool Tool, now time.Time, opt InputOptions) []slots.Input {
	var team []slots.Input
	for _, id := range s.Order {
		if s.Helpers[id].Serves(tool.ID) {
			team = append(team, s.Input(id, tool, now, opt))
		}
	}
	return team
}

// dbText reads a text or JSON column that may be NULL (JSON fields are NULL until first set).
type dbText string

// Scan implements sql.Scanner.
func (t *dbText) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*t = ""
	case string:
		*t = dbText(x)
	case []byte:
		*t = dbText(x)
	default:
		return fmt.Errorf("dbText: cannot scan %T", v)
	}
	return nil
}

func parseBreaks(raw dbText) []slots.BreakSpec {
	var out []slots.BreakSpec
	if raw != "" && raw != "null" {
		_ = json.Unmarshal([]byte(raw), &out)
	}
	return out
}

func anySlice(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func placeholders(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{:p%d}", i)
	}
	return b.String()
}

func inParams(ids []any, p dbx.Params) dbx.Params {
	for i, id := range ids {
		p[fmt.Sprintf("p%d", i)] = id
	}
	return p
}

// SlotKey is the unique key of one seat of a slot: at most one holding booking can have it.
func SlotKey(helper string, start time.Time, seat int) string {
	return fmt.Sprintf("%s/%d/%d", helper, start.Unix(), seat)
}

// FreeSeat finds the lowest seat of helper's slot at start that no holding booking has, below seats. ok is
// false when every seat is taken. Read with the booking transaction.
func FreeSeat(app core.App, helper string, start time.Time, seats int) (int, bool, error) {
	var keys []string
	err := app.DB().NewQuery("SELECT slot_key FROM bookings WHERE helper = {:h} AND [[start]] = {:s} AND slot_key != ''").
		Bind(dbx.Params{"h": helper, "s": dbtime.Format(start)}).Column(&keys)
	if err != nil {
		return 0, false, err
	}
	taken := make(map[string]bool, len(keys))
	for _, k := range keys {
		taken[k] = true
	}
	prefix := fmt.Sprintf("%s/%d/", helper, start.Unix())
	for seat := range max(seats, 1) {
		if !taken[prefix+strconv.Itoa(seat)] {
			return seat, true, nil
		}
	}
	return 0, false, nil
}

// SlotOffer is a signed invitation to book one slot: the buttons of a Manychat slot list and the link of a
// waitlist offer carry it. It is sealed (AES-GCM) with the server key, so it can be neither read nor forged.
type SlotOffer struct {
	Workspace  string `json:"w"`
	Tool       string `json:"t"`
	Helper     string `json:"h,omitempty"` // "" = any helper
	Start      int64  `json:"s"`
	Subscriber string `json:"sub,omitempty"`
	Contact    string `json:"c,omitempty"`
	Name       string `json:"n,omitempty"`
	TZ         string `json:"z,omitempty"`
	Entry      string `json:"e,omitempty"` // waitlist entry the slot is held for
	Source     string `json:"src,omitempty"`
	Expires    int64  `json:"x"`
}

// ErrBadOffer is an offer token that cannot be opened or has expired.
var ErrBadOffer = errors.New("the booking link is invalid or has expired")

// SealOffer turns an offer into a URL-safe token.
func SealOffer(box *secretbox.Box, o SlotOffer) (string, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return "", err
	}
	sealed, err := box.Seal(string(raw))
	if err != nil {
		return "", err
	}
	_, b64, _ := strings.Cut(sealed, ":")
	bin, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(bin), nil
}

// OpenOffer checks and decodes a token made by SealOffer.
func OpenOffer(box *secretbox.Box, token string, now time.Time) (SlotOffer, error) {
	bin, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(token) > 2048 {
		return SlotOffer{}, ErrBadOffer
	}
	plain, err := box.Open("v1:" + base64.StdEncoding.EncodeToString(bin))
	if err != nil || plain == "" {
		return SlotOffer{}, ErrBadOffer
	}
	var o SlotOffer
	if err := json.Unmarshal([]byte(plain), &o); err != nil || now.Unix() > o.Expires {
		return SlotOffer{}, ErrBadOffer
	}
	return o, nil
}
