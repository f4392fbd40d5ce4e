package routes_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/exports"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
)

func TestScheduledExportsAreValidatedAndDeliveredByEmailAndWebhook(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	addContact(t, app, w.Acme, "Ana Lima", "ana@example.com")

	base := `"workspace":"` + w.Acme + `","name":"Weekly contacts","dataset":"contacts","format":"csv","purpose":"weekly CRM sync (legitimate interest)","enabled":true`
	for body, field := range map[string]string{
		`{` + base + `,"cron":"0 25 * * *","timezone":"America/New_York","delivery":"filesystem"}`:               "cron",
		`{` + base + `,"cron":"0 6 * * *","timezone":"Mars/Olympus","delivery":"filesystem"}`:                    "timezone",
		`{` + base + `,"cron":"0 6 * * *","timezone":"America/New_York","delivery":"email","recipients":[]}`:     "recipients",
		`{` + base + `,"cron":"0 6 * * *","timezone":"America/New_York","delivery":"webhook"}`:                   "endpoint",
		`{` + base + `,"cron":"0 6 * * *","timezone":"America/New_York","delivery":"filesystem","filter":"x ="}`: "filter",
	} {
		res := testutil.Do(h, "POST", "/api/collections/export_schedules/records", body, w.Admin.Headers)
		if res.Status != 400 || !strings.Contains(res.Body, `"`+field+`":{"code"`) {
			t.Errorf("%s: want 400 naming %s: %d %s", body, field, res.Status, res.Body)
		}
	}
	good := `{` + base + `,"cron":"0 6 * * *","timezone":"America/New_York","delivery":"email","recipients":["acct@example.com"]}`
	if res := testutil.Do(h, "POST", "/api/collections/export_schedules/records", good, w.Manager.Headers); res.Status == 200 {
		t.Fatal("managers cannot manage schedules")
	}
	if res := testutil.Do(h, "POST", "/api/collections/export_schedules/records", good, w.Admin.Headers); res.Status != 200 {
		t.Fatalf("schedule: %d %s", res.Status, res.Body)
	}
	srv, got := sink(t, nil)
	ep := createEndpoint(t, h, w.Admin.Headers, `{"url":"`+srv.URL+`/exports","events":["export.completed"]}`)
	hook := `{` + strings.Replace(base, "Weekly contacts", "Nightly to ERP", 1) + `,"cron":"0 6 * * *","timezone":"America/New_York","delivery":"webhook","endpoint":"` + ep["id"].(string) + `"}`
	if res := testutil.Do(h, "POST", "/api/collections/export_schedules/records", hook, w.Admin.Headers); res.Status != 200 {
		t.Fatalf("webhook schedule: %d %s", res.Status, res.Body)
	}

	// 06:00 in New York is 11:00 UTC in November.
	if ids, _ := exports.RunSchedules(app, time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)); len(ids) != 0 {
		t.Fatalf("06:00 UTC is not due: %v", ids)
	}
	at := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	ids, err := exports.RunSchedules(app, at)
	if err != nil || len(ids) != 2 {
		t.Fatalf("due at 06:00 New York: %v %v", ids, err)
	}
	if again, _ := exports.RunSchedules(app, at.Add(20*time.Second)); len(again) != 0 {
		t.Fatal("one run per minute")
	}
	for i := 0; i < 3; i++ {
		if _, err := jobs.RunnerOf(app).RunDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if app.TestMailer.TotalSend() != 1 {
		t.Fatalf("emails: %d", app.TestMailer.TotalSend())
	}
	msg := app.TestMailer.LastMessage()
	if msg.To[0].Address != "acct@example.com" || !strings.Contains(msg.Subject, "Weekly contacts") || len(msg.Attachments) != 1 {
		t.Fatalf("email: %+v", msg)
	}
	for name, r := range msg.Attachments {
		b, _ := io.ReadAll(r)
		if !strings.HasSuffix(name, ".csv") || !strings.Contains(string(b), "ana@example.com") {
			t.Fatalf("attachment %s: %q", name, b)
		}
	}
	calls := got()
	if len(calls) != 1 || !strings.Contains(string(calls[0].body), "ana@example.com") || calls[0].header.Get("X-Playgram-Export-Rows") != "1" {
		t.Fatalf("webhook delivery: %+v", calls)
	}
	secret, _ := whsig.ParseSecret(ep["secret"].(string))
	if err := whsig.Verify(secret, calls[0].header, calls[0].body, time.Now(), time.Minute); err != nil {
		t.Fatalf("webhook signature: %v", err)
	}
	if n, _ := app.CountRecords(collections.Exports, dbx.NewExp("schedule != ''")); n != 2 {
		t.Fatalf("scheduled exports: %d", n)
	}
}
