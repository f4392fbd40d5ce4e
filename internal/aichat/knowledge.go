package aichat

import (
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// KnowledgeIndex is an in-memory full-text index of one tool's knowledge entries, ranked like SQLite FTS5's
// bm25() with the title weighing twice the content: a reply searches it in microseconds instead of ranking
// every match through the FTS5 table. It is immutable once built, so concurrent searches share it.
type KnowledgeIndex struct {
	entries  []Entry
	lengths  []float64 // tokens per entry (title and content)
	avgLen   float64
	vocab    []string // distinct tokens, sorted, so a prefix is a range
	postings [][]posting
}

type posting struct {
	entry int32
	freq  float32 // title hits × TitleWeight + content hits
}

// TitleWeight is how much more a hit in an entry's title counts than one in its content.
const TitleWeight = 2

// bm25 parameters, FTS5's.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// NewKnowledgeIndex indexes entries (in the order given, which breaks ties in ranking).
func NewKnowledgeIndex(entries []Entry) *KnowledgeIndex {
	ix := &KnowledgeIndex{entries: entries, lengths: make([]float64, len(entries))}
	termOf := map[string]int{}
	var terms []string
	var lists [][]posting
	total := 0.0
	for i, e := range entries {
		n := 0
		for _, f := range []struct {
			text   string
			weight float32
		}{{e.Title, TitleWeight}, {e.Content, 1}} {
			for _, tok := range Tokens(f.text) {
				n++
				t, ok := termOf[tok]
				if !ok {
					t = len(terms)
					termOf[tok] = t
					terms = append(terms, tok)
					lists = append(lists, nil)
				}
				if l := lists[t]; len(l) > 0 && l[len(l)-1].entry == int32(i) {
					l[len(l)-1].freq += f.weight
				} else {
					lists[t] = append(l, posting{int32(i), f.weight})
				}
			}
		}
		ix.lengths[i] = float64(n)
		total += float64(n)
	}
	if len(entries) > 0 {
		ix.avgLen = total / float64(len(entries))
	}
	order := make([]int, len(terms))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return terms[order[a]] < terms[order[b]] })
	ix.vocab = make([]string, len(terms))
	ix.postings = make([][]posting, len(terms))
	for i, t := range order {
		ix.vocab[i], ix.postings[i] = terms[t], lists[t]
	}
	return ix
}

// Len is the number of entries indexed.
func (ix *KnowledgeIndex) Len() int { return len(ix.entries) }

// Search returns at most limit entries matching any of the words of text (each as a prefix, as FTSQuery
// asks FTS5), best first by bm25: for each word, its inverse document frequency times its saturated,
// length-normalised frequency in the entry, summed over the words.
func (ix *KnowledgeIndex) Search(text string, limit int) []Entry {
	words := QueryWords(text)
	if len(words) == 0 || len(ix.entries) == 0 || limit <= 0 {
		return nil
	}
	n := float64(len(ix.entries))
	scores := make([]float64, len(ix.entries))
	freq := make([]float64, len(ix.entries))
	var touched, matched []int32
	for _, w := range words {
		lo := sort.SearchStrings(ix.vocab, w)
		touched = touched[:0]
		for t := lo; t < len(ix.vocab) && strings.HasPrefix(ix.vocab[t], w); t++ {
			for _, p := range ix.postings[t] {
				if freq[p.entry] == 0 {
					touched = append(touched, p.entry)
				}
				freq[p.entry] += float64(p.freq)
			}
		}
		if len(touched) == 0 {
			continue
		}
		idf := math.Log((n - float64(len(touched)) + 0.5) / (float64(len(touched)) + 0.5))
		if idf <= 0 {
			idf = 1e-6
		}
		for _, e := range touched {
			f := freq[e]
			if scores[e] == 0 {
				matched = append(matched, e)
			}
			scores[e] += idf * f * (bm25K1 + 1) / (f + bm25K1*(1-bm25B+bm25B*ix.lengths[e]/ix.avgLen))
			freq[e] = 0
		}
	}
	slices.SortFunc(matched, func(a, b int32) int {
		if scores[a] != scores[b] {
			if scores[a] > scores[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	out := make([]Entry, 0, min(limit, len(matched)))
	for _, e := range matched[:min(limit, len(matched))] {
		out = append(out, ix.entries[e])
	}
	return out
}

// QueryWords are the words of a customer's message a knowledge search uses: distinct, folded like Tokens,
// of two or more letters, not stop words, at most MaxQueryTerms.
func QueryWords(text string) []string {
	seen := map[string]bool{}
	var words []string
	for _, w := range Tokens(text) {
		if utf8.RuneCountInString(w) < 2 || stopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		words = append(words, w)
		if len(words) == MaxQueryTerms {
			break
		}
	}
	return words
}

// Tokens splits text into lower-case words without diacritics, at every character that is neither a letter
// nor a digit: the rules of FTS5's unicode61 tokenizer with remove_diacritics 2.
func Tokens(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		text = norm.NFD.String(text)
	}
	for _, r := range text {
		switch {
		case !ascii && unicode.Is(unicode.Mn, r):
			// a combining mark: the diacritic of the letter before it
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return out
}
