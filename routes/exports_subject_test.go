package routes_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

const (
	zName  = "Zelda Quartermaine"
	zEmail = "zelda.q@example.org"
	zPhone = "+15550001234"
	zSub   = "987654321012"
	zIG    = "zeldaq_ig"
)

// personEverywhere creates one person's data in every domain through the real routes (CRM upsert and
// events, QR code and scan, booking, verification) plus a snapshot, a consent and a note, and returns the
// contact id.
func personEverywhere(t *testing.T, bw *bookingWorld) string {
	t.Helper()
	mc := bw.key()
	contact := fmt.Sprintf(`{"id":%q,"first_name":"Zelda","last_name":"Quartermaine","name":%q,"ig_username":%q,"email":%q,"phone":%q,
		"custom_fields":{"plan":"pro","nickname":"Zee of %s"},"tags":[{"id":1,"name":"vip"}]}`, zSub, zName, zIG, zEmail, zPhone, zName)
	if res := bw.do("POST", "/api/v1/manychat/contacts", contact, mc); res.Status != 200 {
		t.Fatalf("contact: %d %s", res.Status, res.Body)
	}
	// Someone else, who must be untouched.
	if res := bw.do("POST", "/api/v1/manychat/contacts", `{"id":"123450000","name":"Other Person","email":"other@example.org"}`, mc); res.Status != 200 {
		t.Fatalf("other: %d %s", res.Status, res.Body)
	}
	c, err := bw.app.FindFirstRecordByFilter(collections.Contacts, "subscriber_id = {:s}", dbx.Params{"s": zSub})
	if err != nil {
		t.Fatal(err)
	}
	if res := bw.do("POST", "/api/v1/manychat/events", `{"subscriber_id":"`+zSub+`","type":"message"}`, mc); res.Status != 200 {
		t.Fatalf("event: %d %s", res.Status, res.Body)
	}
	res := bw.do("POST", "/api/v1/qr", `{"tool":"acme-qr","subscriber_id":"`+zSub+`","name":"`+zName+`","ig_username":"`+zIG+`","label":"for `+zName+`","vars":{"email":"`+zEmail+`"}}`, mc)
	if res.Status != 201 {
		t.Fatalf("qr: %d %s", res.Status, res.Body)
	}
	code := jsonField(t, []byte(res.Body), "code")
	if res := bw.do("POST", "/api/v1/qr/scan", `{"code":"`+code+`","device_id":"zelda-phone"}`, mc); res.Status != 200 {
		t.Fatalf("scan: %d %s", res.Status, res.Body)
	}
	tool := bw.tool("Cuts", map[string]any{"duration_minutes": 30})
	helper := bw.helper("Bea", "UTC", tool)
	bw.hours(helper, "09:00", "17:00")
	start := time.Now().UTC().Add(72 * time.Hour).Truncate(24 * time.Hour).Add(10 * time.Hour)
	if res := bw.book(tool, helper, start, zSub, `,"email":"`+zEmail+`","phone":"`+zPhone+`","notes":"call `+zName+` first"`); res.Status != 201 {
		t.Fatalf("booking: %d %s", res.Status, res.Body)
	}
	res = bw.do("POST", "/api/v1/verifications", `{"ig_username":"`+zIG+`","metadata":{"email":"`+zEmail+`"}}`, testutil.Bearer(bw.w.AdminKey))
	if res.Status != 201 {
		t.Fatalf("verification: %d %s", res.Status, res.Body)
	}
	vcode := jsonField(t, []byte(res.Body), "code")
	if res := bw.do("POST", "/api/v1/manychat/verify", `{"code":"`+vcode+`","ig_username":"`+zIG+`","subscriber_id":"`+zSub+`"}`, mc); res.Status != 200 {
		t.Fatalf("verify: %d %s", res.Status, res.Body)
	}
	snaps, _ := bw.app.FindCollectionByNameOrId(collections.ContactSnapshots)
	s := core.NewRecord(snaps)
	s.Set("workspace", bw.w.Acme)
	s.Set("contact", c.Id)
	s.Set("day", "2026-11-01")
	s.Set("diff", map[string]any{"email": map[string]string{"before": "old-" + zEmail, "after": zEmail}, "name": zName})
	if err := bw.app.Save(s); err != nil {
		t.Fatal(err)
	}
	if res := bw.do("POST", "/api/collections/consents/records", `{"workspace":"`+bw.w.Acme+`","contact":"`+c.Id+`","kind":"marketing","granted":true,"source":"dm","time":"2026-11-01 10:00:00Z","text_version":"v3"}`, bw.w.Manager.Headers); res.Status != 200 {
		t.Fatalf("consent: %d %s", res.Status, res.Body)
	}
	if res := bw.do("PATCH", "/api/collections/contacts/records/"+c.Id, `{"notes":"VIP: `+zName+`, `+zPhone+`"}`, bw.w.Manager.Headers); res.Status != 200 {
		t.Fatalf("note: %d %s", res.Status, res.Body)
	}
	if _, err := jobs.RunnerOf(bw.app).RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c.Id
}

