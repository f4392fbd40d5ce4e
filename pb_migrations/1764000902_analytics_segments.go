package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Analytics event segments: per workspace, event type and UTC day (days since 1970-01-01), the day's events
// with a contact in a compact form (internal/analytics.AppendSegment: a contact table, then contact, time and
// rowid per event), which funnels and retention decode instead of reading one index row per event. upto is
// the largest events rowid in the segment, n its number of events. The rollup job keeps them up to its own
// watermark (analytics_state 'seg_watermark'); like the other analytics_* tables this is a plain SQL table,
// not a collection, so no API serves it. A rowid table: segments are blobs of kilobytes, too large for a
// WITHOUT ROWID b-tree.
func init() {
	m.Register(func(app core.App) error {
		for _, sql := range []string{
			`CREATE TABLE IF NOT EXISTS analytics_segments (
				workspace TEXT NOT NULL, type TEXT NOT NULL, day INTEGER NOT NULL, upto INTEGER NOT NULL, n INTEGER NOT NULL,
				data BLOB NOT NULL, PRIMARY KEY (workspace, type, day))`,
			// A watermark left by an earlier install of this table would claim segments that are not there.
			`DELETE FROM analytics_state WHERE key = 'seg_watermark'`,
		} {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, sql := range []string{`DROP TABLE IF EXISTS analytics_segments`, `DELETE FROM analytics_state WHERE key = 'seg_watermark'`} {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
}
