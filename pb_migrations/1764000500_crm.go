package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The Manychat CRM: contact sync bookkeeping, synced tag and field definitions, interaction counters,
// snapshots, auto-reply rules and templates, saved searches, and the search side tables of contacts.
func init() {
	m.Register(func(app core.App) error {
		workspaces, err := app.FindCollectionByNameOrId(collections.Workspaces)
		if err != nil {
			return err
		}
		users, err := app.FindCollectionByNameOrId(collections.Users)
		if err != nil {
			return err
		}
		contacts, err := app.FindCollectionByNameOrId(collections.Contacts)
		if err != nil {
			return err
		}
		// mc_last_interaction_at is Manychat's own last_interaction of the data last applied: the clock the
		// conflict rule compares (last_interaction_at also moves with local interactions such as QR scans).
		contacts.Fields.Add(
			&core.DateField{Name: "mc_last_interaction_at"},
			&core.DateField{Name: "mc_refreshed_at"},
		)
		contacts.AddIndex("idx_contacts_workspace_score", false, "workspace, engagement_score", "")
		contacts.AddIndex("idx_contacts_workspace_name", false, "workspace, name", "")
		contacts.AddIndex("idx_contacts_workspace_created", false, "workspace, created", "")
		contacts.AddIndex("idx_contacts_workspace_updated", false, "workspace, updated", "")
		if err := app.Save(contacts); err != nil {
			return err
		}

		logs := core.NewBaseCollection(collections.SyncLogs)
		logs.Fields.Add(
			workspaceField(workspaces.Id),
			&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{"tags", "fields", "contacts", "action"}},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"queued", "running", "ok", "partial", "failed"}},
			&core.TextField{Name: "job", Max: 32},
			&core.NumberField{Name: "attempt", OnlyInt: true},
			&core.JSONField{Name: "counts", MaxSize: 16 << 10},
			&core.JSONField{Name: "errors", MaxSize: 64 << 10},
			&core.JSONField{Name: "params", MaxSize: 64 << 10},
			&core.NumberField{Name: "duration_ms", OnlyInt: true},
			&core.DateField{Name: "started_at"},
			&core.DateField{Name: "finished_at"},
			&core.TextField{Name: "actor", Max: 200},
		)
		withTimestamps(logs)
		logs.AddIndex("idx_sync_logs_workspace_kind_created", false, "workspace, kind, created", "")
		logs.AddIndex("idx_sync_logs_workspace_created", false, "workspace, created", "")
		logs.AddIndex("idx_sync_logs_job", false, "job", "job != ''")
		withRules(logs, collections.MemberReadOnly())
		if err := app.Save(logs); err != nil {
			return err
		}

		tags := core.NewBaseCollection(collections.ManychatTags)
		tags.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "mc_id", Required: true, Max: 32},
			&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
		)
		withTimestamps(tags)
		tags.AddIndex("idx_tags_workspace_id", true, "workspace, mc_id", "")
		tags.AddIndex("idx_tags_workspace_name", false, "workspace, name", "")
		withRules(tags, collections.MemberReadOnly())
		if err := app.Save(tags); err != nil {
			return err
		}

		fields := core.NewBaseCollection(collections.ManychatFields)
		fields.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "mc_id", Required: true, Max: 32},
			&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
			&core.TextField{Name: "type", Max: 32},
			&core.TextField{Name: "description", Max: 2000},
		)
		withTimestamps(fields)
		fields.AddIndex("idx_custom_fields_workspace_id", true, "workspace, mc_id", "")
		fields.AddIndex("idx_custom_fields_workspace_name", false, "workspace, name", "")
		withRules(fields, collections.MemberReadOnly())
		if err := app.Save(fields); err != nil {
			return err
		}

		// One row per contact per UTC day; hours holds the day's interactions per UTC hour (for heatmaps).
		inter := core.NewBaseCollection(collections.Interactions)
		inter.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "day", Required: true, Max: 10, Pattern: `^\d{4}-\d{2}-\d{2}$`},
			&core.NumberField{Name: "message", OnlyInt: true},
			&core.NumberField{Name: "comment", OnlyInt: true},
			&core.NumberField{Name: "story_reply", OnlyInt: true},
			&core.NumberField{Name: "story_mention", OnlyInt: true},
			&core.NumberField{Name: "click", OnlyInt: true},
			&core.NumberField{Name: "qr_scan", OnlyInt: true},
			&core.NumberField{Name: "booking", OnlyInt: true},
			&core.NumberField{Name: "total", OnlyInt: true},
			&core.JSONField{Name: "hours", MaxSize: 1 << 10},
		)
		withTimestamps(inter)
		inter.AddIndex("idx_interactions_contact_day", true, "contact, day", "")
		inter.AddIndex("idx_interactions_workspace_day", false, "workspace, day", "")
		withRules(inter, collections.MemberReadOnly())
		if err := app.Save(inter); err != nil {
			return err
		}

		snaps := core.NewBaseCollection(collections.ContactSnapshots)
		snaps.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "day", Required: true, Max: 10, Pattern: `^\d{4}-\d{2}-\d{2}$`},
			&core.JSONField{Name: "diff", MaxSize: 512 << 10},
			&core.DateField{Name: "taken_at"},
		)
		withTimestamps(snaps)
		snaps.AddIndex("idx_contact_snapshots_contact_day", true, "contact, day", "")
		snaps.AddIndex("idx_contact_snapshots_workspace_day", false, "workspace, day", "")
		withRules(snaps, collections.MemberReadOnly())
		if err := app.Save(snaps); err != nil {
			return err
		}

		templates := core.NewBaseCollection(collections.MessageTemplates)
		templates.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.TextField{Name: "category", Max: 50},
			&core.TextField{Name: "body", Required: true, Max: 2000},
		)
		withTimestamps(templates)
		templates.AddIndex("idx_message_templates_workspace_name", true, "workspace, name", "")
		templates.AddIndex("idx_message_templates_workspace_category", false, "workspace, category", "")
		withRules(templates, collections.WorkspaceData(collections.RoleManager))
		if err := app.Save(templates); err != nil {
			return err
		}

		rules := core.NewBaseCollection(collections.AutoReplyRules)
		rules.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.SelectField{Name: "match", Required: true, MaxSelect: 1, Values: []string{"keyword", "contains", "regex"}},
			&core.TextField{Name: "pattern", Required: true, Max: 1000},
			&core.NumberField{Name: "priority", OnlyInt: true},
			&core.BoolField{Name: "enabled"},
			&core.JSONField{Name: "conditions", MaxSize: 16 << 10},
			&core.JSONField{Name: "actions", Required: true, MaxSize: 16 << 10},
		)
		withTimestamps(rules)
		rules.AddIndex("idx_auto_reply_rules_workspace_priority", false, "workspace, priority", "")
		withRules(rules, collections.WorkspaceData(collections.RoleManager))
		if err := app.Save(rules); err != nil {
			return err
		}

		saved := core.NewBaseCollection(collections.SavedSearches)
		saved.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "user", CollectionId: users.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.JSONField{Name: "query", MaxSize: 8 << 10},
		)
		withTimestamps(saved)
		saved.AddIndex("idx_saved_searches_user_name", true, "user, name", "")
		withRules(saved, collections.OwnRows())
		if err := app.Save(saved); err != nil {
			return err
		}

		// Search side tables, written by the contacts hooks in the same transaction as each contact.
		for _, stmt := range []string{
			`CREATE TABLE contacts_fts_map (rid INTEGER PRIMARY KEY AUTOINCREMENT, contact TEXT NOT NULL UNIQUE)`,
			`CREATE VIRTUAL TABLE contacts_fts USING fts5(ws, name, ig_username, email, phone, phone_digits,
				tokenize = "unicode61 remove_diacritics 2")`,
			`CREATE TABLE contact_attrs (contact TEXT NOT NULL, workspace TEXT NOT NULL, kind TEXT NOT NULL,
				name TEXT NOT NULL, value TEXT NOT NULL DEFAULT '')`,
			`CREATE INDEX idx_contact_attrs_lookup ON contact_attrs (workspace, kind, name, value, contact)`,
			`CREATE INDEX idx_contact_attrs_contact ON contact_attrs (contact)`,
		} {
			if _, err := app.DB().NewQuery(stmt).Execute(); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}
