package exports_test

import (
	"os"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/exports"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestMain(m *testing.M) { os.Exit(testutil.Run(m)) }

func save(t *testing.T, app core.App, coll string, fields map[string]any) *core.Record {
	t.Helper()
	c, err := app.FindCollectionByNameOrId(coll)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(c)
	for k, v := range fields {
		r.Set(k, v)
	}
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func age(t *testing.T, app core.App, table, id string, when time.Time) {
	t.Helper()
	if _, err := app.DB().NewQuery("UPDATE " + table + " SET created = {:c} WHERE id = {:id}").
		Bind(dbx.Params{"c": when.UTC().Format("2006-01-02 15:04:05.000Z"), "id": id}).Execute(); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionDeletesAndAnonymisesOldRecordsExceptHeld(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	now := time.Now()
	old := now.AddDate(0, 0, -400)
	oldC := save(t, app, collections.Contacts, map[string]any{"workspace": w.Acme, "name": "Old Olga", "email": "olga@example.com"})
	heldC := save(t, app, collections.Contacts, map[string]any{"workspace": w.Acme, "name": "Held Hugo", "email": "hugo@example.com"})
	newC := save(t, app, collections.Contacts, map[string]any{"workspace": w.Acme, "name": "New Nina"})
	globexC := save(t, app, collections.Contacts, map[string]any{"workspace": w.Globex, "name": "Globex Gus"})
	for _, c := range []*core.Record{oldC, heldC, globexC} {
		age(t, app, "contacts", c.Id, old)
	}
	var scans []*core.Record
	for i := 0; i < 3; i++ {
		s := save(t, app, collections.QRScans, map[string]any{"workspace": w.Acme, "code": "X", "status": "not_found", "ip": "203.0.113.9"})
		age(t, app, "qr_scans", s.Id, old)
		scans = append(scans, s)
	}
	save(t, app, collections.LegalHolds, map[string]any{"workspace": w.Acme, "contact": heldC.Id, "reason": "litigation"})
	save(t, app, collections.LegalHolds, map[string]any{"workspace": w.Acme, "dataset": "qr_scans", "record": scans[0].Id, "reason": "fraud case"})
	save(t, app, collections.Retention, map[string]any{"workspace": w.Acme, "dataset": "contacts", "days": 365, "action": "anonymise"})
	save(t, app, collections.Retention, map[string]any{"workspace": w.Acme, "dataset": "qr_scans", "days": 90, "action": "delete"})

	counts, err := exports.ApplyRetention(app, now)
	if err != nil {
		t.Fatal(err)
	}
	if counts["contacts"] != 1 || counts["qr_scans"] != 2 {
		t.Fatalf("counts: %v", counts)
	}
	get := func(id string) *core.Record {
		r, err := app.FindRecordById(collections.Contacts, id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := get(oldC.Id); r.GetString("name") != "" || r.GetString("email") != "" {
		t.Fatalf("old contact not anonymised: %v", r.PublicExport())
	}
	if get(heldC.Id).GetString("email") != "hugo@example.com" || get(newC.Id).GetString("name") != "New Nina" || get(globexC.Id).GetString("name") != "Globex Gus" {
		t.Fatal("held, recent or other-workspace contacts were touched")
	}
	left, _ := app.FindAllRecords(collections.QRScans)
	if len(left) != 1 || left[0].Id != scans[0].Id {
		t.Fatalf("only the held scan stays: %d", len(left))
	}
	if n, _ := app.CountRecords(collections.AuditLog, dbx.HashExp{"action": "retention.applied"}); n != 2 {
		t.Fatalf("retention audited per policy: %d", n)
	}
	// A second night finds nothing more to do.
	if counts, _ := exports.ApplyRetention(app, now); counts["contacts"] != 0 || counts["qr_scans"] != 0 {
		t.Fatalf("second run: %v", counts)
	}
}
