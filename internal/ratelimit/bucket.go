package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrWouldExceedDeadline is returned by Bucket.Wait when the caller's context
// deadline comes before a token would. It wraps context.DeadlineExceeded so
// callers that only check for deadlines still match.
var ErrWouldExceedDeadline = fmt.Errorf("ratelimit: wait would exceed the context deadline: %w", context.DeadlineExceeded)

// Bucket is a token bucket: it refills at Rate tokens per second up to Burst.
// It is safe for concurrent use. Callers either ask without waiting (Allow,
// what a server does before answering 429) or wait their turn (Wait, what a
// client does so that it never provokes a 429).
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	clock  Clock
}

// NewBucket returns a full bucket allowing perSecond requests per second with
// bursts of burst. A nil clock means the system clock. perSecond and burst
// must be positive.
func NewBucket(perSecond float64, burst int, clock Clock) *Bucket {
	if perSecond <= 0 || burst <= 0 {
		panic("ratelimit: NewBucket needs a positive rate and burst")
	}
	if clock == nil {
		clock = System()
	}
	return &Bucket{rate: perSecond, burst: float64(burst), tokens: float64(burst), clock: clock}
}

// refill brings the token count up to now. Callers hold b.mu.
func (b *Bucket) refill(now time.Time) {
	if b.last.IsZero() {
		b.last = now
		return
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens += elapsed.Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
}

// Allow takes a token if one is available now and reports whether it did.
func (b *Bucket) Allow() bool { return b.AllowAt(b.clock.Now()) }

// AllowAt is Allow at an explicit time, for callers that already hold "now".
func (b *Bucket) AllowAt(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// ReserveAt takes a token at now, going into debt if needed, and returns how
// long the caller must wait before using it. Debt makes later callers queue
// behind earlier ones in arrival order.
func (b *Bucket) ReserveAt(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// giveBack returns a token that was reserved but not used.
func (b *Bucket) giveBack() {
	b.mu.Lock()
	b.tokens++
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.mu.Unlock()
}

// Wait blocks until a token is available or ctx is done. It fails fast with
// ErrWouldExceedDeadline when the wait would outlast ctx's deadline, and
// returns an unused token when it gives up, so abandoned waits do not slow
// down other callers.
func (b *Bucket) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := b.clock.Now()
	d := b.ReserveAt(now)
	if d == 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && now.Add(d).After(deadline) {
		b.giveBack()
		return ErrWouldExceedDeadline
	}
	if err := b.clock.Sleep(ctx, d); err != nil {
		b.giveBack()
		return err
	}
	return nil
}

// IsWaitAborted reports whether err came from Wait giving up (deadline or
// cancellation) rather than from the caller's own work.
func IsWaitAborted(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
