package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/internal/webhook"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/dbx"
)

// A 503 with Retry-After schedules the retry within the schedule's [d, 2d] bounds (8 s after a first failure,
// whose scheduled delay is 5 s ± 20 %); the retry carries the same webhook-id, a new timestamp and a valid
// signature, and every attempt is logged with code, excerpt, duration and error.
func TestRetryHonoursRetryAfterWithTheSameWebhookID(t *testing.T) {
	w := newWorld(t, webhooks.Options{})
	rc := newReceiver(t, func(n int, r *http.Request, wr http.ResponseWriter) {
		if n == 0 {
			wr.Header().Set("Retry-After", "8")
			wr.WriteHeader(503)
			_, _ = wr.Write([]byte(strings.Repeat("busy ", 2000)))
			return
		}
		wr.WriteHeader(200)
		_, _ = wr.Write([]byte("ok"))
	})
	ep, secret := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"booking.created"}})
	w.emit(w.w.Acme, "booking.created", map[string]any{"id": "bk_1"})
	w.runDue()

	d := w.deliveries(ep)[0]
	wait := time.Duration(d.GetInt("next_at")-d.GetInt("last_attempt_at")) * time.Millisecond
	if d.GetString("status") != "pending" || d.GetInt("attempts") != 1 || wait != 8*time.Second || d.GetInt("last_code") != 503 {
		t.Fatalf("after a 503 with Retry-After 8: status %s attempts %d retry in %s code %d", d.GetString("status"), d.GetInt("attempts"), wait, d.GetInt("last_code"))
	}
	if n := w.runDue(); n != 0 {
		t.Fatalf("the retry went out %d times before it was due", n)
	}
	// Time passes.
	w.exec("UPDATE webhook_deliveries SET next_at = next_at - 8000 WHERE id = {:id}", map[string]any{"id": d.Id})
	w.engine.RecoverExpired()
	if n := w.runDue(); n != 1 {
		t.Fatalf("the due retry made %d requests", n)
	}
	hits := rc.got("")
	if len(hits) != 2 || hits[0].ID != hits[1].ID || hits[0].ID != webhooks.MessageID(d.GetString("event")) || string(hits[0].Body) != string(hits[1].Body) {
		t.Fatalf("the retry must repeat the webhook-id and body: %+v", hits)
	}
	for _, h := range hits {
		verify(t, h, secret)
	}
	d, _ = w.app.FindRecordById("webhook_deliveries", d.Id)
	if d.GetString("status") != "succeeded" || d.GetInt("attempts") != 2 {
		t.Fatalf("after the retry: %s, %d attempts", d.GetString("status"), d.GetInt("attempts"))
	}
	at := w.attempts(d.Id)
	if len(at) != 2 || at[0].GetString("status") != "failed" || at[0].GetInt("response_code") != 503 || len(at[0].GetString("response_body")) != webhooks.ResponseExcerpt ||
		at[0].GetString("error") != "HTTP 503" || at[1].GetString("status") != "succeeded" || at[1].GetString("response_body") != "ok" || at[1].GetInt("attempt") != 2 {
		t.Fatalf("attempt log: %v / %v", at[0].PublicExport(), at[1].PublicExport())
	}
}

