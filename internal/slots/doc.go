// Package slots computes a helper's bookable time slots. It is the single place where availability is
// decided: the slot search shown to bookers and the check inside the booking transaction both call it,
// so a slot that is listed can be booked and a slot that can be booked is listed (Cal.com's list and its
// booking validation disagreed around DST, cal.com#6217).
//
// The package is pure: callers load rules, exceptions and bookings (one indexed query per request), pass
// them in with "now", and get instants back. Nothing here reads a clock, a database or the network.
//
// # Wall clock, per local date
//
// Weekly rules and exceptions are wall-clock times ("09:00"-"17:00") in the helper's IANA zone. They are
// expanded once per LOCAL calendar date of the helper, so a 09:00-17:00 rule is 09:00-17:00 local on
// every day of the year, whatever the UTC offset is that day. A rule that spans the DST change (say
// 01:00-05:00) covers the real time between its two wall-clock boundaries: 3 hours on the spring-forward
// day, 5 on the fall-back day (in a one-hour zone).
//
// Local times that do not exist or exist twice are resolved like this, always the same way:
//
//   - A boundary (rule/break/exception start or end, local midnight) inside a spring-forward gap maps to
//     the instant the clock jumps, i.e. the first instant after the gap. 02:30-05:00 on 2026-03-29 in
//     Europe/Berlin starts at 03:00 CEST.
//   - A boundary that occurs twice (fall-back fold) maps to its first occurrence. 00:00-02:30 on
//     2026-10-25 in Europe/Berlin ends at 02:30 CEST, the first time the clock reads 02:30; 02:00-05:00
//     starts at 02:00 CEST and so includes the repeated hour.
//   - Slot starts come from a grid laid on the wall clock: window start, +interval, +2*interval, ...
//     A grid time inside the gap is skipped (not shifted, which would produce off-grid or duplicate
//     starts). A grid time inside the fold yields both instants, so the repeated hour is bookable too;
//     the two slots share a local label and differ by UTC offset.
//   - Slot length is real elapsed time: a 60-minute slot starting 01:30 CET on the spring-forward day
//     ends 03:30 CEST.
//
// # Working time
//
// For one local date the working time is, in order of precedence:
//
//  1. the helper's own exceptions for that date, if there is at least one;
//  2. otherwise the workspace-wide exceptions for that date, if there is at least one;
//  3. otherwise every weekly rule for that weekday whose valid_from..valid_until (both inclusive, either
//     open) contains the date.
//
// The most specific level wins as a whole: a helper who records custom hours on a workspace holiday
// works those hours; a helper who records "closed" on a normal workspace day is off. Within the chosen
// level a closed exception closes the day; otherwise the hours of all its exceptions (each minus its own
// breaks) are combined, exactly like several weekly rules on one weekday. Overlapping or touching ranges
// are merged, and slot starts are anchored at the start of each merged working segment. A slot fits
// entirely inside one segment: it never crosses a break or the end of the day. A rule cannot cross
// midnight; 22:00-02:00 is two rules (22:00-24:00 and 00:00-02:00 of the next weekday).
//
// # Bookings, buffers and seats
//
// A booking holds time unless its status is cancelled or rejected (see HoldsSlot). A candidate slot
// [s, e) conflicts with a held booking [bs, be) when
//
//	bs - (booking.before + tool.after) < e   and   be + (booking.after + tool.before) > s
//
// which is Cal.com's rule (getBusyTimes.ts): the gap required between two events is the sum of the
// buffers facing each other. booking.before/after are the buffers of the tool the booking was made with
// (Booking.Buffers) and default to the tool being searched. A held booking with exactly the same start
// and end as the candidate shares the slot's seats instead of blocking it; any other overlap blocks it.
// A slot with capacity N is free while the seats taken by same-slot bookings are fewer than N.
//
// # Limits
//
//   - Minimum notice: a slot starts no earlier than now + min_notice_minutes.
//   - Maximum advance: a slot's local start date is no later than the helper's local date of now plus
//     max_advance_days (the whole last day counts). 0 means no limit.
//   - Daily limit: once the helper has daily_limit held bookings starting on a local date, that date has
//     no free slots. A booking counts once whatever its seat count, and every booking passed in counts,
//     so pass only the bookings that should count (for example those of this tool) when that matters.
package slots
