package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Exports and compliance: export runs with their files, consent records on contacts, legal holds and
// per-dataset retention policies.
func init() {
	m.Register(func(app core.App) error {
		workspaces, err := app.FindCollectionByNameOrId(collections.Workspaces)
		if err != nil {
			return err
		}
		contacts, err := app.FindCollectionByNameOrId(collections.Contacts)
		if err != nil {
			return err
		}

		exports := core.NewBaseCollection(collections.Exports)
		exports.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "dataset", Required: true, Max: 64},
			&core.SelectField{Name: "format", Required: true, MaxSelect: 1, Values: []string{"csv", "json", "jsonl", "xlsx", "pdf"}},
			&core.TextField{Name: "filter", Max: 4000},
			&core.JSONField{Name: "fields", MaxSize: 8 << 10},
			&core.SelectField{Name: "consent", MaxSelect: 1, Values: []string{collections.ConsentMarketing, collections.ConsentDataProcessing}},
			&core.TextField{Name: "purpose", Required: true, Max: 500},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"queued", "running", "done", "failed"}},
			&core.NumberField{Name: "rows", OnlyInt: true},
			&core.NumberField{Name: "size", OnlyInt: true},
			&core.TextField{Name: "sha256", Max: 64},
			&core.TextField{Name: "error", Max: 2000},
			&core.FileField{Name: "file", MaxSelect: 1, MaxSize: 8 << 30, Protected: true},
			&core.DateField{Name: "expires_at"},
			&core.BoolField{Name: "expired"},
			&core.TextField{Name: "created_by", Max: 200},
			&core.JSONField{Name: "actor", MaxSize: 4 << 10, Hidden: true},
			&core.DateField{Name: "finished_at"},
		)
		withTimestamps(exports)
		exports.AddIndex("idx_exports_workspace_created", false, "workspace, created", "")
		exports.AddIndex("idx_exports_expires", false, "expires_at", "expired = FALSE AND expires_at != ''")
		withRules(exports, collections.AdminReadOnly())
		if err := app.Save(exports); err != nil {
			return err
		}

		consents := core.NewBaseCollection(collections.Consents)
		consents.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{collections.ConsentMarketing, collections.ConsentDataProcessing}},
			&core.BoolField{Name: "granted"},
			&core.TextField{Name: "source", Required: true, Max: 100},
			&core.DateField{Name: "time", Required: true},
			&core.TextField{Name: "text_version", Max: 100},
		)
		withTimestamps(consents)
		consents.AddIndex("idx_consents_contact_kind_time", false, "contact, kind, time", "")
		consents.AddIndex("idx_consents_workspace_time", false, "workspace, time", "")
		withRules(consents, collections.WorkspaceData(collections.RoleManager))
		consents.UpdateRule, consents.DeleteRule = nil, nil // consent history is append-only: a change is a new record
		if err := app.Save(consents); err != nil {
			return err
		}

		holds := core.NewBaseCollection(collections.LegalHolds)
		holds.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "dataset", Max: 64},
			&core.TextField{Name: "record", Max: 32},
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, MaxSelect: 1},
			&core.TextField{Name: "reason", Required: true, Max: 500},
			&core.DateField{Name: "until"},
		)
		withTimestamps(holds)
		holds.AddIndex("idx_legal_holds_workspace_dataset", false, "workspace, dataset, record", "")
		holds.AddIndex("idx_legal_holds_contact", false, "contact", "contact != ''")
		withRules(holds, collections.AdminData())
		if err := app.Save(holds); err != nil {
			return err
		}

		retention := core.NewBaseCollection(collections.Retention)
		retention.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "dataset", Required: true, Max: 64},
			&core.NumberField{Name: "days", Required: true, OnlyInt: true, Min: ptrFloat(1), Max: ptrFloat(36500)},
			&core.SelectField{Name: "action", Required: true, MaxSelect: 1, Values: []string{"delete", "anonymise"}},
			&core.DateField{Name: "last_run_at"},
			&core.JSONField{Name: "last_counts", MaxSize: 4 << 10},
		)
		withTimestamps(retention)
		retention.AddIndex("idx_retention_workspace_dataset", true, "workspace, dataset", "")
		withRules(retention, collections.AdminData())
		if err := app.Save(retention); err != nil {
			return err
		}

		endpoints, err := app.FindCollectionByNameOrId(collections.WebhookEndpoints)
		if err != nil {
			return err
		}
		schedules := core.NewBaseCollection(collections.ExportSchedules)
		schedules.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.TextField{Name: "dataset", Required: true, Max: 64},
			&core.SelectField{Name: "format", Required: true, MaxSelect: 1, Values: []string{"csv", "json", "jsonl", "xlsx", "pdf"}},
			&core.TextField{Name: "filter", Max: 4000},
			&core.JSONField{Name: "fields", MaxSize: 8 << 10},
			&core.SelectField{Name: "consent", MaxSelect: 1, Values: []string{collections.ConsentMarketing, collections.ConsentDataProcessing}},
			&core.TextField{Name: "purpose", Required: true, Max: 500},
			&core.TextField{Name: "cron", Required: true, Max: 100},
			&core.TextField{Name: "timezone", Required: true, Max: 64},
			&core.SelectField{Name: "delivery", Required: true, MaxSelect: 1, Values: []string{"filesystem", "email", "webhook"}},
			&core.JSONField{Name: "recipients", MaxSize: 8 << 10},
			&core.RelationField{Name: "endpoint", CollectionId: endpoints.Id, MaxSelect: 1},
			&core.BoolField{Name: "enabled"},
			&core.DateField{Name: "last_run_at"},
			&core.TextField{Name: "last_export", Max: 32},
			&core.TextField{Name: "last_error", Max: 2000},
		)
		withTimestamps(schedules)
		schedules.AddIndex("idx_export_schedules_enabled", false, "enabled, workspace", "")
		withRules(schedules, collections.AdminData())
		if err := app.Save(schedules); err != nil {
			return err
		}
		// Exports page through (workspace, created); data-subject requests look records up by contact.
		for name, idx := range map[string][][2]string{
			collections.Bookings:          {{"idx_bookings_workspace_created", "workspace, created"}},
			collections.Interactions:      {{"idx_interactions_workspace_created", "workspace, created"}},
			collections.WebhookDeliveries: {{"idx_webhook_deliveries_workspace_created", "workspace, created"}},
			collections.QRScans:           {{"idx_qr_scans_contact", "contact"}},
			collections.Verifications:     {{"idx_verifications_contact", "contact"}},
		} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				return err
			}
			for _, i := range idx {
				where := ""
				if i[1] == "contact" {
					where = "contact != ''"
				}
				c.AddIndex(i[0], false, i[1], where)
			}
			if err := app.Save(c); err != nil {
				return err
			}
		}
		exports.Fields.Add(&core.TextField{Name: "schedule", Max: 32})
		exports.AddIndex("idx_exports_schedule", false, "schedule", "schedule != ''")
		return app.Save(exports)
	}, nil)
}