// After the last attempt a delivery is dead; replaying it (one, or many by time and status) sends it again
// with the same webhook-id and a fresh retry budget.
func TestDeadDeliveriesAreReplayedWithTheSameWebhookID(t *testing.T) {
	w := newWorld(t, webhooks.Options{Schedule: webhook.Schedule{time.Millisecond, time.Millisecond}})
	var failing atomic.Bool
	failing.Store(true)
	rc := newReceiver(t, func(n int, r *http.Request, wr http.ResponseWriter) {
		if failing.Load() {
			wr.WriteHeader(500)
			return
		}
		wr.WriteHeader(204)
	})
	ep, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"*"}})
	start := time.Now().Add(-time.Second)
	w.emit(w.w.Acme, "contact.created", map[string]any{"id": "c1"})
	w.emit(w.w.Acme, "contact.created", map[string]any{"id": "c2"})
	for i := 0; i < 5; i++ {
		time.Sleep(3 * time.Millisecond)
		w.runDue()
	}
	ds := w.deliveries(ep)
	for _, d := range ds {
		if d.GetString("status") != "dead" || d.GetInt("attempts") != 3 {
			t.Fatalf("after the schedule: %s after %d attempts", d.GetString("status"), d.GetInt("attempts"))
		}
	}
	failing.Store(false)
	h := w.h
	if res := testutil.Do(h, "POST", "/api/v1/webhooks/deliveries/"+ds[0].Id+"/replay", "", w.w.Admin.Headers); res.Status != 200 || !contains(res.Body, webhooks.MessageID(ds[0].GetString("event"))) {
		t.Fatalf("replay: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "POST", "/api/v1/webhooks/deliveries/"+ds[0].Id+"/replay", "", w.w.Admin.Headers); res.Status != 400 {
		t.Fatalf("replaying a pending delivery again: %d %s", res.Status, res.Body)
	}
	w.runDue()
	hits := rc.got("")
	if last := hits[len(hits)-1]; last.ID != webhooks.MessageID(ds[0].GetString("event")) {
		t.Fatalf("replayed with id %s", last.ID)
	}
	res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+ep+"/replay", `{"since":"`+start.UTC().Format(time.RFC3339)+`","status":"dead"}`, w.w.Admin.Headers)
	if res.Status != 200 || !contains(res.Body, `"replayed":1`) {
		t.Fatalf("endpoint replay: %d %s", res.Status, res.Body)
	}
	w.runDue()
	ids := map[string]int{}
	for _, h := range rc.got("") {
		ids[h.ID]++
	}
	for _, d := range w.deliveries(ep) {
		if d.GetString("status") != "succeeded" || d.GetInt("attempts") != 4 || ids[webhooks.MessageID(d.GetString("event"))] != 4 {
			t.Fatalf("after replay: %s, %d attempts, %d requests", d.GetString("status"), d.GetInt("attempts"), ids[webhooks.MessageID(d.GetString("event"))])
		}
	}
	for _, c := range []struct{ body, field string }{
		{`{"since":"yesterday"}`, `"since"`},
		{`{"since":"2026-01-01T00:00:00Z","status":"pending"}`, `"status"`},
		{`{"since":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"}`, `"until"`},
	} {
		if res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+ep+"/replay", c.body, w.w.Admin.Headers); res.Status != 400 || !contains(res.Body, c.field) {
			t.Errorf("replay %s: %d %s", c.body, res.Status, res.Body)
		}
	}
	if res := testutil.Do(h, "POST", "/api/v1/webhooks/deliveries/"+ds[0].Id+"/replay", "", w.w.GlobexAdmin.Headers); res.Status != 404 {
		t.Fatalf("another workspace's delivery: %d", res.Status)
	}
	if n, _ := w.app.CountRecords(collections.AuditLog, dbx.HashExp{"action": "webhook_delivery.replayed"}); n != 1 {
		t.Fatalf("replay audit rows: %d", n)
	}
}

// A 410 disables the endpoint: its other pending deliveries and later events are kept as skipped, and its
// admins are emailed.
func TestGoneDisablesTheEndpointAndEmailsAdmins(t *testing.T) {
	w := newWorld(t, webhooks.Options{DefaultMaxInFlight: 1})
	rc := newReceiver(t, func(n int, r *http.Request, wr http.ResponseWriter) { wr.WriteHeader(410) })
	ep, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"*"}, "max_in_flight": 1})
	w.emit(w.w.Acme, "qr.scanned", nil)
	w.emit(w.w.Acme, "qr.scanned", nil)
	if _, err := w.engine.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := w.engine.DeliverDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	w.emit(w.w.Acme, "qr.scanned", nil)
	w.runDue()
	if got := len(rc.got("")); got != 1 {
		t.Fatalf("the receiver got %d requests after answering 410", got)
	}
	rec, _ := w.app.FindRecordById(collections.WebhookEndpoints, ep)
	if rec.GetBool("enabled") || !contains(rec.GetString("disabled_reason"), "410") || rec.GetDateTime("disabled_at").IsZero() {
		t.Fatalf("endpoint after 410: enabled %v reason %q", rec.GetBool("enabled"), rec.GetString("disabled_reason"))
	}
	statuses := map[string]int{}
	for _, d := range w.deliveries(ep) {
		statuses[d.GetString("status")]++
	}
	if statuses["dead"] != 1 || statuses["skipped"] != 2 {
		t.Fatalf("deliveries: %v", statuses)
	}
	checkDisabledMail(t, w, ep)
}

