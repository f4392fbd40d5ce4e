package analytics

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// oracleFunnel finds a contact's deepest step by trying every combination of events.
func oracleFunnel(evs []FunnelEvent, s FunnelSpec) (int, []int64) {
	best, bestTimes := 0, []int64(nil)
	for i, e := range evs {
		if e.Steps&1 == 0 || e.TS < s.From || e.TS > s.To {
			continue
		}
		d, times := 1, []int64{e.TS}
		switch s.Order {
		case Sequential:
			var dfs func(last int, path []int64)
			dfs = func(last int, path []int64) {
				if len(path) > d {
					d, times = len(path), slices.Clone(path)
				}
				if len(path) == s.Steps {
					return
				}
				for j := last + 1; j < len(evs); j++ {
					x := evs[j]
					if x.Steps&(1<<len(path)) != 0 && x.TS > path[len(path)-1] && x.TS-e.TS <= s.Window {
						dfs(j, append(path, x.TS))
					}
				}
			}
			dfs(i, []int64{e.TS})
		case Strict:
			for j := i + 1; j < len(evs) && d < s.Steps && evs[j].Steps&(1<<d) != 0 && evs[j].TS-e.TS <= s.Window; j++ {
				times = append(times, evs[j].TS)
				d++
			}
		case Any:
			var in []int
			for j, x := range evs {
				if j != i && x.TS >= e.TS && x.TS-e.TS <= s.Window {
					in = append(in, j)
				}
			}
			// depth k is reachable when steps 1..k-1 can be given distinct events: try every assignment.
			var assign func(step, k int, used map[int]bool) bool
			assign = func(step, k int, used map[int]bool) bool {
				if step == k {
					return true
				}
				for _, j := range in {
					if !used[j] && evs[j].Steps&(1<<step) != 0 {
						used[j] = true
						ok := assign(step+1, k, used)
						delete(used, j)
						if ok {
							return true
						}
					}
				}
				return false
			}
			for d < s.Steps && assign(1, d+1, map[int]bool{}) {
				d++
			}
			times = nil
		}
		if d > best {
			best, bestTimes = d, times
		}
	}
	return best, bestTimes
}

func TestFunnelAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 400; round++ {
		steps := 2 + rng.IntN(3)
		types := 2 + rng.IntN(3)
		stepType := make([]int, steps)
		for k := range stepType {
			stepType[k] = rng.IntN(types) // repeated types across steps are allowed
		}
		s := FunnelSpec{Steps: steps, From: int64(rng.IntN(20)) * 1000, Window: int64(1+rng.IntN(40)) * 1000,
			Order: []Order{Sequential, Strict, Any}[rng.IntN(3)]}
		s.To = s.From + int64(rng.IntN(40))*1000
		var evs []FunnelEvent
		for n := rng.IntN(14); n > 0; n-- {
			typ := rng.IntN(types + 1) // types+1 matches no step
			var mask uint32
			for k, st := range stepType {
				if st == typ {
					mask |= 1 << k
				}
			}
			evs = append(evs, FunnelEvent{TS: int64(rng.IntN(60)) * 1000, Steps: mask})
		}
		SortEvents(evs)
		w := WalkContact(evs, s)
		d, times := oracleFunnel(evs, s)
		if w.Depth != d {
			t.Fatalf("round %d %+v: walk depth %d, oracle %d\nsteps %v events %+v", round, s, w.Depth, d, stepType, evs)
		}
		if s.Order != Any && !slices.Equal(w.Times, times) {
			t.Fatalf("round %d %+v: walk times %v, oracle %v\nevents %+v", round, s, w.Times, times, evs)
		}
	}
}

func TestFunnelTallyAndSemantics(t *testing.T) {
	s := FunnelSpec{Steps: 3, From: 0, To: 100_000, Window: 60_000, Order: Sequential}
	a := []FunnelEvent{{0, 1, "ig"}, {10_000, 0, ""}, {20_000, 2, ""}, {50_000, 4, ""}}
	b := []FunnelEvent{{5_000, 1, "qr"}, {5_000, 2, ""}, {70_000, 4, ""}} // same-time step 2 does not count
	c := []FunnelEvent{{200_000, 1, "ig"}}                                // enters after the range
	d := []FunnelEvent{{0, 1, "qr"}, {90_000, 1, "ig"}, {100_000, 2, ""}} // the second entry goes deeper
	tally := NewTally(3)
	for _, evs := range [][]FunnelEvent{a, b, c, d} {
		tally.Add(WalkContact(evs, s))
	}
	r := tally.Results()
	// Tallies of parts merge into the tally of the whole.
	left, right := NewTally(3), NewTally(3)
	left.Add(WalkContact(a, s))
	left.Add(WalkContact(c, s))
	right.Add(WalkContact(b, s))
	right.Add(WalkContact(d, s))
	left.Merge(right)
	if got := left.Results(); !reflect.DeepEqual(got, r) {
		t.Fatalf("merged %+v, whole %+v", got, r)
	}
	if r[0].Count != 3 || r[1].Count != 2 || r[2].Count != 1 || r[1].DropOff != 1 || r[2].Conversion != 0.3333 ||
		*r[1].MedianSeconds != 15 || *r[2].MedianSeconds != 30 || r[0].MedianSeconds != nil {
		t.Fatalf("results %+v", r)
	}
	if w := WalkContact(d, s); w.Breakdown != "ig" {
		t.Fatalf("breakdown of the counted entry: %q", w.Breakdown)
	}
	s.Order = Strict
	if w := WalkContact(a, s); w.Depth != 1 {
		t.Fatalf("strict with an event in between: %d", w.Depth)
	}
	s.Order = Any
	if w := WalkContact([]FunnelEvent{{0, 1, ""}, {10, 4, ""}, {20, 2, ""}}, s); w.Depth != 3 {
		t.Fatalf("any order: %d", w.Depth)
	}
}
