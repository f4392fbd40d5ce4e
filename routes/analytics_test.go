package routes_test

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/analytics"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

func newAnalyticsApp(t *testing.T) (*tests.TestApp, testutil.World, string, func(method, url, body string, headers map[string]string) testutil.Response) {
	t.Helper()
	app, w, do := newQRApp(t)
	ws, err := app.FindRecordById(collections.Workspaces, w.Acme)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := testutil.APIKey(t, app, ws, "events")
	return app, w, key, do
}

func emit(t *testing.T, app core.App, ws, typ, contact string, at time.Time, data map[string]any) {
	t.Helper()
	if _, err := platform.Emit(app, platform.Event{Workspace: ws, Type: typ, Contact: contact, At: at, Data: data}); err != nil {
		t.Fatal(err)
	}
}

func TestIngestEvents(t *testing.T) {
	app, w, key, do := newAnalyticsApp(t)
	auth := testutil.Bearer(key)

	res := do("POST", "/api/v1/events", `{"type":"purchase","subscriber_id":"555","at":"2026-01-10T10:00:00Z","data":{"value":12.5,"currency":"EUR"}}`, auth)
	if res.Status != 201 {
		t.Fatalf("single: %d %s", res.Status, res.Body)
	}
	ev, err := app.FindFirstRecordByFilter(collections.Events, "type = 'purchase.completed'")
	if err != nil || ev.GetString("workspace") != w.Acme || ev.GetInt("ts") != int(time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC).UnixMilli()) {
		t.Fatalf("stored event: %v %v", ev, err)
	}
	contact, err := app.FindFirstRecordByFilter(collections.Contacts, "subscriber_id = '555'")
	if err != nil || ev.GetString("contact") != contact.Id || contact.GetString("workspace") != w.Acme {
		t.Fatalf("subscriber not resolved to a contact: %v", err)
	}

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	res = do("POST", "/api/v1/events", `{"type":"shop.visit","subscriber_id":"555","at":"`+future+`"}`, auth)
	if res.Status != 400 || !strings.Contains(res.Body, `"at"`) {
		t.Fatalf("future event: %d %s", res.Status, res.Body)
	}

	batch := `{"events":[
		{"type":"shop.visit","contact":"` + contact.Id + `"},
		{"type":"Shop Visit","subscriber_id":"555"},
		{"type":"shop.cart","subscriber_id":"777","data":{"items":2}},
		{"type":"shop.cart","contact":"nosuchcontact00"},
		{"type":"shop.cart","subscriber_id":"555","data":[1]}]}`
	res = do("POST", "/api/v1/events", batch, auth)
	body := decodeBody(t, res.Body)
	if res.Status != 200 || body["accepted"] != 2.0 || body["rejected"] != 3.0 {
		t.Fatalf("batch: %d %s", res.Status, res.Body)
	}
	errs := body["errors"].([]any)
	want := []string{"type", "contact", "data"}
	for i, e := range errs {
		m := e.(map[string]any)
		if m["index"] != float64([]int{1, 3, 4}[i]) || m["errors"].(map[string]any)[want[i]] == nil {
			t.Fatalf("rejection %d: %v", i, m)
		}
	}
	if n, _ := app.CountRecords(collections.Events, dbx.HashExp{"workspace": w.Acme, "type": "shop.cart"}); n != 1 {
		t.Fatalf("good events of the batch kept: %d", n)
	}

	over := `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"type":"a.b","subscriber_id":"1"},`, 1001), ",") + `]}`
	if res = do("POST", "/api/v1/events", over, auth); res.Status != 400 || !strings.Contains(res.Body, `"events"`) {
		t.Fatalf("1001 events: %d", res.Status)
	}
	if res = do("POST", "/api/v1/events", `{"type":"a.b","subscriber_id":"1"}`, testutil.Bearer(w.ManychatKey)); res.Status != 403 {
		t.Fatalf("manychat key: %d", res.Status)
	}
	if res = do("POST", "/api/v1/events", `{"type":"a.b","subscriber_id":"1"}`, w.Admin.Headers); res.Status != 403 {
		t.Fatalf("member: %d", res.Status)
	}
	// A retried batch with the same Idempotency-Key is stored once.
	h := testutil.Bearer(key)
	h["Idempotency-Key"] = "batch-1"
	one := `{"events":[{"type":"shop.retry","subscriber_id":"9"}]}`
	do("POST", "/api/v1/events", one, h)
	if res = do("POST", "/api/v1/events", one, h); res.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("not replayed")
	}
	if n, _ := app.CountRecords(collections.Events, dbx.HashExp{"type": "shop.retry"}); n != 1 {
		t.Fatalf("retried batch stored %d times", n)
	}
}

