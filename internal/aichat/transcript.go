package aichat

import (
	"fmt"
	"strings"
	"time"
)

// Line is one message of a transcript.
type Line struct {
	At        time.Time `json:"at"`
	Role      string    `json:"role"`
	Text      string    `json:"text"`
	Functions []string  `json:"functions,omitempty"` // names of functions called for this reply
	Sentiment string    `json:"sentiment,omitempty"`
}

// TextTranscript renders a conversation for people: one block per message, "2026-11-26 10:04 UTC · Customer".
func TextTranscript(title string, lines []Line) string {
	var b strings.Builder
	b.WriteString(title)
	b.WriteString("\n")
	for _, l := range lines {
		who := "Assistant"
		if l.Role == "user" {
			who = "Customer"
		}
		fmt.Fprintf(&b, "\n%s · %s", l.At.UTC().Format("2006-01-02 15:04 UTC"), who)
		if l.Sentiment != "" {
			fmt.Fprintf(&b, " (%s)", l.Sentiment)
		}
		if len(l.Functions) > 0 {
			fmt.Fprintf(&b, " [called %s]", strings.Join(l.Functions, ", "))
		}
		b.WriteString("\n")
		b.WriteString(l.Text)
		b.WriteString("\n")
	}
	return b.String()
}
