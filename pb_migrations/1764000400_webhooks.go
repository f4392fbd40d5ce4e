package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Webhook fan-out: endpoints, deliveries (one per event and endpoint), attempts (one per HTTP request), the
// collections whose record changes become events, the fan-out cursor, and the playground's bins and captures.
//
// Deliveries and attempts are written by the delivery engine with plain SQL on its hot path, so they keep
// workspace, endpoint and delivery as plain text (like the other logs) and times as unix milliseconds; hooks
// delete them with their endpoint or workspace.
func init() {
	m.Register(func(app core.App) error {
		workspaces, err := app.FindCollectionByNameOrId(collections.Workspaces)
		if err != nil {
			return err
		}

		endpoints := core.NewBaseCollection(collections.WebhookEndpoints)
		endpoints.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "url", Required: true, Max: 2048, Presentable: true},
			&core.TextField{Name: "description", Max: 500},
			// events: event-type patterns, e.g. ["booking.*", "qr.scanned"]; "*" is every event.
			&core.JSONField{Name: "events", MaxSize: 16 << 10},
			// filter: a PocketBase filter over the payload (type, timestamp, data.*).
			&core.TextField{Name: "filter", Max: 4000},
			&core.JSONField{Name: "transform", MaxSize: 32 << 10},
			&core.JSONField{Name: "headers", MaxSize: 16 << 10},
			&core.BoolField{Name: "enabled"},
			&core.NumberField{Name: "rate_limit", OnlyInt: true, Min: ptrFloat(0), Max: ptrFloat(10000)},
			&core.NumberField{Name: "max_in_flight", OnlyInt: true, Min: ptrFloat(0), Max: ptrFloat(1000)},
			// The signing secrets are sealed and never leave the server except once, when created or rotated.
			&core.TextField{Name: "secret", Hidden: true, Max: 1024},
			&core.TextField{Name: "previous_secret", Hidden: true, Max: 1024},
			&core.DateField{Name: "previous_secret_expires_at"},
			&core.TextField{Name: "disabled_reason", Max: 1000},
			&core.DateField{Name: "disabled_at"},
			&core.DateField{Name: "last_success_at"},
			&core.DateField{Name: "failing_since"},
		)
		withTimestamps(endpoints)
		endpoints.AddIndex("idx_webhook_endpoints_workspace", false, "workspace, created", "")
		endpoints.AddIndex("idx_webhook_endpoints_updated", false, "updated", "")
		withRules(endpoints, collections.AdminData())
		endpoints.CreateRule = nil // POST /api/v1/webhooks/endpoints shows the new secret once
		if err := app.Save(endpoints); err != nil {
			return err
		}

		deliveries := core.NewBaseCollection(collections.WebhookDeliveries)
		deliveries.Fields.Add(
			&core.TextField{Name: "workspace", Required: true, Max: 32},
			&core.TextField{Name: "endpoint", Required: true, Max: 32},
			&core.TextField{Name: "event", Required: true, Max: 32},
			&core.TextField{Name: "event_type", Max: 128},
			&core.NumberField{Name: "event_ts", OnlyInt: true},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"pending", "sending", "succeeded", "dead", "skipped"}},
			&core.NumberField{Name: "attempts", OnlyInt: true},
			// attempt_base is attempts at the last replay: the retry schedule restarts from there.
			&core.NumberField{Name: "attempt_base", OnlyInt: true},
			&core.NumberField{Name: "next_at", OnlyInt: true},
			&core.TextField{Name: "lease_owner", Max: 64},
			&core.NumberField{Name: "lease_until", OnlyInt: true},
			&core.NumberField{Name: "last_code", OnlyInt: true},
			&core.TextField{Name: "last_error", Max: 1000},
			&core.NumberField{Name: "last_attempt_at", OnlyInt: true},
		)
		withTimestamps(deliveries)
		deliveries.AddIndex("idx_webhook_deliveries_endpoint_event", true, "endpoint, event", "")
		deliveries.AddIndex("idx_webhook_deliveries_due", false, "status, endpoint, next_at", "")
		deliveries.AddIndex("idx_webhook_deliveries_workspace_ts", false, "workspace, event_ts", "")
		withRules(deliveries, collections.AdminReadOnly())
		if err := app.Save(deliveries); err != nil {
			return err
		}

		attempts := core.NewBaseCollection(collections.WebhookAttempts)
		attempts.Fields.Add(
			&core.TextField{Name: "workspace", Required: true, Max: 32},
			&core.TextField{Name: "endpoint", Required: true, Max: 32},
			&core.TextField{Name: "delivery", Required: true, Max: 32},
			&core.NumberField{Name: "attempt", OnlyInt: true},
			&core.NumberField{Name: "ts", OnlyInt: true},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"succeeded", "failed"}},
			&core.NumberField{Name: "response_code", OnlyInt: true},
			&core.TextField{Name: "response_body", Max: 4096},
			&core.NumberField{Name: "duration_ms", OnlyInt: true},
			&core.TextField{Name: "error", Max: 1000},
		)
		withTimestamps(attempts)
		attempts.AddIndex("idx_webhook_attempts_delivery", false, "delivery, attempt", "")
		attempts.AddIndex("idx_webhook_attempts_workspace_ts", false, "workspace, ts", "")
		attempts.AddIndex("idx_webhook_attempts_endpoint_ts", false, "endpoint, ts", "")
		withRules(attempts, collections.AdminReadOnly())
		if err := app.Save(attempts); err != nil {
			return err
		}

		sources := core.NewBaseCollection(collections.WebhookRecordSources)
		sources.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "collection", Required: true, Max: 64, Presentable: true},
			&core.SelectField{Name: "actions", Required: true, MaxSelect: 3, Values: []string{"created", "updated", "deleted"}},
		)
		withTimestamps(sources)
		sources.AddIndex("idx_webhook_record_sources_ws_coll", true, "workspace, collection", "")
		withRules(sources, collections.AdminData())
		if err := app.Save(sources); err != nil {
			return err
		}

		state := core.NewBaseCollection(collections.WebhookState)
		state.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 64},
			&core.NumberField{Name: "position", OnlyInt: true},
			&core.TextField{Name: "anchor", Max: 32},
		)
		withTimestamps(state)
		state.AddIndex("idx_webhook_state_name", true, "name", "")
		if err := app.Save(state); err != nil {
			return err
		}
		cursor := core.NewRecord(state)
		cursor.Set("name", "events")
		cursor.Set("position", 0)
		if err := app.Save(cursor); err != nil {
			return err
		}

		bins := core.NewBaseCollection(collections.PlaygroundBins)
		bins.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Max: 100, Presentable: true},
			&core.TextField{Name: "token", Required: true, Min: 20, Max: 64, Pattern: `^[a-zA-Z0-9]+$`},
			&core.NumberField{Name: "response_status", OnlyInt: true, Min: ptrFloat(100), Max: ptrFloat(599)},
			&core.JSONField{Name: "response_headers", MaxSize: 16 << 10},
			&core.TextField{Name: "response_body", Max: 64 << 10},
			&core.NumberField{Name: "response_delay_ms", OnlyInt: true, Min: ptrFloat(0), Max: ptrFloat(30000)},
			&core.NumberField{Name: "max_requests", OnlyInt: true, Min: ptrFloat(1), Max: ptrFloat(1000)},
		)
		withTimestamps(bins)
		bins.AddIndex("idx_playground_bins_token", true, "token", "")
		bins.AddIndex("idx_playground_bins_workspace", false, "workspace, created", "")
		binRules := collections.WorkspaceData(collections.RoleManager)
		binRules.Create = nil // POST /api/v1/playground/bins makes the token
		withRules(bins, binRules)
		if err := app.Save(bins); err != nil {
			return err
		}

		captured := core.NewBaseCollection(collections.PlaygroundRequests)
		captured.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "bin", CollectionId: bins.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "method", Required: true, Max: 16},
			&core.TextField{Name: "path", Max: 2048},
			&core.JSONField{Name: "query", MaxSize: 16 << 10},
			&core.JSONField{Name: "headers", MaxSize: 32 << 10},
			&core.TextField{Name: "body", Max: 48 << 10},
			&core.SelectField{Name: "body_encoding", MaxSelect: 1, Values: []string{"text", "base64"}},
			&core.NumberField{Name: "body_size", OnlyInt: true},
			&core.BoolField{Name: "body_truncated"},
			&core.TextField{Name: "ip", Max: 64},
			&core.NumberField{Name: "ts", OnlyInt: true},
		)
		withTimestamps(captured)
		captured.AddIndex("idx_playground_requests_bin", false, "bin, ts", "")
		captured.AddIndex("idx_playground_requests_workspace", false, "workspace, ts", "")
		withRules(captured, collections.MemberReadOnly())
		return app.Save(captured)
	}, func(app core.App) error {
		for _, name := range []string{collections.PlaygroundRequests, collections.PlaygroundBins, collections.WebhookState,
			collections.WebhookRecordSources, collections.WebhookAttempts, collections.WebhookDeliveries, collections.WebhookEndpoints} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		return nil
	})
}
