package routes_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/manychat/dynblock"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/subscriptions"
)

func newQRApp(t *testing.T) (*tests.TestApp, testutil.World, func(method, url, body string, headers map[string]string) testutil.Response) {
	t.Helper()
	app := testutil.NewWorldApp(t)
	t.Cleanup(app.Cleanup)
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	return app, w, func(method, url, body string, headers map[string]string) testutil.Response {
		return testutil.Do(h, method, url, body, headers)
	}
}

func decodeBody(t testing.TB, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	return m
}

func TestGenerateQR(t *testing.T) {
	app, w, do := newQRApp(t)
	key := testutil.Bearer(w.ManychatKey)

	res := do("POST", "/api/v1/qr", `{"tool":"acme-qr","subscriber_id":"1234567890123","label":"welcome","max_uses":2}`, key)
	if res.Status != 201 {
		t.Fatalf("generate: %d %s", res.Status, res.Body)
	}
	body := decodeBody(t, res.Body)
	code := body["code"].(string)
	if !strings.HasPrefix(code, "PG-") || len(code) != 11 || body["status"] != "active" || body["max_uses"] != 2.0 || body["uses"] != 0.0 {
		t.Fatalf("generated %v", body)
	}
	for _, f := range []string{"image_url", "svg_url", "pdf_url"} {
		u, err := url.Parse(body[f].(string))
		if err != nil || u.Scheme != "http" || u.Host != "playgram.test" || !strings.Contains(u.Path, "/api/v1/qr/"+code+".") || u.Query().Get("t") == "" {
			t.Fatalf("%s = %v", f, body[f])
		}
	}
	contact, err := app.FindFirstRecordByFilter(collections.Contacts, "subscriber_id = '1234567890123'")
	if err != nil || contact.GetString("workspace") != w.Acme || body["contact"] != contact.Id {
		t.Fatalf("contact not created/linked: %v %v", contact, err)
	}
	ev, err := app.FindFirstRecordByFilter(collections.Events, "type = 'qr.created' && subject_id = {:id}", dbx.Params{"id": body["id"]})
	if err != nil || ev.GetString("contact") != contact.Id {
		t.Fatalf("qr.created event: %v", err)
	}

	// Manychat asks for a Dynamic Block: an Instagram image and the code as text.
	res = do("POST", "/api/v1/qr?format=manychat", `{"tool":"acme-qr","subscriber_id":"1234567890123"}`, key)
	if res.Status != 201 {
		t.Fatalf("manychat format: %d %s", res.Status, res.Body)
	}
	block, err := dynblock.Parse([]byte(res.Body))
	if err != nil {
		t.Fatalf("not a Dynamic Block: %v\n%s", err, res.Body)
	}
	if err := block.Validate(); err != nil || block.Content.Type != dynblock.Instagram || len(block.Content.Messages) != 2 || !strings.Contains(res.Body, "Your code: PG-") {
		t.Fatalf("dynamic block %v: %s", err, res.Body)
	}

	// A retried request gets the same code back.
	headers := map[string]string{"Authorization": key["Authorization"], "Idempotency-Key": "mc-retry-1"}
	first := do("POST", "/api/v1/qr", `{"tool":"acme-qr"}`, headers)
	second := do("POST", "/api/v1/qr", `{"tool":"acme-qr"}`, headers)
	if first.Status != 201 || second.Body != first.Body {
		t.Fatalf("idempotent generate: %s / %s", first.Body, second.Body)
	}

	for _, c := range []struct{ name, body, field string }{
		{"no tool", `{}`, "tool"},
		{"unknown tool", `{"tool":"nope"}`, "tool"},
		{"another workspace's tool", `{"tool":"` + w.GlobexQRTool + `"}`, "tool"},
		{"negative max uses", `{"tool":"acme-qr","max_uses":-1}`, "max_uses"},
		{"past expiry", `{"tool":"acme-qr","expires_at":"2020-01-01T00:00:00Z"}`, "expires_at"},
		{"both expiry forms", `{"tool":"acme-qr","expires_at":"2030-01-01T00:00:00Z","ttl":3600}`, "ttl"},
		{"bad subscriber id", `{"tool":"acme-qr","subscriber_id":"abc"}`, "subscriber_id"},
		{"wrong type", `{"tool":"acme-qr","max_uses":"2"}`, "max_uses"},
	} {
		res := do("POST", "/api/v1/qr", c.body, key)
		if res.Status != 400 || !strings.Contains(res.Body, `"`+c.field+`":{"code"`) {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
	if res := do("POST", "/api/v1/qr", `{"tool":"acme-qr"}`, w.Viewer.Headers); res.Status != 403 {
		t.Errorf("a viewer cannot issue codes: %d", res.Status)
	}
	if res := do("POST", "/api/v1/qr", `{"tool":"acme-qr"}`, testutil.Bearer(w.SocialKey)); res.Status != 403 {
		t.Errorf("a social key cannot issue codes: %d", res.Status)
	}
}

func TestQRTemplatesCountersAndUniqueness(t *testing.T) {
	app, w, do := newQRApp(t)
	acme, _ := app.FindRecordById(collections.Workspaces, w.Acme)
	testutil.Tool(t, app, acme, "qr", "Seq", map[string]any{"prefix": "VIP", "template": "{PREFIX}-{TAG:gold}-{SEQ:4}"})
	testutil.Tool(t, app, acme, "qr", "Short", map[string]any{"prefix": "S", "template": "{PREFIX}{SEQ:2}"})
	contactsColl, _ := app.FindCollectionByNameOrId(collections.Contacts)
	gold := core.NewRecord(contactsColl)
	gold.Set("workspace", w.Acme)
	gold.Set("subscriber_id", "42")
	gold.Set("tags", []any{map[string]any{"id": 1, "name": "gold"}})
	if err := app.Save(gold); err != nil {
		t.Fatal(err)
	}
	key := testutil.Bearer(w.ManychatKey)
	var got []string
	for _, sub := range []string{"42", "43", "42"} {
		res := do("POST", "/api/v1/qr", `{"tool":"seq","subscriber_id":"`+sub+`"}`, key)
		got = append(got, decodeBody(t, res.Body)["code"].(string))
	}
	if strings.Join(got, ",") != "VIP-GOLD-0001,VIP-0002,VIP-GOLD-0003" {
		t.Fatalf("sequence codes = %v", got)
	}

	// A code that already exists (made by hand, or by an earlier counter) is drawn again, never returned twice.
	taken := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"short"}`, key).Body)
	rec, _ := app.FindRecordById(collections.QRCodes, taken["id"].(string))
	rec.Set("code", "S02")
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	if next := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"short"}`, key).Body)["code"]; next != "S03" {
		t.Fatalf("after a collision the next code is %v, want S03", next)
	}

	res := do("PATCH", "/api/collections/tools/records/"+w.AcmeQRTool, `{"config":{"template":"{PREFIX}-{NAME}"}}`, w.Admin.Headers)
	if res.Status != 400 || !strings.Contains(res.Body, `"template":{"code":"validation_invalid_value","message":"Template column`) || !strings.Contains(res.Body, "{NAME}") {
		t.Fatalf("a bad template is refused at save with its position: %d %s", res.Status, res.Body)
	}
}

