package slots

import (
	"errors"
	"testing"
	"time"
)

func TestFree(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	// The week of Monday 2026-03-02 (CET, +01:00), far from any DST change.
	base := func() Input {
		return Input{
			Helper: Helper{ID: "h1", Location: berlin},
			Config: Config{DurationMinutes: 60},
			Rules:  mustRules(t, weekdays("09:00", "12:00")...),
			Now:    time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		}
	}
	b := func(start string, minutes int) Booking { return booking(t, berlin, "2026-03-"+start, minutes) }
	monday := func(start, end string, breaks ...BreakSpec) []Rule {
		return mustRules(t, RuleSpec{Weekday: 1, Start: start, End: end, Breaks: breaks})
	}

	scenarios := []struct {
		name     string
		mod      func(in *Input)
		from, to string // local dates; empty = the whole week Mon 03-02 .. Sun 03-08
		want     string
	}{
		{
			name: "ordinary week: weekdays only, hourly",
			want: "03-02 09:00 10:00 11:00 | 03-03 09:00 10:00 11:00 | 03-04 09:00 10:00 11:00 | 03-05 09:00 10:00 11:00 | 03-06 09:00 10:00 11:00",
		},
		{
			name: "from is inclusive and to exclusive, by slot start",
			from: "2026-03-02 10:00", to: "2026-03-02 11:00",
			want: "03-02 10:00",
		},
		{
			name: "a break splits the day and the grid restarts after it",
			mod:  func(in *Input) { in.Rules = monday("09:00", "17:00", BreakSpec{"12:00", "12:30"}) },
			want: "03-02 09:00 10:00 11:00 12:30 13:30 14:30 15:30",
		},
		{
			name: "interval shorter than duration gives overlapping starts that still fit",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "11:00")
				in.Config.SlotIntervalMinutes = 30
			},
			want: "03-02 09:00 09:30 10:00",
		},
		{
			name: "overlapping and touching rules merge into one segment",
			mod: func(in *Input) {
				in.Rules = mustRules(t,
					RuleSpec{Weekday: 1, Start: "09:00", End: "12:00"},
					RuleSpec{Weekday: 1, Start: "12:00", End: "13:00"},
					RuleSpec{Weekday: 1, Start: "10:00", End: "11:00"})
				in.Config.DurationMinutes, in.Config.SlotIntervalMinutes = 90, 30
			},
			want: "03-02 09:00 09:30 10:00 10:30 11:00 11:30",
		},
		{
			name: "buffers of the existing booking and of the new slot add up",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "14:00")
				in.Config.SlotIntervalMinutes, in.Config.BufferBeforeMinutes, in.Config.BufferAfterMinutes = 15, 15, 15
				in.Bookings = []Booking{b("02 11:00", 60)}
			},
			// 09:30-10:30 + 15 after meets 10:45, the booking's own 15 before: just free. 12:30 likewise.
			want: "03-02 09:00 09:15 09:30 12:30 12:45 13:00",
		},
		{
			name: "a booking made with unbuffered tool only gets the new slot's buffers",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "14:00")
				in.Config.SlotIntervalMinutes, in.Config.BufferBeforeMinutes, in.Config.BufferAfterMinutes = 15, 15, 15
				x := b("02 11:00", 60)
				x.Buffers = &Buffers{}
				in.Bookings = []Booking{x}
			},
			want: "03-02 09:00 09:15 09:30 09:45 12:15 12:30 12:45 13:00",
		},
		{
			name: "cancelled and rejected bookings free their time, pending holds it",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "12:00")
				in.Bookings = []Booking{b("02 09:00", 60), b("02 10:00", 60), b("02 11:00", 60)}
				in.Bookings[0].Status, in.Bookings[1].Status, in.Bookings[2].Status = StatusCancelled, StatusRejected, StatusPending
			},
			want: "03-02 09:00 10:00",
		},
		{
			name: "the booking being rescheduled does not block",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "12:00")
				in.Bookings = []Booking{b("02 10:00", 60), b("02 11:00", 60)}
				in.Bookings[0].ID, in.Bookings[1].ID = "move-me", "other"
				in.IgnoreBookingID = "move-me"
			},
			want: "03-02 09:00 10:00",
		},
		{
			name: "a booking lying wholly inside a slot blocks it",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "12:00")
				in.Bookings = []Booking{b("02 10:15", 30)}
			},
			want: "03-02 09:00 11:00",
		},
		{
			name: "a booking ending before it starts is a zero-length booking at its start",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "12:00")
				x := b("02 10:30", 60)
				x.End = x.Start.Add(-time.Hour)
				in.Bookings = []Booking{x}
			},
			want: "03-02 09:00 11:00",
		},
		{
			name: "seats: same-slot bookings share the slot until it is full",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "12:00")
				in.Config.Seats = 3
				two := b("02 09:00", 60)
				two.Seats = 2
				in.Bookings = []Booking{two, b("02 10:00", 60), b("02 10:00", 60), b("02 10:00", 60)}
			},
			want: "03-02 09:00 11:00×3",
		},
		{
			name: "seats: a partial overlap blocks a seated slot outright",
			mod: func(in *Input) {
				in.Rules = monday("09:00", "12:00")
				in.Config.Seats = 3
				in.Bookings = []Booking{b("02 10:30", 60)}
			},
			want: "03-02 09:00×3",
		},
		{
			name: "min notice drops slots starting before now + notice",
			mod: func(in *Input) {
				in.Now = at(t, berlin, "2026-03-02 09:10")
				in.Config.MinNoticeMinutes = 60
			},
			to:   "2026-03-04 00:00",
			want: "03-02 11:00 | 03-03 09:00 10:00 11:00",
		},
		{
			name: "max advance counts the helper's local days, not UTC days",
			mod: func(in *Input) {
				in.Now = at(t, berlin, "2026-03-03 00:30") // still 03-02 in UTC
				in.Config.MaxAdvanceDays = 1
			},
			want: "03-03 09:00 10:00 11:00 | 03-04 09:00 10:00 11:00",
		},
		{
			name: "daily limit closes a day once reached; cancelled bookings do not count",
			mod: func(in *Input) {
				in.Config.DailyLimit = 2
				cancelled := b("03 10:00", 60)
				cancelled.Status = StatusCancelled
				in.Bookings = []Booking{b("02 09:00", 60), b("02 11:00", 60), b("03 09:00", 60), cancelled}
			},
			to:   "2026-03-04 00:00",
			want: "03-03 10:00 11:00",
		},
		{
			name: "exceptions: helper beats workspace, closed beats hours, other helpers ignored",
			mod: func(in *Input) {
				x := func(s ExceptionSpec) Exception { return mustException(t, s) }
				in.Exceptions = []Exception{
					x(ExceptionSpec{Date: "2026-03-02", Helper: "h2", Closed: true}),                 // someone else's day off
					x(ExceptionSpec{Date: "2026-03-03", Helper: "h1", Closed: true}),                 // helper closed
					x(ExceptionSpec{Date: "2026-03-03", Helper: "h1", Start: "09:00", End: "12:00"}), // closed still wins
					x(ExceptionSpec{Date: "2026-03-04", Closed: true}),                               // workspace holiday
					x(ExceptionSpec{Date: "2026-03-05", Closed: true}),                               // workspace holiday...
					x(ExceptionSpec{Date: "2026-03-05", Helper: "h1", Start: "10:00", End: "12:00"}), // ...but the helper works
					x(ExceptionSpec{Date: "2026-03-06", Start: "13:00", End: "16:00", Breaks: []BreakSpec{{"14:00", "14:30"}}}),
					x(ExceptionSpec{Date: "2026-03-07", Helper: "h1", Start: "10:00", End: "11:00"}), // a Saturday
					x(ExceptionSpec{Date: "2026-03-08", Helper: "h1", Start: "09:00", End: "10:00"}), // two ranges
					x(ExceptionSpec{Date: "2026-03-08", Helper: "h1", Start: "11:00", End: "12:00"}),
				}
			},
			want: "03-02 09:00 10:00 11:00 | 03-05 10:00 11:00 | 03-06 13:00 14:30 | 03-07 10:00 | 03-08 09:00 11:00",
		},
		{
			name: "seasonal rules apply between valid_from and valid_until inclusive",
			mod: func(in *Input) {
				var specs []RuleSpec
				for _, s := range weekdays("09:00", "12:00") {
					s.ValidUntil = "2026-03-03"
					specs = append(specs, s)
				}
				for _, s := range weekdays("14:00", "15:00") {
					s.ValidFrom, s.ValidUntil = "2026-03-04", "2026-03-05"
					specs = append(specs, s)
				}
				in.Rules = mustRules(t, specs...)
			},
			want: "03-02 09:00 10:00 11:00 | 03-03 09:00 10:00 11:00 | 03-04 14:00 | 03-05 14:00",
		},
		{
			name: "no rules, no slots",
			mod:  func(in *Input) { in.Rules = nil },
			want: "",
		},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			in := base()
			if s.mod != nil {
				s.mod(&in)
			}
			from, to := day(t, berlin, "2026-03-02", 7)
			if s.from != "" {
				from = at(t, berlin, s.from)
			}
			if s.to != "" {
				to = at(t, berlin, s.to)
			}
			got, err := Free(in, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if r := render(got, berlin, "15:04"); r != s.want {
				t.Fatalf("slots\n got: %s\nwant: %s", r, s.want)
			}
			for i, sl := range got {
				if sl.Helper != "h1" || sl.End.Sub(sl.Start) != time.Duration(in.Config.DurationMinutes)*time.Minute || sl.Start.Location() != time.UTC {
					t.Fatalf("slot %d malformed: %+v", i, sl)
				}
			}
		})
	}
}

