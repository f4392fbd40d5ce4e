package aichat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/internal/dbtime"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	openai "github.com/sashabaranov/go-openai"
)

// Channels a conversation runs on.
const (
	ChannelManychat  = "manychat"
	ChannelDashboard = "dashboard"
)

// historyLimit bounds the messages read for packing (the newest ones); the context budget then decides how
// many of them are sent.
const historyLimit = 200

// knowledgeLimit bounds the knowledge entries considered per message.
const knowledgeLimit = 8

// Inbound is a customer's (or a dashboard user's) message to a tool.
type Inbound struct {
	Tool            *Tool
	Contact         *core.Record // the customer; nil for a dashboard chat without one
	User            *core.Record // the signed-in member of a dashboard chat
	Channel         string
	Text            string
	NewConversation bool
	Conversation    string // continue this conversation (dashboard), when set
	Actor           platform.Actor
}

// RateLimitedError is returned when the contact or the tool is over its rate limit; nothing was stored.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many messages; retry in %s", e.RetryAfter.Round(time.Second))
}

// ErrConversationNotFound: the conversation named does not belong to the tool and workspace.
var ErrConversationNotFound = errors.New("no such conversation for this tool")

// Prepared is an inbound message stored and its context packed, ready for the model.
type Prepared struct {
	Tool         *Tool
	Conversation *core.Record
	UserMessage  *core.Record
	Contact      *core.Record
	Packed       aichat.Packed
	// Skip, when set, is why the model is not called (collections.AIStatusBudget).
	Skip string
	// Spent is the tool's spend this month before this message.
	Spent   float64
	Started time.Time
	seq     int // the message's number in its conversation (message_count once stored); 0 when resumed
}

// Prepare checks the rate limits, stores the message in its conversation (one per contact and tool unless a
// new one is asked for), enqueues its sentiment job, checks the budget and packs the context.
func (s *Service) Prepare(in Inbound, now time.Time) (*Prepared, error) {
	who := ""
	switch {
	case in.Contact != nil:
		who = "c:" + in.Contact.Id
	case in.User != nil:
		who = "u:" + in.User.Id
	}
	if ok, wait := s.allow(in.Tool.ID(), who, now); !ok {
		return nil, &RateLimitedError{RetryAfter: wait}
	}
	p := &Prepared{Tool: in.Tool, Contact: in.Contact, Started: now}
	// The knowledge search needs only the text: it runs on the read pool while the message is stored.
	search := s.searchAsync(in.Tool.Workspace(), in.Tool.ID(), in.Text)
	t0 := time.Now()
	err := platform.WriteTx(s.app, func(tx core.App) error {
		conv, err := conversationFor(tx, in, now)
		if err != nil {
			return err
		}
		p.Conversation = conv
		msgs, err := tx.FindCachedCollectionByNameOrId(collections.AIMessages)
		if err != nil {
			return err
		}
		m := core.NewRecord(msgs)
		m.Set("workspace", in.Tool.Workspace())
		m.Set("tool", in.Tool.ID())
		m.Set("conversation", conv.Id)
		if in.Contact != nil {
			m.Set("contact", in.Contact.Id)
		}
		m.Set("role", "user")
		m.Set("content", in.Text)
		m.Set("tokens", aichat.MessageTokens(in.Text))
		// Every value is set here from loaded records, so the relation lookups of validation are skipped.
		if err := tx.SaveNoValidate(m); err != nil {
			return err
		}
		s.history.own.Store(m.Id, true) // the history cache learns of it below, not from the hook
		p.UserMessage = m
		if p.seq, err = bumpConversation(tx, conv.Id, aichat.Usage{}, 0, false, now); err != nil {
			return err
		}
		if _, err := jobs.Enqueue(tx, jobs.New{Kind: KindSentiment, Workspace: in.Tool.Workspace(),
			Payload: map[string]any{"message": m.Id}, MaxAttempts: 4}); err != nil {
			return err
		}
		_, err = platform.Emit(tx, platform.Event{Workspace: in.Tool.Workspace(), Type: "ai.message.received",
			SubjectCollection: collections.AIMessages, SubjectID: m.Id, Contact: m.GetString("contact"), Actor: in.Actor.String(), At: now,
			Data: map[string]any{"tool": in.Tool.ID(), "conversation": conv.Id, "channel": conv.GetString("channel")}})
		return err
	})
	s.trace("store message", t0)
	if err != nil {
		if p.UserMessage != nil {
			s.history.own.Delete(p.UserMessage.Id)
		}
		return nil, err
	}
	s.history.appendMsg(p.Conversation.Id, p.seq, historyMsg(p.UserMessage), true)
	return p, s.pack(p, search, now)
}

