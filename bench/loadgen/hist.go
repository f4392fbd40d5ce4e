package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The latency histogram is log-linear (HDR-like) so memory stays fixed no matter how long a run is:
// values below 1024ns have their own bucket (exact), larger values keep their top 10 significant
// bits, so a bucket is never wider than 1/512 (~0.2%) of the values it holds. Values at or above
// 2^40ns (~18 minutes) share the last bucket; the request timeout keeps real latencies far below.
const (
	histSubBits  = 10
	histSub      = 1 << histSubBits // linear buckets, and the width of every later power-of-two range
	histHalf     = histSub / 2
	histMaxBits  = 40
	histBuckets  = histSub + (histMaxBits-histSubBits)*histHalf
	histMaxValue = 1<<histMaxBits - 1
)

// histogram records durations from many goroutines at once with atomics only, so the hot path of a
// worker never waits on a lock held by another worker.
type histogram struct {
	buckets [histBuckets]atomic.Int64
	count   atomic.Int64
	sum     atomic.Int64
	max     atomic.Int64
}

func bucketIndex(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > histMaxValue {
		v = histMaxValue
	}
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - histSubBits
	return histSub + (shift-1)*histHalf + int(v>>shift) - histHalf
}

// bucketBounds returns the smallest and largest value that land in bucket idx.
func bucketBounds(idx int) (lo, hi int64) {
	if idx < histSub {
		return int64(idx), int64(idx)
	}
	shift := (idx-histSub)/histHalf + 1
	top := int64((idx-histSub)%histHalf + histHalf)
	return top << shift, (top+1)<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	h.buckets[bucketIndex(v)].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// percentile uses the nearest-rank definition: the smallest recorded value such that at least p% of
// all values are less than or equal to it. It reports the upper bound of that value's bucket (never
// an understatement), capped at the exact maximum. p is in (0, 100]; an empty histogram gives 0.
func (h *histogram) percentile(p float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	// Integer rank math avoids float error: p=99 of 100 values must be rank 99, not 100.
	rank := (int64(math.Round(p*1000))*n + 100*1000 - 1) / (100 * 1000)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	var cum int64
	for i := range h.buckets {
		cum += h.buckets[i].Load()
		if cum >= rank {
			_, hi := bucketBounds(i)
			return time.Duration(min(hi, h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

func (h *histogram) mean() time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}
