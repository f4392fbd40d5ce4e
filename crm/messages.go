package crm

import (
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/autoreply"
	"github.com/playgram/playgram/internal/manychat/dynblock"
	"github.com/playgram/playgram/internal/wscache"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

type ruleEntry struct {
	set       *autoreply.Set
	templates map[string]string // id and name → body
}

// rulesCache holds each workspace's compiled rules and templates; hooks invalidate a workspace after a rule or
// template change commits.
func rulesCache(app core.App) *wscache.Cache[*ruleEntry] {
	return app.Store().GetOrSet(storeRules, func() any { return wscache.New[*ruleEntry]() }).(*wscache.Cache[*ruleEntry])
}

// InvalidateRules drops the workspace's cached rules; the next message reloads them.
func InvalidateRules(app core.App, ws string) {
	rulesCache(app).Invalidate(ws)
}

// rulesFor is called inside the message's (grouped) transaction, which never changes rules, so what it loads
// is what is committed and is kept.
func rulesFor(app core.App, ws string) (*ruleEntry, error) {
	return rulesCache(app).Get(ws, true, func() (*ruleEntry, error) { return loadRules(app, ws) })
}

func loadRules(app core.App, ws string) (*ruleEntry, error) {
	recs, err := app.FindRecordsByFilter(collections.AutoReplyRules, "workspace = {:ws} && enabled = true", "-priority,created", 0, 0, dbx.Params{"ws": ws})
	if err != nil {
		return nil, err
	}
	var compiled []*autoreply.Compiled
	for _, r := range recs {
		rule, err := RuleFromRecord(r)
		if err != nil {
			continue
		}
		c, err := autoreply.Compile(rule)
		if err != nil {
			app.Logger().Warn("skipping an invalid auto-reply rule", "rule", r.Id, "error", err)
			continue
		}
		compiled = append(compiled, c)
	}
	e := &ruleEntry{set: autoreply.NewSet(compiled), templates: map[string]string{}}
	tpls, err := app.FindRecordsByFilter(collections.MessageTemplates, "workspace = {:ws}", "", 0, 0, dbx.Params{"ws": ws})
	if err != nil {
		return nil, err
	}
	for _, t := range tpls {
		e.templates[t.Id] = t.GetString("body")
		e.templates[t.GetString("name")] = t.GetString("body")
	}
	return e, nil
}

// RuleFromRecord decodes a stored rule.
func RuleFromRecord(r *core.Record) (autoreply.Rule, error) {
	rule := autoreply.Rule{ID: r.Id, Name: r.GetString("name"), Match: r.GetString("match"), Pattern: r.GetString("pattern"),
		Priority: r.GetInt("priority"), Enabled: r.GetBool("enabled")}
	var err error
	if rule.Conditions, err = autoreply.DecodeConditions([]byte(r.GetString("conditions"))); err != nil {
		return rule, err
	}
	rule.Actions, err = autoreply.DecodeActions([]byte(r.GetString("actions")))
	return rule, err
}

// MessageResult is what handling a message did.
type MessageResult struct {
	Contact *core.Record
	Rule    *autoreply.Compiled
	Reply   *dynblock.Response
	Jobs    []*core.Record
}

// HandleMessage records an incoming DM of a subscriber (contact, interaction counter, message.received) in tx
// and, when a rule matches, builds its reply and queues its other actions.
func HandleMessage(tx core.App, ws, subscriberID, text string, actor platform.Actor) (*MessageResult, error) {
	contact, err := resolveSubscriber(tx, ws, subscriberID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if err := CountInteraction(tx, ws, contact.Id, InteractionMessage, now); err != nil {
		return nil, err
	}
	res := &MessageResult{Contact: contact, Reply: dynblock.New(dynblock.Instagram)}
	entry, err := rulesFor(tx, ws)
	if err != nil {
		return nil, err
	}
	res.Rule = entry.set.Match(text, autoreply.Contact{Tags: AllTags(contact), Fields: FieldMap(contact)})
	data := map[string]any{"text": text, "subscriber_id": subscriberID}
	if res.Rule != nil {
		data["rule"] = res.Rule.ID
		vars := templateVars(contact)
		var queued []Action
		for _, a := range res.Rule.Actions {
			switch a.Type {
			case autoreply.ActionReply:
				body := a.Text
				if a.Template != "" {
					body = entry.templates[a.Template]
				}
				res.Reply.Text(autoreply.Render(body, vars))
			case autoreply.ActionFlow:
				queued = append(queued, Action{Type: ActSendFlow, FlowNS: a.FlowNS})
			case autoreply.ActionAddTag:
				queued = append(queued, Action{Type: ActAddTag, Tag: a.Tag})
			case autoreply.ActionSetField:
				queued = append(queued, Action{Type: ActSetField, Field: a.Field, Value: a.Value})
			}
		}
		if len(queued) > 0 {
			if res.Jobs, err = QueueActions(tx, ws, queued, Targets{Contacts: []string{contact.Id}}, actor); err != nil {
				return nil, err
			}
		}
	}
	_, err = platform.Emit(tx, platform.Event{Workspace: ws, Type: "message.received", SubjectCollection: collections.Contacts,
		SubjectID: contact.Id, Contact: contact.Id, Actor: actor.String(), Data: data, At: now})
	return res, err
}

func templateVars(c *core.Record) map[string]string {
	vars := map[string]string{}
	for _, f := range []string{"name", "first_name", "last_name", "ig_username", "email", "phone"} {
		vars[f] = c.GetString(f)
	}
	for k, v := range FieldMap(c) {
		vars["field."+k] = autoreply.ValueText(v)
	}
	return vars
}

// RecordEvent counts a Manychat interaction event of a subscriber in tx: its daily counter, its score and,
// for messages, message.received (other kinds are contact.interaction events).
func RecordEvent(tx core.App, ws, subscriberID, kind, text string, at time.Time, actor platform.Actor) (*core.Record, error) {
	contact, err := resolveSubscriber(tx, ws, subscriberID)
	if err != nil {
		return nil, err
	}
	if err := CountInteraction(tx, ws, contact.Id, kind, at); err != nil {
		return nil, err
	}
	typ := "contact.interaction"
	if kind == InteractionMessage {
		typ = "message.received"
	}
	data := map[string]any{"type": kind, "subscriber_id": subscriberID}
	if text != "" {
		data["text"] = text
	}
	_, err = platform.Emit(tx, platform.Event{Workspace: ws, Type: typ, SubjectCollection: collections.Contacts,
		SubjectID: contact.Id, Contact: contact.Id, Actor: actor.String(), Data: data, At: at})
	return contact, err
}