// searchAsync starts the knowledge search for text; the result is received once from the channel.
func (s *Service) searchAsync(workspace, tool, text string) <-chan knowledgeResult {
	ch := make(chan knowledgeResult, 1)
	t0 := time.Now()
	go func() {
		entries, err := s.SearchKnowledge(workspace, tool, text, knowledgeLimit)
		s.trace("knowledge search", t0)
		ch <- knowledgeResult{entries, err}
	}()
	return ch
}

type knowledgeResult struct {
	entries []aichat.Entry
	err     error
}

// pack checks the budget and packs the context of a stored inbound message with the knowledge search
// started for it.
func (s *Service) pack(p *Prepared, search <-chan knowledgeResult, now time.Time) error {
	t, text := p.Tool, p.UserMessage.GetString("content")
	if b := t.Config.MonthlyBudgetUSD; b > 0 {
		spent, err := MonthSpend(s.app, t.Workspace(), t.ID(), now)
		if err != nil {
			return err
		}
		p.Spent = spent
		if spent >= b {
			p.Skip = collections.AIStatusBudget
			return nil
		}
	}
	t0 := time.Now()
	history, err := s.loadHistory(p.Conversation.Id, p.UserMessage.Id, p.seq)
	s.trace("history read", t0)
	found := <-search
	s.trace("context reads", t0)
	if err != nil {
		return err
	}
	if found.err != nil {
		return found.err
	}
	t1 := time.Now()
	p.Packed = aichat.Pack(t.Config.SystemPrompt, found.entries, history, text, t.Config.ContextTokens)
	s.trace("pack", t1)
	return nil
}

// Resume prepares a stored inbound message again (for a reply lost with its process): the history is the
// conversation's messages before it.
func (s *Service) Resume(messageID string, now time.Time) (*Prepared, error) {
	m, err := s.app.FindRecordById(collections.AIMessages, messageID)
	if err != nil {
		return nil, err
	}
	toolRec, err := s.app.FindRecordById(collections.Tools, m.GetString("tool"))
	if err != nil {
		return nil, err
	}
	t, err := ToolFromRecord(toolRec)
	if err != nil {
		return nil, err
	}
	conv, err := s.app.FindRecordById(collections.AIConversations, m.GetString("conversation"))
	if err != nil {
		return nil, err
	}
	p := &Prepared{Tool: t, Conversation: conv, UserMessage: m, Started: now}
	if id := m.GetString("contact"); id != "" {
		if p.Contact, err = s.app.FindRecordById(collections.Contacts, id); err != nil {
			return nil, err
		}
	}
	return p, s.pack(p, s.searchAsync(t.Workspace(), t.ID(), m.GetString("content")), now)
}

