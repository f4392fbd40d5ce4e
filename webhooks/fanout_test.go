package webhooks_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// One batch of events reaches exactly the endpoints whose event types (with wildcards) and filter select it,
// in its own workspace only; a disabled endpoint keeps its events as skipped deliveries.
func TestEventsReachEveryMatchingEndpointAndNoOther(t *testing.T) {
	w := newWorld(t, webhooks.Options{})
	rc := newReceiver(t, nil)
	admin, globex := w.w.Admin.Headers, w.w.GlobexAdmin.Headers
	bookings, bookingSecret := w.endpoint(admin, map[string]any{"url": rc.URL + "/bookings", "events": []string{"booking.*"}})
	created, _ := w.endpoint(admin, map[string]any{"url": rc.URL + "/created", "events": []string{"*.created"}})
	bigScans, scanSecret := w.endpoint(admin, map[string]any{"url": rc.URL + "/big-scans", "events": []string{"qr.scanned"}, "filter": "data.amount > 100 && data.tags ~ '\"vip\"'"})
	w.endpoint(globex, map[string]any{"url": rc.URL + "/globex", "events": []string{"*"}})
	off, _ := w.endpoint(admin, map[string]any{"url": rc.URL + "/off", "events": []string{"*"}, "enabled": false})

	acme, gx := w.w.Acme, w.w.Globex
	evBooking := w.emit(acme, "booking.created", map[string]any{"id": "bk_1", "amount": 50})
	evCancel := w.emit(acme, "booking.cancelled", map[string]any{"id": "bk_1"})
	evSlot := w.emit(acme, "booking.slot.released", map[string]any{"slot": "s1"})
	evBig := w.emit(acme, "qr.scanned", map[string]any{"amount": 150, "tags": []string{"new", "vip"}})
	w.emit(acme, "qr.scanned", map[string]any{"amount": 150, "tags": []string{"new"}})
	w.emit(acme, "qr.scanned", map[string]any{"amount": 10, "tags": []string{"vip"}})
	evContact := w.emit(acme, "contact.created", map[string]any{"id": "c1"})
	evGlobex := w.emit(gx, "booking.created", map[string]any{"id": "bk_g"})

	if n := w.runDue(); n != 7 {
		t.Fatalf("requests made = %d, want 7", n)
	}
	want := map[string][]string{
		"/bookings":  {evBooking.Id, evCancel.Id, evSlot.Id},
		"/created":   {evBooking.Id, evContact.Id},
		"/big-scans": {evBig.Id},
		"/globex":    {evGlobex.Id},
		"/off":       nil,
	}
	for path, ids := range want {
		var got []string
		for _, h := range rc.got(path) {
			got = append(got, strings.TrimPrefix(h.ID, "msg_"))
		}
		sort.Strings(got)
		sort.Strings(ids)
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("%s received %v, want %v", path, got, ids)
		}
	}

	var first hit
	for _, h := range rc.got("/bookings") {
		if h.ID == webhooks.MessageID(evBooking.Id) {
			first = h
		}
	}
	verify(t, first, bookingSecret)
	verify(t, rc.got("/big-scans")[0], scanSecret)
	p := first.payload(t)
	if p["type"] != "booking.created" || p["data"].(map[string]any)["id"] != "bk_1" || !strings.HasSuffix(p["timestamp"].(string), "Z") {
		t.Fatalf("payload = %s", first.Body)
	}
	if first.ID != webhooks.MessageID(evBooking.Id) || first.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", first.Header)
	}

	for _, d := range w.deliveries(bookings) {
		if d.GetString("status") != "succeeded" || d.GetInt("attempts") != 1 {
			t.Errorf("delivery %s: %s after %d attempts", d.Id, d.GetString("status"), d.GetInt("attempts"))
		}
	}
	if len(w.deliveries(created)) != 2 || len(w.deliveries(bigScans)) != 1 {
		t.Fatalf("deliveries: created %d, big scans %d", len(w.deliveries(created)), len(w.deliveries(bigScans)))
	}
	skipped := w.deliveries(off)
	if len(skipped) != 7 || skipped[0].GetString("status") != "skipped" {
		t.Fatalf("a disabled endpoint keeps its events as skipped deliveries: %d", len(skipped))
	}
	if n := w.runDue(); n != 0 {
		t.Fatalf("a second run sent %d more requests", n)
	}
}

