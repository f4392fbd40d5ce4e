package routes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/collections"
	ai "github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// maxAIText bounds one inbound message.
const maxAIText = 4000

func registerAIChat(app core.App, v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	installAIFunctions(app, svc)
	v1.POST("/ai/{tool}/messages", aiManychatMessage).Bind(require(svc, Access{Scope: apikey.ScopeManychat, KeysOnly: true}))
	v1.POST("/ai/{tool}/chat", aiChatStream).Bind(require(svc, Access{Scope: apikey.ScopeAdmin, MinRole: collections.RoleManager}))
	reader := Access{Scope: apikey.ScopeAdmin, MinRole: collections.RoleViewer}
	v1.GET("/ai/usage", aiUsage).Bind(require(svc, reader))
	v1.GET("/ai/conversations/{id}/transcript", aiTranscript).Bind(require(svc, reader))
}

type aiMessageRequest struct {
	SubscriberID    string `json:"subscriber_id"`
	Contact         string `json:"contact"`
	Text            string `json:"text"`
	NewConversation bool   `json:"new_conversation"`
	Name            string `json:"name"`
	IGUsername      string `json:"ig_username"`
	Conversation    string `json:"conversation"`
}

// readAIMessage reads and checks a message request (extra adds the route's own checks), loads the tool and
// resolves the contact when one is named (nil otherwise).
func readAIMessage(e *core.RequestEvent, extra func(r *aiMessageRequest, problems map[string]string)) (*aiMessageRequest, *aichat.Tool, *core.Record, error) {
	var req aiMessageRequest
	if err := readJSON(e, &req); err != nil {
		return nil, nil, nil, err
	}
	problems := map[string]string{}
	req.check(problems)
	extra(&req, problems)
	if len(problems) > 0 {
		return nil, nil, nil, fieldErrors(e, problems)
	}
	t, err := loadAITool(e)
	if err != nil {
		return nil, nil, nil, err
	}
	if req.SubscriberID == "" && req.Contact == "" {
		return &req, t, nil, nil
	}
	contact, err := platform.ResolveContact(e.App, platform.PrincipalOf(e).Workspace, platform.ContactRef{SubscriberID: req.SubscriberID, ContactID: req.Contact},
		map[string]any{"name": req.Name, "ig_username": req.IGUsername})
	if err != nil {
		return nil, nil, nil, fieldError(e, "contact", "validation_not_found", err.Error())
	}
	return &req, t, contact, nil
}

// retryAfter sets Retry-After for a rate-limited request.
func retryAfter(e *core.RequestEvent, limited *aichat.RateLimitedError) {
	e.Response.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.RetryAfter.Seconds()))))
}

func (r *aiMessageRequest) check(problems map[string]string) {
	r.Text = strings.TrimSpace(r.Text)
	switch {
	case r.Text == "" || strings.HasPrefix(r.Text, "{{"):
		problems["text"] = "The customer's message is required (map Manychat's last text input)."
	case utf8.RuneCountInString(r.Text) > maxAIText:
		problems["text"] = fmt.Sprintf("Must be at most %d characters.", maxAIText)
	}
	ref := platform.ContactRef{SubscriberID: r.SubscriberID, ContactID: r.Contact}
	if field, err := ref.Validate(); err != nil {
		problems[field] = err.Error()
	}
}

func loadAITool(e *core.RequestEvent) (*aichat.Tool, error) {
	t, err := aichat.LoadTool(e.App, platform.PrincipalOf(e).Workspace, e.Request.PathValue("tool"))
	if err != nil {
		return nil, e.NotFoundError("No enabled ai_chat tool "+e.Request.PathValue("tool")+" in this workspace.", nil)
	}
	return t, nil
}

// aiManychatMessage answers a Manychat External Request with a Dynamic Block v2 reply: the model's answer
// split for Instagram, the holding text when the model is slow (the reply follows by sendContent), the
// fallback text when the budget is spent or the model fails, or a slow-down text over the rate limits.
func aiManychatMessage(e *core.RequestEvent) error {
	req, t, contact, err := readAIMessage(e, func(r *aiMessageRequest, problems map[string]string) {
		if r.SubscriberID == "" && r.Contact == "" {
			problems["subscriber_id"] = "Name the customer with subscriber_id (Manychat's {{user_id}}) or contact."
		}
		if r.Conversation != "" {
			problems["conversation"] = "Manychat conversations are chosen per contact; use new_conversation to start over."
		}
	})
	if err != nil {
		return err
	}
	svc := aichat.Of(e.App)
	prep, err := svc.Prepare(aichat.Inbound{Tool: t, Contact: contact, Channel: aichat.ChannelManychat, Text: req.Text,
		NewConversation: req.NewConversation, Actor: platform.ActorFromRequest(e)}, time.Now())
	var limited *aichat.RateLimitedError
	if errors.As(err, &limited) {
		retryAfter(e, limited)
		return e.JSON(http.StatusOK, ai.InstagramReply(aichat.RateLimitedText))
	}
	if err != nil {
		return err
	}
	reply, err := svc.ReplyForManychat(prep)
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, ai.InstagramReply(reply.Text))
}

