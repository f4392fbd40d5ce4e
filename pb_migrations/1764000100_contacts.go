package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// contacts mirrors a workspace's Manychat subscribers (and people who book or scan without Manychat). QR codes,
// bookings, verifications and conversations link to it.
func init() {
	m.Register(func(app core.App) error {
		workspaces, err := app.FindCollectionByNameOrId(collections.Workspaces)
		if err != nil {
			return err
		}
		c := core.NewBaseCollection(collections.Contacts)
		c.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "subscriber_id", Max: 32, Pattern: `^[0-9]*$`},
			&core.TextField{Name: "ig_username", Max: 64},
			&core.TextField{Name: "name", Max: 200, Presentable: true},
			&core.TextField{Name: "first_name", Max: 100},
			&core.TextField{Name: "last_name", Max: 100},
			&core.TextField{Name: "email", Max: 255},
			&core.TextField{Name: "phone", Max: 32},
			&core.TextField{Name: "timezone", Max: 64},
			&core.JSONField{Name: "tags", MaxSize: 64 << 10},
			&core.JSONField{Name: "custom_fields", MaxSize: 256 << 10},
			&core.JSONField{Name: "local_tags", MaxSize: 64 << 10},
			&core.TextField{Name: "notes", Max: 20_000},
			&core.DateField{Name: "last_interaction_at"},
			&core.NumberField{Name: "engagement_score"},
			&core.TextField{Name: "source", Max: 32},
		)
		withTimestamps(c)
		c.AddIndex("idx_contacts_workspace_subscriber", true, "workspace, subscriber_id", "subscriber_id != ''")
		c.AddIndex("idx_contacts_workspace_ig", false, "workspace, ig_username", "ig_username != ''")
		c.AddIndex("idx_contacts_workspace_email", false, "workspace, email", "email != ''")
		c.AddIndex("idx_contacts_workspace_last_interaction", false, "workspace, last_interaction_at", "")
		withRules(c, collections.WorkspaceData(collections.RoleManager))
		return app.Save(c)
	}, nil)
}
