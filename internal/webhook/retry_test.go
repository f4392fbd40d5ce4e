package webhook_test

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/webhook"
)

// fixed is a Rand that always returns the same value: 0.5 means no jitter,
// 0 the earliest and 0.999… the latest point of the ±20 % window.
type fixed float64

func (f fixed) Float64() float64 { return float64(f) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func retry() webhook.Outcome { return webhook.Outcome{Action: webhook.ActionRetry} }

func TestNextAttemptSchedule(t *testing.T) {
	scenarios := []struct {
		attempt int
		rnd     float64
		want    time.Duration // after t0; -1 = no more attempts
	}{
		{1, 0.5, 5 * time.Second},
		{2, 0.5, 5 * time.Minute},
		{3, 0.5, 30 * time.Minute},
		{4, 0.5, 2 * time.Hour},
		{5, 0.5, 5 * time.Hour},
		{6, 0.5, 10 * time.Hour},
		{7, 0.5, 10 * time.Hour},
		{8, 0.5, -1},
		{100, 0.5, -1},
		{0, 0.5, 5 * time.Second},
		{1, 0, 4 * time.Second},
		{2, 0, 4 * time.Minute},
		{4, 0.75, 2*time.Hour + 12*time.Minute},
		{7, 0, 8 * time.Hour},
		{7, 1, 12 * time.Hour},
	}
	for _, s := range scenarios {
		at, ok := webhook.NextAttempt(s.attempt, t0, retry(), fixed(s.rnd))
		if s.want < 0 {
			if ok {
				t.Errorf("attempt %d: next at %s, want dead", s.attempt, at)
			}
			continue
		}
		if !ok || at.Sub(t0) != s.want {
			t.Errorf("attempt %d rnd %.2f: next after %s (ok=%v), want %s", s.attempt, s.rnd, at.Sub(t0), ok, s.want)
		}
	}
}

func TestDefaultScheduleSpan(t *testing.T) {
	if n := webhook.DefaultSchedule.MaxAttempts(); n != 8 {
		t.Fatalf("MaxAttempts = %d, want 8", n)
	}
	now := t0
	for attempt := 1; ; attempt++ {
		next, ok := webhook.NextAttempt(attempt, now, retry(), fixed(0.5))
		if !ok {
			break
		}
		now = next
	}
	if span := now.Sub(t0); span != 27*time.Hour+35*time.Minute+5*time.Second {
		t.Fatalf("last attempt %s after the first, want 27h35m5s", span)
	}
}

func TestJitterStaysWithinTwentyPercent(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	seen := map[time.Duration]bool{}
	for range 1000 {
		at, _ := webhook.NextAttempt(3, t0, retry(), rnd)
		d := at.Sub(t0)
		if d < 24*time.Minute || d > 36*time.Minute {
			t.Fatalf("delay %s outside 30 min ±20 %%", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct delays in 1000 draws: jitter is not spreading retries", len(seen))
	}
	if _, ok := webhook.NextAttempt(1, t0, retry(), nil); !ok {
		t.Fatal("nil Rand must fall back to the global generator")
	}
}

func TestNextHonoursOutcome(t *testing.T) {
	scenarios := []struct {
		name    string
		attempt int
		o       webhook.Outcome
		want    time.Duration // -1 = no next attempt
	}{
		{"delivered", 1, webhook.Outcome{Action: webhook.ActionDelivered}, -1},
		{"disable", 1, webhook.Outcome{Action: webhook.ActionDisable}, -1},
		{"retry-after inside [d, 2d]", 1, webhook.Outcome{RetryAfter: 7 * time.Second}, 7 * time.Second},
		{"retry-after shorter than d", 2, webhook.Outcome{RetryAfter: time.Second}, 5 * time.Minute},
		{"retry-after longer than 2d", 2, webhook.Outcome{RetryAfter: 24 * time.Hour}, 10 * time.Minute},
		{"retry-after 0 ignored", 2, webhook.Outcome{RetryAfter: 0}, 5 * time.Minute},
		{"429 floor over 5 s", 1, webhook.Classify(429, nil), time.Minute},
		{"429 floor over a short retry-after", 1, webhook.Outcome{MinDelay: time.Minute, RetryAfter: 8 * time.Second}, time.Minute},
		{"429 floor below d", 3, webhook.Classify(429, nil), 30 * time.Minute},
		{"timeout floor", 1, webhook.Outcome{MinDelay: webhook.ThrottleFloor}, time.Minute},
		{"retry-after on the last attempt", 8, webhook.Outcome{RetryAfter: time.Minute}, -1},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			at, ok := webhook.NextAttempt(s.attempt, t0, s.o, fixed(0.5))
			if s.want < 0 {
				if ok {
					t.Fatalf("next at +%s, want none", at.Sub(t0))
				}
				return
			}
			if !ok || at.Sub(t0) != s.want {
				t.Fatalf("next after %s (ok=%v), want %s", at.Sub(t0), ok, s.want)
			}
		})
	}
}

func TestCustomSchedule(t *testing.T) {
	s := webhook.Schedule{time.Minute, time.Hour}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.MaxAttempts() != 3 {
		t.Fatalf("MaxAttempts = %d, want 3", s.MaxAttempts())
	}
	if at, ok := s.Next(2, t0, retry(), fixed(0.5)); !ok || at.Sub(t0) != time.Hour {
		t.Fatalf("attempt 2: %s %v", at.Sub(t0), ok)
	}
	if _, ok := s.Next(3, t0, retry(), fixed(0.5)); ok {
		t.Fatal("attempt 3 of a 2-delay schedule must be the last")
	}
}

func TestScheduleValidate(t *testing.T) {
	long := make(webhook.Schedule, webhook.MaxScheduleLength+1)
	for i := range long {
		long[i] = time.Minute
	}
	scenarios := []struct {
		name string
		s    webhook.Schedule
		want []string
	}{
		{"default", webhook.DefaultSchedule, nil},
		{"empty", nil, []string{"retry_schedule=length"}},
		{"too long", long, []string{"retry_schedule=length"}},
		{"zero and too long delays", webhook.Schedule{time.Minute, 0, 25 * time.Hour}, []string{"retry_schedule[1]=out_of_range", "retry_schedule[2]=out_of_range"}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			got := fieldCodes(t, s.s.Validate())
			if strings.Join(got, " ") != strings.Join(s.want, " ") {
				t.Fatalf("errors %q, want %q", got, s.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	scenarios := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 30 ", 30 * time.Second, true},
		{"0", 0, true},
		{"99999999999999999999999", 365 * 24 * time.Hour, true},
		{t0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{t0.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Wednesday, 25-Nov-26 10:05:00 GMT", 5 * time.Minute, true}, // RFC 850 form
		{"Wed Nov 25 10:00:10 2026", 10 * time.Second, true},         // asctime form
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"12s", 0, false},
		{"soon", 0, false},
		{"2026-11-25T10:05:00Z", 0, false},
	}
	for _, s := range scenarios {
		t.Run(s.in, func(t *testing.T) {
			d, ok := webhook.ParseRetryAfter(s.in, t0)
			if d != s.want || ok != s.ok {
				t.Fatalf("ParseRetryAfter(%q) = %s, %v; want %s, %v", s.in, d, ok, s.want, s.ok)
			}
		})
	}
}