func TestFreeDST(t *testing.T) {
	const local = "15:04Z07:00"
	scenarios := []struct {
		name       string
		zone       string
		date       string // the helper's local date; the rule is set on its weekday
		start, end string
		dur, step  int
		now        string // helper-local; empty = long before
		notice     int
		layout     string // render layout; "UTC" renders in UTC as 15:04
		want       string
	}{
		{
			name: "Berlin spring forward: 09:00-17:00 stays local, afternoon included",
			zone: "Europe/Berlin", date: "2026-03-29", start: "09:00", end: "17:00", dur: 60, layout: "UTC",
			want: "03-29 07:00 08:00 09:00 10:00 11:00 12:00 13:00 14:00",
		},
		{
			name: "Berlin spring forward: rule across the gap has 3 real hours, grid times in the gap are skipped",
			zone: "Europe/Berlin", date: "2026-03-29", start: "01:00", end: "05:00", dur: 60, step: 30,
			want: "03-29 01:00+01:00 01:30+01:00 03:00+02:00 03:30+02:00 04:00+02:00",
		},
		{
			name: "Berlin spring forward: a window starting inside the gap starts at the jump",
			zone: "Europe/Berlin", date: "2026-03-29", start: "02:30", end: "05:00", dur: 60,
			want: "03-29 03:30+02:00",
		},
		{
			name: "Berlin spring forward: min notice boundary across the gap",
			zone: "Europe/Berlin", date: "2026-03-29", start: "00:00", end: "06:00", dur: 30,
			now: "2026-03-29 00:30", notice: 120, // 2 real hours after 00:30 CET is 03:30 CEST
			want: "03-29 03:30+02:00 04:00+02:00 04:30+02:00 05:00+02:00 05:30+02:00",
		},
		{
			name: "Berlin fall back: the repeated hour is bookable twice, in time order",
			zone: "Europe/Berlin", date: "2026-10-25", start: "01:00", end: "05:00", dur: 60, step: 30,
			want: "10-25 01:00+02:00 01:30+02:00 02:00+02:00 02:30+02:00 02:00+01:00 02:30+01:00 03:00+01:00 03:30+01:00 04:00+01:00",
		},
		{
			name: "Berlin fall back: an end inside the fold is its first occurrence",
			zone: "Europe/Berlin", date: "2026-10-25", start: "00:00", end: "02:30", dur: 60,
			want: "10-25 00:00+02:00 01:00+02:00",
		},
		{
			name: "Berlin fall back: 09:00-17:00 stays local, afternoon included",
			zone: "Europe/Berlin", date: "2026-10-25", start: "09:00", end: "17:00", dur: 60, layout: "UTC",
			want: "10-25 08:00 09:00 10:00 11:00 12:00 13:00 14:00 15:00",
		},
		{
			name: "New York spring forward: 01:00-04:00 has 2 real hours",
			zone: "America/New_York", date: "2026-03-08", start: "01:00", end: "04:00", dur: 60,
			want: "03-08 01:00-05:00 03:00-04:00",
		},
		{
			name: "New York spring forward: afternoon starts at EDT",
			zone: "America/New_York", date: "2026-03-08", start: "13:00", end: "17:00", dur: 60, layout: "UTC",
			want: "03-08 17:00 18:00 19:00 20:00",
		},
		{
			name: "New York fall back: 00:00-03:00 has 4 real hours",
			zone: "America/New_York", date: "2026-11-01", start: "00:00", end: "03:00", dur: 60,
			want: "11-01 00:00-04:00 01:00-04:00 01:00-05:00 02:00-05:00",
		},
		{
			name: "New York fall back: afternoon starts at EST",
			zone: "America/New_York", date: "2026-11-01", start: "13:00", end: "17:00", dur: 60, layout: "UTC",
			want: "11-01 18:00 19:00 20:00 21:00",
		},
		{
			name: "Kolkata +05:30",
			zone: "Asia/Kolkata", date: "2026-03-02", start: "09:00", end: "12:00", dur: 60, layout: "UTC",
			want: "03-02 03:30 04:30 05:30",
		},
		{
			name: "Kathmandu +05:45",
			zone: "Asia/Kathmandu", date: "2026-03-02", start: "09:00", end: "10:30", dur: 45, layout: "UTC",
			want: "03-02 03:15 04:00",
		},
		{
			name: "Lord Howe half-hour fall back repeats 01:30-02:00",
			zone: "Australia/Lord_Howe", date: "2026-04-05", start: "01:00", end: "03:00", dur: 30,
			want: "04-05 01:00+11:00 01:30+11:00 01:30+10:30 02:00+10:30 02:30+10:30",
		},
		{
			name: "Santiago: local midnight does not exist, the day starts at 01:00",
			zone: "America/Santiago", date: "2026-09-06", start: "00:00", end: "03:00", dur: 60,
			want: "09-06 01:00-03:00 02:00-03:00",
		},
		{
			name: "Santiago: 23:00 happens twice and 24:00 ends the day after both",
			zone: "America/Santiago", date: "2026-04-04", start: "22:00", end: "24:00", dur: 60,
			want: "04-04 22:00-03:00 23:00-03:00 23:00-04:00",
		},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			loc := mustLoc(t, s.zone)
			d, _ := ParseDate("date", s.date)
			in := Input{
				Helper: Helper{ID: "h", Location: loc},
				Config: Config{DurationMinutes: s.dur, SlotIntervalMinutes: s.step, MinNoticeMinutes: s.notice},
				Rules:  mustRules(t, RuleSpec{Weekday: d.Weekday(), Start: s.start, End: s.end}),
				Now:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			}
			if s.now != "" {
				in.Now = at(t, loc, s.now)
			}
			from, to := day(t, loc, s.date, 1)
			got, err := Free(in, from, to)
			if err != nil {
				t.Fatal(err)
			}
			renderLoc, layout := loc, local
			if s.layout == "UTC" {
				renderLoc, layout = time.UTC, "15:04"
			}
			if r := render(got, renderLoc, layout); r != s.want {
				t.Fatalf("slots\n got: %s\nwant: %s", r, s.want)
			}
			// Every slot is exactly the duration in real time and lies on the helper's date.
			for _, sl := range got {
				if sl.End.Sub(sl.Start) != time.Duration(s.dur)*time.Minute || DateOf(sl.Start, loc) != d {
					t.Fatalf("bad slot %v-%v", sl.Start, sl.End)
				}
			}
		})
	}
}

