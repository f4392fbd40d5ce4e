package analytics

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func decodeAll(t testing.TB, d *SegmentDecoder, data []byte) []SegmentEvent {
	t.Helper()
	if err := d.Reset(data); err != nil {
		t.Fatalf("reset: %v", err)
	}
	out := []SegmentEvent{}
	for d.Next() {
		c, ts, rowid := d.Event()
		out = append(out, SegmentEvent{Contact: c, TS: ts, RowID: rowid})
	}
	if err := d.Err(); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return out
}

func TestSegmentRoundTrip(t *testing.T) {
	many := func(contacts, events int, seed uint64) []SegmentEvent {
		rng := rand.New(rand.NewPCG(seed, 1))
		var evs []SegmentEvent
		for i := range events {
			evs = append(evs, SegmentEvent{Contact: uint32(rng.IntN(contacts)), TS: 1_700_000_000_000 + rng.Int64N(86_400_000), RowID: int64(i*3 + 1)})
		}
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		return evs
	}
	for _, tc := range []struct {
		name string
		in   []SegmentEvent
	}{
		{"empty", nil},
		{"one event", []SegmentEvent{{7, 1_764_000_000_123, 42}}},
		{"ties in time, given out of rowid order", []SegmentEvent{{2, 100, 9}, {1, 100, 3}, {1, 100, 7}, {3, 99, 20}, {2, 100, 4}}},
		{"large rowid gaps both ways", []SegmentEvent{{0, 1, 1}, {1, 2, 1 << 40}, {0, 3, 17}, {2, 4, 1<<62 + 5}, {1, 5, 2}}},
		{"negative and zero times", []SegmentEvent{{0, -86_400_000, 5}, {1, 0, 6}, {0, -1, 7}}},
		{"the largest contact numbers", []SegmentEvent{{1<<32 - 1, 10, 1}, {0, 11, 2}, {1 << 31, 12, 3}}},
		{"many contacts", many(20_000, 50_000, 7)},
		{"few contacts, many events", many(3, 10_000, 8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			data := AppendSegment([]byte("prefix"), in)
			if string(data[:6]) != "prefix" {
				t.Fatal("AppendSegment overwrote dst")
			}
			want := append([]SegmentEvent{}, tc.in...)
			slices.SortFunc(want, func(a, b SegmentEvent) int { return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.RowID, b.RowID)) })
			var d SegmentDecoder
			if err := d.Reset(data[6:]); err != nil || d.Len() != len(want) {
				t.Fatalf("Len %d, want %d (%v)", d.Len(), len(want), err)
			}
			if got := decodeAll(t, &d, data[6:]); !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\ngot  %v\nwant %v", head(got), head(want))
			}
			// A reused decoder gives the same again.
			if got := decodeAll(t, &d, data[6:]); !reflect.DeepEqual(got, want) {
				t.Fatal("a reused decoder differs")
			}
		})
	}
}

func head(evs []SegmentEvent) []SegmentEvent { return evs[:min(len(evs), 8)] }

// Truncated or damaged segments are errors, never panics or wrong events read as right.
func TestSegmentCorrupt(t *testing.T) {
	data := AppendSegment(nil, []SegmentEvent{{0, 1000, 1}, {1, 1500, 2}, {0, 2000, 3}})
	var d SegmentDecoder
	for cut := 0; cut < len(data); cut++ {
		err := d.Reset(data[:cut])
		for err == nil && d.Next() {
		}
		if err == nil {
			err = d.Err()
		}
		if err == nil {
			t.Fatalf("a segment cut to %d of %d bytes decoded without an error", cut, len(data))
		}
	}
	if err := d.Reset(append(slices.Clone(data), 0)); err != nil {
		t.Fatal(err)
	}
	for d.Next() {
	}
	if d.Err() == nil {
		t.Fatal("trailing bytes were not reported")
	}
	bad := slices.Clone(data)
	bad[0] = 9 // version
	if d.Reset(bad) == nil {
		t.Fatal("an unknown version was accepted")
	}
	for i := range 1000 { // random damage: no panics
		rng := rand.New(rand.NewPCG(uint64(i), 2))
		b := slices.Clone(data)
		b[rng.IntN(len(b))] = byte(rng.IntN(256))
		if d.Reset(b) == nil {
			for d.Next() {
			}
			_ = d.Err()
		}
	}
}

func BenchmarkSegmentDecode(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	evs := make([]SegmentEvent, 10_000)
	for i := range evs {
		evs[i] = SegmentEvent{Contact: uint32(rng.IntN(500_000)), TS: 1_764_000_000_000 + rng.Int64N(86_400_000), RowID: rng.Int64N(10_000_000)}
	}
	data, n := AppendSegment(nil, evs), len(evs)
	var d SegmentDecoder
	b.ResetTimer()
	var sum int64
	for range b.N {
		if err := d.Reset(data); err != nil {
			b.Fatal(err)
		}
		for d.Next() {
			c, ts, rowid := d.Event()
			sum += int64(c) + ts + rowid
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
	b.ReportMetric(float64(len(data))/float64(n), "bytes/event")
	_ = sum
}
