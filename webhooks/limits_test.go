package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/webhooks"
)

// With the engine running, a rate limit of 5/s and an in-flight bound of 2 hold, and waiting for them never
// costs a retry attempt: every delivery succeeds on its first attempt.
func TestRateLimitAndInFlightAreRespectedWithoutBurningAttempts(t *testing.T) {
	w := newWorld(t, webhooks.Options{PollInterval: 50 * time.Millisecond})
	limited := newReceiver(t, nil)
	slow := newReceiver(t, nil)
	slow.latency.Store(int64(40 * time.Millisecond))
	rl, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": limited.URL, "events": []string{"qr.scanned"}, "rate_limit": 5})
	inf, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": slow.URL, "events": []string{"booking.created"}, "max_in_flight": 2})
	w.engine.Start()
	defer w.engine.Stop(context.Background())
	for i := 0; i < 12; i++ {
		w.emit(w.w.Acme, "qr.scanned", map[string]any{"n": i})
		w.emit(w.w.Acme, "booking.created", map[string]any{"n": i})
	}
	waitFor(t, "all deliveries", 10*time.Second, func() bool { return len(limited.got("")) == 12 && len(slow.got("")) == 12 })

	hits := limited.got("")
	sort.Slice(hits, func(i, j int) bool { return hits[i].At.Before(hits[j].At) })
	// A bucket of 5 tokens refilled at 5/s: at most 5 + 5·t requests arrive in any window of t seconds. One
	// request of slack absorbs arrival jitter on a busy machine (a late first arrival shortens every window).
	for i := range hits {
		for j := i; j < len(hits); j++ {
			window := hits[j].At.Sub(hits[i].At).Seconds()
			if n, allowed := j-i+1, 5+int(window*5)+1; n > allowed {
				t.Fatalf("%d requests arrived within %.2fs; a 5/s limit allows %d", n, window, allowed)
			}
		}
	}
	if span := hits[11].At.Sub(hits[0].At); span < 1200*time.Millisecond {
		t.Fatalf("12 requests at 5/s took only %s", span)
	}
	if m := slow.inMax.Load(); m != 2 {
		t.Fatalf("at most %d requests were in flight to the bounded endpoint, want exactly 2", m)
	}
	waitFor(t, "results recorded", 5*time.Second, func() bool {
		n, _ := w.app.CountRecords(collections.WebhookDeliveries, nil)
		s, _ := w.app.CountRecords(collections.WebhookDeliveries, dbxStatus("succeeded"))
		return n == 24 && s == 24
	})
	for _, ep := range []string{rl, inf} {
		for _, d := range w.deliveries(ep) {
			if d.GetInt("attempts") != 1 {
				t.Fatalf("delivery %s took %d attempts", d.Id, d.GetInt("attempts"))
			}
		}
	}
}

// The SSRF guard refuses private and metadata targets at dial time; the attempt says why.
func TestPrivateTargetsAreRefusedByTheGuard(t *testing.T) {
	w := newWorld(t, webhooks.Options{})
	private, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": "http://10.20.30.40:8080/hook", "events": []string{"*"}})
	metadata, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": "http://169.254.169.254/latest/meta-data", "events": []string{"*"}})
	w.emit(w.w.Acme, "qr.scanned", nil)
	w.runDue()
	for ep, want := range map[string]string{private: "blocked private address 10.20.30.40", metadata: "blocked cloud metadata address 169.254.169.254"} {
		d := w.deliveries(ep)[0]
		at := w.attempts(d.Id)
		if len(at) != 1 || !contains(at[0].GetString("error"), want) || d.GetString("status") != "pending" {
			t.Fatalf("%s: %s, attempts %v", ep, d.GetString("status"), at[0].PublicExport())
		}
	}
	for _, bad := range []string{"ftp://example.com/x", "http://user:pw@example.com/", "example.com/hook", ""} {
		res := testutil.Do(w.h, "POST", "/api/v1/webhooks/endpoints", fmt.Sprintf(`{"url":%q,"events":["*"]}`, bad), w.w.Admin.Headers)
		if res.Status != 400 || !contains(res.Body, `"url":{"code":"validation_`) {
			t.Errorf("url %q: %d %s", bad, res.Status, res.Body)
		}
	}
}

