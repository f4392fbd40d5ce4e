// Package ratelimit holds the small token-bucket and sliding-window limiters
// that Playgram's third-party clients and their fakes share. Both sides take a
// Clock so that tests can prove a limit by counting calls in virtual time
// instead of asserting wall-clock timings.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Clock is the source of time for limiters. Sleep exists on the clock (not
// only Now) so that a test clock can skip the wait while still accounting for
// it.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and
	// returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

// System returns the real clock.
func System() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ManualClock is a virtual clock for tests and demos. Time moves only through
// Advance, Set or Sleep; Sleep returns at once after moving the clock forward,
// so code that waits on a limiter or a backoff runs instantly while the clock
// still records how long it would have waited.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock starts a virtual clock at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the virtual time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (negative values are ignored, time
// never runs backwards).
func (c *ManualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t if t is later than the current virtual time.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// Sleep advances the clock by d without blocking, unless ctx is already done.
func (c *ManualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}
