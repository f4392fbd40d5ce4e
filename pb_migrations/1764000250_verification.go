package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	m.Register(func(app core.App) error {
		workspaces, err := app.FindCollectionByNameOrId(collections.Workspaces)
		if err != nil {
			return err
		}
		keys, err := app.FindCollectionByNameOrId(collections.APIKeys)
		if err != nil {
			return err
		}
		// A key's signing secret (whsec_…, sealed): partner requests signed with it, callbacks signed by it.
		keys.Fields.Add(
			&core.TextField{Name: "signing_secret", Hidden: true, Max: 512},
			&core.BoolField{Name: "require_signature"},
		)
		if err := app.Save(keys); err != nil {
			return err
		}
		tools, err := app.FindCollectionByNameOrId(collections.Tools)
		if err != nil {
			return err
		}
		contacts, err := app.FindCollectionByNameOrId(collections.Contacts)
		if err != nil {
			return err
		}

		v := core.NewBaseCollection(collections.Verifications)
		v.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "tool", CollectionId: tools.Id, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "key", Max: 32},
			// Only a MAC of the code is kept: the code is shown once, to the website that asked for it.
			&core.TextField{Name: "code_hash", Required: true, Hidden: true, Max: 64},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"pending", "verified", "failed", "expired"}},
			&core.TextField{Name: "ig_username", Max: 30},
			&core.TextField{Name: "verified_username", Max: 30},
			&core.TextField{Name: "subscriber_id", Max: 32},
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, MaxSelect: 1},
			&core.URLField{Name: "callback_url"},
			&core.JSONField{Name: "metadata", MaxSize: 8 << 10},
			&core.DateField{Name: "expires_at", Required: true},
			&core.DateField{Name: "completed_at"},
			&core.NumberField{Name: "attempts", OnlyInt: true},
			&core.TextField{Name: "failure_reason", Max: 64},
			&core.TextField{Name: "ip", Max: 64},
		)
		withTimestamps(v)
		v.AddIndex("idx_verifications_workspace_code", false, "workspace, code_hash", "")
		v.AddIndex("idx_verifications_workspace_created", false, "workspace, created", "")
		v.AddIndex("idx_verifications_key_created", false, "key, created", "")
		v.AddIndex("idx_verifications_pending_expiry", false, "status, expires_at", "status = 'pending'")
		withRules(v, collections.MemberReadOnly())
		if err := app.Save(v); err != nil {
			return err
		}

		a := core.NewBaseCollection(collections.VerificationAttempts)
		a.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "verification", Max: 32},
			&core.TextField{Name: "subscriber_id", Max: 32},
			&core.TextField{Name: "ig_username", Max: 30},
			&core.TextField{Name: "ip", Max: 64},
			&core.BoolField{Name: "ok"},
			&core.TextField{Name: "reason", Max: 64},
		)
		withTimestamps(a)
		a.AddIndex("idx_verification_attempts_subscriber", false, "workspace, subscriber_id, created", "")
		a.AddIndex("idx_verification_attempts_ip", false, "workspace, ip, created", "")
		withRules(a, collections.AdminReadOnly())
		return app.Save(a)
	}, nil)
}