func decodePNG(t testing.TB, body string) string {
	t.Helper()
	img, err := png.Decode(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("PNG does not decode as a QR code: %v", err)
	}
	return res.GetText()
}

func TestQRImages(t *testing.T) {
	_, w, do := newQRApp(t)
	res := do("POST", "/api/v1/qr", `{"tool":"acme-qr"}`, testutil.Bearer(w.ManychatKey))
	body := decodeBody(t, res.Body)
	code := body["code"].(string)
	pngURL, _ := url.Parse(body["image_url"].(string))
	public := pngURL.RequestURI()

	img := do("GET", public, "", nil)
	if img.Status != 200 || img.Header.Get("Content-Type") != "image/png" || decodePNG(t, img.Body) != code {
		t.Fatalf("public PNG: %d %s", img.Status, img.Header)
	}
	etag := img.Header.Get("ETag")
	if etag == "" || !strings.Contains(img.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("cache headers: %v", img.Header)
	}
	if again := do("GET", public, "", nil); again.Body != img.Body || again.Header.Get("ETag") != etag {
		t.Fatal("the same parameters must give the same bytes")
	}
	if res := do("GET", public, "", map[string]string{"If-None-Match": etag}); res.Status != 304 {
		t.Fatalf("If-None-Match: %d", res.Status)
	}
	styled := do("GET", public+"&size=300&fg=%23112233&ecc=H&margin=2", "", nil)
	if styled.Status != 200 || styled.Header.Get("ETag") == etag || decodePNG(t, styled.Body) != code {
		t.Fatalf("styled PNG: %d", styled.Status)
	}
	svg := do("GET", strings.Replace(public, ".png", ".svg", 1), "", nil)
	if svg.Status != 200 || !strings.HasPrefix(svg.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(svg.Body, "<svg") {
		t.Fatalf("svg: %d %s", svg.Status, svg.Header)
	}
	pdf := do("GET", strings.Replace(public, ".png", ".pdf", 1), "", nil)
	if pdf.Status != 200 || pdf.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.Body, "%PDF") {
		t.Fatalf("pdf: %d %s", pdf.Status, pdf.Header)
	}

	for _, c := range []struct {
		name, url string
		headers   map[string]string
		status    int
		says      string
	}{
		{"no token, no credentials", "/api/v1/qr/" + code + ".png", nil, 401, ""},
		{"member without token", "/api/v1/qr/" + code + ".png", w.Viewer.Headers, 200, ""},
		{"forged token", "/api/v1/qr/" + code + ".png?t=" + body["id"].(string) + ".AAAAAAAAAAAAAAAAAAAAAA", nil, 404, ""},
		{"token of another code", "/api/v1/qr/PG-XXXXXXXX.png?" + pngURL.RawQuery, nil, 404, ""},
		{"other workspace member", "/api/v1/qr/" + code + ".png", w.GlobexAdmin.Headers, 404, ""},
		{"unknown code", "/api/v1/qr/PG-NOPE.png", w.Viewer.Headers, 404, ""},
		{"bad size", public + "&size=99999", nil, 400, `"size":{"code"`},
		{"bad colour", public + "&fg=red", nil, 400, `"fg":{"code"`},
		{"bad ecc", public + "&ecc=Z", nil, 400, `"ecc":{"code"`},
		{"unknown format", "/api/v1/qr/" + code + ".gif", w.Viewer.Headers, 404, ""},
	} {
		res := do("GET", c.url, "", c.headers)
		if res.Status != c.status || !strings.Contains(res.Body, c.says) {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
}

func TestScanQR(t *testing.T) {
	app, w, do := newQRApp(t)
	key := testutil.Bearer(w.ManychatKey)
	gen := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"acme-qr","subscriber_id":"777"}`, key).Body)
	code := gen["code"].(string)
	iphone := map[string]string{"Authorization": key["Authorization"], "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"}

	res := do("POST", "/api/v1/qr/scan", `{"code":"`+strings.ToLower(code)+`","lat":52.52,"lng":13.405,"device_id":"till-1"}`, iphone)
	scan := decodeBody(t, res.Body)
	if res.Status != 200 || scan["valid"] != true || scan["status"] != "valid" || scan["uses"] != 1.0 || scan["remaining"] != 0.0 || scan["contact"] != gen["contact"] {
		t.Fatalf("first scan: %d %s", res.Status, res.Body)
	}
	// Seconds later from New York, another device: used up, and suspicious.
	res = do("POST", "/api/v1/qr/scan", `{"code":"`+code+`","lat":40.71,"lng":-74.0,"device_id":"phone-2"}`, iphone)
	scan = decodeBody(t, res.Body)
	if scan["valid"] != false || scan["status"] != "exhausted" || !strings.Contains(scan["reason"].(string), "already used") {
		t.Fatalf("second scan: %s", res.Body)
	}
	flags := strings.Join(toStrings(scan["flags"]), ",")
	if !strings.Contains(flags, "impossible_travel") || !strings.Contains(flags, "multiple_devices") {
		t.Fatalf("flags = %s", flags)
	}
	res = do("POST", "/api/v1/qr/scan", `{"code":"`+code+`","device_id":"phone-2"}`, iphone)
	if f := strings.Join(toStrings(decodeBody(t, res.Body)["flags"]), ","); !strings.Contains(f, "repeat_scan") {
		t.Fatalf("repeat flag missing: %s", res.Body)
	}

	rows, _ := app.FindRecordsByFilter(collections.QRScans, "code = {:c}", "created", 0, 0, dbx.Params{"c": code})
	if len(rows) != 3 || rows[0].GetString("device_type") != "mobile" || rows[0].GetString("os") != "iOS" || rows[0].GetFloat("lat") != 52.52 || !rows[0].GetBool("consumed") || rows[1].GetBool("consumed") {
		t.Fatalf("scan rows: %d %v", len(rows), rows)
	}
	if c, _ := app.FindRecordById(collections.Contacts, gen["contact"].(string)); c.GetDateTime("last_interaction_at").IsZero() {
		t.Fatal("a scan is an interaction of its contact")
	}
	if n, _ := app.CountRecords(collections.Events, dbx.HashExp{"type": "qr.scanned", "subject_id": gen["id"]}); n != 3 {
		t.Fatalf("qr.scanned events = %d", n)
	}

	res = do("POST", "/api/v1/qr/scan", `{"code":"NOPE-123"}`, key)
	if s := decodeBody(t, res.Body); res.Status != 200 || s["status"] != "not_found" || s["valid"] != false {
		t.Fatalf("unknown code: %s", res.Body)
	}
	other := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"acme-qr"}`, key).Body)["code"].(string)
	if res := do("POST", "/api/v1/qr/scan", `{"code":"`+other+`"}`, testutil.Bearer(w.GlobexManychatKey)); decodeBody(t, res.Body)["status"] != "not_found" {
		t.Fatalf("another workspace's code must not be found: %s", res.Body)
	}
	if res := do("POST", "/api/v1/qr/scan", `{"code":"`+other+`","consume":false}`, key); decodeBody(t, res.Body)["uses"] != 0.0 {
		t.Fatalf("consume:false must not use the code: %s", res.Body)
	}
	if res := do("POST", "/api/v1/qr/"+other+"/revoke", "", key); res.Status != 200 || decodeBody(t, res.Body)["status"] != "revoked" {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	res = do("POST", "/api/v1/qr/scan", `{"code":"`+other+`"}`, key)
	if s := decodeBody(t, res.Body); s["status"] != "revoked" || !strings.Contains(strings.Join(toStrings(s["flags"]), ","), "revoked_code") {
		t.Fatalf("revoked scan: %s", res.Body)
	}
	expiring := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"acme-qr","ttl":3600}`, key).Body)
	rec, _ := app.FindRecordById(collections.QRCodes, expiring["id"].(string))
	rec.Set("expires_at", "2020-01-01 00:00:00.000Z")
	_ = app.Save(rec)
	if s := decodeBody(t, do("POST", "/api/v1/qr/scan", `{"code":"`+expiring["code"].(string)+`"}`, key).Body); s["status"] != "expired" {
		t.Fatalf("expired scan: %v", s)
	}
	for _, bad := range []struct{ body, field string }{
		{`{}`, "code"}, {`{"code":"X","lat":91,"lng":0}`, "lat"}, {`{"code":"X","lat":1}`, "lng"}, {`{"code":"X","consume":"yes"}`, "consume"},
	} {
		if res := do("POST", "/api/v1/qr/scan", bad.body, key); res.Status != 400 || !strings.Contains(res.Body, `"`+bad.field+`":{"code"`) {
			t.Errorf("%s: %d %s", bad.body, res.Status, res.Body)
		}
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, x := range list {
		out[i], _ = x.(string)
	}
	return out
}

func TestConcurrentScansOfASingleUseCode(t *testing.T) {
	app, w, do := newQRApp(t)
	key := testutil.Bearer(w.ManychatKey)
	code := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"acme-qr","max_uses":1}`, key).Body)["code"].(string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := do("POST", "/api/v1/qr/scan", `{"code":"`+code+`"}`, key)
			mu.Lock()
			statuses[decodeBody(t, res.Body)["status"].(string)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses["valid"] != 1 || statuses["exhausted"] != 199 {
		t.Fatalf("statuses = %v", statuses)
	}
	rec, _ := qrByCode(app, code)
	if rec.GetInt("uses") != 1 || rec.GetString("status") != "exhausted" {
		t.Fatalf("stored uses %d status %s", rec.GetInt("uses"), rec.GetString("status"))
	}
	if n, _ := app.CountRecords(collections.QRScans, dbx.HashExp{"code": code}); n != 200 {
		t.Fatalf("scan rows = %d", n)
	}
}

func qrByCode(app core.App, code string) (*core.Record, error) {
	return app.FindFirstRecordByFilter(collections.QRCodes, "code = {:c}", dbx.Params{"c": code})
}

func TestQRBatch(t *testing.T) {
	app, w, do := newQRApp(t)
	res := do("POST", "/api/v1/qr/batch", `{"tool":"acme-qr","count":12,"label":"flyer","max_uses":0}`, w.Manager.Headers)
	if res.Status != 202 || decodeBody(t, res.Body)["status"] != "queued" {
		t.Fatalf("batch: %d %s", res.Status, res.Body)
	}
	id := decodeBody(t, res.Body)["id"].(string)
	if n, err := jobs.RunnerOf(app).RunDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("ran %d jobs: %v", n, err)
	}
	batch, _ := app.FindRecordById(collections.QRBatches, id)
	if job, _ := app.FindFirstRecordByData(collections.Jobs, "kind", "qr.batch"); job.GetString("last_error") != "" {
		t.Fatalf("batch job failed: %s", job.GetString("last_error"))
	}
	if batch.GetString("status") != "done" || batch.GetInt("generated") != 12 {
		t.Fatalf("batch %s generated %d: %s", batch.GetString("status"), batch.GetInt("generated"), batch.GetString("error"))
	}
	if n, _ := app.CountRecords(collections.QRCodes, dbx.HashExp{"batch": id, "label": "flyer", "max_uses": 0}); n != 12 {
		t.Fatalf("batch codes = %d", n)
	}
	fsys, _ := app.NewFilesystem()
	defer fsys.Close()
	r, err := fsys.GetReader(batch.BaseFilesPath() + "/" + batch.GetString("zip"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(r)
	r.Close()
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var pngs, svgs int
	var manifest string
	for _, f := range zr.File {
		switch {
		case strings.HasSuffix(f.Name, ".png"):
			pngs++
			if pngs == 1 {
				rc, _ := f.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				if want := strings.TrimSuffix(strings.TrimPrefix(f.Name, "png/"), ".png"); decodePNG(t, string(b)) != want {
					t.Fatalf("%s does not decode to its code", f.Name)
				}
			}
		case strings.HasSuffix(f.Name, ".svg"):
			svgs++
		case f.Name == "manifest.csv":
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			manifest = string(b)
		}
	}
	if pngs != 12 || svgs != 12 || strings.Count(manifest, "\r\n") != 13 {
		t.Fatalf("zip: %d png, %d svg, manifest:\n%s", pngs, svgs, manifest)
	}
	sheets := batch.GetStringSlice("sheet")
	if len(sheets) != 1 {
		t.Fatalf("sheets = %v", sheets)
	}
	sr, _ := fsys.GetReader(batch.BaseFilesPath() + "/" + sheets[0])
	head := make([]byte, 4)
	_, _ = io.ReadFull(sr, head)
	sr.Close()
	if string(head) != "%PDF" {
		t.Fatalf("sheet is not a PDF: %q", head)
	}
	for _, bad := range []string{`{"tool":"acme-qr","count":0}`, `{"tool":"acme-qr","count":10001}`} {
		if res := do("POST", "/api/v1/qr/batch", bad, w.Manager.Headers); res.Status != 400 || !strings.Contains(res.Body, `"count":{"code"`) {
			t.Errorf("%s: %d %s", bad, res.Status, res.Body)
		}
	}
}

func TestQRExportAndStats(t *testing.T) {
	_, w, do := newQRApp(t)
	key := testutil.Bearer(w.ManychatKey)
	var codes []string
	for _, label := range []string{"=HYPERLINK(\"http://evil\")", "plain", "+1 offer"} {
		body, _ := json.Marshal(map[string]any{"tool": "acme-qr", "label": label, "max_uses": 0})
		codes = append(codes, decodeBody(t, do("POST", "/api/v1/qr", string(body), key).Body)["code"].(string))
	}
	for range 3 {
		do("POST", "/api/v1/qr/scan", `{"code":"`+codes[1]+`"}`, key)
	}
	do("POST", "/api/v1/qr/scan", `{"code":"NOT-A-CODE"}`, key)

	res := do("GET", "/api/v1/qr/export.csv", "", w.Viewer.Headers)
	if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	if !strings.Contains(res.Body, `"'=HYPERLINK(""http://evil"")"`) || !strings.Contains(res.Body, "'+1 offer") || strings.Contains(res.Body, ",=HYPERLINK") {
		t.Fatalf("formula cells must be escaped:\n%s", res.Body)
	}
	var plainLine string
	for _, line := range strings.Split(res.Body, "\r\n") {
		if strings.HasPrefix(line, codes[1]+",") {
			plainLine = line
		}
	}
	if !strings.Contains(plainLine, ",3,3,") {
		t.Fatalf("scan counts on %q", plainLine)
	}
	filtered := do("GET", "/api/v1/qr/export.csv?filter="+url.QueryEscape(`label = "plain"`), "", w.Viewer.Headers)
	if strings.Count(filtered.Body, "\r\n") != 2 {
		t.Fatalf("filtered export:\n%s", filtered.Body)
	}
	escape := do("GET", "/api/v1/qr/export.csv?filter="+url.QueryEscape(`1=1) || (1=1`), "", w.GlobexAdmin.Headers)
	for _, c := range codes {
		if strings.Contains(escape.Body, c) {
			t.Fatalf("a filter must not escape the workspace: %d %s", escape.Status, escape.Body)
		}
	}
	if res := do("GET", "/api/v1/qr/export.csv?filter="+url.QueryEscape(`nope ~~`), "", w.Viewer.Headers); res.Status != 400 || !strings.Contains(res.Body, `"filter":{"code"`) {
		t.Fatalf("bad filter: %d %s", res.Status, res.Body)
	}

	stats := do("GET", "/api/v1/qr/stats?bucket=hour", "", w.Viewer.Headers)
	s := decodeBody(t, stats.Body)
	if stats.Status != 200 || s["total"] != 4.0 {
		t.Fatalf("stats: %d %s", stats.Status, stats.Body)
	}
	top := s["top_codes"].([]any)[0].(map[string]any)
	if top["code"] != codes[1] || top["scans"] != 3.0 || top["valid"] != 3.0 {
		t.Fatalf("top codes: %v", s["top_codes"])
	}
	timeline := s["timeline"].([]any)[0].(map[string]any)
	if timeline["valid"] != 3.0 || timeline["not_found"] != 1.0 || timeline["total"] != 4.0 {
		t.Fatalf("timeline: %v", s["timeline"])
	}
	if res := do("GET", "/api/v1/qr/stats?bucket=year", "", w.Viewer.Headers); res.Status != 400 || !strings.Contains(res.Body, `"bucket":{"code"`) {
		t.Fatalf("bad bucket: %d %s", res.Status, res.Body)
	}
	if res := do("GET", "/api/v1/qr/stats?from=2026-02-01&to=2026-01-01", "", w.Viewer.Headers); res.Status != 400 || !strings.Contains(res.Body, `"from":{"code"`) {
		t.Fatalf("bad range: %d %s", res.Status, res.Body)
	}
	if res := do("GET", "/api/v1/qr/stats", "", w.GlobexAdmin.Headers); decodeBody(t, res.Body)["total"] != 0.0 {
		t.Fatalf("stats leak across workspaces: %s", res.Body)
	}
}

// A member subscribed to qr_scans sees new scans of their own workspace only.
func TestQRScansInRealtime(t *testing.T) {
	app, w, do := newQRApp(t)
	listen := func(userID string) *subscriptions.DefaultClient {
		c := subscriptions.NewDefaultClient()
		user, err := app.FindRecordById(collections.Users, userID)
		if err != nil {
			t.Fatal(err)
		}
		c.Set(apis.RealtimeClientAuthKey, user)
		c.Subscribe(collections.QRScans)
		app.SubscriptionsBroker().Register(c)
		t.Cleanup(func() { app.SubscriptionsBroker().Unregister(c.Id()) })
		return c
	}
	acme, globex := listen(w.Viewer.ID), listen(w.GlobexAdmin.ID)
	key := testutil.Bearer(w.ManychatKey)
	code := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"acme-qr"}`, key).Body)["code"].(string)
	scan := decodeBody(t, do("POST", "/api/v1/qr/scan", `{"code":"`+code+`"}`, key).Body)

	select {
	case m := <-acme.Channel():
		if m.Name != collections.QRScans || !strings.Contains(string(m.Data), scan["scan_id"].(string)) {
			t.Fatalf("unexpected message %s: %s", m.Name, m.Data)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the Acme viewer was not told about the scan")
	}
	select {
	case m := <-globex.Channel():
		t.Fatalf("another workspace heard about the scan: %s", m.Data)
	case <-time.After(300 * time.Millisecond):
	}
}

// A code's detail asks the stats of that code alone (by id or text), with the device, OS and browser split and
// its located scans; another workspace's code is not found.
func TestQRStatsOfOneCode(t *testing.T) {
	_, w, do := newQRApp(t)
	key := testutil.Bearer(w.ManychatKey)
	a := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"acme-qr","max_uses":0}`, key).Body)
	b := decodeBody(t, do("POST", "/api/v1/qr", `{"tool":"acme-qr","max_uses":0}`, key).Body)
	iphone := map[string]string{"Authorization": key["Authorization"], "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"}
	do("POST", "/api/v1/qr/scan", `{"code":"`+a["code"].(string)+`","lat":52.52,"lng":13.405}`, iphone)
	do("POST", "/api/v1/qr/scan", `{"code":"`+a["code"].(string)+`"}`, iphone)
	do("POST", "/api/v1/qr/scan", `{"code":"`+b["code"].(string)+`","lat":40.71,"lng":-74.0}`, key)

	for _, ref := range []string{a["id"].(string), a["code"].(string)} {
		res := do("GET", "/api/v1/qr/stats?qr="+url.QueryEscape(ref), "", w.Viewer.Headers)
		s := decodeBody(t, res.Body)
		if res.Status != 200 || s["total"] != 2.0 {
			t.Fatalf("stats of %s: %d %s", ref, res.Status, res.Body)
		}
		if d := s["devices"].(map[string]any); d["mobile"] != 2.0 {
			t.Fatalf("devices: %v", d)
		}
		if o := s["os"].(map[string]any); o["iOS"] != 2.0 {
			t.Fatalf("os: %v", o)
		}
		if br := s["browsers"].(map[string]any); br["Safari"] != 2.0 {
			t.Fatalf("browsers: %v", br)
		}
		locs := s["locations"].([]any)
		if len(locs) != 1 || locs[0].(map[string]any)["lat"] != 52.52 {
			t.Fatalf("locations: %v", locs)
		}
	}
	if res := do("GET", "/api/v1/qr/stats?qr=NOPE", "", w.Viewer.Headers); res.Status != 400 || !strings.Contains(res.Body, `"qr":{"code"`) {
		t.Fatalf("unknown code: %d %s", res.Status, res.Body)
	}
	if res := do("GET", "/api/v1/qr/stats?qr="+a["id"].(string), "", w.GlobexAdmin.Headers); res.Status != 400 {
		t.Fatalf("another workspace's code: %d %s", res.Status, res.Body)
	}
}
