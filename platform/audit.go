package platform

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
)

// Audit appends one audit_log row with app, which should be the caller's transaction so the row commits or
// rolls back with the change it describes. before and after are short summaries, never secrets.
func Audit(app core.App, a Actor, workspace, action, targetCollection, targetID string, before, after any) error {
	coll, err := app.FindCachedCollectionByNameOrId(collections.AuditLog)
	if err != nil {
		return err
	}
	r := core.NewRecord(coll)
	if workspace == "" {
		workspace = a.Workspace
	}
	r.Set("workspace", workspace)
	r.Set("actor_type", a.Type)
	r.Set("actor_id", a.ID)
	r.Set("actor_label", a.Label)
	r.Set("action", action)
	r.Set("target_collection", targetCollection)
	r.Set("target_id", targetID)
	r.Set("ip", a.IP)
	r.Set("user_agent", truncate(a.UserAgent, 512))
	if before != nil {
		r.Set("before", before)
	}
	if after != nil {
		r.Set("after", after)
	}
	return app.Save(r)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
