package analytics

import (
	"fmt"
	"math"
	"sort"
)

// Order is how a funnel's steps must follow each other (PostHog's definitions).
type Order string

// Funnel orders.
const (
	// Sequential: each step strictly after the previous one, anything may happen in between.
	Sequential Order = "sequential"
	// Strict: each step is the contact's very next event after the previous one.
	Strict Order = "strict"
	// Any: every step happens inside the window that starts at the step-1 event, in any order.
	Any Order = "any"
)

// ParseOrder accepts sequential, strict and any.
func ParseOrder(s string) (Order, error) {
	switch Order(s) {
	case Sequential, Strict, Any:
		return Order(s), nil
	case "":
		return Sequential, nil
	}
	return "", fmt.Errorf("must be one of sequential, strict, any")
}

// MaxSteps bounds a funnel (steps are a bit mask).
const MaxSteps = 20

// FunnelEvent is one event of a contact as the funnel sees it: its time, the steps it matches (bit k for step
// k; zero for an event that matches none, which only matters to strict funnels) and, for events that can start
// the funnel, the breakdown value.
type FunnelEvent struct {
	TS        int64 // unix milliseconds
	Steps     uint32
	Breakdown string
}

// FunnelSpec is a funnel's shape: the number of steps, the entry range [From, To] of the step-1 event and the
// conversion window that runs from it (milliseconds, inclusive).
type FunnelSpec struct {
	Steps    int
	From, To int64
	Window   int64
	Order    Order
}

// Walk is how far one contact got: Depth steps (0: never entered), the time of each step reached on the
// counted path, and the breakdown of the entry it is counted at. Over several step-1 events the deepest one
// counts; among equally deep ones, the earliest.
type Walk struct {
	Depth     int
	Times     []int64
	Breakdown string
}

// WalkContact walks one contact's events, sorted by time (ties in the order they happened).
func WalkContact(evs []FunnelEvent, s FunnelSpec) Walk {
	best := Walk{}
	times := make([]int64, s.Steps)
	for i, e := range evs {
		if e.Steps&1 == 0 || e.TS < s.From || e.TS > s.To {
			continue
		}
		times[0] = e.TS
		var depth int
		switch s.Order {
		case Strict:
			depth = walkStrict(evs, i, s, times)
		case Any:
			depth = walkAny(evs, i, s, times)
		default:
			depth = walkSequential(evs, i, s, times)
		}
		if depth > best.Depth {
			best = Walk{Depth: depth, Times: append([]int64(nil), times[:depth]...), Breakdown: e.Breakdown}
			if depth == s.Steps {
				break
			}
		}
	}
	return best
}

// walkSequential takes, for each next step, its earliest event strictly after the previous step: the earliest
// choice never loses a later step, so the greedy path is the deepest.
func walkSequential(evs []FunnelEvent, i int, s FunnelSpec, times []int64) int {
	deadline := evs[i].TS + s.Window
	depth, prev := 1, evs[i].TS
	for j := i + 1; j < len(evs) && depth < s.Steps; j++ {
		e := evs[j]
		if e.TS > deadline {
			break
		}
		if e.TS > prev && e.Steps&(1<<depth) != 0 {
			times[depth] = e.TS
			prev = e.TS
			depth++
		}
	}
	return depth
}

func walkStrict(evs []FunnelEvent, i int, s FunnelSpec, times []int64) int {
	deadline := evs[i].TS + s.Window
	depth := 1
	for j := i + 1; j < len(evs) && depth < s.Steps; j++ {
		e := evs[j]
		if e.TS > deadline || e.Steps&(1<<depth) == 0 {
			break
		}
		times[depth] = e.TS
		depth++
	}
	return depth
}

// walkAny matches steps 2..k to distinct events inside [t1, t1+window] (other than the entry itself), growing
// k while a matching exists (augmenting paths; a step's time is its matched event's).
func walkAny(evs []FunnelEvent, i int, s FunnelSpec, times []int64) int {
	t1 := evs[i].TS
	deadline := t1 + s.Window
	var cand []int // indexes of events in the window
	for j := i - 1; j >= 0 && evs[j].TS == t1; j-- {
		cand = append(cand, j)
	}
	for j := i + 1; j < len(evs) && evs[j].TS <= deadline; j++ {
		cand = append(cand, j)
	}
	owner := map[int]int{} // event index -> step
	match := make([]int, s.Steps)
	var try func(step int, seen map[int]bool) bool
	try = func(step int, seen map[int]bool) bool {
		for _, j := range cand {
			if evs[j].Steps&(1<<step) == 0 || seen[j] {
				continue
			}
			seen[j] = true
			if o, taken := owner[j]; !taken || try(o, seen) {
				owner[j] = step
				match[step] = j
				return true
			}
		}
		return false
	}
	depth := 1
	for depth < s.Steps && try(depth, map[int]bool{}) {
		depth++
	}
	for k := 1; k < depth; k++ {
		times[k] = evs[match[k]].TS
	}
	return depth
}

// StepResult is one step of a funnel's answer.
type StepResult struct {
	Step int `json:"step"`
	// Count is the contacts that reached this step.
	Count int `json:"count"`
	// Conversion is Count over step 1's count (1 for step 1; 0 when nobody entered).
	Conversion float64 `json:"conversion"`
	// ConversionFromPrevious is Count over the previous step's count.
	ConversionFromPrevious float64 `json:"conversion_from_previous"`
	// DropOff is how many of the previous step's contacts did not reach this one.
	DropOff int `json:"drop_off"`
	// MedianSeconds is the median time from the previous step to this one, over the contacts that reached it
	// (nil for step 1 and for steps nobody reached).
	MedianSeconds *float64 `json:"median_seconds"`
}

// Tally sums contacts' walks into per-step results.
type Tally struct {
	steps  int
	counts []int
	deltas [][]float64
}

// NewTally starts a tally for a funnel of steps.
func NewTally(steps int) *Tally {
	return &Tally{steps: steps, counts: make([]int, steps), deltas: make([][]float64, steps)}
}

// Add counts one contact's walk.
func (t *Tally) Add(w Walk) {
	for k := 0; k < w.Depth; k++ {
		t.counts[k]++
		if k > 0 {
			t.deltas[k] = append(t.deltas[k], float64(w.Times[k]-w.Times[k-1])/1000)
		}
	}
}

// Merge adds the walks counted in o, a tally of the same funnel.
func (t *Tally) Merge(o *Tally) {
	for k := range t.counts {
		t.counts[k] += o.counts[k]
		t.deltas[k] = append(t.deltas[k], o.deltas[k]...)
	}
}

// Results are the per-step answers.
func (t *Tally) Results() []StepResult {
	out := make([]StepResult, t.steps)
	for k := range out {
		r := StepResult{Step: k + 1, Count: t.counts[k]}
		if t.counts[0] > 0 {
			r.Conversion = round4(float64(t.counts[k]) / float64(t.counts[0]))
		}
		if k == 0 {
			if t.counts[0] > 0 {
				r.ConversionFromPrevious = 1
			}
		} else {
			r.DropOff = t.counts[k-1] - t.counts[k]
			if t.counts[k-1] > 0 {
				r.ConversionFromPrevious = round4(float64(t.counts[k]) / float64(t.counts[k-1]))
			}
			if len(t.deltas[k]) > 0 {
				m := Median(t.deltas[k])
				r.MedianSeconds = &m
			}
		}
		out[k] = r
	}
	return out
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// SortEvents orders a contact's events by time, keeping the order of equal times.
func SortEvents(evs []FunnelEvent) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].TS < evs[j].TS })
}
