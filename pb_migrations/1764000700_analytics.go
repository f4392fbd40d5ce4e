package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Analytics: admin-defined metrics, reports and report schedules (collections), plus derived SQL tables of the
// analytics package: the daily rollup per workspace, type, local day and contact (and which contacts were active per local week
// and month), event counts per 15-minute
// slot (heatmaps), the rollup's state, and the cache of results for closed periods. A covering index on events (workspace, type, ts, contact) lets funnels,
// retention and unique-contact metrics read contacts without touching event rows.
func init() {
	m.Register(func(app core.App) error {
		workspaces, err := app.FindCollectionByNameOrId(collections.Workspaces)
		if err != nil {
			return err
		}
		metrics := core.NewBaseCollection(collections.Metrics)
		metrics.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.TextField{Name: "description", Max: 500},
			&core.JSONField{Name: "types", MaxSize: 8 << 10},
			&core.JSONField{Name: "filters", MaxSize: 16 << 10},
			&core.SelectField{Name: "aggregation", Required: true, MaxSelect: 1,
				Values: []string{"count", "unique_contacts", "sum", "avg", "median", "p90"}},
			&core.TextField{Name: "field", Max: 100, Pattern: `^$|^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`},
		)
		withTimestamps(metrics)
		metrics.AddIndex("idx_metrics_workspace_name", true, "workspace, name", "")
		withRules(metrics, collections.WorkspaceData(collections.RoleAdmin))
		if err := app.Save(metrics); err != nil {
			return err
		}

		reports := core.NewBaseCollection(collections.AnalyticsReports)
		reports.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.SelectField{Name: "period", Required: true, MaxSelect: 1,
				Values: []string{"last_7_days", "last_30_days", "last_90_days", "previous_week", "previous_month", "month_to_date"}},
			&core.JSONField{Name: "widgets", MaxSize: 64 << 10},
		)
		withTimestamps(reports)
		reports.AddIndex("idx_analytics_reports_workspace", false, "workspace, name", "")
		withRules(reports, collections.WorkspaceData(collections.RoleAdmin))
		if err := app.Save(reports); err != nil {
			return err
		}

		schedules := core.NewBaseCollection(collections.ReportSchedules)
		schedules.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "report", CollectionId: reports.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.SelectField{Name: "frequency", Required: true, MaxSelect: 1, Values: []string{"daily", "weekly", "monthly"}},
			&core.TextField{Name: "time", Required: true, Pattern: `^([01][0-9]|2[0-3]):[0-5][0-9]$`},
			&core.NumberField{Name: "weekday", OnlyInt: true, Min: ptrFloat(0), Max: ptrFloat(7)},
			&core.NumberField{Name: "day_of_month", OnlyInt: true, Min: ptrFloat(0), Max: ptrFloat(28)},
			&core.JSONField{Name: "recipients", MaxSize: 8 << 10},
			&core.SelectField{Name: "format", MaxSelect: 1, Values: []string{"pdf", "xlsx"}},
			&core.BoolField{Name: "enabled"},
			&core.DateField{Name: "next_run_at"},
			&core.DateField{Name: "last_sent_at"},
		)
		withTimestamps(schedules)
		schedules.AddIndex("idx_report_schedules_due", false, "enabled, next_run_at", "")
		schedules.AddIndex("idx_report_schedules_workspace", false, "workspace, report", "")
		withRules(schedules, collections.WorkspaceData(collections.RoleAdmin))
		if err := app.Save(schedules); err != nil {
			return err
		}

		events, err := app.FindCollectionByNameOrId(collections.Events)
		if err != nil {
			return err
		}
		events.AddIndex("idx_events_workspace_type_ts_contact", false, "workspace, type, ts, contact", "")
		// Purchase values (revenue, order value percentiles) are read from the index, not the rows.
		events.AddIndex("idx_events_workspace_type_ts_value", false, "workspace, type, ts, json_extract(data, '$.value')", "")
		if err := app.Save(events); err != nil {
			return err
		}
		for _, sql := range []string{
			`CREATE TABLE IF NOT EXISTS analytics_daily (
				workspace TEXT NOT NULL, type TEXT NOT NULL, day INTEGER NOT NULL, contact TEXT NOT NULL, n INTEGER NOT NULL,
				PRIMARY KEY (workspace, type, day, contact)) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS idx_analytics_daily_contact ON analytics_daily (workspace, type, contact, day)`,
			`CREATE TABLE IF NOT EXISTS analytics_periods (
				workspace TEXT NOT NULL, type TEXT NOT NULL, grain TEXT NOT NULL, period INTEGER NOT NULL, contact TEXT NOT NULL,
				PRIMARY KEY (workspace, type, grain, period, contact)) WITHOUT ROWID`,
			`CREATE TABLE IF NOT EXISTS analytics_slots (
				workspace TEXT NOT NULL, type TEXT NOT NULL, slot INTEGER NOT NULL, n INTEGER NOT NULL,
				PRIMARY KEY (workspace, type, slot)) WITHOUT ROWID`,
			`CREATE TABLE IF NOT EXISTS analytics_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
			`CREATE TABLE IF NOT EXISTS analytics_cache (
				workspace TEXT NOT NULL, key TEXT NOT NULL, hi INTEGER NOT NULL, seen_rowid INTEGER NOT NULL,
				body BLOB NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (workspace, key)) WITHOUT ROWID`,
		} {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, sql := range []string{
			`DROP TABLE IF EXISTS analytics_cache`, `DROP TABLE IF EXISTS analytics_state`,
			`DROP TABLE IF EXISTS analytics_daily`, `DROP TABLE IF EXISTS analytics_slots`, `DROP TABLE IF EXISTS analytics_periods`,
		} {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		if events, err := app.FindCollectionByNameOrId(collections.Events); err == nil {
			events.RemoveIndex("idx_events_workspace_type_ts_contact")
			events.RemoveIndex("idx_events_workspace_type_ts_value")
			if err := app.Save(events); err != nil {
				return err
			}
		}
		for _, name := range []string{collections.ReportSchedules, collections.AnalyticsReports, collections.Metrics} {
			if c, err := app.FindCollectionByNameOrId(name); err == nil {
				if err := app.Delete(c); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
