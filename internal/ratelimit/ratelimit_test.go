package ratelimit_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/ratelimit"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBucketAllowCountsPerWindow(t *testing.T) {
	cases := []struct {
		qps, burst int
		step       time.Duration
		calls      int
		wantOK     int
	}{
		{qps: 10, burst: 10, step: 0, calls: 50, wantOK: 10},                      // one instant: the burst only
		{qps: 10, burst: 10, step: 10 * time.Millisecond, calls: 100, wantOK: 19}, // one second: burst + refill
		{qps: 100, burst: 100, step: 5 * time.Millisecond, calls: 400, wantOK: 299},
		{qps: 20, burst: 1, step: 50 * time.Millisecond, calls: 40, wantOK: 40}, // exactly at the rate
	}
	for _, tc := range cases {
		b := ratelimit.NewBucket(float64(tc.qps), tc.burst, nil)
		ok := 0
		for i := 0; i < tc.calls; i++ {
			if b.AllowAt(t0.Add(time.Duration(i) * tc.step)) {
				ok++
			}
		}
		if ok != tc.wantOK {
			t.Errorf("qps %d burst %d step %s: %d allowed, want %d", tc.qps, tc.burst, tc.step, ok, tc.wantOK)
		}
	}
}

func TestBucketReserveQueuesCallers(t *testing.T) {
	b := ratelimit.NewBucket(10, 2, nil)
	var waits []time.Duration
	for i := 0; i < 5; i++ {
		waits = append(waits, b.ReserveAt(t0))
	}
	want := []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	for i := range want {
		if d := waits[i] - want[i]; d > time.Microsecond || d < -time.Microsecond {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
}

func TestBucketWaitOnManualClock(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	b := ratelimit.NewBucket(5, 5, clock)
	for i := 0; i < 25; i++ {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// 5 from the burst, 20 more at 5 per second
	if got := clock.Now().Sub(t0); got < 4*time.Second-time.Millisecond || got > 4*time.Second+time.Millisecond {
		t.Fatalf("virtual time spent %s, want 4s", got)
	}
}

func TestBucketWaitGivesUpBeforeDeadline(t *testing.T) {
	clock := ratelimit.NewManualClock(time.Now())
	b := ratelimit.NewBucket(1, 1, clock)
	if !b.Allow() {
		t.Fatal("a new bucket is full")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := b.Wait(ctx)
	if !errors.Is(err, ratelimit.ErrWouldExceedDeadline) || !errors.Is(err, context.DeadlineExceeded) || !ratelimit.IsWaitAborted(err) {
		t.Fatalf("got %v", err)
	}
	// the refused wait did not keep its token: one second later one call passes at once
	clock.Advance(time.Second)
	before := clock.Now()
	if err := b.Wait(context.Background()); err != nil || clock.Now() != before {
		t.Fatalf("token leaked by the abandoned wait: err=%v waited=%s", err, clock.Now().Sub(before))
	}
}

func TestBucketWaitCancelled(t *testing.T) {
	b := ratelimit.NewBucket(1, 1, nil)
	b.Allow()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestBucketConcurrentUse(t *testing.T) {
	b := ratelimit.NewBucket(1, 50, nil)
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if b.AllowAt(t0) {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if ok != 50 {
		t.Fatalf("%d allowed under contention, want exactly the burst of 50", ok)
	}
}

func TestKeyedWindow(t *testing.T) {
	w := ratelimit.NewKeyedWindow(100, time.Hour)
	for i := 0; i < 100; i++ {
		if ok, _ := w.AllowAt("sub-1", t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	ok, retry := w.AllowAt("sub-1", t0.Add(10*time.Minute))
	if ok || retry != 50*time.Minute {
		t.Fatalf("101st: ok=%v retry=%s, want refused with 50m", ok, retry)
	}
	if ok, _ := w.AllowAt("sub-2", t0.Add(10*time.Minute)); !ok {
		t.Fatal("keys share a quota")
	}
	// one hour after the first event, exactly one slot is free again
	at := t0.Add(time.Hour)
	if ok, _ := w.AllowAt("sub-1", at); !ok {
		t.Fatal("expired event still counted")
	}
	if ok, _ := w.AllowAt("sub-1", at); ok {
		t.Fatal("only one slot should have freed")
	}
	if n := w.Count("sub-1", t0.Add(3*time.Hour)); n != 0 {
		t.Fatalf("count after the window = %d", n)
	}
}

func TestKeyedWindowForgetsIdleKeys(t *testing.T) {
	w := ratelimit.NewKeyedWindow(1, time.Minute)
	for i := 0; i < 5000; i++ {
		w.AllowAt(strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second))
	}
	// one new key a second, each expiring after a minute: periodic sweeps
	// keep the map near the number of live keys, not every key ever seen
	if n := w.Keys(); n > 1024+60 {
		t.Fatalf("%d keys tracked", n)
	}
}
