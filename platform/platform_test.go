package platform_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestKeyUsageIsCountedInMemoryAndFlushed(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)

	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			testutil.Do(h, "GET", "/api/v1/ping", "", testutil.Bearer(w.ManychatKey))
		}()
	}
	wg.Wait()
	if n, _ := app.CountRecords(collections.APIKeyUsage); n != 0 {
		t.Fatalf("usage was written per request (%d rows before a flush)", n)
	}
	// A clean shutdown flushes what was counted.
	if err := app.OnTerminate().Trigger(&core.TerminateEvent{App: app}, func(e *core.TerminateEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	row, err := app.FindFirstRecordByFilter(collections.APIKeyUsage, "key = {:k}", dbx.Params{"k": w.ManychatKeyID})
	if err != nil || row.GetInt("count") != 50 {
		t.Fatalf("usage after shutdown: %v %v", row, err)
	}
	for range 7 {
		testutil.Do(h, "GET", "/api/v1/ping", "", testutil.Bearer(w.ManychatKey))
	}
	svcKeys := svcOf(t, app)
	if err := svcKeys.Flush(app); err != nil {
		t.Fatal(err)
	}
	row, _ = app.FindRecordById(collections.APIKeyUsage, row.Id)
	if row.GetInt("count") != 57 {
		t.Fatalf("counts add up across flushes: %d", row.GetInt("count"))
	}
	key, _ := app.FindRecordById(collections.APIKeys, w.ManychatKeyID)
	if key.GetDateTime("last_used_at").IsZero() {
		t.Fatal("last_used_at not set")
	}
}

func svcOf(t testing.TB, app core.App) *platform.KeyAuth {
	t.Helper()
	k, ok := app.Store().Get(platform.KeyAuthStoreKey).(*platform.KeyAuth)
	if !ok {
		t.Fatal("no KeyAuth registered")
	}
	return k
}

func TestEventsCommitOrRollBackWithTheChange(t *testing.T) {
	app, _ := testutil.NewApp(t)
	ws := testutil.Workspace(t, app, "Events Inc")

	err := app.RunInTransaction(func(tx core.App) error {
		if _, err := platform.Emit(tx, platform.Event{Workspace: ws.Id, Type: "qr.scanned", Data: map[string]any{"code": "A"}}); err != nil {
			return err
		}
		return errors.New("the change failed")
	})
	if err == nil {
		t.Fatal("expected the transaction to fail")
	}
	if n, _ := app.CountRecords(collections.Events); n != 0 {
		t.Fatalf("a rolled-back change left %d events", n)
	}
	rec, err := platform.Emit(app, platform.Event{Workspace: ws.Id, Type: "booking.created", SubjectCollection: "bookings", SubjectID: "b1", Contact: "c1", Data: map[string]any{"x": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetInt("ts") == 0 || rec.GetString("type") != "booking.created" {
		t.Fatalf("event = %v", rec)
	}
	if _, err := platform.Emit(app, platform.Event{Workspace: ws.Id, Type: "Booking Created"}); err == nil {
		t.Fatal("event types must be lowercase a.b names")
	}
}

func TestAuditAndEventsAreAppendOnly(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	ev, err := platform.Emit(app, platform.Event{Workspace: w.Acme, Type: "qr.created"})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := app.FindFirstRecordByFilter(collections.AuditLog, "workspace = {:ws}", dbx.Params{"ws": w.Acme})
	if err != nil {
		t.Fatal(err)
	}
	h := testutil.Handler(t, app)
	for _, target := range []struct{ coll, id string }{{collections.Events, ev.Id}, {collections.AuditLog, audit.Id}} {
		for _, method := range []string{"POST", "PATCH", "DELETE"} {
			url := "/api/collections/" + target.coll + "/records/" + target.id
			if method == "POST" {
				url = "/api/collections/" + target.coll + "/records"
			}
			res := testutil.Do(h, method, url, `{"workspace":"`+w.Acme+`","type":"x.y","action":"x","actor_type":"system","ts":1}`, w.Superuser.Headers)
			if res.Status != 403 || !strings.Contains(res.Body, "append-only") {
				t.Errorf("superuser %s %s: %d %s", method, target.coll, res.Status, res.Body)
			}
		}
	}
	audit.Set("action", "rewritten")
	if err := app.Save(audit); err == nil {
		t.Fatal("audit rows must not change even through the model layer")
	}
}
