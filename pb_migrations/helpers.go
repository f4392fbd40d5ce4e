// Package migrations holds Playgram's schema history as Go migrations. Files are append-only: a released
// migration is never edited; a change is a new file.
package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
)

func withTimestamps(c *core.Collection) {
	c.Fields.Add(
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
}

func withRules(c *core.Collection, r collections.Rules) {
	c.ListRule, c.ViewRule, c.CreateRule, c.UpdateRule, c.DeleteRule = r.List, r.View, r.Create, r.Update, r.Delete
}

// workspaceField links a domain record to its tenant; deleting a workspace deletes its records.
func workspaceField(workspacesID string) *core.RelationField {
	return &core.RelationField{Name: "workspace", CollectionId: workspacesID, Required: true, MaxSelect: 1, CascadeDelete: true}
}

func ptrFloat(f float64) *float64 { return &f }

// execAll runs SQL statements in order, stopping at the first error.
func execAll(app core.App, statements ...string) error {
	for _, sql := range statements {
		if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
			return err
		}
	}
	return nil
}