func conversationFor(tx core.App, in Inbound, now time.Time) (*core.Record, error) {
	if in.Conversation != "" {
		c, err := tx.FindRecordById(collections.AIConversations, in.Conversation)
		if err != nil || c.GetString("tool") != in.Tool.ID() {
			return nil, ErrConversationNotFound
		}
		return c, nil
	}
	coll, err := tx.FindCachedCollectionByNameOrId(collections.AIConversations)
	if err != nil {
		return nil, err
	}
	// Plain SQL along idx_ai_conversations_current (tool, contact, status, created).
	where, params := "tool = {:tool} AND status = 'open' AND channel = {:ch}", dbx.Params{"tool": in.Tool.ID(), "ch": in.Channel}
	switch {
	case in.Contact != nil:
		where += " AND contact = {:c}"
		params["c"] = in.Contact.Id
	case in.User != nil:
		where += " AND contact = '' AND user = {:u}"
		params["u"] = in.User.Id
	}
	existing := core.NewRecord(coll)
	err = tx.RecordQuery(coll).AndWhere(dbx.NewExp(where, params)).Limit(1).One(existing)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err == nil && !in.NewConversation {
		return existing, nil
	}
	if err == nil {
		existing.Set("status", "closed")
		if err := tx.Save(existing); err != nil {
			return nil, err
		}
	}
	c := core.NewRecord(coll)
	c.Set("workspace", in.Tool.Workspace())
	c.Set("tool", in.Tool.ID())
	c.Set("channel", in.Channel)
	c.Set("status", "open")
	title := in.Text
	if r := []rune(title); len(r) > 80 {
		title = string(r[:80]) + "…"
	}
	c.Set("title", title)
	if in.Contact != nil {
		c.Set("contact", in.Contact.Id)
	}
	if in.User != nil {
		c.Set("user", in.User.Id)
	}
	c.Set("last_message_at", now)
	if err := tx.Save(c); err != nil {
		return nil, err
	}
	return c, nil
}

// bumpConversation adds a message and its usage to the conversation's totals in one UPDATE and returns
// the new message count (the message's number in the conversation).
func bumpConversation(tx core.App, id string, u aichat.Usage, cost float64, costUnknown bool, now time.Time) (int, error) {
	unknown := 0
	if costUnknown {
		unknown = 1
	}
	var n int
	err := tx.NonconcurrentDB().NewQuery(`UPDATE ai_conversations SET message_count = message_count + 1,
		prompt_tokens = prompt_tokens + {:p}, cached_tokens = cached_tokens + {:c}, completion_tokens = completion_tokens + {:o},
		cost_usd = cost_usd + {:cost}, cost_unknown = (cost_unknown OR {:unknown}), last_message_at = {:now}, updated = {:now} WHERE id = {:id}
		RETURNING message_count`).
		Bind(dbx.Params{"p": u.PromptTokens, "c": u.CachedTokens, "o": u.CompletionTokens, "cost": cost, "unknown": unknown, "now": dbtime.Format(now), "id": id}).Row(&n)
	return n, err
}

// historyMsg is a stored message as history.
func historyMsg(m *core.Record) aichat.Msg {
	return aichat.Msg{ID: m.Id, Role: m.GetString("role"), Content: m.GetString("content"), Tokens: m.GetInt("tokens")}
}

// MonthSpend is the tool's known cost since the start of now's month (UTC).
func MonthSpend(app core.App, workspace, tool string, now time.Time) (float64, error) {
	start := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	var spent float64
	err := app.DB().NewQuery(`SELECT COALESCE(SUM(cost_usd), 0) FROM ai_messages WHERE workspace = {:ws} AND tool = {:tool} AND created >= {:from}`).
		Bind(dbx.Params{"ws": workspace, "tool": tool, "from": dbtime.Format(start)}).Row(&spent)
	return spent, err
}

// CallRecord is one function call made for a reply, as stored on the message.
type CallRecord struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	Result    any    `json:"result,omitempty"`
	Error     string `json:"error,omitempty"`
	Round     int    `json:"round"`
	Ms        int64  `json:"ms"`
}

// Outcome is a finished reply.
type Outcome struct {
	Text      string
	Status    string
	Usage     aichat.Usage
	CostUSD   float64
	CostKnown bool
	Calls     []CallRecord
	Failure   *aichat.Failure
	Rounds    int
	Model     string
	Latency   time.Duration
	// ModelTime is the wall time spent in model calls (streams, retries and their waits); Latency minus
	// ModelTime is what Playgram added.
	ModelTime time.Duration
	Message   *core.Record // the stored assistant message
}

// Hooks observe a reply while it is produced (the dashboard stream).
type Hooks struct {
	OnDelta func(text string)
	OnCall  func(c CallRecord)
}

