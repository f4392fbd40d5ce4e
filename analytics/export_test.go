package analytics

import (
	"context"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// SQLCond exposes Filter.sqlCond to the tests.
func SQLCond(f Filter, params dbx.Params, name string) string { return f.sqlCond(params, name) }

// UseSegments switches the event segment readers on or off and returns the function that restores the setting.
func UseSegments(on bool) func() {
	old := segmentsOn
	segmentsOn = on
	return func() { segmentsOn = old }
}

// SegmentsFresh reports whether readers would use the segments now.
func SegmentsFresh(app core.App) bool { _, ok := segmentsFresh(app); return ok }

// RebuildSegmentsAhead rebuilds the segments of the events past the segments' watermark without moving it, as
// a job run that has not finished leaves them.
func RebuildSegmentsAhead(app core.App) (int, error) {
	run, err := buildSegments(context.Background(), app, false)
	return run.Segments, err
}