// Stats are SQL aggregates of exactly what was attempted: success rate, nearest-rank p50/p95 and an hourly
// histogram; other workspaces and other endpoints are not counted.
func TestStatsMatchWhatWasDelivered(t *testing.T) {
	w := newWorld(t, webhooks.Options{Schedule: []time.Duration{time.Hour}})
	rc := newReceiver(t, func(n int, r *http.Request, wr http.ResponseWriter) {
		if r.URL.Path == "/fail" {
			wr.WriteHeader(500)
			return
		}
		wr.WriteHeader(200)
	})
	ok, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL + "/ok", "events": []string{"qr.*"}})
	bad, _ := w.endpoint(w.w.Admin.Headers, map[string]any{"url": rc.URL + "/fail", "events": []string{"qr.scanned"}})
	w.endpoint(w.w.GlobexAdmin.Headers, map[string]any{"url": rc.URL + "/ok", "events": []string{"*"}})
	for i := 0; i < 3; i++ {
		w.emit(w.w.Acme, "qr.created", nil)
	}
	w.emit(w.w.Acme, "qr.scanned", nil)
	w.emit(w.w.Acme, "qr.scanned", nil)
	w.emit(w.w.Globex, "qr.scanned", nil)
	if n := w.runDue(); n != 8 {
		t.Fatalf("requests %d, want 8", n)
	}
	// Give the attempts known durations: ok endpoint 10..50 ms, failing endpoint 100 and 200 ms.
	for i, ms := range []int{10, 20, 30, 40, 50} {
		w.exec(fmt.Sprintf("UPDATE webhook_attempts SET duration_ms = %d WHERE id = (SELECT id FROM webhook_attempts WHERE endpoint = {:ep} ORDER BY id LIMIT 1 OFFSET %d)", ms, i), map[string]any{"ep": ok})
	}
	for i, ms := range []int{100, 200} {
		w.exec(fmt.Sprintf("UPDATE webhook_attempts SET duration_ms = %d WHERE id = (SELECT id FROM webhook_attempts WHERE endpoint = {:ep} ORDER BY id LIMIT 1 OFFSET %d)", ms, i), map[string]any{"ep": bad})
	}
	res := testutil.Do(w.h, "GET", "/api/v1/webhooks/stats", "", w.w.Viewer.Headers)
	for _, want := range []string{`"attempts":7`, `"succeeded":5`, `"failed":2`, `"success_rate":0.7143`, `"p50":40`, `"p95":200`, `"avg":64.29`,
		`"pending":2`, `"succeeded":5`} {
		if res.Status != 200 || !contains(res.Body, want) {
			t.Errorf("workspace stats lack %s: %d %s", want, res.Status, res.Body)
		}
	}
	res = testutil.Do(w.h, "GET", "/api/v1/webhooks/stats?endpoint="+bad, "", w.w.Admin.Headers)
	for _, want := range []string{`"attempts":2`, `"succeeded":0`, `"success_rate":0`, `"p50":100`, `"p95":200`} {
		if !contains(res.Body, want) {
			t.Errorf("endpoint stats lack %s: %s", want, res.Body)
		}
	}
	s, err := webhooks.ComputeStats(w.app, w.w.Acme, "", time.Now().Add(-3*time.Hour), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// The attempts were all made just now: one hourly bucket holds all 7 (which one depends on the minute the
	// test runs in, since the window ends a minute ahead).
	total, fullest := int64(0), int64(0)
	for _, h := range s.Hourly {
		total += h.Attempts
		fullest = max(fullest, h.Attempts)
	}
	if len(s.Hourly) < 3 || total != 7 || fullest != 7 {
		t.Fatalf("hourly histogram: %+v", s.Hourly)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if res := testutil.Do(w.h, "GET", "/api/v1/webhooks/stats?from="+future, "", w.w.Admin.Headers); res.Status != 400 || !contains(res.Body, `"to"`) {
		t.Errorf("from after to: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(w.h, "GET", "/api/v1/webhooks/stats?from=2020-01-01T00:00:00Z", "", w.w.Admin.Headers); res.Status != 400 || !contains(res.Body, `"from"`) {
		t.Errorf("a range over 31 days: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(w.h, "GET", "/api/v1/webhooks/stats?endpoint="+ok, "", w.w.GlobexAdmin.Headers); res.Status != 404 {
		t.Errorf("another workspace's endpoint: %d", res.Status)
	}
}
