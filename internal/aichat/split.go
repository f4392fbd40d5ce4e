package aichat

import (
	"github.com/playgram/playgram/internal/manychat/dynblock"
)

// Ellipsis ends the last part of a reply too long for one Manychat answer.
const Ellipsis = "…"

// SplitForInstagram cuts a reply into Instagram text messages (1,000 UTF-8 bytes each, cut at paragraph,
// line, sentence or word boundaries by dynblock.SplitText). A Manychat answer holds at most 10 messages:
// a longer reply keeps the first 10 parts, the last one shortened to end with an ellipsis.
func SplitForInstagram(text string) []string {
	l := dynblock.LimitsFor(dynblock.Instagram)
	parts := dynblock.SplitText(text, l.MaxTextBytes, l.MaxTextRunes)
	if len(parts) <= l.MaxMessages {
		return parts
	}
	parts = parts[:l.MaxMessages]
	last := dynblock.SplitText(parts[len(parts)-1], l.MaxTextBytes-len(Ellipsis)-1, 0)
	parts[len(parts)-1] = last[0] + " " + Ellipsis
	return parts
}

// InstagramReply is a Dynamic Block v2 answer carrying text as one or more messages.
func InstagramReply(text string) *dynblock.Response {
	r := dynblock.New(dynblock.Instagram)
	for _, p := range SplitForInstagram(text) {
		r.Message(dynblock.Message{Type: dynblock.TypeText, Text: p})
	}
	return r
}