// Run asks the model for the reply to a prepared message, running allowed functions until a final answer
// (at most aichat.MaxRounds rounds). Failures become the fallback text with the failure explained; Run never
// returns an error.
func (s *Service) Run(ctx context.Context, p *Prepared, h Hooks) *Outcome {
	t := p.Tool
	out := &Outcome{Status: collections.AIStatusOK, CostKnown: true, Model: t.Config.Model}
	if p.Skip != "" {
		out.Status, out.Text = p.Skip, t.Config.FallbackText
		return out
	}
	client, err := s.client(s.app, t)
	if err != nil {
		return s.failed(out, t, aichat.Classify(err))
	}
	msgs := make([]openai.ChatCompletionMessage, 0, len(p.Packed.History)+2)
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleSystem, Content: p.Packed.System})
	for _, m := range p.Packed.History {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: p.UserMessage.GetString("content")})
	tools := s.toolDefs(t)
	ctx = context.WithValue(ctx, hintKey{}, &retryHint{})
	for round := 1; ; round++ {
		out.Rounds = round
		cctx, req := request(ctx, t, msgs, tools)
		if len(tools) > 0 && round == aichat.MaxRounds {
			req.ToolChoice = "none" // the last round must answer in words
		}
		produced := false
		onDelta := func(d string) {
			produced = true
			if h.OnDelta != nil {
				h.OnDelta(d)
			}
		}
		callStart := time.Now()
		res, _, err := s.withRetry(cctx, func() bool { return produced }, func() (*completion, error) {
			return streamOnce(cctx, client, req, onDelta)
		})
		out.ModelTime += time.Since(callStart)
		if err != nil {
			return s.failed(out, t, aichat.Classify(err))
		}
		if res.Model != "" {
			out.Model = res.Model
		}
		if res.Usage == nil {
			out.CostKnown = false
		} else {
			out.Usage = out.Usage.Add(*res.Usage)
		}
		if len(res.ToolCalls) == 0 || round == aichat.MaxRounds {
			out.Text = res.Content
			if out.Text == "" {
				return s.failed(out, t, &aichat.Failure{Kind: aichat.KindOther,
					Words: fmt.Sprintf("The model returned no text (finish_reason %q); the customer got the fallback text.", res.FinishReason)})
			}
			break
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: res.Content, ToolCalls: res.ToolCalls})
		for _, tc := range res.ToolCalls {
			rec := s.call(p, tc, round)
			out.Calls = append(out.Calls, rec)
			if h.OnCall != nil {
				h.OnCall(rec)
			}
			body := map[string]any{"ok": rec.Error == "", "result": rec.Result}
			if rec.Error != "" {
				body = map[string]any{"ok": false, "error": rec.Error}
			}
			b, _ := json.Marshal(body)
			id := tc.ID
			if id == "" {
				id = rec.ID
			}
			msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: id, Content: string(b)})
		}
	}
	s.price(out, t)
	return out
}

func (s *Service) price(out *Outcome, t *Tool) {
	if !out.CostKnown {
		return
	}
	price, ok := t.Price(t.Config.Model)
	if !ok {
		out.CostKnown = false
		return
	}
	out.CostUSD = aichat.Cost(out.Usage, price)
}

func (s *Service) failed(out *Outcome, t *Tool, f *aichat.Failure) *Outcome {
	out.Status, out.Text, out.Failure = collections.AIStatusFallback, t.Config.FallbackText, f
	s.price(out, t)
	return out
}

func (s *Service) toolDefs(t *Tool) []openai.Tool {
	var defs []openai.Tool
	for _, name := range t.Config.Functions {
		f, ok := aichat.Functions[name]
		if !ok || !s.Available(name) || slices.ContainsFunc(defs, func(d openai.Tool) bool { return d.Function.Name == name }) {
			continue
		}
		defs = append(defs, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: f.Name, Description: f.Doc, Parameters: f.Schema()}})
	}
	return defs
}

