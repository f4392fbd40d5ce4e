package ratelimit

import (
	"sync"
	"time"
)

// KeyedWindow limits events per key to Max within any sliding Per interval,
// e.g. Manychat's "100 sendFlow per subscriber per hour". Unlike a token
// bucket it never lets more than Max through in one interval, which is what
// an hourly quota promises. Memory is bounded by the keys active within Per.
type KeyedWindow struct {
	mu     sync.Mutex
	max    int
	per    time.Duration
	events map[string][]time.Time // ascending times, at most max entries
	ops    int
}

// NewKeyedWindow returns a limiter of max events per key per interval.
func NewKeyedWindow(max int, per time.Duration) *KeyedWindow {
	if max <= 0 || per <= 0 {
		panic("ratelimit: NewKeyedWindow needs a positive max and interval")
	}
	return &KeyedWindow{max: max, per: per, events: map[string][]time.Time{}}
}

// AllowAt records an event for key at now if the key is under its quota. When
// it refuses, retryAfter says when the oldest event in the window expires.
func (w *KeyedWindow) AllowAt(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ops++
	if w.ops%1024 == 0 {
		w.sweep(now)
	}
	ev := w.prune(w.events[key], now)
	if len(ev) >= w.max {
		w.events[key] = ev
		return false, ev[0].Add(w.per).Sub(now)
	}
	w.events[key] = append(ev, now)
	return true, 0
}

// Keys returns how many keys are tracked, for metrics and tests of the
// memory bound.
func (w *KeyedWindow) Keys() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// Count returns how many events key has within the window ending at now.
func (w *KeyedWindow) Count(key string, now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.prune(w.events[key], now))
}

func (w *KeyedWindow) prune(ev []time.Time, now time.Time) []time.Time {
	cut := 0
	for cut < len(ev) && !ev[cut].Add(w.per).After(now) {
		cut++
	}
	if cut == 0 {
		return ev
	}
	return append(ev[:0], ev[cut:]...)
}

// sweep drops keys whose events have all expired, so idle keys do not pile up.
func (w *KeyedWindow) sweep(now time.Time) {
	for k, ev := range w.events {
		if ev = w.prune(ev, now); len(ev) == 0 {
			delete(w.events, k)
		} else {
			w.events[k] = ev
		}
	}
}
