package slots

import (
	"errors"
	"testing"
	"time"
)

func TestIsBookable(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	b := func(start string, minutes, seats int, id string) Booking {
		x := booking(t, berlin, "2026-03-"+start, minutes)
		x.Seats, x.ID = seats, id
		return x
	}
	base := func() Input {
		return Input{
			Helper: Helper{ID: "h1", Location: berlin},
			Config: Config{DurationMinutes: 60, Seats: 2, DailyLimit: 4, MinNoticeMinutes: 60, MaxAdvanceDays: 14},
			Rules:  mustRules(t, weekdays("09:00", "17:00", BreakSpec{"12:00", "13:00"})...),
			Now:    at(t, berlin, "2026-03-02 08:00"), // Monday
			Bookings: []Booking{
				b("03 10:00", 60, 1, "t1"), b("03 10:00", 60, 1, "t2"), // Tuesday 10:00 full
				b("03 14:00", 30, 1, "t3"),                                                                                     // partial overlap of Tuesday 14:00; Tuesday is one below the limit
				b("04 09:00", 60, 1, "w1"), b("04 10:00", 60, 1, "w2"), b("04 11:00", 60, 1, "w3"), b("04 13:00", 60, 1, "w4"), // Wednesday at the daily limit
			},
		}
	}
	scenarios := []struct {
		name   string
		start  string
		mod    func(in *Input)
		reason string
	}{
		{name: "first slot after the notice", start: "2026-03-02 09:00"},
		{name: "afternoon slot", start: "2026-03-02 16:00"},
		{name: "last day of the advance window", start: "2026-03-16 09:00"},
		{name: "one seat left", start: "2026-03-02 10:00", mod: func(in *Input) { in.Bookings = append(in.Bookings, b("02 10:00", 60, 1, "m1")) }},
		{name: "before the notice", start: "2026-03-02 08:00", reason: ReasonMinNotice},
		{name: "past the advance window", start: "2026-03-17 09:00", reason: ReasonMaxAdvance},
		{name: "weekend", start: "2026-03-07 10:00", reason: ReasonClosed},
		{name: "does not fit before the end of day", start: "2026-03-02 16:30", reason: ReasonOutsideHours},
		{name: "inside the break", start: "2026-03-02 12:00", reason: ReasonOutsideHours},
		{name: "runs into the break", start: "2026-03-02 11:30", reason: ReasonOutsideHours},
		{name: "inside hours but off the grid", start: "2026-03-02 09:30", reason: ReasonOffGrid},
		{name: "every seat taken", start: "2026-03-03 10:00", reason: ReasonFull},
		{name: "partial overlap", start: "2026-03-03 14:00", reason: ReasonConflict},
		{name: "adjacent to a booking", start: "2026-03-03 13:00"},
		{name: "daily limit reached", start: "2026-03-04 15:00", reason: ReasonDailyLimit},
		{name: "rescheduling frees one seat of its own slot", start: "2026-03-03 10:00", mod: func(in *Input) { in.IgnoreBookingID = "t1" }},
		{name: "rescheduling frees the daily limit", start: "2026-03-04 15:00", mod: func(in *Input) { in.IgnoreBookingID = "w3" }},
		{name: "invalid input", start: "2026-03-02 09:00", mod: func(in *Input) { in.Config.DurationMinutes = -5 }, reason: ReasonInvalidInput},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			in := base()
			if s.mod != nil {
				s.mod(&in)
			}
			ok, reason := IsBookable(in, at(t, berlin, s.start))
			if ok != (s.reason == "") || reason != s.reason {
				t.Fatalf("got ok=%v reason=%q, want reason %q", ok, reason, s.reason)
			}
		})
	}
	t.Run("sub-second start is off the grid", func(t *testing.T) {
		if ok, reason := IsBookable(base(), at(t, berlin, "2026-03-02 10:00").Add(500*time.Millisecond)); ok || reason != ReasonOffGrid {
			t.Fatalf("got %v %q", ok, reason)
		}
	})
}

