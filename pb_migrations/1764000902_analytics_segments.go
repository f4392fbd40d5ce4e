package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Analytics event segments: per workspace, event type and UTC day (days since 1970-01-01), the day's events
// with a contact in a compact form (internal/analytics.AppendSegment: contact number, time and rowid per
// event), which funnels and retention decode instead of reading one index row per event. upto is the largest
// events rowid in the segment, n its number of events. analytics_contacts numbers each workspace's contacts
// densely from 0 for them. The rollup job keeps both up to its own watermark (analytics_state
// 'seg_watermark'; 'seg_contacts:<workspace>' is the workspace's next contact number). Like the other
// analytics_* tables these are plain SQL tables, not collections, so no API serves them. Segments are a rowid
// table: they are blobs of kilobytes, too large for a WITHOUT ROWID b-tree.
func init() {
	const forgetState = `DELETE FROM analytics_state WHERE key = 'seg_watermark' OR key LIKE 'seg\_contacts:%' ESCAPE '\'`
	m.Register(func(app core.App) error {
		return execAll(app,
			`CREATE TABLE IF NOT EXISTS analytics_segments (
				workspace TEXT NOT NULL, type TEXT NOT NULL, day INTEGER NOT NULL, upto INTEGER NOT NULL, n INTEGER NOT NULL,
				data BLOB NOT NULL, PRIMARY KEY (workspace, type, day))`,
			`CREATE TABLE IF NOT EXISTS analytics_contacts (
				workspace TEXT NOT NULL, contact TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (workspace, contact)) WITHOUT ROWID`,
			// State left by an earlier install of these tables would claim segments that are not there.
			forgetState)
	}, func(app core.App) error {
		return execAll(app, `DROP TABLE IF EXISTS analytics_segments`, `DROP TABLE IF EXISTS analytics_contacts`, forgetState)
	})
}
