package analytics

import (
	"math"
	"slices"
)

// Quantile is the q-th quantile (0..1) of xs with linear interpolation between closest ranks (the common
// "type 7" definition: the median of 1,2,3,4 is 2.5). xs is sorted in place; NaN when empty.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return xs[lo]
	}
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// Median is Quantile(xs, 0.5).
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Agg is how a metric reduces a bucket's events to one number.
type Agg string

// Aggregations of a metric.
const (
	AggCount  Agg = "count"
	AggUnique Agg = "unique_contacts"
	AggSum    Agg = "sum"
	AggAvg    Agg = "avg"
	AggMedian Agg = "median"
	AggP90    Agg = "p90"
	AggRatio  Agg = "ratio" // KPIs only: numerator over denominator
)

// Aggs lists the aggregations an admin may pick for a metric.
var Aggs = []Agg{AggCount, AggUnique, AggSum, AggAvg, AggMedian, AggP90}

// NeedsField reports whether the aggregation reads a numeric data field.
func (a Agg) NeedsField() bool {
	return a == AggSum || a == AggAvg || a == AggMedian || a == AggP90
}

// Reduce applies a value aggregation to a bucket's values; nil (no value) when the bucket is empty and the
// aggregation has no zero (avg, median, p90).
func Reduce(a Agg, xs []float64) *float64 {
	var v float64
	switch a {
	case AggSum:
		for _, x := range xs {
			v += x
		}
	case AggAvg:
		if len(xs) == 0 {
			return nil
		}
		for _, x := range xs {
			v += x
		}
		v /= float64(len(xs))
	case AggMedian, AggP90:
		if len(xs) == 0 {
			return nil
		}
		q := 0.5
		if a == AggP90 {
			q = 0.9
		}
		v = Quantile(xs, q)
	default:
		v = float64(len(xs))
	}
	return &v
}
