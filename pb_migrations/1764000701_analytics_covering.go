package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Analytics reads events of a type in a time range. One covering index on (workspace, type, ts, contact, data)
// serves every such read from the index alone: funnels and unique contacts (contact), sums and percentiles of
// a data field and filters on any other data field (data), without a row lookup per event, which dominated
// filtered metrics (one random page per event). It replaces the three indexes that are its prefixes or a
// computed part of it: (workspace, type, ts), (workspace, type, ts, contact) and (workspace, type, ts,
// data.value), so an insert also updates two fewer indexes.
func init() {
	const covering = "idx_events_workspace_type_ts_contact_data"
	m.Register(func(app core.App) error {
		events, err := app.FindCollectionByNameOrId(collections.Events)
		if err != nil {
			return err
		}
		events.RemoveIndex("idx_events_workspace_type_ts")
		events.RemoveIndex("idx_events_workspace_type_ts_contact")
		events.RemoveIndex("idx_events_workspace_type_ts_value")
		events.AddIndex(covering, false, "workspace, type, ts, contact, data", "")
		if err := app.Save(events); err != nil {
			return err
		}
		// Statistics for the new index, so the planner does not prefer an analysed (workspace, ts) over it;
		// sampled, so this is quick on a large log.
		for _, sql := range []string{"PRAGMA analysis_limit = 2000", "ANALYZE events"} {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		events, err := app.FindCollectionByNameOrId(collections.Events)
		if err != nil {
			return err
		}
		events.RemoveIndex(covering)
		events.AddIndex("idx_events_workspace_type_ts", false, "workspace, type, ts", "")
		events.AddIndex("idx_events_workspace_type_ts_contact", false, "workspace, type, ts, contact", "")
		events.AddIndex("idx_events_workspace_type_ts_value", false, "workspace, type, ts, json_extract(data, '$.value')", "")
		return app.Save(events)
	})
}
