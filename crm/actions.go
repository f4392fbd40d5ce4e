package crm

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
)

// KindAction changes contacts in Manychat (and then in the mirror): tags, fields, flows.
const KindAction = "crm.action"

// Outbound action types.
const (
	ActAddTag    = "add_tag"
	ActRemoveTag = "remove_tag"
	ActSetField  = "set_field"
	ActSendFlow  = "send_flow"
)

// MaxActionTargets bounds the contacts one filtered action reaches.
const MaxActionTargets = 10_000

// Action is one outbound change.
type Action struct {
	Type   string `json:"type"`
	Tag    string `json:"tag,omitempty"`
	Field  string `json:"field,omitempty"`
	Value  any    `json:"value,omitempty"`
	FlowNS string `json:"flow_ns,omitempty"`
}

// Validate names the first problem of a, as field → message.
func (a Action) Validate() (string, string) {
	switch a.Type {
	case ActAddTag, ActRemoveTag:
		if strings.TrimSpace(a.Tag) == "" {
			return "tag", "is required for " + a.Type
		}
	case ActSetField:
		if strings.TrimSpace(a.Field) == "" {
			return "field", "is required for set_field"
		}
	case ActSendFlow:
		if strings.TrimSpace(a.FlowNS) == "" {
			return "flow_ns", "is required for send_flow"
		}
	default:
		return "type", "must be add_tag, remove_tag, set_field or send_flow"
	}
	return "", ""
}

// Targets are the contacts of an action: listed ids, or every contact matching a search.
type Targets struct {
	Contacts []string `json:"contacts,omitempty"`
	Filter   *Query   `json:"filter,omitempty"`
}

type actionPayload struct {
	Actions []Action `json:"actions"`
	Targets
	Actor string `json:"actor"`
}

// QueueActions enqueues actions for targets in tx. Tag and field changes are idempotent and retried with
// backoff; flows are sent by a separate job that is never retried (Manychat returns no message id, so a retry
// could send twice). It returns the queued jobs.
func QueueActions(tx core.App, ws string, actions []Action, t Targets, actor platform.Actor) ([]*core.Record, error) {
	var safe, flows []Action
	for _, a := range actions {
		if a.Type == ActSendFlow {
			flows = append(flows, a)
		} else {
			safe = append(safe, a)
		}
	}
	var out []*core.Record
	for _, group := range []struct {
		acts     []Action
		attempts int
	}{{safe, 6}, {flows, 1}} {
		if len(group.acts) == 0 {
			continue
		}
		j, err := jobs.Enqueue(tx, jobs.New{Kind: KindAction, Workspace: ws, MaxAttempts: group.attempts,
			Payload: actionPayload{Actions: group.acts, Targets: t, Actor: actor.String()}})
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

func actionHandler(svc *platform.Services) jobs.Handler {
	return func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p actionPayload
		if err := job.Decode(&p); err != nil {
			return err
		}
		log, err := openLog(app, job, "action", p, p.Actor)
		if err != nil {
			return err
		}
		status, retry := runActions(ctx, app, svc, job.Workspace, p, log)
		if err := log.close(app, status); err != nil {
			return err
		}
		return retry
	}
}

func runActions(ctx context.Context, app core.App, svc *platform.Services, ws string, p actionPayload, log *runLog) (string, error) {
	client, err := ClientFor(app, svc, ws)
	if err != nil {
		log.fail(err.Error())
		return "failed", jobs.Permanent(err)
	}
	ids := p.Contacts
	if p.Filter != nil {
		if ids, err = MatchingIDs(app, ws, *p.Filter, MaxActionTargets); err != nil {
			return "failed", err
		}
	}
	log.counts["targets"] = len(ids)
	var retryable error
	for _, id := range ids {
		if ctx.Err() != nil {
			retryable = ctx.Err()
			break
		}
		c, err := app.FindRecordById(collections.Contacts, id)
		if err != nil || c.GetString("workspace") != ws {
			log.counts["skipped"]++
			continue
		}
		sid, err := manychat.ParseID(c.GetString("subscriber_id"))
		if err != nil {
			log.counts["skipped"]++ // not a Manychat contact
			continue
		}
		for _, a := range p.Actions {
			err := callManychat(ctx, client, sid, a)
			if err == nil {
				err = applyLocally(app, id, a, p.Actor)
			}
			if err != nil {
				log.counts["failed"]++
				log.fail(fmt.Sprintf("%s %s: %v", a.Type, sid, err))
				if a.Type != ActSendFlow && (manychat.IsTemporary(err) || manychat.IsRateLimited(err)) {
					retryable = err
				}
				continue
			}
			log.counts["ok"]++
		}
	}
	switch {
	case log.counts["failed"] == 0:
		return "ok", nil
	case log.counts["ok"] > 0:
		return "partial", retryable
	}
	return "failed", retryable
}

func callManychat(ctx context.Context, c *manychat.Client, sid manychat.ID, a Action) error {
	switch a.Type {
	case ActAddTag:
		err := c.AddTagByName(ctx, sid, a.Tag)
		if err != nil && strings.Contains(strings.ToLower(err.Error()), "tag not found") {
			// Manychat tags by name only when the tag exists in the account: create it, then tag.
			if _, cerr := c.CreateTag(ctx, a.Tag); cerr != nil {
				return err
			}
			return c.AddTagByName(ctx, sid, a.Tag)
		}
		return err
	case ActRemoveTag:
		return c.RemoveTagByName(ctx, sid, a.Tag)
	case ActSetField:
		return c.SetCustomFieldByName(ctx, sid, a.Field, a.Value)
	case ActSendFlow:
		return c.SendFlow(ctx, sid, a.FlowNS)
	}
	return fmt.Errorf("unknown action %q", a.Type)
}

// applyLocally mirrors a change Manychat accepted, so the CRM shows it before the next sync.
func applyLocally(app core.App, id string, a Action, actor string) error {
	if a.Type == ActSendFlow {
		return nil
	}
	return platform.WriteTx(app, func(tx core.App) error {
		c, err := tx.FindRecordById(collections.Contacts, id)
		if err != nil {
			return nil // deleted meanwhile
		}
		switch a.Type {
		case ActAddTag, ActRemoveTag:
			tags := StringList(c, "tags")
			i := slices.IndexFunc(tags, func(t string) bool { return strings.EqualFold(t, a.Tag) })
			switch {
			case a.Type == ActAddTag && i < 0:
				tags = append(tags, a.Tag)
				slices.Sort(tags)
			case a.Type == ActRemoveTag && i >= 0:
				tags = slices.Delete(tags, i, i+1)
			default:
				return nil
			}
			c.Set("tags", tags)
		case ActSetField:
			fields := FieldMap(c)
			if a.Value == nil || a.Value == "" {
				delete(fields, a.Field)
			} else {
				fields[a.Field] = a.Value
			}
			c.Set("custom_fields", fields)
		}
		platform.WithActor(c, platform.Actor{Type: "system", Label: "manychat action by " + actor})
		return tx.Save(c)
	})
}