// aiChatStream streams a reply as Server-Sent Events: "delta" events with text as it arrives, "function"
// events for each function call, then "done" with the stored message, its usage and cost (and the fallback
// text with the failure in words, if the model failed).
func aiChatStream(e *core.RequestEvent) error {
	req, t, contact, err := readAIMessage(e, func(*aiMessageRequest, map[string]string) {})
	if err != nil {
		return err
	}
	p := platform.PrincipalOf(e)
	if req.Conversation != "" {
		if _, err := findInWorkspace(e, collections.AIConversations, req.Conversation); err != nil {
			return fieldError(e, "conversation", "validation_not_found", "No such conversation in this workspace.")
		}
	}
	svc := aichat.Of(e.App)
	channel := aichat.ChannelDashboard
	var user *core.Record // a member's own dashboard conversation; superusers and keys share the tool's
	if p.User != nil && p.User.Collection().Name == collections.Users {
		user = p.User
	}
	prep, err := svc.Prepare(aichat.Inbound{Tool: t, Contact: contact, User: user, Channel: channel, Text: req.Text,
		NewConversation: req.NewConversation, Conversation: req.Conversation, Actor: platform.ActorFromRequest(e)}, time.Now())
	var limited *aichat.RateLimitedError
	switch {
	case errors.As(err, &limited):
		retryAfter(e, limited)
		return router.NewApiError(http.StatusTooManyRequests, "Too many messages to this assistant; "+limited.Error()+".", nil)
	case errors.Is(err, aichat.ErrConversationNotFound):
		return fieldError(e, "conversation", "validation_not_found", err.Error())
	case err != nil:
		return err
	}
	h := e.Response.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	e.Response.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(e.Response)
	send := func(event string, v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(e.Response, "event: %s\ndata: %s\n\n", event, b)
		_ = rc.Flush()
	}
	send("start", map[string]any{"conversation": prep.Conversation.Id, "message": prep.UserMessage.Id})
	ctx := e.Request.Context()
	cctx, cancel := context.WithTimeout(ctx, svc.ChatTimeout)
	defer cancel()
	out := svc.Run(cctx, prep, aichat.Hooks{
		OnDelta: func(d string) { send("delta", map[string]any{"text": d}) },
		OnCall:  func(c aichat.CallRecord) { send("function", c) },
	})
	if err := svc.Finish(prep, out, aichat.DeliveryStream, time.Now()); err != nil {
		send("error", map[string]any{"message": "The reply could not be stored: " + err.Error()})
		return nil
	}
	done := map[string]any{"conversation": prep.Conversation.Id, "message": out.Message.Id, "status": out.Status, "text": out.Text,
		"model": out.Model, "prompt_tokens": out.Usage.PromptTokens, "cached_tokens": out.Usage.CachedTokens,
		"completion_tokens": out.Usage.CompletionTokens, "cost_usd": nil, "rounds": out.Rounds, "latency_ms": out.Latency.Milliseconds()}
	if out.CostKnown || prep.Skip != "" {
		done["cost_usd"] = out.CostUSD
	}
	if out.Failure != nil {
		done["error"] = out.Failure.Words
		done["error_kind"] = out.Failure.Kind
	}
	send("done", done)
	return nil
}

func aiUsage(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	from, to, err := timeRange(e, q.Get("from"), q.Get("to"), 30*24*time.Hour, 366*24*time.Hour)
	if err != nil {
		return err
	}
	if q.Get("to") == "" {
		to = to.Add(time.Millisecond) // include messages stored in the current millisecond
	}
	p := platform.PrincipalOf(e)
	f := aichat.UsageFilter{Workspace: p.Workspace, From: from, To: to, Tool: q.Get("tool"), Conversation: q.Get("conversation")}
	if f.Tool != "" {
		if _, err := findInWorkspace(e, collections.Tools, f.Tool); err != nil {
			return fieldError(e, "tool", "validation_not_found", "No such tool in this workspace.")
		}
	}
	if f.Conversation != "" {
		if _, err := findInWorkspace(e, collections.AIConversations, f.Conversation); err != nil {
			return fieldError(e, "conversation", "validation_not_found", "No such conversation in this workspace.")
		}
	}
	out := map[string]any{"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339), "prices_as_of": ai.PricesAsOf}
	for _, group := range []string{"", "day", "tool", "conversation"} {
		rows, err := aichat.Usage(e.App, f, group)
		if err != nil {
			return err
		}
		if group == "" {
			out["totals"] = rows[0].Totals
			continue
		}
		list := make([]map[string]any, len(rows))
		for i, r := range rows {
			b, _ := json.Marshal(r.Totals)
			m := map[string]any{}
			_ = json.Unmarshal(b, &m)
			m[group] = r.Key
			list[i] = m
		}
		out["by_"+group] = list
	}
	return e.JSON(http.StatusOK, out)
}

func aiTranscript(e *core.RequestEvent) error {
	conv, err := findInWorkspace(e, collections.AIConversations, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	format := e.Request.URL.Query().Get("format")
	if format == "" {
		format = "text"
	}
	if format != "text" && format != "json" {
		return fieldError(e, "format", "validation_invalid_value", "must be text or json")
	}
	lines, err := aichat.Transcript(e.App, conv.Id)
	if err != nil {
		return err
	}
	name := "conversation-" + conv.Id
	if format == "json" {
		e.Response.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
		return e.JSON(http.StatusOK, map[string]any{"conversation": conv.Id, "tool": conv.GetString("tool"), "contact": conv.GetString("contact"),
			"title": conv.GetString("title"), "messages": lines})
	}
	e.Response.Header().Set("Content-Disposition", `attachment; filename="`+name+`.txt"`)
	title := "Conversation " + conv.Id
	if t := conv.GetString("title"); t != "" {
		title += ": " + t
	}
	return e.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(ai.TextTranscript(title, lines)))
}
