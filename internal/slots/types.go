package slots

import (
	"fmt"
	"time"
)

// Clock is a wall-clock time of day in minutes after local midnight, from 0 (00:00) to 1440 (24:00).
// 24:00 exists so that a rule can run to the end of the day.
type Clock int

// EndOfDay is 24:00, the latest a rule or break can end.
const EndOfDay Clock = 24 * 60

// String renders the clock as "HH:MM", the form stored in the database and accepted by ParseClock.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Range is a wall-clock interval [Start, End) within one local day, used for breaks.
type Range struct {
	Start, End Clock
}

// Date is a calendar date without a zone. Rules and exceptions are about local dates, and comparing
// instants instead is how overrides ended up on the wrong day in negative-offset zones (cal.com#8833).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t as seen in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date, which rules use for "no bound".
func (d Date) IsZero() bool { return d == Date{} }

// String renders the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// AddDays returns the date n days later (earlier for negative n), normalising month and year.
func (d Date) AddDays(n int) Date {
	y, m, dd := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC).Date()
	return Date{y, m, dd}
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return sign(d.Year - o.Year)
	case d.Month != o.Month:
		return sign(int(d.Month) - int(o.Month))
	default:
		return sign(d.Day - o.Day)
	}
}

// Weekday returns the ISO weekday, 1 = Monday .. 7 = Sunday, the numbering rules use.
func (d Date) Weekday() int {
	wd := int(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday())
	if wd == 0 {
		return 7
	}
	return wd
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// Rule is one weekly availability window of a helper, in the helper's wall clock.
type Rule struct {
	Weekday    int // 1 = Monday .. 7 = Sunday
	Start, End Clock
	Breaks     []Range // inside [Start, End), not overlapping each other
	ValidFrom  Date    // first local date the rule applies; zero = no lower bound
	ValidUntil Date    // last local date the rule applies (inclusive); zero = no upper bound
}

// Exception replaces the weekly rules of one local date, for one helper or for the whole workspace.
// See the package documentation for how helper and workspace exceptions combine.
type Exception struct {
	Date     Date
	HelperID string // empty = applies to every helper of the workspace
	Closed   bool   // the day is off; Start, End and Breaks are ignored
	Start    Clock  // custom hours when not Closed
	End      Clock
	Breaks   []Range
}

// Booking statuses that Playgram stores. Only cancelled and rejected release the time; any other
// status, including an unknown or empty one, holds it, so a new status can never cause a double booking.
const (
	StatusConfirmed = "confirmed"
	StatusPending   = "pending"
	StatusCancelled = "cancelled"
	StatusRejected  = "rejected"
)

// HoldsSlot reports whether a booking with this status occupies its time.
func HoldsSlot(status string) bool {
	return status != StatusCancelled && status != StatusRejected
}

// Buffers are padding minutes before and after an event.
type Buffers struct {
	Before, After int
}

// Booking is an existing booking of the helper. Times are instants; sub-second parts are widened to
// whole seconds (start rounded down, end rounded up) so a booking never holds less than its real span.
// An End before Start is read as a zero-length booking at Start: it blocks a slot it falls strictly
// inside, or whose buffers reach it.
type Booking struct {
	ID         string
	Start, End time.Time
	Seats      int    // seats this booking takes; 0 counts as 1
	Status     string // see HoldsSlot
	// Buffers of the tool this booking was made with. nil means the searched tool's buffers, which is
	// right whenever the helper's bookings all come from the same tool.
	Buffers *Buffers
}

// Config is the booking tool's scheduling configuration, in the units stored on the tool.
type Config struct {
	DurationMinutes     int
	SlotIntervalMinutes int // step between slot starts; 0 = DurationMinutes
	BufferBeforeMinutes int
	BufferAfterMinutes  int
	MinNoticeMinutes    int
	MaxAdvanceDays      int // 0 = no limit
	Seats               int // capacity per slot; 0 = 1
	DailyLimit          int // held bookings per helper per local day; 0 = no limit
}

// Helper identifies whose time is booked and in which zone their rules are written.
type Helper struct {
	ID       string
	Location *time.Location
}

// Input is everything the availability computation needs about one helper and one tool.
type Input struct {
	Helper     Helper
	Config     Config
	Rules      []Rule
	Exceptions []Exception // this helper's and workspace-wide ones; other helpers' are ignored
	Bookings   []Booking   // this helper's bookings, any order, any status
	// Now is the current instant, passed in so that listing and booking agree and tests are exact.
	Now time.Time
	// IgnoreBookingID excludes one booking, the one being rescheduled, so it does not block its own move.
	IgnoreBookingID string
}

// Slot is a free slot. Start and End are UTC instants; render them with Local.
type Slot struct {
	Start, End time.Time
	Helper     string // helper id; empty in AnyHelper's merged list
	SeatsLeft  int
}

// LocalSlot is a slot as a person in some zone reads it.
type LocalSlot struct {
	Date    string // YYYY-MM-DD of the start
	Start   string // HH:MM
	End     string // HH:MM
	EndDate string // YYYY-MM-DD of the end, differs from Date when the slot crosses local midnight
	Offset  string // UTC offset at the start, "+05:30"; tells the two 02:30s of a fall-back night apart
	Zone    string // IANA name of loc
}

// Local renders the slot in loc, typically the booker's zone, which may differ from the helper's.
func (s Slot) Local(loc *time.Location) LocalSlot {
	st, en := s.Start.In(loc), s.End.In(loc)
	return LocalSlot{
		Date:    st.Format(time.DateOnly),
		Start:   st.Format("15:04"),
		End:     en.Format("15:04"),
		EndDate: en.Format(time.DateOnly),
		Offset:  st.Format("-07:00"),
		Zone:    loc.String(),
	}
}
