package jobs_test

import (
	"errors"
	"testing"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/pocketbase/core"
)

// Tools and helpers are cached per workspace; every way of changing one must show at once.
func TestBookingToolsAndHelpersFollowEveryChange(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	tool, err := app.FindRecordById(collections.Tools, w.AcmeBookingTool)
	if err != nil {
		t.Fatal(err)
	}
	helpers, err := app.FindCollectionByNameOrId(collections.Helpers)
	if err != nil {
		t.Fatal(err)
	}
	ana := core.NewRecord(helpers)
	ana.Load(map[string]any{"workspace": w.Acme, "name": "Ana", "timezone": "Europe/Berlin", "active": true, "tools": []string{tool.Id}})
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	name := func(a core.App) string {
		tools, err := jobs.LoadTools(a, w.Acme)
		if err != nil {
			t.Fatal(err)
		}
		return tools[tool.Id].Name
	}
	zone := func(a core.App) string {
		hs, _, err := jobs.LoadHelpers(a, w.Acme, []string{ana.Id})
		if err != nil {
			t.Fatal(err)
		}
		return hs[ana.Id].Location.String()
	}
	if name(app) != "Acme Booking" || zone(app) != "Europe/Berlin" {
		t.Fatalf("first read: %q %q", name(app), zone(app))
	}

	tool.Set("name", "Haircuts")
	ana.Set("timezone", "America/New_York")
	if err := app.Save(tool); err != nil {
		t.Fatal(err)
	}
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	if name(app) != "Haircuts" || zone(app) != "America/New_York" {
		t.Fatalf("after saving: %q %q", name(app), zone(app))
	}

	// A transaction reads its own change; a rolled-back change leaves no trace.
	rollback := errors.New("rollback")
	err = app.RunInTransaction(func(tx core.App) error {
		tool.Set("name", "Uncommitted")
		if err := tx.Save(tool); err != nil {
			return err
		}
		if got := name(tx); got != "Uncommitted" {
			t.Errorf("inside the transaction: %q", got)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if got := name(app); got != "Haircuts" {
		t.Fatalf("after the rollback: %q", got)
	}

	if err := app.Delete(ana); err != nil {
		t.Fatal(err)
	}
	if hs, _, _ := jobs.LoadHelpers(app, w.Acme, nil); len(hs) != 0 {
		t.Fatalf("a deleted helper is still served: %v", hs)
	}
}