// findPerson searches every column of every table for the person's identifiers.
func findPerson(t *testing.T, app core.App) []string {
	t.Helper()
	var tables []string
	if err := app.DB().NewQuery("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").Column(&tables); err != nil {
		t.Fatal(err)
	}
	var hits []string
	for _, tbl := range tables {
		var cols []string
		if err := app.DB().NewQuery("SELECT name FROM pragma_table_info({:t})").Bind(dbx.Params{"t": tbl}).Column(&cols); err != nil {
			t.Fatal(err)
		}
		for _, col := range cols {
			for _, id := range []string{zName, "Quartermaine", zEmail, zPhone, zSub, zIG} {
				var n int
				q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE instr(CAST(%q AS TEXT), {:id}) > 0`, tbl, col)
				if err := app.DB().NewQuery(q).Bind(dbx.Params{"id": id}).Row(&n); err != nil {
					t.Fatalf("%s.%s: %v", tbl, col, err)
				}
				if n > 0 {
					hits = append(hits, fmt.Sprintf("%s.%s has %q in %d rows", tbl, col, id, n))
				}
			}
		}
	}
	return hits
}

func TestDataSubjectExportAndErasureLeaveNoTrace(t *testing.T) {
	bw := newBookingWorld(t)
	id := personEverywhere(t, bw)
	if hits := findPerson(t, bw.app); len(hits) < 8 || testing.Verbose() {
		t.Logf("before erasure:\n%s", strings.Join(hits, "\n"))
	}
	if hits := findPerson(t, bw.app); len(hits) < 8 {
		t.Fatalf("the fixture should spread the person widely: %v", hits)
	}

	// Access request: a ZIP of JSON files, one per collection holding the person's data.
	res := bw.do("POST", "/api/v1/contacts/"+id+"/export", "", bw.w.Manager.Headers)
	if res.Status != 200 {
		t.Fatalf("subject export: %d %s", res.Status, res.Body)
	}
	zr, err := zip.NewReader(bytes.NewReader([]byte(res.Body)), int64(len(res.Body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	for _, name := range []string{"contact.json", "bookings.json", "qr_codes.json", "qr_scans.json", "interactions.json", "contact_snapshots.json",
		"verifications.json", "verification_attempts.json", "consents.json", "events.json", "manifest.json"} {
		if files[name] == "" || !json.Valid([]byte(files[name])) {
			t.Errorf("ZIP lacks %s (has %v)", name, keys(files))
		}
	}
	if !strings.Contains(files["contact.json"], zEmail) || !strings.Contains(files["bookings.json"], zPhone) {
		t.Fatalf("ZIP content: %s", files["contact.json"])
	}
	if res := bw.do("POST", "/api/v1/contacts/"+id+"/export", "", bw.w.GlobexOwner.Headers); res.Status != 404 {
		t.Fatalf("other workspace: %d", res.Status)
	}

	// Erasure: admins only; a legal hold blocks it.
	if res := bw.do("POST", "/api/v1/contacts/"+id+"/erase", "", bw.w.Manager.Headers); res.Status != 403 {
		t.Fatalf("managers cannot erase: %d", res.Status)
	}
	if res := bw.do("POST", "/api/collections/legal_holds/records", `{"workspace":"`+bw.w.Acme+`","contact":"`+id+`","reason":"dispute"}`, bw.w.Admin.Headers); res.Status != 200 {
		t.Fatalf("hold: %d %s", res.Status, res.Body)
	}
	if res := bw.do("POST", "/api/v1/contacts/"+id+"/erase", "", bw.w.Admin.Headers); res.Status != 409 {
		t.Fatalf("held contact: %d %s", res.Status, res.Body)
	}
	if _, err := bw.app.DB().NewQuery("DELETE FROM legal_holds").Execute(); err != nil {
		t.Fatal(err)
	}
	res = bw.do("POST", "/api/v1/contacts/"+id+"/erase", "", bw.w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("erase: %d %s", res.Status, res.Body)
	}
	if hits := findPerson(t, bw.app); len(hits) > 0 {
		t.Fatalf("the person is still stored:\n%s", strings.Join(hits, "\n"))
	}
	if _, err := bw.app.FindRecordById(collections.Contacts, id); err == nil {
		t.Fatal("contact still there")
	}
	if n := bw.count(collections.Bookings, "workspace = {:ws}", dbx.Params{"ws": bw.w.Acme}); n != 1 {
		t.Fatalf("the booking is kept, anonymised: %d", n)
	}
	other, err := bw.app.FindFirstRecordByFilter(collections.Contacts, "subscriber_id = '123450000'")
	if err != nil || other.GetString("email") != "other@example.org" {
		t.Fatalf("another contact was touched: %v", err)
	}
	audit, err := bw.app.FindFirstRecordByFilter(collections.AuditLog, "action = 'contact.erased' && target_id = {:id}", dbx.Params{"id": id})
	if err != nil || audit.GetString("actor_id") != bw.w.Admin.ID || !strings.Contains(audit.GetString("after"), "contacts.deleted") {
		t.Fatalf("erasure audit: %v %v", audit, err)
	}
	if res := bw.do("POST", "/api/v1/contacts/"+id+"/erase", "", bw.w.Admin.Headers); res.Status != 404 {
		t.Fatalf("erased twice: %d", res.Status)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