// An endpoint that keeps failing without a single success for DisableAfter is disabled, and its admins are
// emailed.
func TestEndpointFailingForDaysIsDisabled(t *testing.T) {
	w := newWorld(t, webhooks.Options{})
	rc := newReceiver(t, func(n int, r *http.Request, wr http.ResponseWriter) { wr.WriteHeader(500) })
	ep, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"*"}})
	w.emit(w.w.Acme, "qr.scanned", nil)
	w.runDue()
	rec, _ := w.app.FindRecordById(collections.WebhookEndpoints, ep)
	if !rec.GetBool("enabled") || rec.GetDateTime("failing_since").IsZero() {
		t.Fatalf("after one failure: enabled %v failing since %v", rec.GetBool("enabled"), rec.GetDateTime("failing_since"))
	}
	w.exec("UPDATE webhook_endpoints SET failing_since = {:t} WHERE id = {:id}", map[string]any{"id": ep,
		"t": time.Now().Add(-5*24*time.Hour - time.Minute).UTC().Format("2006-01-02 15:04:05.000Z")})
	w.engine.InvalidateEndpoints()
	w.emit(w.w.Acme, "qr.scanned", nil)
	w.runDue()
	rec, _ = w.app.FindRecordById(collections.WebhookEndpoints, ep)
	if rec.GetBool("enabled") || !contains(rec.GetString("disabled_reason"), "No delivery has succeeded since") {
		t.Fatalf("after 5 days of failures: enabled %v reason %q", rec.GetBool("enabled"), rec.GetString("disabled_reason"))
	}
	checkDisabledMail(t, w, ep)

	// Enabling it again clears the failure run; skipped deliveries can then be replayed.
	res := testutil.Do(w.h, "PATCH", "/api/collections/webhook_endpoints/records/"+ep, `{"enabled":true}`, w.w.Admin.Headers)
	if res.Status != 200 || !contains(res.Body, `"disabled_reason":""`) || !contains(res.Body, `"failing_since":""`) {
		t.Fatalf("re-enable: %d %s", res.Status, res.Body)
	}
}

func checkDisabledMail(t *testing.T, w *world, ep string) {
	t.Helper()
	if _, err := jobs.RunnerOf(w.app).RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range w.app.TestMailer.Messages() {
		if contains(m.Subject, "Webhook endpoint disabled") && contains(m.HTML, ep) {
			for _, a := range m.To {
				to = append(to, a.Address)
			}
		}
	}
	got := strings.Join(to, ",")
	if !contains(got, w.w.Owner.Email) || !contains(got, w.w.Admin.Email) || contains(got, w.w.Manager.Email) || contains(got, "globex") {
		t.Fatalf("disabled-endpoint mail went to %q", got)
	}
	if n, _ := w.app.CountRecords(collections.AuditLog, dbx.HashExp{"action": "webhook_endpoint.disabled", "target_id": ep}); n != 1 {
		t.Fatalf("disable audit rows: %d", n)
	}
}

// A process killed after sending but before recording: the claim's lease expires, another process sends the
// delivery again, with the same webhook-id, and nothing is lost.
func TestKilledWhileSendingIsSentAgainWithTheSameWebhookID(t *testing.T) {
	w := newWorld(t, webhooks.Options{Lease: 300 * time.Millisecond})
	rc := newReceiver(t, nil)
	ep, secret := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL, "events": []string{"*"}})
	for i := 0; i < 5; i++ {
		w.emit(w.w.Acme, "booking.created", map[string]any{"n": i})
	}
	webhooks.SetFault(w.engine, func(stage string) error {
		if stage == "record" {
			return errors.New("killed")
		}
		return nil
	})
	if _, err := w.engine.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := w.engine.DeliverDue(context.Background()); n != 5 || err == nil {
		t.Fatalf("first process: %d sent, %v", n, err)
	}
	for _, d := range w.deliveries(ep) {
		if d.GetString("status") != "sending" {
			t.Fatalf("a delivery of the killed process is %s", d.GetString("status"))
		}
	}

	// A new process starts with its own engine; before the lease expires it leaves the claims alone.
	next := newEngineFor(t, w, webhooks.Options{Lease: 300 * time.Millisecond})
	next.RecoverExpired()
	if n, _ := next.RunDue(context.Background()); n != 0 {
		t.Fatalf("a live lease was taken over: %d sent", n)
	}
	time.Sleep(350 * time.Millisecond)
	next.RecoverExpired()
	if n, err := next.RunDue(context.Background()); n != 5 || err != nil {
		t.Fatalf("after the lease expired: %d sent, %v", n, err)
	}
	perID := map[string]int{}
	for _, h := range rc.got("") {
		perID[h.ID]++
		verify(t, h, secret)
	}
	if len(perID) != 5 {
		t.Fatalf("distinct webhook-ids %d, want 5", len(perID))
	}
	for id, n := range perID {
		if n != 2 {
			t.Fatalf("%s was sent %d times, want 2 (once per process)", id, n)
		}
	}
	for _, d := range w.deliveries(ep) {
		if d.GetString("status") != "succeeded" || d.GetInt("attempts") != 1 {
			t.Fatalf("after recovery: %s after %d attempts", d.GetString("status"), d.GetInt("attempts"))
		}
	}
}
