package routes_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/tools/subscriptions"
)

func createBin(t *testing.T, h http.Handler, headers map[string]string, body string) (id, token string) {
	t.Helper()
	res := testutil.Do(h, "POST", "/api/v1/playground/bins", body, headers)
	if res.Status != 201 {
		t.Fatalf("create bin: %d %s", res.Status, res.Body)
	}
	return jsonField(t, []byte(res.Body), "id"), jsonField(t, []byte(res.Body), "token")
}

// A bin captures any request at its public URL (headers, query, body, IP, time; capped in size and count),
// answers with its mock response, and its captures are visible to its workspace only.
func TestPlaygroundCapturesRequestsAndMocksTheResponse(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)

	res := testutil.Do(h, "POST", "/api/v1/playground/bins",
		`{"name":"crm test","response":{"status":418,"headers":{"X-Mock":"yes","Content-Type":"application/json"},"body":"{\"ok\":false}","delay_ms":150},"max_requests":3}`, w.Manager.Headers)
	if res.Status != 201 || !strings.Contains(res.Body, `"capture_url":"http://playgram.test/api/v1/playground/bins/`) || !strings.Contains(res.Body, `"status":418`) {
		t.Fatalf("create bin: %d %s", res.Status, res.Body)
	}
	bin, token := jsonField(t, []byte(res.Body), "id"), jsonField(t, []byte(res.Body), "token")
	url := "/api/v1/playground/bins/" + token + "/capture"

	start := time.Now()
	req := httptest.NewRequest("POST", url+"?order=42&tag=a&tag=b", strings.NewReader("hello bin"))
	req.Header.Set("X-Test", "1")
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 418 || rec.Header().Get("X-Mock") != "yes" || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != `{"ok":false}` {
		t.Fatalf("mock response: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("mock delay: answered after %s", d)
	}

	list := testutil.Do(h, "GET", "/api/collections/playground_requests/records?filter=(bin='"+bin+"')", "", w.Viewer.Headers)
	var page struct {
		Items []map[string]any `json:"items"`
	}
	_ = json.Unmarshal([]byte(list.Body), &page)
	if len(page.Items) != 1 {
		t.Fatalf("captures: %s", list.Body)
	}
	c := page.Items[0]
	q, _ := json.Marshal(c["query"])
	hd, _ := json.Marshal(c["headers"])
	if c["method"] != "POST" || c["path"] != "/" || c["body"] != "hello bin" || c["body_size"] != 9.0 || c["ip"] == "" || c["ts"] == 0.0 ||
		string(q) != `{"order":["42"],"tag":["a","b"]}` || !strings.Contains(string(hd), `"X-Test":["1"]`) {
		t.Fatalf("capture: %v", c)
	}

	for i, m := range []string{"PUT", "DELETE", "GET", "PATCH"} {
		r := httptest.NewRequest(m, url+"/deep/path", strings.NewReader(strings.Repeat("x", i*webhooks.MaxCaptureBody)))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	recs, _ := app.FindRecordsByFilter(collections.PlaygroundRequests, "bin = {:b}", "ts", 0, 0, dbx.Params{"b": bin})
	if len(recs) != 3 || recs[0].GetString("method") != "DELETE" || recs[2].GetString("path") != "/deep/path" {
		t.Fatalf("a bin keeps its 3 newest captures: %d", len(recs))
	}
	if big := recs[1]; !big.GetBool("body_truncated") || big.GetInt("body_size") != 2*webhooks.MaxCaptureBody || len(big.GetString("body")) != webhooks.MaxCaptureBody {
		t.Fatalf("a large body: truncated %v size %d kept %d", big.GetBool("body_truncated"), big.GetInt("body_size"), len(big.GetString("body")))
	}

	if res := testutil.Do(h, "POST", "/api/v1/playground/bins/nosuchtokennosuchtoken12/capture", "x", nil); res.Status != 404 {
		t.Fatalf("unknown bin: %d", res.Status)
	}
	for _, c := range []struct{ body, field string }{
		{`{"response":{"delay_ms":40000}}`, `"response.delay_ms"`},
		{`{"response":{"status":700}}`, `"response.status"`},
		{`{"response":{"headers":{"Content-Length":"5"}}}`, `"response_headers.Content-Length"`},
		{`{"max_requests":0}`, `"max_requests"`},
	} {
		if res := testutil.Do(h, "POST", "/api/v1/playground/bins", c.body, w.Manager.Headers); res.Status != 400 || !strings.Contains(res.Body, c.field) {
			t.Errorf("bin %s: %d %s", c.body, res.Status, res.Body)
		}
	}
	if res := testutil.Do(h, "POST", "/api/v1/playground/bins", `{}`, w.Viewer.Headers); res.Status != 403 {
		t.Errorf("a viewer created a bin: %d", res.Status)
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/playground_bins/records/"+bin, `{"response_status":201,"response_delay_ms":0}`, w.Manager.Headers); res.Status != 200 {
		t.Errorf("edit the mock response: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/playground_bins/records/"+bin, `{"response_delay_ms":31000}`, w.Manager.Headers); res.Status != 400 {
		t.Errorf("a delay over 30 s: %d", res.Status)
	}
	r := httptest.NewRequest("GET", url, nil)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, r)
	if rr.Code != 201 {
		t.Errorf("after editing the bin: %d", rr.Code)
	}

	for _, path := range []string{"/api/collections/playground_requests/records", "/api/collections/playground_bins/records"} {
		if res := testutil.Do(h, "GET", path, "", w.GlobexOwner.Headers); !strings.Contains(res.Body, `"totalItems":0`) {
			t.Errorf("another workspace lists %s: %s", path, res.Body)
		}
	}
	if res := testutil.Do(h, "GET", "/api/collections/playground_bins/records/"+bin, "", w.GlobexOwner.Headers); res.Status != 404 {
		t.Errorf("another workspace views the bin: %d", res.Status)
	}
	if res := testutil.Do(h, "POST", "/api/v1/playground/requests/"+recs[0].Id+"/verify", `{"endpoint":"x"}`, w.GlobexAdmin.Headers); res.Status != 404 {
		t.Errorf("another workspace verifies a capture: %d", res.Status)
	}
}

// Webhooks sent to a bin (over loopback, through the SSRF-guarded client) verify against the endpoint's
// secret; a tampered body or another endpoint's secret does not, and after a rotation the previous secret
// is recognised.
func TestPlaygroundVerifiesCapturedSignatures(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	srv := httptest.NewServer(h)
	defer srv.Close()
	bin, token := createBin(t, h, w.Admin.Headers, `{"name":"hooks"}`)
	capture := srv.URL + "/api/v1/playground/bins/" + token + "/capture"
	ep := createEndpoint(t, h, w.Admin.Headers, `{"url":"`+capture+`","events":["qr.*"]}`)
	other := createEndpoint(t, h, w.Admin.Headers, `{"url":"https://elsewhere.example","events":["booking.*"]}`)

	platform.Emit(app, platform.Event{Workspace: w.Acme, Type: "qr.scanned", Data: map[string]any{"code": "PG-1"}})
	if n, err := webhooks.Of(app).RunDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("sent %d, %v", n, err)
	}
	got, err := app.FindFirstRecordByFilter(collections.PlaygroundRequests, "bin = {:b}", dbx.Params{"b": bin})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(endpoint string) map[string]any {
		res := testutil.Do(h, "POST", "/api/v1/playground/requests/"+got.Id+"/verify", `{"endpoint":"`+endpoint+`"}`, w.Manager.Headers)
		var out map[string]any
		_ = json.Unmarshal([]byte(res.Body), &out)
		if res.Status != 200 {
			t.Fatalf("verify: %d %s", res.Status, res.Body)
		}
		return out
	}
	if v := verify(ep["id"].(string)); v["valid"] != true || v["secret"] != "current" || !strings.HasPrefix(v["webhook_id"].(string), "msg_") {
		t.Fatalf("verify against the endpoint: %v", v)
	}
	if v := verify(other["id"].(string)); v["valid"] != false || !strings.Contains(v["error"].(string), "no matching signature") {
		t.Fatalf("verify against another endpoint: %v", v)
	}

	testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+ep["id"].(string)+"/rotate-secret", `{}`, w.Admin.Headers)
	if v := verify(ep["id"].(string)); v["valid"] != true || v["secret"] != "previous" {
		t.Fatalf("verify after a rotation: %v", v)
	}

	got.Set("body", strings.Replace(got.GetString("body"), "PG-1", "PG-2", 1))
	if err := app.Save(got); err != nil {
		t.Fatal(err)
	}
	if v := verify(ep["id"].(string)); v["valid"] != false {
		t.Fatalf("a tampered body verified: %v", v)
	}
	resp, err := http.Post(capture, "application/json", strings.NewReader(`{"type":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	unsigned, _ := app.FindFirstRecordByFilter(collections.PlaygroundRequests, "bin = {:b} && body = '{\"type\":\"x\"}'", dbx.Params{"b": bin})
	res := testutil.Do(h, "POST", "/api/v1/playground/requests/"+unsigned.Id+"/verify", `{"endpoint":"`+ep["id"].(string)+`"}`, w.Manager.Headers)
	if !strings.Contains(res.Body, `"valid":false`) || !strings.Contains(res.Body, "webhook-id: missing header") {
		t.Fatalf("an unsigned request: %s", res.Body)
	}
}

// Captures are pushed over realtime to members of the bin's workspace, and to nobody else.
func TestPlaygroundCapturesArriveInRealtimeForTheirWorkspaceOnly(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	_, token := createBin(t, h, w.Manager.Headers, `{}`)

	listen := func(userID string) (*subscriptions.DefaultClient, chan string) {
		user, err := app.FindRecordById(collections.Users, userID)
		if err != nil {
			t.Fatal(err)
		}
		c := subscriptions.NewDefaultClient()
		c.Set(apis.RealtimeClientAuthKey, user)
		c.Subscribe("playground_requests/*")
		app.SubscriptionsBroker().Register(c)
		got := make(chan string, 4)
		go func() {
			for m := range c.Channel() {
				got <- string(m.Data)
			}
		}()
		return c, got
	}
	acme, acmeGot := listen(w.Viewer.ID)
	globex, globexGot := listen(w.GlobexOwner.ID)
	defer acme.Discard()
	defer globex.Discard()

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/v1/playground/bins/"+token+"/capture?live=1", strings.NewReader(`{"ping":true}`)))
	select {
	case msg := <-acmeGot:
		if !strings.Contains(msg, `"action":"create"`) || !strings.Contains(msg, `{\"ping\":true}`) {
			t.Fatalf("realtime message: %s", msg)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the bin's workspace got no realtime message")
	}
	select {
	case msg := <-globexGot:
		t.Fatalf("another workspace got %s", msg)
	case <-time.After(200 * time.Millisecond):
	}
}
