// Package analytics is Playgram's analytics engine on top of the events log: ingestion from outside, metric
// series (predefined KPIs and admin-defined metrics), funnels, retention, heatmaps and attribution, a daily
// rollup kept by a job, a cache of closed-period answers, and reports rendered to PDF and XLSX and emailed on
// schedules. The calendar, funnel, retention and attribution rules themselves live in internal/analytics.
package analytics

import (
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// PurchaseType is the event type of purchases; ingestion stores the bare "purchase" of shop integrations as it.
const PurchaseType = "purchase.completed"

// SpendType is the event type of campaign spend (data.campaign or data.channel, data.value) used for ROI.
const SpendType = "campaign.spend"

var zones sync.Map // name -> *time.Location

// loadZone is time.LoadLocation with a cache: zone files are parsed once.
func loadZone(name string) *time.Location {
	if name == "" {
		name = "UTC"
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	zones.Store(name, loc)
	return loc
}

// Location is the workspace's time zone (UTC when unset or unknown).
func Location(app core.App, workspace string) *time.Location {
	var tz string
	_ = app.DB().NewQuery("SELECT timezone FROM " + collections.Workspaces + " WHERE id = {:id}").
		Bind(dbx.Params{"id": workspace}).Row(&tz)
	return loadZone(tz)
}