// TestIsBookableAgreesWithFree checks the promise that matters for double bookings and for
// "No available user found" (cal.com#6217): over weeks with DST changes, buffers, seats, exceptions and
// bookings, a start is bookable exactly when Free lists it.
func TestIsBookableAgreesWithFree(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"} {
		t.Run(zone, func(t *testing.T) {
			loc := mustLoc(t, zone)
			var specs []RuleSpec
			for wd := 1; wd <= 7; wd++ {
				specs = append(specs, RuleSpec{Weekday: wd, Start: "00:30", End: "04:00"},
					RuleSpec{Weekday: wd, Start: "08:00", End: "18:00", Breaks: []BreakSpec{{"12:00", "12:45"}}})
			}
			windows := []string{"2026-03-05", "2026-03-26", "2026-04-02", "2026-10-22", "2026-10-29"}
			for _, w := range windows {
				from, to := day(t, loc, w, 7)
				in := Input{
					Helper: Helper{ID: "h", Location: loc},
					Config: Config{DurationMinutes: 45, SlotIntervalMinutes: 15, BufferBeforeMinutes: 10, BufferAfterMinutes: 5,
						MinNoticeMinutes: 90, MaxAdvanceDays: 5, Seats: 2, DailyLimit: 6},
					Rules: mustRules(t, specs...),
					Now:   from.Add(26 * time.Hour),
				}
				for i := 0; i < 40; i++ { // a deterministic scatter of bookings of varied length and seats
					s := from.Add(time.Duration(i*269) * time.Minute).Truncate(15 * time.Minute)
					in.Bookings = append(in.Bookings, Booking{ID: itoa3(i), Start: s, End: s.Add(time.Duration(15+i%4*15) * time.Minute), Seats: 1 + i%2})
				}
				in.Exceptions = []Exception{{Date: DateOf(from, loc).AddDays(3), HelperID: "h", Start: 600, End: 900}}
				listed, err := Free(in, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if len(listed) == 0 {
					t.Fatalf("%s: no slots at all, the check would be vacuous", w)
				}
				set := map[int64]bool{}
				for _, s := range listed {
					set[s.Start.Unix()] = true
				}
				for ts := from; ts.Before(to); ts = ts.Add(5 * time.Minute) {
					ok, reason := IsBookable(in, ts)
					if ok != set[ts.Unix()] {
						t.Fatalf("%s: IsBookable(%v)=%v (%s) but listed=%v", w, ts.In(loc), ok, reason, set[ts.Unix()])
					}
				}
			}
		})
	}
}

func itoa3(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }

func TestNext(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	base := func() Input {
		return Input{
			Helper: Helper{ID: "h1", Location: berlin},
			Config: Config{DurationMinutes: 60},
			Rules:  mustRules(t, weekdays("09:00", "12:00")...),
			Now:    at(t, berlin, "2026-03-02 07:00"),
		}
	}
	scenarios := []struct {
		name  string
		mod   func(in *Input)
		after string
		want  string // empty = none
	}{
		{name: "mid-slot moves to the next grid start", after: "2026-03-02 09:20", want: "2026-03-02 10:00"},
		{name: "exactly on a slot", after: "2026-03-02 10:00", want: "2026-03-02 10:00"},
		{name: "over the weekend", after: "2026-03-06 11:01", want: "2026-03-09 09:00"},
		{name: "before now starts at the notice", after: "2026-02-01 00:00", mod: func(in *Input) { in.Config.MinNoticeMinutes = 150 }, want: "2026-03-02 10:00"},
		{name: "skips booked days", after: "2026-03-02 09:00", mod: func(in *Input) {
			in.Config.DailyLimit = 1
			in.Bookings = []Booking{booking(t, berlin, "2026-03-02 11:00", 60), booking(t, berlin, "2026-03-03 09:00", 60)}
		}, want: "2026-03-04 09:00"},
		{name: "nothing inside the advance window", after: "2026-03-02 09:00", mod: func(in *Input) {
			in.Config.MaxAdvanceDays = 4
			in.Exceptions = []Exception{{Date: Date{2026, 3, 2}, Closed: true}, {Date: Date{2026, 3, 3}, Closed: true},
				{Date: Date{2026, 3, 4}, Closed: true}, {Date: Date{2026, 3, 5}, Closed: true}, {Date: Date{2026, 3, 6}, Closed: true}}
		}},
		{name: "no rules and no limit stops at the horizon", after: "2026-03-02 09:00", mod: func(in *Input) { in.Rules = nil }},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			in := base()
			if s.mod != nil {
				s.mod(&in)
			}
			got, ok, err := Next(in, at(t, berlin, s.after))
			if err != nil {
				t.Fatal(err)
			}
			if s.want == "" {
				if ok {
					t.Fatalf("want none, got %v", got.Start.In(berlin))
				}
				return
			}
			if !ok || !got.Start.Equal(at(t, berlin, s.want)) {
				t.Fatalf("got %v (%v), want %s", got.Start.In(berlin), ok, s.want)
			}
		})
	}
	t.Run("invalid input is an error", func(t *testing.T) {
		in := base()
		in.Helper.ID = ""
		if _, _, err := Next(in, in.Now); err == nil {
			t.Fatal("want error")
		}
	})
}

func TestNearest(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	base := func() Input {
		return Input{
			Helper: Helper{ID: "h1", Location: berlin},
			Config: Config{DurationMinutes: 60},
			Rules:  mustRules(t, weekdays("09:00", "17:00")...),
			Now:    at(t, berlin, "2026-03-02 07:00"),
		}
	}
	scenarios := []struct {
		name string
		mod  func(in *Input)
		t    string
		n    int
		want string
	}{
		{
			name: "taken slot: neighbours, tie goes to the earlier",
			mod:  func(in *Input) { in.Bookings = []Booking{booking(t, berlin, "2026-03-04 11:00", 60)} },
			t:    "2026-03-04 11:00", n: 3,
			want: "03-04 09:00 10:00 12:00",
		},
		{
			name: "weekend request finds Friday before Monday",
			t:    "2026-03-07 12:00", n: 2,
			want: "03-06 15:00 16:00",
		},
		{
			name: "far request widens the window until n are found",
			mod: func(in *Input) {
				in.Rules = mustRules(t, RuleSpec{Weekday: 3, Start: "09:00", End: "10:00"})
			},
			t: "2026-03-30 09:00", n: 3,
			want: "03-25 09:00 | 04-01 09:00 | 04-08 09:00", // 5, 2 and 9 days away; 03-18 is 12
		},
		{
			name: "fewer than n exist inside the advance window",
			mod: func(in *Input) {
				in.Config.MaxAdvanceDays = 3
				in.Rules = mustRules(t, RuleSpec{Weekday: 3, Start: "09:00", End: "11:00"})
			},
			t: "2026-03-02 09:00", n: 5,
			want: "03-04 09:00 10:00",
		},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			in := base()
			if s.mod != nil {
				s.mod(&in)
			}
			got, err := Nearest(in, at(t, berlin, s.t), s.n)
			if err != nil {
				t.Fatal(err)
			}
			if r := render(got, berlin, "15:04"); r != s.want {
				t.Fatalf("got: %s\nwant: %s", r, s.want)
			}
		})
	}
}

