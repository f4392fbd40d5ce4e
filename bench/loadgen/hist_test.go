package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	t.Parallel()
	seq := func(from, to int) []int64 {
		var v []int64
		for i := from; i <= to; i++ {
			v = append(v, int64(i))
		}
		return v
	}
	scenarios := []struct {
		name   string
		values []int64 // nanoseconds; below 1024 every value has its own bucket, so results are exact
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single value p50", []int64{7}, 50, 7},
		{"single value p99", []int64{7}, 99, 7},
		{"1..100 p50", seq(1, 100), 50, 50},
		{"1..100 p90", seq(1, 100), 90, 90},
		{"1..100 p99", seq(1, 100), 99, 99},
		{"1..100 p100", seq(1, 100), 100, 100},
		{"1..100 p99.5 rounds rank up", seq(1, 100), 99.5, 100},
		{"1..10 p99 is the 10th value", seq(1, 10), 99, 10},
		{"1..10 p50 is the 5th value", seq(1, 10), 50, 5},
		{"1..10 p51 is the 6th value", seq(1, 10), 51, 6},
		{"1..1000 p29.1 has no float drift", seq(1, 1000), 29.1, 291},
		{"reverse order", []int64{900, 800, 700, 600, 500}, 50, 700},
		{"duplicates", []int64{3, 3, 3, 3, 9}, 80, 3},
		{"tiny p is the minimum", []int64{5, 6, 7}, 0.001, 5},
		{"large outlier is the exact max", []int64{10, 10, 10, 5_000_000_123}, 100, 5_000_000_123},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			h := &histogram{}
			for _, v := range s.values {
				h.record(time.Duration(v))
			}
			if got := h.percentile(s.p); got != s.want {
				t.Fatalf("p%v = %d, want %d", s.p, got, s.want)
			}
		})
	}
}

func TestPercentileLargeValuesWithinBucketError(t *testing.T) {
	t.Parallel()
	// 1000 samples of 1ms..1000ms: the nearest-rank p-th value is p*10 ms; the histogram may report
	// at most one bucket width (<1/512) above it and never below it.
	h := &histogram{}
	for i := 1000; i >= 1; i-- {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, p := range []float64{1, 50, 90, 99, 99.9} {
		exact := time.Duration(p*10) * time.Millisecond
		got := h.percentile(p)
		if got < exact || float64(got-exact) > float64(exact)/512 {
			t.Errorf("p%v = %s, want within [%s, %s]", p, got, exact, exact+exact/512)
		}
	}
	if got := h.percentile(100); got != time.Second {
		t.Errorf("p100 = %s, want the exact max 1s", got)
	}
	if got := h.mean(); got != 500500*time.Microsecond {
		t.Errorf("mean = %s, want 500.5ms", got)
	}
}

func TestBucketBoundsContainValue(t *testing.T) {
	t.Parallel()
	values := []int64{0, 1, 1023, 1024, 1025, 2047, 2048, 1<<20 + 12345, histMaxValue}
	for range 10000 {
		values = append(values, rand.Int64N(histMaxValue))
	}
	for _, v := range values {
		idx := bucketIndex(v)
		if idx < 0 || idx >= histBuckets {
			t.Fatalf("value %d: bucket %d out of range", v, idx)
		}
		lo, hi := bucketBounds(idx)
		if v < lo || v > hi {
			t.Fatalf("value %d: bucket %d covers [%d, %d]", v, idx, lo, hi)
		}
		if lo > 0 && float64(hi-lo)/float64(lo) >= 1.0/512 {
			t.Fatalf("value %d: bucket [%d, %d] wider than 1/512", v, lo, hi)
		}
	}
	// Consecutive buckets must tile the value range with no gap or overlap.
	for idx := 1; idx < histBuckets; idx++ {
		_, prevHi := bucketBounds(idx - 1)
		lo, _ := bucketBounds(idx)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", idx, lo, prevHi)
		}
	}
	if _, hi := bucketBounds(histBuckets - 1); hi != histMaxValue {
		t.Fatalf("last bucket ends at %d, want %d", hi, int64(histMaxValue))
	}
	if got := bucketIndex(histMaxValue * 4); got != histBuckets-1 {
		t.Fatalf("huge value in bucket %d, want the last one", got)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := &histogram{}
	b.RunParallel(func(pb *testing.PB) {
		d := time.Duration(rand.Int64N(int64(time.Second)))
		for pb.Next() {
			h.record(d)
		}
	})
}
