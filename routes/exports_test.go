package routes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/exports"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/xuri/excelize/v2"
)

func addContact(t *testing.T, app core.App, ws, name, email string) *core.Record {
	t.Helper()
	coll, _ := app.FindCollectionByNameOrId(collections.Contacts)
	r := core.NewRecord(coll)
	r.Set("workspace", ws)
	r.Set("name", name)
	r.Set("email", email)
	r.Set("engagement_score", 4.5)
	r.Set("tags", []string{"vip"})
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func addConsent(t *testing.T, app core.App, ws, contact string, granted bool, at time.Time) {
	t.Helper()
	coll, _ := app.FindCollectionByNameOrId(collections.Consents)
	r := core.NewRecord(coll)
	r.Set("workspace", ws)
	r.Set("contact", contact)
	r.Set("kind", collections.ConsentMarketing)
	r.Set("granted", granted)
	r.Set("source", "instagram_dm")
	r.Set("time", at)
	r.Set("text_version", "v2")
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
}

func TestExportRunsAsJobAuditedAndDownloadable(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	ana := addContact(t, app, w.Acme, "Ana Lima", "ana@example.com")
	addContact(t, app, w.Acme, `=HYPERLINK("http://evil")`, "evil@example.com")
	addContact(t, app, w.Globex, "Globex Person", "g@example.com")

	for body, field := range map[string]string{
		`{"dataset":"contacts","format":"csv"}`:                                                           "purpose",
		`{"dataset":"passwords","format":"csv","purpose":"audit"}`:                                        "dataset",
		`{"dataset":"contacts","format":"docx","purpose":"audit"}`:                                        "format",
		`{"dataset":"contacts","format":"csv","purpose":"audit","filter":"name ="}`:                       "filter",
		`{"dataset":"contacts","format":"csv","purpose":"audit","fields":["hash"]}`:                       "fields",
		`{"dataset":"contacts","format":"csv","purpose":"x","filter":"@collection.contacts.email != ''"}`: "purpose",
	} {
		res := testutil.Do(h, "POST", "/api/v1/exports", body, w.Manager.Headers)
		if res.Status != 400 || !strings.Contains(res.Body, `"`+field+`":{"code"`) {
			t.Errorf("%s: want 400 naming %s, got %d %s", body, field, res.Status, res.Body)
		}
	}
	if res := testutil.Do(h, "POST", "/api/v1/exports", `{"dataset":"contacts","format":"csv","purpose":"audit","filter":"name != '' && (@collection.contacts.email != '' || @request.auth.id != '')"}`, w.Manager.Headers); res.Status != 400 || !strings.Contains(res.Body, "is not allowed") {
		t.Errorf("@collection filters are refused: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "POST", "/api/v1/exports", `{"dataset":"contacts","format":"csv","purpose":"audit"}`, w.Viewer.Headers); res.Status != 403 {
		t.Fatalf("viewers cannot export: %d", res.Status)
	}

	res := testutil.Do(h, "POST", "/api/v1/exports", `{"dataset":"contacts","format":"csv","purpose":"Accountant year-end (contract)","filter":"email ~ '@example.com'","fields":["name","email","engagement_score","tags","created"]}`, w.Manager.Headers)
	if res.Status != 202 || !strings.Contains(res.Body, `"status":"queued"`) {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	id := jsonField(t, []byte(res.Body), "id")
	if res := testutil.Do(h, "GET", "/api/v1/exports/"+id, "", w.Manager.Headers); !strings.Contains(res.Body, `"status":"queued"`) || strings.Contains(res.Body, "download_url") {
		t.Fatalf("queued: %s", res.Body)
	}
	if _, err := jobs.RunnerOf(app).RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	res = testutil.Do(h, "GET", "/api/v1/exports/"+id, "", w.Manager.Headers)
	var got struct {
		Status      string `json:"status"`
		Rows        int    `json:"rows"`
		Error       string `json:"error"`
		DownloadURL string `json:"download_url"`
		SHA256      string `json:"sha256"`
	}
	_ = json.Unmarshal([]byte(res.Body), &got)
	if got.Status != "done" || got.Rows != 2 || got.DownloadURL == "" {
		t.Fatalf("done: %s", res.Body)
	}
	if res := testutil.Do(h, "GET", "/api/v1/exports/"+id, "", w.GlobexOwner.Headers); res.Status != 404 {
		t.Fatalf("other workspace: %d", res.Status)
	}
	u, _ := url.Parse(got.DownloadURL)
	dl := testutil.Do(h, "GET", u.RequestURI(), "", nil)
	if dl.Status != 200 {
		t.Fatalf("download: %d %s", dl.Status, dl.Body)
	}
	want := "\uFEFFname,email,engagement_score,tags,created\r\nAna Lima,ana@example.com,4.5,\"[\"\"vip\"\"]\","
	if !strings.HasPrefix(dl.Body, want) || !strings.Contains(dl.Body, `"'=HYPERLINK(""http://evil"")"`) || strings.Contains(dl.Body, "Globex") {
		t.Fatalf("file:\n%q", dl.Body)
	}
	if res := testutil.Do(h, "GET", u.Path+"?token=1."+strings.Repeat("a", 10), "", nil); res.Status != 403 {
		t.Fatalf("forged token: %d", res.Status)
	}
	audit, err := app.FindFirstRecordByFilter(collections.AuditLog, "action = 'export.created' && target_id = {:id}", dbx.Params{"id": id})
	if err != nil {
		t.Fatal("no audit row")
	}
	after := audit.GetString("after")
	for _, s := range []string{`"rows":2`, `"purpose":"Accountant year-end (contract)"`, `"sha256":"` + got.SHA256, `"format":"csv"`, `"filter":"email ~ '@example.com'"`} {
		if !strings.Contains(after, s) {
			t.Errorf("audit lacks %s: %s", s, after)
		}
	}
	if audit.GetString("actor_id") != w.Manager.ID {
		t.Errorf("audit actor: %s", audit.GetString("actor_id"))
	}
	if res := testutil.Do(h, "GET", "/api/v1/exports", "", w.Manager.Headers); !strings.Contains(res.Body, id) {
		t.Fatalf("list: %s", res.Body)
	}

	// Consent limits, XLSX.
	addConsent(t, app, w.Acme, ana.Id, true, time.Now().Add(-time.Hour))
	res = testutil.Do(h, "POST", "/api/v1/exports", `{"dataset":"contacts","format":"xlsx","purpose":"newsletter (consent)","consent":"marketing"}`, w.Manager.Headers)
	if res.Status != 202 {
		t.Fatalf("xlsx: %d %s", res.Status, res.Body)
	}
	xid := jsonField(t, []byte(res.Body), "id")
	_, _ = jobs.RunnerOf(app).RunDue(context.Background())
	_ = json.Unmarshal([]byte(testutil.Do(h, "GET", "/api/v1/exports/"+xid, "", w.Manager.Headers).Body), &got)
	if got.Rows != 1 {
		t.Fatalf("only the consented contact: %+v", got)
	}
	u, _ = url.Parse(got.DownloadURL)
	f, err := excelize.OpenReader(bytes.NewReader([]byte(testutil.Do(h, "GET", u.RequestURI(), "", nil).Body)))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.GetCellValue("Export", "D2"); v != "Ana Lima" {
		t.Fatalf("xlsx name cell: %q", v)
	}
	if n, _ := app.CountRecords(collections.AuditLog, dbx.HashExp{"action": "consent.recorded"}); n != 1 {
		t.Fatalf("consent audited: %d", n)
	}

	// Files expire and are deleted; the row stays.
	if n, err := exports.Cleanup(app, time.Now().Add(exports.FileTTL()+time.Hour)); err != nil || n != 2 {
		t.Fatalf("cleanup: %d %v", n, err)
	}
	if res := testutil.Do(h, "GET", u.RequestURI(), "", nil); res.Status != 404 {
		t.Fatalf("expired download: %d", res.Status)
	}
	if res := testutil.Do(h, "GET", "/api/v1/exports/"+xid, "", w.Manager.Headers); !strings.Contains(res.Body, `"expired":true`) || strings.Contains(res.Body, "download_url") {
		t.Fatalf("expired export: %s", res.Body)
	}
}
