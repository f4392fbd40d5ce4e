package aichat

import "strings"

// Msg is one message of the history, oldest first. Tokens is its MessageTokens, stored with it so packing
// never re-reads text; 0 means "estimate now".
type Msg struct {
	ID      string
	Role    string // user, assistant
	Content string
	Tokens  int
}

// Entry is a knowledge-base entry, most relevant first.
type Entry struct {
	ID      string
	Title   string
	Content string
}

// Packed is the context to send: the system message (prompt plus the knowledge that fit), the history that
// fit (oldest first) and the estimate of the whole prompt.
type Packed struct {
	System           string
	Knowledge        []Entry
	History          []Msg
	Tokens           int
	DroppedMessages  int
	DroppedKnowledge int
}

// KnowledgeShare is the part of the budget left after the system prompt and the new message that knowledge
// entries may take; the rest goes to the history.
const KnowledgeShare = 0.4

// knowledgeHeader introduces the entries in the system message.
const knowledgeHeader = "\n\nUse these facts from the business's knowledge base when they help:"

func entryText(e Entry) string {
	if e.Title == "" {
		return "\n- " + e.Content
	}
	return "\n- " + e.Title + ": " + e.Content
}

// Pack fits a conversation into budget tokens. The system prompt and the new user message always go in
// (they are the request); knowledge entries follow in relevance order while they fit their share; then
// the history from the newest message backwards while it fits, so the oldest messages are dropped first.
// A history message never goes in without the ones after it.
func Pack(system string, knowledge []Entry, history []Msg, user string, budget int) Packed {
	used := ReplyPriming + MessageTokens(system) + MessageTokens(user)
	rest := budget - used
	var p Packed
	var sys strings.Builder
	sys.WriteString(system)
	if rest > 0 && len(knowledge) > 0 {
		share := int(float64(rest) * KnowledgeShare)
		spent := EstimateTokens(knowledgeHeader)
		header := false
		for i, e := range knowledge {
			t := EstimateTokens(entryText(e))
			if spent+t > share {
				p.DroppedKnowledge = len(knowledge) - i
				break
			}
			if !header {
				sys.WriteString(knowledgeHeader)
				header = true
			}
			sys.WriteString(entryText(e))
			spent += t
			p.Knowledge = append(p.Knowledge, e)
		}
		if header {
			used += spent
			rest -= spent
		}
	} else {
		p.DroppedKnowledge = len(knowledge)
	}
	first := len(history)
	for i := len(history) - 1; i >= 0; i-- {
		t := history[i].Tokens
		if t <= 0 {
			t = MessageTokens(history[i].Content)
		}
		if t > rest {
			break
		}
		rest -= t
		used += t
		first = i
	}
	p.DroppedMessages = first
	p.History = history[first:]
	p.System = sys.String()
	p.Tokens = used
	return p
}
