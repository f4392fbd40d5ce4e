package webhooks

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// samples are payload data of each domain event type, shaped like the real ones, for endpoint tests when the
// workspace has no such event yet.
var samples = map[string]map[string]any{
	"qr.created": {"id": "qrc8f2k1m4n7p0q3", "tool": "tol4b7c9d2e5f8g1", "code": "PG-7KX2M9QD", "max_uses": 1, "uses": 0,
		"expires_at": "2026-12-31 23:59:59.000Z", "contact": "cnt1a2b3c4d5e6f7"},
	"qr.scanned": {"id": "qrc8f2k1m4n7p0q3", "code": "PG-7KX2M9QD", "scan": "scn9h8g7f6e5d4c3", "uses": 1, "max_uses": 1,
		"valid": true, "repeat": false, "scanned_by": "user:usr0a1b2c3d4e5f"},
	"booking.created": {"id": "bkg2c4e6g8i0k2m4", "tool": "tol4b7c9d2e5f8g1", "helper": "hlp1q2w3e4r5t6y7", "contact": "cnt1a2b3c4d5e6f7",
		"start": "2026-12-03 14:00:00.000Z", "end": "2026-12-03 14:30:00.000Z", "timezone": "Europe/Berlin", "status": "confirmed", "seats": 1},
	"booking.updated": {"id": "bkg2c4e6g8i0k2m4", "status": "confirmed", "start": "2026-12-03 15:00:00.000Z", "end": "2026-12-03 15:30:00.000Z",
		"changed": []string{"start", "end"}, "previous": map[string]any{"start": "2026-12-03 14:00:00.000Z", "end": "2026-12-03 14:30:00.000Z"}},
	"booking.cancelled": {"id": "bkg2c4e6g8i0k2m4", "status": "cancelled", "cancelled_by": "contact", "reason": "Can't make it",
		"start": "2026-12-03 14:00:00.000Z"},
	"contact.created": {"id": "cnt1a2b3c4d5e6f7", "subscriber_id": "1234567890", "ig_username": "ana.lima", "name": "Ana Lima",
		"email": "ana@example.com", "tags": []string{"new"}, "source": "manychat"},
	"contact.updated":   {"id": "cnt1a2b3c4d5e6f7", "changed": []string{"email"}, "email": "ana.lima@example.com"},
	"contact.tag_added": {"id": "cnt1a2b3c4d5e6f7", "subscriber_id": "1234567890", "tag": "vip"},
	"verification.completed": {"id": "vrf5t4r3e2w1q0p9", "tool": "tol7y6t5r4e3w2q1", "ig_username": "ana.lima", "contact": "cnt1a2b3c4d5e6f7",
		"verified_at": "2026-11-25 10:31:12.000Z"},
	"verification.failed": {"id": "vrf5t4r3e2w1q0p9", "tool": "tol7y6t5r4e3w2q1", "reason": "expired", "attempts": 5},
}

// SampleData returns data for a test delivery of eventType: the latest real event of that type in the workspace
// if there is one, else a built-in sample (record events "<collection>.<action>" get a record-shaped one).
func SampleData(app core.App, workspace, eventType string) (data any, ts time.Time, real bool) {
	var row struct {
		Data string `db:"data"`
		TS   int64  `db:"ts"`
	}
	err := app.DB().Select("data", "ts").From(collections.Events).
		Where(dbx.HashExp{"workspace": workspace, "type": eventType}).OrderBy("ts DESC").Limit(1).One(&row)
	if err == nil && strings.HasPrefix(strings.TrimSpace(row.Data), "{") {
		return json.RawMessage(row.Data), time.UnixMilli(row.TS), true
	}
	if s, ok := samples[eventType]; ok {
		return s, time.Now(), false
	}
	collection, action, _ := strings.Cut(eventType, ".")
	switch action {
	case "created", "updated", "deleted":
		d := map[string]any{"collection": collection, "record": map[string]any{"id": "rec0sample0000001", "workspace": workspace,
			"created": "2026-11-25 10:30:00.000Z", "updated": "2026-11-25 10:30:00.000Z"}}
		if action == "updated" {
			d["changed"] = []string{}
		}
		return d, time.Now(), false
	}
	return map[string]any{"id": "evt0sample0000001", "sample": true}, time.Now(), false
}
