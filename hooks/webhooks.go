package hooks

import (
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/pocketbase/core"
)

var endpointAuditFields = []string{"url", "description", "events", "filter", "transform", "headers", "enabled", "rate_limit", "max_in_flight", "secret"}

func registerWebhooks(app core.App, svc *platform.Services) {
	engine := func(a core.App) *webhooks.Engine { return webhooks.Of(a) }

	// Events are the outbox: wake the dispatcher once one is committed.
	app.OnRecordAfterCreateSuccess(collections.Events).BindFunc(func(e *core.RecordEvent) error {
		if en := engine(e.App); en != nil {
			en.WakeDispatch()
		}
		return e.Next()
	})

	registerWebhookEndpoints(app, svc, engine)
	registerRecordSources(app, engine)

	app.OnRecordValidate(collections.PlaygroundBins).BindFunc(func(e *core.RecordEvent) error {
		if err := webhooks.ValidateBin(e.Record); err != nil {
			return err
		}
		return e.Next()
	})

	// Deliveries and attempts are plain-text logs: they go with their workspace.
	app.OnRecordDelete(collections.Workspaces).BindFunc(func(e *core.RecordEvent) error {
		return inTx(e, func(tx core.App) error { return webhooks.DeleteLogs(tx, "", e.Record.Id) })
	})
}

func registerWebhookEndpoints(app core.App, svc *platform.Services, engine func(core.App) *webhooks.Engine) {
	invalidate := func(e *core.RecordEvent) error {
		if en := engine(e.App); en != nil {
			en.InvalidateEndpoints()
		}
		return e.Next()
	}
	app.OnRecordAfterCreateSuccess(collections.WebhookEndpoints).BindFunc(invalidate)
	app.OnRecordAfterUpdateSuccess(collections.WebhookEndpoints).BindFunc(invalidate)
	app.OnRecordAfterDeleteSuccess(collections.WebhookEndpoints).BindFunc(invalidate)
	dropCache := func(a core.App) {
		if en := engine(a); en != nil {
			en.InvalidateEndpoints()
		}
	}

	app.OnRecordValidate(collections.WebhookEndpoints).BindFunc(func(e *core.RecordEvent) error {
		if err := webhooks.ValidateEndpoint(e.App, e.Record); err != nil {
			return err
		}
		return e.Next()
	})

	app.OnRecordCreate(collections.WebhookEndpoints).BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("secret") == "" {
			// Created without the route (a superuser in the admin UI): it still signs; rotate to see a secret.
			if _, err := webhooks.SealNewSecret(svc.Box, e.Record, 0, time.Now()); err != nil {
				return err
			}
		}
		actor := platform.ActorOf(e.Record)
		return inTx(e, func(tx core.App) error {
			dropCache(tx)
			return platform.Audit(tx, actor, e.Record.GetString("workspace"), "webhook_endpoint.created", collections.WebhookEndpoints, e.Record.Id, nil,
				map[string]any{"url": e.Record.GetString("url"), "events": e.Record.Get("events")})
		})
	})

	app.OnRecordUpdate(collections.WebhookEndpoints).BindFunc(func(e *core.RecordEvent) error {
		before, after := changes(e.Record, endpointAuditFields...)
		if len(after) == 0 {
			return e.Next()
		}
		actor := platform.ActorOf(e.Record)
		wasOn, isOn := e.Record.Original().GetBool("enabled"), e.Record.GetBool("enabled")
		action := "webhook_endpoint.updated"
		switch {
		case wasOn && !isOn:
			action = "webhook_endpoint.disabled"
			if e.Record.GetString("disabled_reason") == e.Record.Original().GetString("disabled_reason") {
				e.Record.Set("disabled_reason", "Disabled by "+actor.Label+".")
			}
			e.Record.Set("disabled_at", time.Now())
		case !wasOn && isOn:
			action = "webhook_endpoint.enabled"
			e.Record.Set("disabled_reason", "")
			e.Record.Set("disabled_at", "")
			e.Record.Set("failing_since", "")
		case len(after) == 1 && after["secret"] != nil:
			action = "webhook_endpoint.secret_rotated"
		}
		return inTx(e, func(tx core.App) error {
			dropCache(tx)
			if wasOn && !isOn {
				if err := webhooks.SkipPending(tx, e.Record.Id); err != nil {
					return err
				}
				after["disabled_reason"] = e.Record.GetString("disabled_reason")
			}
			return platform.Audit(tx, actor, e.Record.GetString("workspace"), action, collections.WebhookEndpoints, e.Record.Id, before, after)
		})
	})

	app.OnRecordDelete(collections.WebhookEndpoints).BindFunc(func(e *core.RecordEvent) error {
		actor := platform.ActorOf(e.Record)
		return inTx(e, func(tx core.App) error {
			dropCache(tx)
			if err := webhooks.DeleteLogs(tx, e.Record.Id, ""); err != nil {
				return err
			}
			return platform.Audit(tx, actor, e.Record.GetString("workspace"), "webhook_endpoint.deleted", collections.WebhookEndpoints, e.Record.Id,
				map[string]any{"url": e.Record.GetString("url")}, nil)
		})
	})
}

// registerRecordSources turns changes of the collections an admin chose (webhook_record_sources) into events
// "<collection>.created|updated|deleted", written in the same transaction as the change.
func registerRecordSources(app core.App, engine func(core.App) *webhooks.Engine) {
	sources := func(a core.App) *webhooks.Sources {
		if en := engine(a); en != nil {
			return en.Sources
		}
		return nil
	}
	invalidate := func(e *core.RecordEvent) error {
		if s := sources(e.App); s != nil {
			s.Invalidate()
		}
		return e.Next()
	}
	app.OnRecordValidate(collections.WebhookRecordSources).BindFunc(func(e *core.RecordEvent) error {
		if err := webhooks.ValidateSource(e.App, e.Record); err != nil {
			return err
		}
		return e.Next()
	})
	app.OnRecordAfterCreateSuccess(collections.WebhookRecordSources).BindFunc(invalidate)
	app.OnRecordAfterUpdateSuccess(collections.WebhookRecordSources).BindFunc(invalidate)
	app.OnRecordAfterDeleteSuccess(collections.WebhookRecordSources).BindFunc(invalidate)
	emit := func(action string) func(e *core.RecordEvent) error {
		return func(e *core.RecordEvent) error {
			s := sources(e.App)
			if s == nil || !s.Wants(e.App, e.Record.Collection().Name, e.Record.GetString("workspace"), action) {
				return e.Next()
			}
			var changed []string
			if action == "updated" {
				if changed = changedFields(e.Record); len(changed) == 0 {
					return e.Next() // a save without changes is no event
				}
			}
			return inTx(e, func(tx core.App) error {
				_, err := platform.Emit(tx, webhooks.RecordEvent(e.Record, action, changed))
				return err
			})
		}
	}
	app.OnRecordCreate().BindFunc(emit("created"))
	app.OnRecordUpdate().BindFunc(emit("updated"))
	app.OnRecordDelete().BindFunc(emit("deleted"))
}

// changedFields lists the fields whose stored value an update changes (autodates aside).
func changedFields(r *core.Record) []string {
	var out []string
	for _, f := range r.Collection().Fields {
		if f.Type() != core.FieldTypeAutodate && !equalJSON(r.Original().Get(f.GetName()), r.Get(f.GetName())) {
			out = append(out, f.GetName())
		}
	}
	return out
}
