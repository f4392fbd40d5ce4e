package aichat

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestTokensFoldCaseAndDiacritics(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Opening hours: 9–18!", "opening hours 9 18"},
		{"Crème brûlée, CAFÉ", "creme brulee cafe"},
		{"Straße naïve Ørsted", "straße naive ørsted"},
		{"e\u0301te\u0301 (decomposed)", "ete decomposed"},
		{`"quoted"* NEAR(x) OR y`, "quoted near x or y"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(Tokens(tt.in), " "); got != tt.want {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKnowledgeSearchRanks(t *testing.T) {
	ix := NewKnowledgeIndex([]Entry{
		{ID: "hours", Title: "Opening hours", Content: "We are open from nine to six on weekdays."},
		{ID: "parking", Title: "Parking", Content: "Free parking behind the shop; opening of the new garage in May."},
		{ID: "returns", Title: "Returns", Content: "Returns within 30 days with the receipt."},
		{ID: "cafe", Title: "Café", Content: "Our café serves crème brûlée."},
	})
	tests := []struct {
		name, text string
		want       []string
	}{
		{"a title hit outranks a content hit", "opening", []string{"hours", "parking"}},
		{"words are prefixes", "can I return it?", []string{"returns"}},
		{"diacritics and case do not matter", "CREME BRULEE at the cafe", []string{"cafe"}},
		{"any word matches", "parking hours", []string{"parking", "hours"}},
		{"stop words and single letters alone find nothing", "what are the a i", nil},
		{"no match", "unicorns", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range ix.Search(tt.text, 5) {
				got = append(got, e.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Search(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
	if got := ix.Search("opening parking returns cafe", 2); len(got) != 2 {
		t.Fatalf("limit 2 gave %d entries", len(got))
	}
}

// bruteBM25 scores every entry for the words by rescanning its text: the formula of FTS5's bm25() with
// the title weighted TitleWeight, written the obvious way.
func bruteBM25(entries []Entry, words []string) []float64 {
	n := float64(len(entries))
	toks := make([][2][]string, len(entries))
	total := 0.0
	for i, e := range entries {
		toks[i] = [2][]string{Tokens(e.Title), Tokens(e.Content)}
		total += float64(len(toks[i][0]) + len(toks[i][1]))
	}
	avg := total / n
	scores := make([]float64, len(entries))
	for _, w := range words {
		freq := make([]float64, len(entries))
		hits := 0
		for i := range entries {
			for col, weight := range []float64{TitleWeight, 1} {
				for _, tok := range toks[i][col] {
					if strings.HasPrefix(tok, w) {
						freq[i] += weight
					}
				}
			}
			if freq[i] > 0 {
				hits++
			}
		}
		idf := math.Log((n - float64(hits) + 0.5) / (float64(hits) + 0.5))
		if idf <= 0 {
			idf = 1e-6
		}
		for i, f := range freq {
			if f > 0 {
				l := float64(len(toks[i][0]) + len(toks[i][1]))
				scores[i] += idf * f * (bm25K1 + 1) / (f + bm25K1*(1-bm25B+bm25B*l/avg))
			}
		}
	}
	return scores
}

func TestKnowledgeSearchMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	vocab := []string{"open", "opening", "hours", "parking", "park", "return", "returns", "gift", "card", "cards",
		"delivery", "deliver", "payment", "pay", "allergy", "allergies", "voucher", "booking", "book", "price", "prices"}
	text := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[rng.IntN(len(vocab))]
		}
		return strings.Join(ws, " ")
	}
	for round := range 50 {
		entries := make([]Entry, 1+rng.IntN(60))
		for i := range entries {
			entries[i] = Entry{ID: fmt.Sprint(i), Title: text(1 + rng.IntN(3)), Content: text(rng.IntN(40))}
		}
		ix := NewKnowledgeIndex(entries)
		query := text(1 + rng.IntN(4))
		scores := bruteBM25(entries, QueryWords(query))
		var want []int
		for i, s := range scores {
			if s > 0 {
				want = append(want, i)
			}
		}
		sort.SliceStable(want, func(a, b int) bool { return scores[want[a]] > scores[want[b]] })
		got := ix.Search(query, len(entries))
		if len(got) != len(want) {
			t.Fatalf("round %d %q: %d results, brute force %d", round, query, len(got), len(want))
		}
		for k, e := range got {
			var i int
			fmt.Sscan(e.ID, &i)
			// Equal scores may come in either order; the score at each rank must agree.
			if math.Abs(scores[i]-scores[want[k]]) > 1e-9 {
				t.Fatalf("round %d %q rank %d: entry %s scores %g, brute force has %g there", round, query, k, e.ID, scores[i], scores[want[k]])
			}
		}
	}
}