func TestFreeNegativeOffsetException(t *testing.T) {
	// A day off in New York covers the local evening, which is the next UTC date: the exception must
	// match by local date (cal.com#8833 put such overrides on the wrong day).
	ny := mustLoc(t, "America/New_York")
	in := Input{
		Helper:     Helper{ID: "h", Location: ny},
		Config:     Config{DurationMinutes: 60},
		Rules:      mustRules(t, weekdays("20:00", "23:00")...),
		Exceptions: []Exception{mustException(t, ExceptionSpec{Date: "2026-03-03", Closed: true})},
		Now:        time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	from, to := day(t, ny, "2026-03-02", 3)
	got, err := Free(in, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if r, want := render(got, time.UTC, "15:04"), "03-03 01:00 02:00 03:00 | 03-05 01:00 02:00 03:00"; r != want {
		t.Fatalf("slots in UTC\n got: %s\nwant: %s", r, want)
	}
}

func TestSlotLocal(t *testing.T) {
	auckland, la, berlin := mustLoc(t, "Pacific/Auckland"), mustLoc(t, "America/Los_Angeles"), mustLoc(t, "Europe/Berlin")
	scenarios := []struct {
		name       string
		helper     *time.Location
		start, end string
		booker     *time.Location
		want       LocalSlot
	}{
		{
			name:   "helper's Monday morning is the booker's Sunday",
			helper: auckland, start: "09:00", end: "10:00", booker: la,
			want: LocalSlot{Date: "2026-03-01", Start: "12:00", End: "13:00", EndDate: "2026-03-01", Offset: "-08:00", Zone: "America/Los_Angeles"},
		},
		{
			name:   "same slot in the helper's own zone",
			helper: auckland, start: "09:00", end: "10:00", booker: auckland,
			want: LocalSlot{Date: "2026-03-02", Start: "09:00", End: "10:00", EndDate: "2026-03-02", Offset: "+13:00", Zone: "Pacific/Auckland"},
		},
		{
			name:   "a slot crossing the booker's midnight",
			helper: berlin, start: "08:30", end: "09:30", booker: la,
			want: LocalSlot{Date: "2026-03-01", Start: "23:30", End: "00:30", EndDate: "2026-03-02", Offset: "-08:00", Zone: "America/Los_Angeles"},
		},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			in := Input{
				Helper: Helper{ID: "h", Location: s.helper},
				Config: Config{DurationMinutes: 60},
				Rules:  mustRules(t, RuleSpec{Weekday: 1, Start: s.start, End: s.end}),
				Now:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			}
			from, to := day(t, s.helper, "2026-03-02", 1)
			got, err := Free(in, from, to)
			if err != nil || len(got) != 1 {
				t.Fatalf("want one slot, got %v %v", got, err)
			}
			if l := got[0].Local(s.booker); l != s.want {
				t.Fatalf("got %+v\nwant %+v", l, s.want)
			}
		})
	}
}

