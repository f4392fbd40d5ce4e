package aichat

import "strings"

// MaxQueryTerms bounds the words a knowledge search uses.
const MaxQueryTerms = 16

var stopWords = map[string]bool{"the": true, "and": true, "for": true, "you": true, "are": true, "with": true,
	"what": true, "how": true, "can": true, "your": true, "have": true, "this": true, "that": true, "our": true,
	"from": true, "does": true, "did": true, "was": true, "is": true, "it": true, "to": true, "of": true, "in": true,
	"on": true, "at": true, "do": true, "an": true, "or": true, "be": true, "me": true, "my": true, "we": true, "a": true, "i": true}

// FTSQuery turns a customer's message into an SQLite FTS5 MATCH expression: its QueryWords, each quoted (so
// FTS syntax in the text is inert) with a prefix match, joined by OR. "" when the message has no usable word.
func FTSQuery(text string) string {
	words := QueryWords(text)
	for i, w := range words {
		words[i] = `"` + w + `"*`
	}
	return strings.Join(words, " OR ")
}
