package analytics

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// cacheVersion is part of every cache key; bump it when a definition (a KPI, a rule) changes so answers
// stored by an older build are not served.
const cacheVersion = 1

// Cached answers a question about a closed period from analytics_cache, or computes and stores it. key names
// the question (kind and canonical parameters, zone included); hi is the latest instant (unix ms) the answer
// depends on. Answers reaching past now are never stored. The log is append-only, but events may be
// backfilled with a past time: a stored answer is used only if no event of the workspace with ts < hi arrived
// after it was computed (one probe over the rowids added since).
func Cached[T any](app core.App, workspace string, key any, hi int64, now time.Time, compute func() (T, error)) (T, bool, error) {
	raw, _ := json.Marshal([]any{cacheVersion, key})
	sum := sha256.Sum256(raw)
	k := hex.EncodeToString(sum[:16])
	closed := hi <= now.UnixMilli()
	var zero T
	if closed {
		var body []byte
		var seen int64
		err := app.DB().NewQuery("SELECT body, seen_rowid FROM analytics_cache WHERE workspace = {:ws} AND key = {:k}").
			Bind(dbx.Params{"ws": workspace, "k": k}).Row(&body, &seen)
		if err == nil {
			var late int
			var top int64
			_ = app.DB().NewQuery("SELECT coalesce(max(rowid), 0) FROM events").Row(&top)
			_ = app.DB().NewQuery("SELECT count(*) FROM (SELECT 1 FROM events NOT INDEXED WHERE rowid > {:seen} AND rowid <= {:top} AND workspace = {:ws} AND ts < {:hi} LIMIT 1)").
				Bind(dbx.Params{"seen": seen, "top": top, "ws": workspace, "hi": hi}).Row(&late)
			var v T
			if late == 0 && json.Unmarshal(body, &v) == nil {
				if top-seen > 10_000 { // still valid: later probes start from here
					_, _ = app.NonconcurrentDB().NewQuery("UPDATE analytics_cache SET seen_rowid = {:top} WHERE workspace = {:ws} AND key = {:k}").
						Bind(dbx.Params{"top": top, "ws": workspace, "k": k}).Execute()
				}
				return v, true, nil
			}
		}
	}
	var seen int64
	if closed {
		_ = app.DB().NewQuery("SELECT coalesce(max(rowid), 0) FROM events").Row(&seen)
	}
	v, err := compute()
	if err != nil || !closed {
		return v, false, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return zero, false, err
	}
	_, err = app.NonconcurrentDB().NewQuery(`INSERT INTO analytics_cache (workspace, key, hi, seen_rowid, body, created) VALUES ({:ws}, {:k}, {:hi}, {:seen}, {:body}, {:now})
		ON CONFLICT (workspace, key) DO UPDATE SET hi = excluded.hi, seen_rowid = excluded.seen_rowid, body = excluded.body, created = excluded.created`).
		Bind(dbx.Params{"ws": workspace, "k": k, "hi": hi, "seen": seen, "body": body, "now": now.UnixMilli()}).Execute()
	if err != nil {
		app.Logger().Warn("storing an analytics answer failed", "error", err)
	}
	return v, false, nil
}

// PruneCache drops answers not refreshed for 30 days.
func PruneCache(app core.App, now time.Time) error {
	_, err := app.NonconcurrentDB().NewQuery("DELETE FROM analytics_cache WHERE created < {:cut}").
		Bind(dbx.Params{"cut": now.Add(-30 * 24 * time.Hour).UnixMilli()}).Execute()
	return err
}