func TestMetricSeriesInWorkspaceZone(t *testing.T) {
	app, w, _, do := newAnalyticsApp(t)
	// Acme is in Europe/Berlin; summer time starts on 2026-03-29.
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	emit(t, app, w.Acme, "qr.scanned", "c1", at("2026-03-27T22:30:00Z"), nil) // Mar 27, 23:30 local
	emit(t, app, w.Acme, "qr.scanned", "c1", at("2026-03-27T23:30:00Z"), nil) // Mar 28, 00:30 local
	emit(t, app, w.Acme, "qr.scanned", "c2", at("2026-03-29T21:59:00Z"), nil) // Mar 29, 23:59 CEST
	emit(t, app, w.Acme, "qr.scanned", "c2", at("2026-03-29T22:30:00Z"), nil) // Mar 30, 00:30 CEST
	emit(t, app, w.Globex, "qr.scanned", "g", at("2026-03-28T12:00:00Z"), nil)
	emit(t, app, w.Acme, analytics.PurchaseType, "c1", at("2026-03-28T12:00:00Z"), map[string]any{"value": 10, "channel": "ig"})
	emit(t, app, w.Acme, analytics.PurchaseType, "c2", at("2026-03-28T13:00:00Z"), map[string]any{"value": 30, "channel": "ig"})
	emit(t, app, w.Acme, analytics.PurchaseType, "c2", at("2026-03-28T14:00:00Z"), map[string]any{"value": 1000, "channel": "qr"})

	res := do("GET", "/api/v1/analytics/metrics/scans?from=2026-03-28&to=2026-03-30&interval=day&compare=previous", "", w.Viewer.Headers)
	if res.Status != 200 {
		t.Fatalf("scans: %d %s", res.Status, res.Body)
	}
	body := decodeBody(t, res.Body)
	pts := body["points"].([]any)
	got := []string{}
	for _, p := range pts {
		m := p.(map[string]any)
		got = append(got, fmt.Sprintf("%s=%v", m["start"], m["value"]))
	}
	want := "2026-03-28T00:00:00+01:00=1 2026-03-29T00:00:00+01:00=1 2026-03-30T00:00:00+02:00=1"
	if strings.Join(got, " ") != want || body["total"] != 3.0 || body["zone"] != "Europe/Berlin" {
		t.Fatalf("series %v total %v", got, body["total"])
	}
	prev := body["previous"].(map[string]any)
	if prev["total"] != 1.0 || body["change"] != 2.0 {
		t.Fatalf("previous period %v change %v", prev["total"], body["change"])
	}
	// Asked again, the closed period comes from the cache with the same answer.
	if again := do("GET", "/api/v1/analytics/metrics/scans?from=2026-03-28&to=2026-03-30&interval=day&compare=previous", "", w.Viewer.Headers); !reflect.DeepEqual(decodeBody(t, again.Body), body) {
		t.Fatalf("cached answer differs:\n%s\n%s", again.Body, res.Body)
	}
	// A backfilled event inside the cached period is seen.
	emit(t, app, w.Acme, "qr.scanned", "c3", at("2026-03-28T10:00:00Z"), nil)
	res = do("GET", "/api/v1/analytics/metrics/scans?from=2026-03-28&to=2026-03-30&interval=day", "", w.Viewer.Headers)
	if decodeBody(t, res.Body)["total"] != 4.0 {
		t.Fatalf("backfill not seen: %s", res.Body)
	}

	// An admin defines a p90 of purchase values on one channel; viewers read it but cannot define one.
	metric := `{"workspace":"` + w.Acme + `","name":"Instagram order p90","types":["purchase.completed"],"aggregation":"p90","field":"value","filters":[{"field":"channel","op":"eq","value":"ig"}]}`
	if res = do("POST", "/api/collections/metrics/records", metric, w.Viewer.Headers); res.Status == 200 {
		t.Fatal("a viewer defined a metric")
	}
	if res = do("POST", "/api/collections/metrics/records", strings.Replace(metric, `"aggregation":"p90","field":"value"`, `"aggregation":"sum","field":""`, 1), w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, `"field"`) {
		t.Fatalf("sum without a field: %d %s", res.Status, res.Body)
	}
	res = do("POST", "/api/collections/metrics/records", metric, w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("create metric: %d %s", res.Status, res.Body)
	}
	id := decodeBody(t, res.Body)["id"].(string)
	res = do("GET", "/api/v1/analytics/metrics/"+id+"?from=2026-03-28&to=2026-03-28&interval=day", "", w.Viewer.Headers)
	if b := decodeBody(t, res.Body); res.Status != 200 || b["total"] != 28.0 { // p90 of 10 and 30
		t.Fatalf("custom metric: %d %s", res.Status, res.Body)
	}
	if res = do("GET", "/api/v1/analytics/metrics/"+id, "", w.GlobexOwner.Headers); res.Status != 404 {
		t.Fatalf("other workspace's metric: %d", res.Status)
	}
	if res = do("GET", "/api/v1/analytics/metrics/scans?interval=fortnight", "", w.Viewer.Headers); res.Status != 400 || !strings.Contains(res.Body, `"interval"`) {
		t.Fatalf("bad interval: %d", res.Status)
	}
	res = do("GET", "/api/v1/analytics/metrics/revenue?from=2026-03-28&to=2026-03-28", "", w.Viewer.Headers)
	if decodeBody(t, res.Body)["total"] != 1040.0 {
		t.Fatalf("revenue: %s", res.Body)
	}
}

