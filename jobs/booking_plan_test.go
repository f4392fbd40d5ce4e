package jobs_test

import (
	"strings"
	"testing"

	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
)

// The bookings every slot search and booking reads come from one index, in its order: no table lookups per
// booking and no sort, so a 1,000-seat class costs a run of index entries.
func TestScheduleBookingsAreReadFromTheSlotIndex(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	for _, perSlot := range []bool{true, false} {
		params := dbx.Params{"p0": "h1", "p1": "h2", "from": "2026-01-01 00:00:00.000Z", "to": "2026-01-02 00:00:00.000Z", "ignore": ""}
		got := testutil.QueryPlan(t, app, jobs.BookingsSQL(2, perSlot), params)
		if !strings.Contains(got, "COVERING INDEX idx_bookings_helper_slot") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("per slot %v: %s", perSlot, got)
		}
	}
}
