package webhooks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/dbx"
)

// An admin chooses a collection and actions; record changes through any save path then become events
// "<collection>.<action>" in the same transaction, and are delivered like domain events.
func TestRecordChangesOfChosenCollectionsBecomeEvents(t *testing.T) {
	w := newWorld(t, webhooks.Options{})
	rc := newReceiver(t, nil)
	ep, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"contacts.*"}, "filter": "data.record.name != 'quiet'"})

	for _, c := range []struct{ body, want string }{
		{`{"workspace":"` + w.w.Acme + `","collection":"events","actions":["created"]}`, "cannot be sent as webhooks"},
		{`{"workspace":"` + w.w.Acme + `","collection":"webhook_deliveries","actions":["created"]}`, "cannot be sent as webhooks"},
		{`{"workspace":"` + w.w.Acme + `","collection":"nope","actions":["created"]}`, "no collection"},
		{`{"workspace":"` + w.w.Acme + `","collection":"contacts","actions":["renamed"]}`, `"actions"`},
	} {
		if res := testutil.Do(w.h, "POST", "/api/collections/webhook_record_sources/records", c.body, w.w.Admin.Headers); res.Status != 400 || !contains(res.Body, c.want) {
			t.Errorf("source %s: %d %s", c.body, res.Status, res.Body)
		}
	}
	if res := testutil.Do(w.h, "POST", "/api/collections/webhook_record_sources/records",
		`{"workspace":"`+w.w.Acme+`","collection":"contacts","actions":["created"]}`, w.w.Manager.Headers); res.Status != 400 && res.Status != 403 {
		t.Fatalf("a manager chose a source: %d %s", res.Status, res.Body)
	}
	res := testutil.Do(w.h, "POST", "/api/collections/webhook_record_sources/records",
		`{"workspace":"`+w.w.Acme+`","collection":"contacts","actions":["created","updated"]}`, w.w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("source: %d %s", res.Status, res.Body)
	}

	res = testutil.Do(w.h, "POST", "/api/collections/contacts/records", `{"workspace":"`+w.w.Acme+`","name":"Ana","email":"ana@example.com"}`, w.w.Manager.Headers)
	if res.Status != 200 {
		t.Fatalf("contact: %d %s", res.Status, res.Body)
	}
	var contact map[string]any
	_ = json.Unmarshal([]byte(res.Body), &contact)
	id := contact["id"].(string)
	testutil.Do(w.h, "PATCH", "/api/collections/contacts/records/"+id, `{"name":"Ana Lima"}`, w.w.Manager.Headers)
	testutil.Do(w.h, "PATCH", "/api/collections/contacts/records/"+id, `{"name":"Ana Lima"}`, w.w.Manager.Headers) // no change, no event
	testutil.Do(w.h, "DELETE", "/api/collections/contacts/records/"+id, "", w.w.Manager.Headers)                   // deletes were not chosen
	testutil.Do(w.h, "POST", "/api/collections/contacts/records", `{"workspace":"`+w.w.Acme+`","name":"quiet"}`, w.w.Manager.Headers)
	testutil.Do(w.h, "POST", "/api/collections/contacts/records", `{"workspace":"`+w.w.Acme+`","subscriber_id":"not-digits"}`, w.w.Manager.Headers) // refused: no event
	testutil.Do(w.h, "POST", "/api/collections/contacts/records", `{"workspace":"`+w.w.Globex+`","name":"Gina"}`, w.w.GlobexOwner.Headers)          // Globex chose nothing

	evs, err := w.app.FindRecordsByFilter(collections.Events, "type ~ 'contacts.'", "ts,id", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].GetString("type") != "contacts.created" || evs[1].GetString("type") != "contacts.updated" ||
		evs[0].GetString("subject_id") != id || !contains(evs[0].GetString("actor"), "user:"+w.w.Manager.ID) {
		for _, e := range evs {
			t.Log(e.GetString("type"), e.GetString("data"))
		}
		t.Fatalf("record events: %d", len(evs))
	}
	if d := evs[1].GetString("data"); !contains(d, `"changed":["name"]`) || !contains(d, `"name":"Ana Lima"`) {
		t.Fatalf("update event data: %s", d)
	}
	w.runDue()
	hits := rc.got("")
	if len(hits) != 2 || len(w.deliveries(ep)) != 2 {
		t.Fatalf("the endpoint got %d requests (%d deliveries), want created and updated of Ana", len(hits), len(w.deliveries(ep)))
	}
	for _, h := range hits {
		if p := h.payload(t); p["data"].(map[string]any)["record"].(map[string]any)["id"] != id {
			t.Fatalf("payload %s", h.Body)
		}
	}

	// Removing the source stops the events at once.
	src, _ := w.app.FindFirstRecordByFilter(collections.WebhookRecordSources, "collection = 'contacts'")
	if res := testutil.Do(w.h, "DELETE", "/api/collections/webhook_record_sources/records/"+src.Id, "", w.w.Admin.Headers); res.Status != 204 {
		t.Fatalf("delete source: %d %s", res.Status, res.Body)
	}
	testutil.Do(w.h, "POST", "/api/collections/contacts/records", `{"workspace":"`+w.w.Acme+`","name":"Bo"}`, w.w.Manager.Headers)
	if n, _ := w.app.CountRecords(collections.Events, dbx.NewExp("type LIKE 'contacts.%'")); n != 3 {
		t.Fatalf("events after the source was removed: %d", n)
	}
}

// Stop lets requests finish until its context ends, then cancels them and hands their deliveries back
// without counting an attempt; the next run delivers them.
func TestStopHandsBackInterruptedDeliveries(t *testing.T) {
	w := newWorld(t, webhooks.Options{})
	rc := newReceiver(t, nil)
	rc.latency.Store(int64(2 * time.Second))
	ep, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"*"}})
	w.engine.Start()
	for i := 0; i < 3; i++ {
		w.emit(w.w.Acme, "qr.scanned", nil)
	}
	waitFor(t, "requests in flight", 5*time.Second, func() bool { return rc.inNow.Load() == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	w.engine.Stop(ctx)
	for _, d := range w.deliveries(ep) {
		if d.GetString("status") != "pending" || d.GetInt("attempts") != 0 || d.GetString("lease_owner") != "" || len(w.attempts(d.Id)) != 0 {
			t.Fatalf("after stop: %v", d.PublicExport())
		}
	}
	rc.latency.Store(int64(0))
	if n := w.runDue(); n != 3 {
		t.Fatalf("after restart: %d sent", n)
	}
}