func TestFunnelRetentionHeatmapAttribution(t *testing.T) {
	app, w, _, do := newAnalyticsApp(t)
	base := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC) // a Monday, 10:00 in Berlin
	h := time.Hour
	// a: scan -> booking -> purchase; b: scan -> purchase only; c: scan, booking 3 days later (outside 48h).
	emit(t, app, w.Acme, "qr.scanned", "a", base, map[string]any{"campaign": "spring", "channel": "qr"})
	emit(t, app, w.Acme, "booking.created", "a", base.Add(1*h), nil)
	emit(t, app, w.Acme, analytics.PurchaseType, "a", base.Add(3*h), map[string]any{"value": 50, "currency": "eur"})
	emit(t, app, w.Acme, "qr.scanned", "b", base.Add(2*h), map[string]any{"campaign": "summer", "channel": "qr"})
	emit(t, app, w.Acme, analytics.PurchaseType, "b", base.Add(4*h), map[string]any{"value": 20, "currency": "EUR"})
	emit(t, app, w.Acme, "qr.scanned", "c", base, map[string]any{"channel": "ig"})
	emit(t, app, w.Acme, "booking.created", "c", base.Add(72*h), nil)

	res := do("POST", "/api/v1/analytics/funnel", `{"steps":[{"type":"qr.scanned"},{"type":"booking.created"},{"type":"purchase.completed"}],
		"from":"2026-02-01","to":"2026-02-28","window_hours":48,"order":"sequential","breakdown":"channel"}`, w.Viewer.Headers)
	if res.Status != 200 {
		t.Fatalf("funnel: %d %s", res.Status, res.Body)
	}
	steps := decodeBody(t, res.Body)["steps"].([]any)
	counts := []float64{}
	for _, s := range steps {
		counts = append(counts, s.(map[string]any)["count"].(float64))
	}
	last := steps[2].(map[string]any)
	if fmt.Sprint(counts) != "[3 1 1]" || last["median_seconds"] != 7200.0 || steps[1].(map[string]any)["drop_off"] != 2.0 {
		t.Fatalf("funnel steps %s", res.Body)
	}
	if !strings.Contains(res.Body, `"value":"ig"`) {
		t.Fatalf("breakdown missing: %s", res.Body)
	}
	if res = do("POST", "/api/v1/analytics/funnel", `{"steps":[{"type":"qr.scanned"}]}`, w.Viewer.Headers); res.Status != 400 || !strings.Contains(res.Body, `"steps"`) {
		t.Fatalf("one-step funnel: %d", res.Status)
	}
	if res = do("POST", "/api/v1/analytics/funnel", `{"steps":[{"type":"a.b"},{"type":"c.d"}],"order":"sideways"}`, w.Viewer.Headers); res.Status != 400 || !strings.Contains(res.Body, `"order"`) {
		t.Fatalf("bad order: %d %s", res.Status, res.Body)
	}

	// Retention: cohorts by first scan week; a and b come back in week +1, c in week +2.
	emit(t, app, w.Acme, "qr.scanned", "a", base.Add(7*24*h), nil)
	emit(t, app, w.Acme, "qr.scanned", "b", base.Add(8*24*h), nil)
	emit(t, app, w.Acme, "qr.scanned", "c", base.Add(15*24*h), nil)
	// The rollup runs as a job (cron only enqueues it).
	if _, err := jobs.Enqueue(app, jobs.New{Kind: analytics.KindRollup, UniqueKey: "analytics:rollup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.RunnerOf(app).RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rolled int
	if err := app.DB().NewQuery("SELECT count(*) FROM analytics_daily WHERE workspace = {:ws} AND type = 'qr.scanned'").Bind(dbx.Params{"ws": w.Acme}).Row(&rolled); err != nil || rolled != 6 {
		t.Fatalf("rollup rows for scans: %d %v", rolled, err)
	}
	emit(t, app, w.Acme, "qr.scanned", "d", base.Add(7*24*h), nil) // after the rollup: read from the log
	// Active contacts per week come from the rollup plus d, which the rollup has not seen yet.
	res = do("GET", "/api/v1/analytics/metrics/active_contacts?from=2026-02-02&to=2026-02-15&interval=week", "", w.Viewer.Headers)
	if b := decodeBody(t, res.Body); b["total"] != 4.0 || !strings.Contains(res.Body, `"value":3},{"start":"2026-02-09T00:00:00+01:00","value":3}`) {
		t.Fatalf("active contacts from the rollup: %s", res.Body)
	}
	res = do("GET", "/api/v1/analytics/retention?cohort_event=qr.scanned&period=week&periods=4&from=2026-02-02&to=2026-02-15&mode=on", "", w.Viewer.Headers)
	if res.Status != 200 {
		t.Fatalf("retention: %d %s", res.Status, res.Body)
	}
	if !strings.Contains(res.Body, `{"start":"2026-02-02","size":3,"values":[3,2,1,0]}`) || !strings.Contains(res.Body, `{"start":"2026-02-09","size":1,"values":[1,0,0,0]}`) {
		t.Fatalf("retention cohorts: %s", res.Body)
	}
	res = do("GET", "/api/v1/analytics/retention?cohort_event=qr.scanned&period=week&periods=4&from=2026-02-02&to=2026-02-08&mode=on_or_after", "", w.Viewer.Headers)
	if !strings.Contains(res.Body, `"values":[3,3,1,0]`) {
		t.Fatalf("on_or_after: %s", res.Body)
	}

	res = do("GET", "/api/v1/analytics/heatmap?type=qr.scanned&from=2026-02-01&to=2026-02-03", "", w.Viewer.Headers)
	days := decodeBody(t, res.Body)["days"].([]any)
	monday := days[0].(map[string]any)
	if monday["weekday"] != 1.0 || monday["hours"].([]any)[10] != 2.0 || monday["hours"].([]any)[12] != 1.0 {
		t.Fatalf("heatmap: %s", res.Body)
	}

	res = do("GET", "/api/v1/analytics/attribution?model=first&window_days=7&from=2026-02-01&to=2026-02-28", "", w.Viewer.Headers)
	if res.Status != 200 || !strings.Contains(res.Body, `"key":"spring","currency":"EUR","purchases":1,"contacts":1,"revenue":50`) ||
		!strings.Contains(res.Body, `"key":"summer"`) {
		t.Fatalf("attribution: %s", res.Body)
	}
	res = do("GET", "/api/v1/analytics/attribution?model=last&by=channel&from=2026-02-01&to=2026-02-28", "", w.Viewer.Headers)
	// a's last touch is its booking (channel "booking"), b's its scan.
	if !strings.Contains(res.Body, `"key":"booking","currency":"EUR","purchases":1`) || !strings.Contains(res.Body, `"key":"qr","currency":"EUR","purchases":1`) {
		t.Fatalf("attribution by channel: %s", res.Body)
	}
	if res = do("GET", "/api/v1/analytics/attribution?model=middle", "", w.Viewer.Headers); res.Status != 400 {
		t.Fatalf("bad model: %d", res.Status)
	}
	if res = do("GET", "/api/v1/analytics/heatmap", "", nil); res.Status != 401 {
		t.Fatalf("guest: %d", res.Status)
	}
}

func TestReportsAndSchedules(t *testing.T) {
	app, w, _, do := newAnalyticsApp(t)
	now := time.Now()
	emit(t, app, w.Acme, "qr.scanned", "a", now.Add(-48*time.Hour), map[string]any{"campaign": "spring"})
	emit(t, app, w.Acme, "booking.created", "a", now.Add(-47*time.Hour), nil)
	emit(t, app, w.Acme, analytics.PurchaseType, "a", now.Add(-46*time.Hour), map[string]any{"value": 42, "currency": "EUR"})
	report := `{"workspace":"` + w.Acme + `","name":"Weekly digest","period":"last_7_days","widgets":[
		{"kind":"metric","metric":"scans"},
		{"kind":"metric","metric":"revenue","interval":"day"},
		{"kind":"funnel","steps":[{"type":"qr.scanned"},{"type":"booking.created"}],"window_hours":24},
		{"kind":"retention","cohort_event":"qr.scanned","return_event":"qr.scanned","period":"day","periods":3},
		{"kind":"heatmap"},
		{"kind":"attribution","model":"last"}]}`
	if res := do("POST", "/api/collections/analytics_reports/records", strings.Replace(report, `"kind":"heatmap"`, `"kind":"pie"`, 1), w.Admin.Headers); res.Status != 400 {
		t.Fatalf("bad widget: %d", res.Status)
	}
	res := do("POST", "/api/collections/analytics_reports/records", report, w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("report: %d %s", res.Status, res.Body)
	}
	id := decodeBody(t, res.Body)["id"].(string)

	pdf := do("GET", "/api/v1/analytics/reports/"+id+".pdf", "", w.Viewer.Headers)
	if pdf.Status != 200 || !strings.HasPrefix(pdf.Body, "%PDF") || pdf.Header.Get("Content-Type") != "application/pdf" ||
		strings.Count(pdfContent(pdf.Body), " re") < 10 { // charts are vector rectangles, not images
		t.Fatalf("pdf: %d %.100s\n%.1500q", pdf.Status, pdf.Body, pdfContent(pdf.Body))
	}
	xlsx := do("GET", "/api/v1/analytics/reports/"+id+".xlsx", "", w.Viewer.Headers)
	zr, err := zip.NewReader(bytes.NewReader([]byte(xlsx.Body)), int64(len(xlsx.Body)))
	if xlsx.Status != 200 || err != nil {
		t.Fatalf("xlsx: %d %v", xlsx.Status, err)
	}
	charts := 0
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "xl/charts/chart") {
			charts++
		}
	}
	if charts < 3 { // two metrics, the funnel (attribution too when it has rows)
		t.Fatalf("native charts in the workbook: %d", charts)
	}
	js := do("GET", "/api/v1/analytics/reports/"+id, "", w.Viewer.Headers)
	if !strings.Contains(js.Body, `"name":"Weekly digest"`) || !strings.Contains(js.Body, `"total":1`) {
		t.Fatalf("json report: %s", js.Body)
	}
	if res := do("GET", "/api/v1/analytics/reports/"+id+".pdf", "", w.GlobexOwner.Headers); res.Status != 404 {
		t.Fatalf("other workspace: %d", res.Status)
	}

	sched := `{"workspace":"` + w.Acme + `","report":"` + id + `","frequency":"weekly","weekday":1,"time":"08:00","recipients":["boss@acme.test"],"format":"pdf","enabled":true}`
	if res := do("POST", "/api/collections/report_schedules/records", strings.Replace(sched, "boss@acme.test", "not-an-email", 1), w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, "recipients") {
		t.Fatalf("bad recipient: %d %s", res.Status, res.Body)
	}
	res = do("POST", "/api/collections/report_schedules/records", sched, w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("schedule: %d %s", res.Status, res.Body)
	}
	s, _ := app.FindRecordById(collections.ReportSchedules, decodeBody(t, res.Body)["id"].(string))
	next := s.GetDateTime("next_run_at").Time().In(analytics.Location(app, w.Acme))
	if next.Weekday() != time.Monday || next.Hour() != 8 || !next.After(now) {
		t.Fatalf("next run %v", next)
	}
	// Not due yet: nothing is enqueued. At its time, one email job; the schedule moves a week on.
	if n, _ := analytics.EnqueueDueReports(app, now); n != 0 {
		t.Fatalf("enqueued early: %d", n)
	}
	if n, _ := analytics.EnqueueDueReports(app, next.Add(time.Minute)); n != 1 {
		t.Fatalf("due schedule enqueued %d jobs", n)
	}
	if _, err := jobs.RunnerOf(app).RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if app.TestMailer.TotalSend() != 1 {
		t.Fatalf("emails sent: %d", app.TestMailer.TotalSend())
	}
	msg := app.TestMailer.LastMessage()
	if msg.To[0].Address != "boss@acme.test" || !strings.Contains(msg.HTML, "Weekly digest") || !strings.Contains(msg.HTML, "<td>Total</td><td>1</td>") {
		t.Fatalf("email: %v %s", msg.To, msg.HTML)
	}
	for name, r := range msg.Attachments {
		b, _ := io.ReadAll(r)
		if !strings.HasSuffix(name, ".pdf") || !bytes.HasPrefix(b, []byte("%PDF")) {
			t.Fatalf("attachment %s", name)
		}
	}
	s, _ = app.FindRecordById(collections.ReportSchedules, s.Id)
	if got := s.GetDateTime("next_run_at").Time(); got.Sub(next) < 6*24*time.Hour || s.GetDateTime("last_sent_at").IsZero() {
		t.Fatalf("schedule after sending: next %v last %v", got, s.GetDateTime("last_sent_at"))
	}
}

// pdfContent inflates a PDF's compressed streams, so tests can look at the drawing operators.
func pdfContent(pdf string) string {
	var out strings.Builder
	for {
		start := strings.Index(pdf, ">>\nstream\n")
		if start < 0 {
			return out.String()
		}
		pdf = pdf[start+len(">>\nstream\n"):]
		end := strings.Index(pdf, "endstream\n")
		if end < 0 {
			return out.String()
		}
		if r, err := zlib.NewReader(strings.NewReader(pdf[:end])); err == nil {
			b, _ := io.ReadAll(r)
			out.Write(b)
		} else {
			out.WriteString(pdf[:end])
		}
		pdf = pdf[end:]
	}
}