// Finish stores the reply in the conversation with its usage, cost and function calls; a held reply is
// queued for delivery through Manychat in the same transaction; an exhausted provider quota is written to
// the audit log and the event log for the admins.
func (s *Service) Finish(p *Prepared, out *Outcome, delivery string, now time.Time) error {
	out.Latency = now.Sub(p.Started)
	defer s.trace("store reply", time.Now())
	var seq int
	var stored *core.Record
	err := platform.WriteTx(s.app, func(tx core.App) error {
		coll, err := tx.FindCachedCollectionByNameOrId(collections.AIMessages)
		if err != nil {
			return err
		}
		m := core.NewRecord(coll)
		m.Set("workspace", p.Tool.Workspace())
		m.Set("tool", p.Tool.ID())
		m.Set("conversation", p.Conversation.Id)
		m.Set("contact", p.UserMessage.GetString("contact"))
		m.Set("role", "assistant")
		m.Set("reply_to", p.UserMessage.Id)
		m.Set("content", out.Text)
		m.Set("tokens", aichat.MessageTokens(out.Text))
		m.Set("status", out.Status)
		m.Set("model", out.Model)
		m.Set("rounds", out.Rounds)
		m.Set("latency_ms", out.Latency.Milliseconds())
		m.Set("model_ms", out.ModelTime.Milliseconds())
		m.Set("prompt_tokens", out.Usage.PromptTokens)
		m.Set("cached_tokens", out.Usage.CachedTokens)
		m.Set("completion_tokens", out.Usage.CompletionTokens)
		m.Set("cost_usd", out.CostUSD)
		m.Set("cost_unknown", !out.CostKnown && p.Skip == "")
		m.Set("delivery", delivery)
		if len(out.Calls) > 0 {
			m.Set("function_calls", out.Calls)
		}
		if f := out.Failure; f != nil {
			m.Set("error", truncate(f.Words, 2000))
			m.Set("error_kind", f.Kind)
		}
		if err := tx.SaveNoValidate(m); err != nil { // built from loaded records, as in Prepare
			return err
		}
		stored = m
		s.history.own.Store(m.Id, true)
		out.Message = m
		if s.OnReply != nil {
			s.OnReply(p, out)
		}
		if seq, err = bumpConversation(tx, p.Conversation.Id, out.Usage, out.CostUSD, !out.CostKnown && p.Skip == "", now); err != nil {
			return err
		}
		if delivery == DeliveryHeld {
			if _, err := jobs.Enqueue(tx, jobs.New{Kind: KindDeliver, Workspace: p.Tool.Workspace(),
				Payload: map[string]any{"message": m.Id}, MaxAttempts: 3}); err != nil {
				return err
			}
		}
		if f := out.Failure; f != nil && f.Kind == aichat.KindQuota {
			if err := platform.Audit(tx, platform.SystemActor("ai chat"), p.Tool.Workspace(), "ai.provider_quota_exhausted",
				collections.Tools, p.Tool.ID(), nil, map[string]any{"message": f.Words}); err != nil {
				return err
			}
			if _, err := platform.Emit(tx, platform.Event{Workspace: p.Tool.Workspace(), Type: "ai.provider_quota_exhausted",
				SubjectCollection: collections.Tools, SubjectID: p.Tool.ID(), At: now, Data: map[string]any{"tool": p.Tool.ID(), "message": f.Words}}); err != nil {
				return err
			}
		}
		data := map[string]any{"tool": p.Tool.ID(), "conversation": p.Conversation.Id, "status": out.Status,
			"prompt_tokens": out.Usage.PromptTokens, "completion_tokens": out.Usage.CompletionTokens, "cost_usd": out.CostUSD}
		if len(out.Calls) > 0 {
			names := make([]string, len(out.Calls))
			for i, c := range out.Calls {
				names[i] = c.Name
			}
			data["functions"] = names
		}
		_, err = platform.Emit(tx, platform.Event{Workspace: p.Tool.Workspace(), Type: "ai.message.replied",
			SubjectCollection: collections.AIMessages, SubjectID: m.Id, Contact: m.GetString("contact"), At: now, Data: data})
		return err
	})
	if err != nil {
		if stored != nil {
			s.history.own.Delete(stored.Id)
		}
		return err
	}
	s.history.appendMsg(p.Conversation.Id, seq, historyMsg(stored), qualifies("assistant", out.Status, out.Text))
	return nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// Deliveries of an assistant message.
const (
	DeliveryInline = "inline" // in the Manychat answer
	DeliveryStream = "stream" // streamed to the dashboard
	DeliveryHeld   = "held"   // queued for sendContent after a holding text
	DeliverySent   = "sent"
	DeliveryFailed = "failed"
)