// A crash inside the fan-out transaction (here: an error just before the cursor moves) rolls the whole batch
// back; the next run creates every delivery exactly once.
func TestCrashDuringFanOutLosesAndDuplicatesNothing(t *testing.T) {
	w := newWorld(t, webhooks.Options{DispatchBatch: 3})
	rc := newReceiver(t, nil)
	ep, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"*"}})
	ep2, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL + "/2", "events": []string{"qr.*"}})
	for i := 0; i < 7; i++ {
		w.emit(w.w.Acme, "qr.scanned", map[string]any{"n": i})
	}
	crashes := 0
	webhooks.SetFault(w.engine, func(stage string) error {
		if stage == "dispatch" && crashes < 2 {
			crashes++
			return errors.New("killed")
		}
		return nil
	})
	for i := 0; i < 2; i++ {
		if _, err := w.engine.Dispatch(context.Background()); err == nil {
			t.Fatal("the fault did not abort the fan-out")
		}
		if n := len(w.deliveries(ep)); n != 0 {
			t.Fatalf("a rolled-back fan-out left %d deliveries", n)
		}
	}
	w.runDue()
	for _, id := range []string{ep, ep2} {
		ds := w.deliveries(id)
		seen := map[string]bool{}
		for _, d := range ds {
			if seen[d.GetString("event")] {
				t.Fatalf("event %s fanned out twice to %s", d.GetString("event"), id)
			}
			seen[d.GetString("event")] = true
		}
		if len(ds) != 7 {
			t.Fatalf("endpoint %s has %d deliveries, want 7", id, len(ds))
		}
	}
	if got := len(rc.got("")); got != 14 {
		t.Fatalf("receiver got %d requests, want 14", got)
	}
}

// The cursor remembers the last event it passed by id as well as rowid: if rowids were renumbered (a VACUUM
// may do that to a table without an INTEGER PRIMARY KEY), fan-out follows the event, so nothing is skipped
// or fanned out twice.
func TestFanOutCursorFollowsItsAnchorEvent(t *testing.T) {
	w := newWorld(t, webhooks.Options{})
	rc := newReceiver(t, nil)
	ep, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"*"}})
	for i := 0; i < 3; i++ {
		w.emit(w.w.Acme, "qr.scanned", map[string]any{"n": i})
	}
	w.runDue()
	w.exec("UPDATE webhook_state SET position = 1 WHERE name = 'events'", nil)
	w.emit(w.w.Acme, "qr.scanned", map[string]any{"n": 3})
	w.runDue()
	if got, n := len(rc.got("")), len(w.deliveries(ep)); got != 4 || n != 4 {
		t.Fatalf("requests %d, deliveries %d; want 4 and 4", got, n)
	}
	if n, err := w.engine.Backlog(); err != nil || n != 0 {
		t.Fatalf("backlog %d, %v", n, err)
	}
}

// Every commit that records events wakes the dispatcher, but under a stream of commits one fan-out takes the
// events of many: at most one starts per DispatchEvery.
func TestWakeUpsAreCoalescedIntoFewFanOuts(t *testing.T) {
	w := newWorld(t, webhooks.Options{DispatchEvery: 100 * time.Millisecond})
	w.exec("CREATE TABLE fanout_probe (position INTEGER)", nil)
	w.exec("CREATE TRIGGER fanout_probe_t AFTER UPDATE ON webhook_state BEGIN INSERT INTO fanout_probe VALUES (new.position); END", nil)
	w.engine.Start()
	defer w.engine.Stop(context.Background())
	var last *core.Record
	start := time.Now()
	for i := 0; i < 40; i++ {
		last = w.emit(w.w.Acme, "qr.scanned", map[string]any{"n": i})
		w.engine.WakeDispatch()
		time.Sleep(3 * time.Millisecond)
	}
	var lastRowid int64
	_ = w.app.DB().NewQuery("SELECT rowid FROM events WHERE id = {:id}").Bind(dbx.Params{"id": last.Id}).Row(&lastRowid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var pos int64
		_ = w.app.DB().NewQuery("SELECT position FROM webhook_state WHERE name = 'events'").Row(&pos)
		if pos == lastRowid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fan-out cursor stopped at %d, the last event is %d", pos, lastRowid)
		}
	}
	var fanOuts int
	_ = w.app.DB().NewQuery("SELECT count(*) FROM fanout_probe").Row(&fanOuts)
	// One fan-out per 100 ms over the emitting time, plus the first and the last.
	if limit := int(time.Since(start)/(100*time.Millisecond)) + 2; fanOuts > limit {
		t.Fatalf("%d fan-outs for 40 woken commits in %s, want at most %d", fanOuts, time.Since(start).Round(time.Millisecond), limit)
	}
}