func TestTeam(t *testing.T) {
	berlin, ny := mustLoc(t, "Europe/Berlin"), mustLoc(t, "America/New_York")
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	member := func(id string, loc *time.Location, bookings ...string) Input {
		in := Input{
			Helper: Helper{ID: id, Location: loc},
			Config: Config{DurationMinutes: 60},
			Rules:  mustRules(t, weekdays("09:00", "17:00")...),
			Now:    now,
		}
		for _, b := range bookings {
			in.Bookings = append(in.Bookings, booking(t, loc, b, 60))
		}
		return in
	}
	from, to := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)

	t.Run("ForHelpers keeps each helper's own zone", func(t *testing.T) {
		a, b := member("ber", berlin), member("nyc", ny)
		a.Rules = mustRules(t, RuleSpec{Weekday: 1, Start: "09:00", End: "10:00"})
		b.Rules = mustRules(t, RuleSpec{Weekday: 1, Start: "09:00", End: "10:00"})
		got, err := ForHelpers([]Input{a, b}, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if r := render(got["ber"], time.UTC, "15:04"); r != "03-02 08:00" {
			t.Fatalf("ber: %s", r)
		}
		if r := render(got["nyc"], time.UTC, "15:04"); r != "03-02 14:00" {
			t.Fatalf("nyc: %s", r)
		}
		if got["nyc"][0].Helper != "nyc" {
			t.Fatalf("helper id not set: %+v", got["nyc"][0])
		}
	})

	t.Run("ForHelpers errors name the team member", func(t *testing.T) {
		bad := member("b", berlin)
		bad.Config.DurationMinutes = 0
		for _, c := range []struct {
			team  []Input
			field string
		}{
			{[]Input{member("a", berlin), bad}, "team.1.config.duration_minutes"},
			{[]Input{member("a", berlin), member("a", ny)}, "team.1.helper.id"},
		} {
			_, err := ForHelpers(c.team, from, to)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("want %s, got %v", c.field, err)
			}
		}
	})

	t.Run("AnyHelper sums seats per distinct slot", func(t *testing.T) {
		a, b := member("a", berlin), member("b", berlin, "2026-03-02 09:00")
		a.Rules = mustRules(t, RuleSpec{Weekday: 1, Start: "09:00", End: "11:00"})
		b.Rules = a.Rules
		per, err := ForHelpers([]Input{a, b}, from, to)
		if err != nil {
			t.Fatal(err)
		}
		merged := AnyHelper(per)
		if r := render(merged, berlin, "15:04"); r != "03-02 09:00 10:00×2" {
			t.Fatalf("got %s", r)
		}
		if merged[0].Helper != "" {
			t.Fatalf("merged slot names a helper: %+v", merged[0])
		}
	})

	t.Run("PickHelper takes the free helper with the fewest bookings that day", func(t *testing.T) {
		start := "2026-03-02 14:00"
		closed := member("a0", berlin)
		closed.Exceptions = []Exception{{Date: Date{2026, 3, 2}, HelperID: "a0", Closed: true}}
		team := []Input{
			member("c", berlin, "2026-03-02 09:00"),
			member("a", berlin, "2026-03-02 09:00", "2026-03-02 10:00"),
			member("b", berlin, "2026-03-02 11:00", "2026-03-03 11:00", "2026-03-03 12:00"), // other days do not count
			member("busy", berlin, "2026-03-02 14:00"),                                      // fewest-equal but taken at 14:00
			closed,
		}
		got, ok := PickHelper(team, at(t, berlin, start))
		if !ok || got.Helper != "b" || !got.Start.Equal(at(t, berlin, start)) || got.SeatsLeft != 1 {
			t.Fatalf("got %+v %v, want helper b", got, ok)
		}
		// Reordering the team does not change the choice.
		got2, _ := PickHelper([]Input{team[4], team[3], team[2], team[1], team[0]}, at(t, berlin, start))
		if got2.Helper != "b" {
			t.Fatalf("order changed the pick: %s", got2.Helper)
		}
		if _, ok := PickHelper(team, at(t, berlin, "2026-03-07 10:00")); ok {
			t.Fatal("nobody works on Saturday")
		}
	})
}
