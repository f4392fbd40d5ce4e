package webhook

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Schedule lists the delays before each retry: Schedule[i] is the wait after
// the (i+1)-th failed attempt. A message gets len(Schedule)+1 attempts in all.
type Schedule []time.Duration

// DefaultSchedule is Svix's: after the first attempt fails, retry after 5 s,
// 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; eight attempts spanning about 27 h
// 35 min before the message is dead.
var DefaultSchedule = Schedule{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

const (
	// Jitter spreads each delay uniformly over ±20 % so that endpoints that
	// failed together (a receiver outage) are not all retried in the same second.
	Jitter = 0.2
	// ThrottleFloor is the shortest wait after a 429 or a timeout: the
	// receiver is overloaded, and a 5 s retry would add to it.
	ThrottleFloor = 60 * time.Second
	// MaxScheduleLength and MaxScheduleDelay bound a per-endpoint schedule.
	MaxScheduleLength = 20
	MaxScheduleDelay  = 24 * time.Hour
)

// Rand is the source of jitter; *math/rand/v2.Rand and *math/rand.Rand fit.
// Tests pass a fixed value to get exact times.
type Rand interface{ Float64() float64 }

type globalRand struct{}

func (globalRand) Float64() float64 { return rand.Float64() }

// MaxAttempts is the total number of attempts, the first one included.
func (s Schedule) MaxAttempts() int { return len(s) + 1 }

// Next says when to try again after attempt number attempt (1 = the first
// delivery) ended with o, or false when there is nothing more to do: the
// message was delivered, the endpoint must be disabled, or attempts are used
// up and the message is dead.
//
// The wait is the scheduled delay d with ±Jitter. A Retry-After from the
// receiver is honoured within [d, 2d] (Svix's rule, contract §8): shorter
// asks are ignored because the schedule already backs off, and longer ones
// are cut at 2d so that a receiver cannot park a message indefinitely. After
// that, o.MinDelay (ThrottleFloor for 429 and timeouts) is a floor.
// attempt < 1 is treated as 1; rnd nil uses the global generator.
func (s Schedule) Next(attempt int, now time.Time, o Outcome, rnd Rand) (time.Time, bool) {
	if o.Action != ActionRetry {
		return time.Time{}, false
	}
	attempt = max(attempt, 1)
	if attempt > len(s) {
		return time.Time{}, false
	}
	if rnd == nil {
		rnd = globalRand{}
	}
	base := s[attempt-1]
	d := time.Duration(float64(base) * (1 - Jitter + 2*Jitter*rnd.Float64()))
	if o.RetryAfter > 0 {
		d = min(max(o.RetryAfter, d), 2*d)
	}
	d = max(d, o.MinDelay)
	return now.Add(d), true
}

// NextAttempt is DefaultSchedule.Next.
func NextAttempt(attempt int, now time.Time, o Outcome, rnd Rand) (time.Time, bool) {
	return DefaultSchedule.Next(attempt, now, o, rnd)
}

// Validate checks a per-endpoint schedule override: 1 to MaxScheduleLength
// delays, each between 1 s and MaxScheduleDelay.
func (s Schedule) Validate() error {
	var errs FieldErrors
	if len(s) == 0 || len(s) > MaxScheduleLength {
		errs = append(errs, &FieldError{Field: "retry_schedule", Code: "length", Message: fmt.Sprintf("give 1 to %d delays", MaxScheduleLength)})
	}
	for i, d := range s {
		if d < time.Second || d > MaxScheduleDelay {
			errs = append(errs, &FieldError{
				Field:   fmt.Sprintf("retry_schedule[%d]", i),
				Code:    "out_of_range",
				Message: fmt.Sprintf("delay %s is outside 1s to %s", d, MaxScheduleDelay),
			})
		}
	}
	return errs.err()
}

// maxRetryAfter keeps absurd Retry-After values from overflowing Duration;
// Next clamps them to 2d anyway.
const maxRetryAfter = 365 * 24 * time.Hour

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). A date in the past means 0. ok is false when the value
// is absent or malformed, which callers treat as no Retry-After at all.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
		}
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true // all digits, so only too large
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}
