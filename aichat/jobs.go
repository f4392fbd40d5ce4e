package aichat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	openai "github.com/sashabaranov/go-openai"
)

// Job kinds of the AI chat domain.
const (
	// KindSentiment classifies one inbound message with a json_schema call.
	KindSentiment = "ai.sentiment"
	// KindDeliver sends a held reply through Manychat's sendContent.
	KindDeliver = "ai.deliver"
	// KindResume answers a held message whose reply was never stored (its process stopped while the model
	// was answering): it runs after the reply timeout and does nothing when the reply exists.
	KindResume = "ai.resume"
)

// Register makes the service, stores it on the app and binds the job kinds; boot.Register calls it.
func Register(app core.App, svc *platform.Services) *Service {
	s := newService(app, svc)
	app.Store().Set(storeKey, s)
	s.bindHistoryHooks(app)
	s.bindToolCacheHooks(app)
	s.bindKnowledgeHooks(app)
	app.OnRecordCreate(collections.Tools).BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("type") == toolconfig.TypeAIChat {
			SeedPrices(e.Record)
		}
		return e.Next()
	})
	svc.Jobs.Handle(KindSentiment, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Message string `json:"message"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		return s.ClassifySentiment(ctx, p.Message)
	})
	svc.Jobs.Handle(KindResume, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Message string `json:"message"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		return s.resume(ctx, p.Message)
	})
	svc.Jobs.Handle(KindDeliver, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Message string `json:"message"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		err := s.Deliver(ctx, p.Message)
		if err != nil && job.Attempt >= job.MaxAttempts {
			s.setDelivery(p.Message, DeliveryFailed)
		}
		return err
	})
	return s
}

// resume stores and delivers the reply to a held message if it was lost.
func (s *Service) resume(ctx context.Context, messageID string) error {
	if _, err := s.app.FindFirstRecordByFilter(collections.AIMessages, "reply_to = {:m}", dbx.Params{"m": messageID}); err == nil {
		return nil // answered (and queued for delivery) by the process that held it
	}
	p, err := s.Resume(messageID, time.Now())
	if err != nil {
		return jobs.Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.ReplyTimeout)
	defer cancel()
	out := s.Run(ctx, p, Hooks{})
	return s.Finish(p, out, DeliveryHeld, time.Now())
}

// SeedPrices fills a new ai_chat tool's "prices" config with the default table (aichat.DefaultPrices, as of
// aichat.PricesAsOf) when it has none, so the prices in use are visible and editable on the tool.
func SeedPrices(tool *core.Record) {
	cfg := map[string]any{}
	_ = tool.UnmarshalJSONField("config", &cfg)
	if p, ok := cfg["prices"].(map[string]any); ok && len(p) > 0 {
		return
	}
	prices := map[string]any{}
	for model, p := range aichat.DefaultPrices {
		entry := map[string]any{"input": p.Input, "output": p.Output}
		if p.CachedInput > 0 {
			entry["cached_input"] = p.CachedInput
		}
		prices[model] = entry
	}
	cfg["prices"] = prices
	tool.Set("config", cfg)
}

func (s *Service) setDelivery(id, delivery string) {
	_, _ = s.app.NonconcurrentDB().NewQuery("UPDATE ai_messages SET delivery = {:d}, updated = {:now} WHERE id = {:id}").
		Bind(dbx.Params{"d": delivery, "id": id, "now": time.Now().UTC().Format("2006-01-02 15:04:05.000Z")}).Execute()
}

// ClassifySentiment labels an inbound message positive, neutral or negative with a score, through the tool's model
// and a strict json_schema answer, and stores it on the message (its usage and cost too). A rate limit or
// server error retries the job; an answer that breaks the schema is stored as sentiment_error, not retried.
func (s *Service) ClassifySentiment(ctx context.Context, messageID string) error {
	m, err := s.app.FindRecordById(collections.AIMessages, messageID)
	if err != nil {
		return jobs.Permanent(err)
	}
	if m.GetString("sentiment") != "" {
		return nil
	}
	toolRec, err := s.app.FindRecordById(collections.Tools, m.GetString("tool"))
	if err != nil {
		return jobs.Permanent(err)
	}
	t, err := ToolFromRecord(toolRec)
	if err != nil {
		return jobs.Permanent(err)
	}
	if b := t.Config.MonthlyBudgetUSD; b > 0 {
		if spent, err := MonthSpend(s.app, t.Workspace(), t.ID(), time.Now()); err == nil && spent >= b {
			s.storeSentimentError(m, "not classified: the tool's monthly budget is spent")
			return nil
		}
	}
	client, err := s.client(s.app, t)
	if err != nil {
		return jobs.Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cfg := *t
	cfg.Config.Temperature = 0
	cfg.Config.MaxTokens = 200
	ctx, req := request(ctx, &cfg, []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: aichat.SentimentPrompt},
		{Role: openai.ChatMessageRoleUser, Content: m.GetString("content")},
	}, nil)
	req.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "message_sentiment", Strict: true, Schema: aichat.SentimentSchema}}
	resp, err := client.CreateChatCompletion(ctx, req)
	if err != nil {
		f := aichat.Classify(err)
		if f.Retry || f.Kind == aichat.KindTimeout || f.Kind == aichat.KindNetwork {
			return f
		}
		s.storeSentimentError(m, f.Words)
		return jobs.Permanent(f)
	}
	u := usageOf(&resp.Usage)
	cost, costKnown := 0.0, false
	if price, ok := t.Price(t.Config.Model); ok {
		cost, costKnown = aichat.Cost(*u, price), true
	}
	var label aichat.Sentiment
	var parseErr error
	switch {
	case len(resp.Choices) == 0:
		parseErr = errors.New("the model returned no choice")
	case resp.Choices[0].Message.Refusal != "":
		parseErr = errors.New("the model refused to classify: " + resp.Choices[0].Message.Refusal)
	default:
		label, parseErr = aichat.ParseSentiment(resp.Choices[0].Message.Content)
	}
	return platform.WriteTx(s.app, func(tx core.App) error {
		m, err := tx.FindRecordById(collections.AIMessages, messageID)
		if err != nil {
			return err
		}
		m.Set("prompt_tokens", m.GetInt("prompt_tokens")+u.PromptTokens)
		m.Set("cached_tokens", m.GetInt("cached_tokens")+u.CachedTokens)
		m.Set("completion_tokens", m.GetInt("completion_tokens")+u.CompletionTokens)
		m.Set("cost_usd", m.GetFloat("cost_usd")+cost)
		m.Set("cost_unknown", !costKnown)
		if parseErr != nil {
			m.Set("sentiment_error", truncate(parseErr.Error(), 500))
		} else {
			m.Set("sentiment", label.Label)
			m.Set("sentiment_score", label.Score)
			m.Set("toxic", label.Toxic)
			m.Set("sentiment_topics", label.Topics)
			m.Set("sentiment_error", "")
		}
		if err := tx.Save(m); err != nil {
			return err
		}
		if _, err := tx.NonconcurrentDB().NewQuery(`UPDATE ai_conversations SET prompt_tokens = prompt_tokens + {:p},
			cached_tokens = cached_tokens + {:c}, completion_tokens = completion_tokens + {:o}, cost_usd = cost_usd + {:cost} WHERE id = {:id}`).
			Bind(dbx.Params{"p": u.PromptTokens, "c": u.CachedTokens, "o": u.CompletionTokens, "cost": cost, "id": m.GetString("conversation")}).Execute(); err != nil {
			return err
		}
		if parseErr != nil {
			return nil
		}
		_, err = platform.Emit(tx, platform.Event{Workspace: m.GetString("workspace"), Type: "ai.message.classified",
			SubjectCollection: collections.AIMessages, SubjectID: m.Id, Contact: m.GetString("contact"),
			Data: map[string]any{"sentiment": label.Label, "score": label.Score, "toxic": label.Toxic, "topics": label.Topics}})
		return err
	})
}

func (s *Service) storeSentimentError(m *core.Record, words string) {
	m.Set("sentiment_error", truncate(words, 500))
	if err := s.app.Save(m); err != nil {
		s.app.Logger().Error("storing a sentiment error failed", "message", m.Id, "error", err)
	}
}

// Deliver sends a held reply to the contact through Manychat's sendContent, split for Instagram, with the
// workspace's Manychat client (crm.ClientFor: its stored token, rate limits shared with the CRM jobs). Manychat returns no message id, so only a call that surely did not land is
// retried.
func (s *Service) Deliver(ctx context.Context, messageID string) error {
	m, err := s.app.FindRecordById(collections.AIMessages, messageID)
	if err != nil {
		return jobs.Permanent(err)
	}
	if m.GetString("delivery") == DeliverySent {
		return nil
	}
	contact, err := s.app.FindRecordById(collections.Contacts, m.GetString("contact"))
	if err != nil {
		return jobs.Permanent(errors.New("the reply's contact no longer exists"))
	}
	sid, err := manychat.ParseID(contact.GetString("subscriber_id"))
	if err != nil {
		return jobs.Permanent(errors.New("the contact has no Manychat subscriber id"))
	}
	mc, err := crm.ClientFor(s.app, s.svc, m.GetString("workspace"))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("the held reply cannot be sent: %w (set manychat_token with POST /api/v1/workspace/secrets)", err))
	}
	if err := mc.SendContent(ctx, sid, aichat.InstagramReply(m.GetString("content")), manychat.SendOptions{}); err != nil {
		if manychat.IsRateLimited(err) || manychat.IsTemporary(err) {
			return err
		}
		s.setDelivery(messageID, DeliveryFailed)
		return jobs.Permanent(err)
	}
	s.setDelivery(messageID, DeliverySent)
	return nil
}
