// Package aichat holds the pure parts of Playgram's AI chat: a token estimate, packing a conversation into a
// context budget, prices and cost, Instagram-sized reply splitting, provider error classification with
// backoff, function definitions and argument checks, the knowledge search query, sentiment parsing and
// transcripts. It knows nothing of PocketBase; the aichat domain package calls it.
package aichat

import (
	"unicode"
	"unicode/utf8"
)

// MessageOverhead is what OpenAI's chat format adds per message (role and separators).
const MessageOverhead = 4

// ReplyPriming is added once per request for the assistant's reply header.
const ReplyPriming = 3

// EstimateTokens approximates the number of BPE tokens (cl100k/o200k-like) of s without a vocabulary: a
// word of up to 7 ASCII letters is one token (longer words one per 6 letters), a run of digits one token per
// 3 digits, each punctuation or symbol one token, and every non-ASCII letter one token (CJK and most
// accented text cost about that). Whitespace attaches to the next word. The estimate errs slightly high
// on ordinary English so that a packed context stays under the model's real limit.
func EstimateTokens(s string) int {
	n := 0
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < utf8.RuneSelf && (isASCIILetter(byte(r))):
			j := i
			for j < len(s) && isASCIILetter(s[j]) {
				j++
			}
			l := j - i
			if l <= 7 {
				n++
			} else {
				n += (l + 5) / 6
			}
			i = j
			continue
		case r >= '0' && r <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n += (j - i + 2) / 3
			i = j
			continue
		case unicode.IsSpace(r):
			// a single space joins the next word; runs of whitespace cost about one token per two
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\n' || s[j] == '\t' || s[j] == '\r') {
				j++
			}
			if j-i > 1 {
				n += (j - i) / 2
			}
			if j == i {
				j = i + size
			}
			i = j
			continue
		default:
			n++
		}
		i += size
	}
	return n
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'' }

// MessageTokens is a chat message's estimated cost in the prompt.
func MessageTokens(content string) int { return MessageOverhead + EstimateTokens(content) }
