package analytics

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func oracleRetention(first map[string]Day, returns map[string][]Day, s RetentionSpec) []Cohort {
	var out []Cohort
	for p := s.FromDay.Period(s.Period); p <= s.ToDay.Period(s.Period); p++ {
		c := Cohort{Start: PeriodStart(p, s.Period), Values: []int{}}
		for i := 0; i < s.Periods && p+i <= s.Today.Period(s.Period); i++ {
			c.Values = append(c.Values, 0)
		}
		for contact, d := range first {
			if d < s.FromDay || d > s.ToDay || d.Period(s.Period) != p {
				continue
			}
			c.Size++
			for i := range c.Values {
				hit := i == 0
				for _, r := range returns[contact] {
					rp := r.Period(s.Period)
					if (s.Mode == On && rp == p+i) || (s.Mode == OnOrAfter && rp >= p+i) {
						hit = true
					}
				}
				if hit {
					c.Values[i]++
				}
			}
		}
		out = append(out, c)
	}
	return out
}

func TestRetentionAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	base := Day(20_500) // 2026-02-17
	for round := 0; round < 300; round++ {
		s := RetentionSpec{Period: []Interval{Daily, Weekly, Monthly}[rng.IntN(3)], Periods: 1 + rng.IntN(8),
			FromDay: base + Day(rng.IntN(40)), Mode: []RetentionMode{On, OnOrAfter}[rng.IntN(2)]}
		s.ToDay = s.FromDay + Day(rng.IntN(60))
		s.Today = s.ToDay + Day(rng.IntN(90))
		first, returns := map[string]Day{}, map[string][]Day{}
		for c := 0; c < 25; c++ {
			id := fmt.Sprint(c)
			first[id] = base + Day(rng.IntN(120))
			for n := rng.IntN(6); n > 0; n-- {
				returns[id] = append(returns[id], first[id]+Day(rng.IntN(150)))
			}
		}
		got, want := Retention(first, returns, s), oracleRetention(first, returns, s)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d %+v\n got %+v\nwant %+v", round, s, got, want)
		}
	}
}