func TestFreeErrors(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	good := Input{Helper: Helper{ID: "h", Location: berlin}, Config: Config{DurationMinutes: 30}, Now: time.Now()}
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	scenarios := []struct {
		name     string
		mod      func(in *Input)
		from, to time.Time
		field    string
		code     string
	}{
		{"zero duration", func(in *Input) { in.Config.DurationMinutes = 0 }, from, from.Add(time.Hour), "config.duration_minutes", CodeOutOfRange},
		{"missing zone", func(in *Input) { in.Helper.Location = nil }, from, from.Add(time.Hour), "helper.timezone", CodeRequired},
		{"missing now", func(in *Input) { in.Now = time.Time{} }, from, from.Add(time.Hour), "now", CodeRequired},
		{"break outside hours", func(in *Input) {
			in.Rules = []Rule{{Weekday: 1, Start: 540, End: 600, Breaks: []Range{{500, 520}}}}
		}, from, from.Add(time.Hour), "rules.0.breaks.0.start", CodeBreakOutside},
		{"negative seats on a booking", func(in *Input) {
			in.Bookings = []Booking{{}, {Seats: -1}}
		}, from, from.Add(time.Hour), "bookings.1.seats", CodeOutOfRange},
		{"reversed range", nil, from, from.Add(-time.Hour), "to", CodeOrder},
		{"range too long", nil, from, from.AddDate(0, 0, MaxRangeDays+1), "to", CodeOutOfRange},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			in := good
			if s.mod != nil {
				s.mod(&in)
			}
			_, err := Free(in, s.from, s.to)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != s.field || fe.Code != s.code {
				t.Fatalf("want %s/%s, got %v", s.field, s.code, err)
			}
		})
	}
}
