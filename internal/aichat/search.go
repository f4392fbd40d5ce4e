package aichat

import (
	"strings"
	"unicode"
)

// MaxQueryTerms bounds the words a knowledge search uses.
const MaxQueryTerms = 16

var stopWords = map[string]bool{"the": true, "and": true, "for": true, "you": true, "are": true, "with": true,
	"what": true, "how": true, "can": true, "your": true, "have": true, "this": true, "that": true, "our": true,
	"from": true, "does": true, "did": true, "was": true, "is": true, "it": true, "to": true, "of": true, "in": true,
	"on": true, "at": true, "do": true, "an": true, "or": true, "be": true, "me": true, "my": true, "we": true, "a": true, "i": true}

// FTSQuery turns a customer's message into an SQLite FTS5 MATCH expression: the distinct words of two or more
// letters that are not stop words, each quoted (so FTS syntax in the text is inert) with a prefix match,
// joined by OR. "" when the message has no usable word.
func FTSQuery(text string) string {
	seen := map[string]bool{}
	var terms []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) < 2 || stopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		terms = append(terms, `"`+w+`"*`)
		if len(terms) == MaxQueryTerms {
			break
		}
	}
	return strings.Join(terms, " OR ")
}
