package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	m.Register(func(app core.App) error {
		workspaces := core.NewBaseCollection(collections.Workspaces)
		workspaces.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.TextField{Name: "slug", Required: true, Min: 2, Max: 48, Pattern: `^[a-z0-9][a-z0-9-]*[a-z0-9]$`},
			&core.TextField{Name: "timezone", Required: true, Max: 64},
			&core.JSONField{Name: "branding", MaxSize: 16 << 10},
			&core.FileField{Name: "logo", MaxSelect: 1, MaxSize: 2 << 20, MimeTypes: []string{"image/png", "image/jpeg", "image/svg+xml", "image/webp"}},
			// settings holds non-secret integration settings; secrets holds sealed ones and is never shown.
			&core.JSONField{Name: "settings", MaxSize: 64 << 10},
			&core.TextField{Name: "secrets", Hidden: true, Max: 64 << 10},
		)
		withTimestamps(workspaces)
		workspaces.AddIndex("idx_workspaces_slug", true, "slug", "")
		memberOfIt := "@request.auth.collectionName = 'users' && id = @request.auth.workspace"
		workspaces.ListRule = &memberOfIt
		workspaces.ViewRule = &memberOfIt
		adminOfIt := memberOfIt + " && (@request.auth.role = 'owner' || @request.auth.role = 'admin')"
		workspaces.UpdateRule = &adminOfIt
		ownerOfIt := memberOfIt + " && @request.auth.role = 'owner'"
		workspaces.DeleteRule = &ownerOfIt
		if err := app.Save(workspaces); err != nil {
			return err
		}

		users, err := app.FindCollectionByNameOrId(collections.Users)
		if err != nil {
			return err
		}
		users.Fields.Add(
			workspaceField(workspaces.Id),
			&core.SelectField{Name: "role", Required: true, MaxSelect: 1, Values: collections.Roles},
			&core.BoolField{Name: "mfa_enabled"},
		)
		users.AddIndex("idx_users_workspace", false, "workspace", "")
		sameWorkspace := "@request.auth.collectionName = 'users' && workspace = @request.auth.workspace"
		users.ListRule = &sameWorkspace
		users.ViewRule = &sameWorkspace
		// Anyone may sign up (a hook gives them a new workspace); a signed-in admin creates members of their own
		// workspace (the same hook pins workspace and refuses roles above the creator's).
		signUpOrInvite := `@request.auth.id = "" || (@request.auth.collectionName = 'users' && (@request.auth.role = 'owner' || @request.auth.role = 'admin'))`
		users.CreateRule = &signUpOrInvite
		// Members edit their own profile but not their role or workspace; admins edit members' roles; only an
		// owner hands out or takes away ownership.
		update := sameWorkspace + ` && @request.body.workspace:isset = false && (` +
			`(id = @request.auth.id && @request.body.role:isset = false) || ` +
			`((@request.auth.role = 'owner' || @request.auth.role = 'admin') && role != 'owner' && @request.body.role != 'owner') || ` +
			`@request.auth.role = 'owner')`
		users.UpdateRule = &update
		remove := sameWorkspace + ` && id != @request.auth.id && (@request.auth.role = 'owner' || (@request.auth.role = 'admin' && role != 'owner'))`
		users.DeleteRule = &remove
		users.OTP.Enabled = true
		users.OTP.Length = 6
		users.OTP.Duration = 600
		users.MFA.Enabled = true
		users.MFA.Duration = 1800
		// MFA only for members who turned it on, so a plain password sign-in keeps working for everyone else.
		users.MFA.Rule = "mfa_enabled = true"
		if err := app.Save(users); err != nil {
			return err
		}

		tools := core.NewBaseCollection(collections.Tools)
		tools.Fields.Add(
			workspaceField(workspaces.Id),
			&core.SelectField{Name: "type", Required: true, MaxSelect: 1, Values: toolconfig.Types},
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.TextField{Name: "slug", Required: true, Min: 1, Max: 48, Pattern: `^[a-z0-9][a-z0-9-]*$`},
			&core.BoolField{Name: "enabled"},
			&core.JSONField{Name: "config", MaxSize: 256 << 10},
			&core.NumberField{Name: "version", OnlyInt: true, Min: ptrFloat(0)},
			&core.FileField{Name: "logo", MaxSelect: 1, MaxSize: 1 << 20, MimeTypes: []string{"image/png", "image/jpeg"}},
			&core.TextField{Name: "secrets", Hidden: true, Max: 16 << 10},
		)
		withTimestamps(tools)
		tools.AddIndex("idx_tools_workspace_slug", true, "workspace, slug", "")
		tools.AddIndex("idx_tools_workspace_type", false, "workspace, type", "")
		withRules(tools, collections.WorkspaceData(collections.RoleAdmin))
		if err := app.Save(tools); err != nil {
			return err
		}

		versions := core.NewBaseCollection(collections.ToolVersions)
		versions.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "tool", CollectionId: tools.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.NumberField{Name: "version", OnlyInt: true, Required: true, Min: ptrFloat(1)},
			&core.JSONField{Name: "config", MaxSize: 256 << 10},
			&core.TextField{Name: "author", Max: 200},
			&core.TextField{Name: "note", Max: 200},
		)
		withTimestamps(versions)
		versions.AddIndex("idx_tool_versions_tool_version", true, "tool, version", "")
		withRules(versions, collections.MemberReadOnly())
		if err := app.Save(versions); err != nil {
			return err
		}

		keys := core.NewBaseCollection(collections.APIKeys)
		keys.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.TextField{Name: "prefix", Required: true, Max: 16},
			&core.TextField{Name: "hash", Required: true, Hidden: true, Max: 64},
			&core.TextField{Name: "previous_hash", Hidden: true, Max: 64},
			&core.DateField{Name: "previous_expires_at"},
			&core.SelectField{Name: "scopes", Required: true, MaxSelect: len(apikey.AllScopes), Values: apikey.AllScopes},
			&core.RelationField{Name: "tool", CollectionId: tools.Id, MaxSelect: 1, CascadeDelete: true},
			&core.JSONField{Name: "allow_ips", MaxSize: 8 << 10},
			&core.DateField{Name: "expires_at"},
			&core.BoolField{Name: "revoked"},
			&core.DateField{Name: "revoked_at"},
			&core.DateField{Name: "last_used_at"},
			&core.TextField{Name: "created_by", Max: 200},
			&core.JSONField{Name: "options", MaxSize: 8 << 10},
		)
		withTimestamps(keys)
		keys.AddIndex("idx_api_keys_hash", true, "hash", "")
		keys.AddIndex("idx_api_keys_previous_hash", false, "previous_hash", "previous_hash != ''")
		keys.AddIndex("idx_api_keys_workspace", false, "workspace, created", "")
		withRules(keys, collections.AdminReadOnly())
		if err := app.Save(keys); err != nil {
			return err
		}

		usage := core.NewBaseCollection(collections.APIKeyUsage)
		usage.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "key", CollectionId: keys.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "day", Required: true, Pattern: `^\d{4}-\d{2}-\d{2}$`},
			&core.NumberField{Name: "count", OnlyInt: true},
		)
		withTimestamps(usage)
		usage.AddIndex("idx_api_key_usage_key_day", true, "key, day", "")
		withRules(usage, collections.AdminReadOnly())
		if err := app.Save(usage); err != nil {
			return err
		}

		// Append-only logs keep the workspace as plain text: they must outlive what they describe.
		audit := core.NewBaseCollection(collections.AuditLog)
		audit.Fields.Add(
			&core.TextField{Name: "workspace", Max: 32},
			&core.SelectField{Name: "actor_type", Required: true, MaxSelect: 1, Values: []string{"user", "key", "superuser", "system"}},
			&core.TextField{Name: "actor_id", Max: 64},
			&core.TextField{Name: "actor_label", Max: 200},
			&core.TextField{Name: "action", Required: true, Max: 64},
			&core.TextField{Name: "target_collection", Max: 64},
			&core.TextField{Name: "target_id", Max: 64},
			&core.TextField{Name: "ip", Max: 64},
			&core.TextField{Name: "user_agent", Max: 512},
			&core.JSONField{Name: "before", MaxSize: 64 << 10},
			&core.JSONField{Name: "after", MaxSize: 64 << 10},
		)
		withTimestamps(audit)
		audit.AddIndex("idx_audit_log_workspace_created", false, "workspace, created", "")
		audit.AddIndex("idx_audit_log_target", false, "target_collection, target_id", "")
		withRules(audit, collections.AdminReadOnly())
		if err := app.Save(audit); err != nil {
			return err
		}

		jobs := core.NewBaseCollection(collections.Jobs)
		jobs.Fields.Add(
			&core.TextField{Name: "workspace", Max: 32},
			&core.TextField{Name: "kind", Required: true, Max: 64},
			&core.JSONField{Name: "payload", MaxSize: 1 << 20},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"queued", "running", "done", "dead"}},
			&core.NumberField{Name: "attempts", OnlyInt: true},
			&core.NumberField{Name: "max_attempts", OnlyInt: true},
			&core.DateField{Name: "run_at", Required: true},
			&core.TextField{Name: "lease_owner", Max: 64},
			&core.DateField{Name: "lease_expires_at"},
			&core.TextField{Name: "last_error", Max: 4000},
			&core.JSONField{Name: "result", MaxSize: 64 << 10},
			&core.DateField{Name: "finished_at"},
			&core.TextField{Name: "unique_key", Max: 200},
		)
		withTimestamps(jobs)
		jobs.AddIndex("idx_jobs_due", false, "status, run_at", "")
		jobs.AddIndex("idx_jobs_lease", false, "status, lease_expires_at", "")
		jobs.AddIndex("idx_jobs_workspace_kind", false, "workspace, kind, created", "")
		jobs.AddIndex("idx_jobs_unique_key", true, "unique_key", "unique_key != '' AND status IN ('queued','running')")
		withRules(jobs, collections.AdminReadOnly())
		if err := app.Save(jobs); err != nil {
			return err
		}

		events := core.NewBaseCollection(collections.Events)
		events.Fields.Add(
			&core.TextField{Name: "workspace", Required: true, Max: 32},
			&core.TextField{Name: "type", Required: true, Max: 64, Pattern: `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`},
			&core.TextField{Name: "subject_collection", Max: 64},
			&core.TextField{Name: "subject_id", Max: 64},
			&core.TextField{Name: "contact", Max: 32},
			&core.TextField{Name: "actor", Max: 200},
			&core.JSONField{Name: "data", MaxSize: 256 << 10},
			// ts is unix milliseconds: integer comparisons keep analytics and the webhook cursor fast.
			&core.NumberField{Name: "ts", OnlyInt: true, Required: true},
		)
		withTimestamps(events)
		events.AddIndex("idx_events_workspace_type_ts", false, "workspace, type, ts", "")
		events.AddIndex("idx_events_workspace_contact_ts", false, "workspace, contact, ts", "")
		events.AddIndex("idx_events_workspace_ts", false, "workspace, ts", "")
		withRules(events, collections.MemberReadOnly())
		if err := app.Save(events); err != nil {
			return err
		}

		idem := core.NewBaseCollection(collections.IdempotencyKeys)
		idem.Fields.Add(
			&core.TextField{Name: "scope", Required: true, Max: 200},
			&core.TextField{Name: "key", Required: true, Max: 255},
			&core.TextField{Name: "request_hash", Required: true, Max: 64},
			&core.NumberField{Name: "status", OnlyInt: true},
			&core.JSONField{Name: "response", MaxSize: 1 << 20},
		)
		withTimestamps(idem)
		idem.AddIndex("idx_idempotency_scope_key", true, "scope, key", "")
		idem.AddIndex("idx_idempotency_created", false, "created", "")
		return app.Save(idem)
	}, nil)
}
