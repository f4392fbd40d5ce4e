package routes_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/dbx"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

type captured struct {
	header http.Header
	body   []byte
}

// sink is a loopback receiver that keeps what it gets and answers with reply.
func sink(t *testing.T, reply func(w http.ResponseWriter)) (*httptest.Server, func() []captured) {
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.Header.Clone(), body})
		mu.Unlock()
		if reply != nil {
			reply(w)
			return
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured { mu.Lock(); defer mu.Unlock(); return append([]captured(nil), got...) }
}

func createEndpoint(t *testing.T, h http.Handler, headers map[string]string, body string) map[string]any {
	t.Helper()
	res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints", body, headers)
	if res.Status != 201 {
		t.Fatalf("create endpoint %s: %d %s", body, res.Status, res.Body)
	}
	var out map[string]any
	_ = json.Unmarshal([]byte(res.Body), &out)
	return out
}

func TestEndpointSecretIsShownOnceAndInputIsValidated(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)

	body := `{"url":"https://crm.example.com/hooks","events":["booking.*","qr.scanned"],"description":"CRM","filter":"data.amount > 10",` +
		`"transform":{"fields":[{"to":"event","from":"type"},{"to":"booking.id","from":"data.id"}]},"headers":{"X-Token":"abc"},"rate_limit":50,"max_in_flight":4}`
	res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints", body, map[string]string{"Authorization": w.Admin.Headers["Authorization"], "Idempotency-Key": "ep-1"})
	if res.Status != 201 || !strings.Contains(res.Body, `"secret":"whsec_`) || !strings.Contains(res.Body, `"enabled":true`) || !strings.Contains(res.Body, `"rate_limit":50`) {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	id := jsonField(t, []byte(res.Body), "id")
	secret := jsonField(t, []byte(res.Body), "secret")
	again := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints", body, map[string]string{"Authorization": w.Admin.Headers["Authorization"], "Idempotency-Key": "ep-1"})
	if again.Header.Get("Idempotent-Replayed") != "true" || jsonField(t, []byte(again.Body), "id") != id {
		t.Fatalf("a retried create made another endpoint: %s", again.Body)
	}
	if n, _ := app.CountRecords(collections.WebhookEndpoints); n != 1 {
		t.Fatalf("%d endpoints", n)
	}
	rec, _ := app.FindRecordById(collections.WebhookEndpoints, id)
	if stored := rec.GetString("secret"); strings.Contains(stored, strings.TrimPrefix(secret, "whsec_")) || !strings.HasPrefix(stored, "v1:") {
		t.Fatalf("the secret is not sealed at rest: %s", stored)
	}

	for _, who := range []map[string]string{w.Admin.Headers, w.Owner.Headers} {
		for _, url := range []string{"/api/collections/webhook_endpoints/records", "/api/collections/webhook_endpoints/records/" + id} {
			res := testutil.Do(h, "GET", url, "", who)
			if res.Status != 200 || !strings.Contains(res.Body, id) || strings.Contains(res.Body, "secret\"") || strings.Contains(res.Body, "whsec_") || strings.Contains(res.Body, "v1:") {
				t.Fatalf("GET %s: %d %s", url, res.Status, res.Body)
			}
		}
	}
	if res := testutil.Do(h, "GET", "/api/collections/webhook_endpoints/records", "", w.Manager.Headers); !strings.Contains(res.Body, `"totalItems":0`) {
		t.Fatalf("a manager sees endpoints (their headers may hold credentials): %s", res.Body)
	}
	if res := testutil.Do(h, "GET", "/api/collections/webhook_endpoints/records", "", w.GlobexAdmin.Headers); !strings.Contains(res.Body, `"totalItems":0`) {
		t.Fatalf("another workspace sees the endpoint: %s", res.Body)
	}
	if res := testutil.Do(h, "POST", "/api/collections/webhook_endpoints/records", `{"workspace":"`+w.Acme+`","url":"https://x.example","events":["*"]}`, w.Admin.Headers); res.Status != 403 && res.Status != 400 {
		t.Fatalf("create through the collection API (no way to show the secret): %d %s", res.Status, res.Body)
	}
	res = testutil.Do(h, "PATCH", "/api/collections/webhook_endpoints/records/"+id, `{"events":["qr.*"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, w.Admin.Headers)
	if res.Status != 200 || !strings.Contains(res.Body, `"events":["qr.*"]`) {
		t.Fatalf("edit through the collection API: %d %s", res.Status, res.Body)
	}
	if after, _ := app.FindRecordById(collections.WebhookEndpoints, id); after.GetString("secret") != rec.GetString("secret") {
		t.Fatal("the collection API changed the secret")
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/webhook_endpoints/records/"+id, `{"url":"gopher://x"}`, w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, `"url":{"code":"validation_invalid_url"`) {
		t.Fatalf("edit with a bad URL: %d %s", res.Status, res.Body)
	}

	for _, c := range []struct{ body, field string }{
		{`{"events":["*"]}`, `"url":{"code":"validation_required"`},
		{`{"url":"https://x.example"}`, `"events":{"code":"validation_required"`},
		{`{"url":"https://x.example","events":[]}`, `"events":{"code":"validation_required"`},
		{`{"url":"https://x.example","events":["book*","booking.*","booking.*"]}`, `"events[0]":{"code":"validation_invalid_pattern"`},
		{`{"url":"https://x.example","events":["booking.*","booking.*"]}`, `"events[1]":{"code":"validation_duplicate"`},
		{`{"url":"https://x.example","events":"booking.*"}`, `"events":{"code":"validation_invalid_type"`},
		{`{"url":"https://x.example","events":["*"],"filter":"secret = 1"}`, `"filter":{"code":"validation_invalid_filter"`},
		{`{"url":"https://x.example","events":["*"],"filter":"data.x >"}`, `"filter":{"code":"validation_invalid_filter"`},
		{`{"url":"https://x.example","events":["*"],"filter":"data.a'b = 1"}`, `"filter":{"code":"validation_invalid_filter"`},
		{`{"url":"https://x.example","events":["*"],"transform":{"fields":[{"to":"a","form":"type"}]}}`, `"transform":{"code":"validation_invalid_json"`},
		{`{"url":"https://x.example","events":["*"],"transform":{"fields":[{"to":"a","from":"type"},{"to":"a.b","from":"data"}]}}`, `"transform.fields[1].to":{"code":"validation_conflict"`},
		{`{"url":"https://x.example","events":["*"],"headers":{"webhook-id":"x"}}`, `"headers.webhook-id":{"code":"validation_invalid_header"`},
		{`{"url":"https://x.example","events":["*"],"headers":{"X-A":"a\nb"}}`, `"headers.X-A":{"code":"validation_invalid_header"`},
		{`{"url":"https://x.example","events":["*"],"headers":{"Bad Name":"x"}}`, `"headers.Bad Name":{"code":"validation_invalid_header"`},
		{`{"url":"https://x.example","events":["*"],"rate_limit":-1}`, `"rate_limit":{"code"`},
		{`{"url":"https://x.example","events":["*"],"max_in_flight":5000}`, `"max_in_flight":{"code"`},
		{`{"url":"https://x.example","events":["*"],"colour":"red"}`, `"colour":{"code":"validation_unknown_field"`},
		{`{"url":"http://[::1","events":["*"]}`, `"url":{"code":"validation_invalid_url"`},
	} {
		if res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints", c.body, w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, c.field) {
			t.Errorf("%s: %d %s", c.body, res.Status, res.Body)
		}
	}

	ok := `{"url":"https://x.example","events":["*"]}`
	for _, c := range []struct {
		headers map[string]string
		status  int
	}{
		{w.Manager.Headers, 403},
		{testutil.Bearer(w.ManychatKey), 403},
		{testutil.Bearer(w.AdminKey), 201},
		{nil, 401},
	} {
		if res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints", ok, c.headers); res.Status != c.status {
			t.Errorf("create as %v: %d, want %d", c.headers, res.Status, c.status)
		}
	}
	if res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+id+"/rotate-secret", "", w.GlobexAdmin.Headers); res.Status != 404 {
		t.Errorf("rotate another workspace's endpoint: %d", res.Status)
	}
	if n, _ := app.CountRecords(collections.AuditLog, dbx.HashExp{"action": "webhook_endpoint.created", "target_id": id}); n != 1 {
		t.Errorf("create audit rows: %d", n)
	}
	if res := testutil.Do(h, "DELETE", "/api/collections/webhook_endpoints/records/"+id, "", w.Admin.Headers); res.Status != 204 {
		t.Errorf("delete: %d %s", res.Status, res.Body)
	}
}

// During a rotation's grace period both secrets sign every request; after it, only the new one.
func TestRotatedSecretSignsAlongsideTheOldOneDuringGrace(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	srv, got := sink(t, nil)
	ep := createEndpoint(t, h, w.Admin.Headers, `{"url":"`+srv.URL+`","events":["*"]}`)
	id, oldSecret := ep["id"].(string), ep["secret"].(string)

	res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+id+"/rotate-secret", `{"grace_hours":2}`, w.Admin.Headers)
	newSecret := jsonField(t, []byte(res.Body), "secret")
	if res.Status != 200 || newSecret == oldSecret || !strings.HasPrefix(newSecret, "whsec_") || !strings.Contains(res.Body, "previous_secret_valid_until") {
		t.Fatalf("rotate: %d %s", res.Status, res.Body)
	}
	if _, err := platform.Emit(app, platform.Event{Workspace: w.Acme, Type: "qr.scanned"}); err != nil {
		t.Fatal(err)
	}
	if _, err := webhooks.Of(app).RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := got()[0]
	if n := len(strings.Fields(first.header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("signatures during grace: %d", n)
	}
	for _, s := range []string{oldSecret, newSecret} {
		v, _ := standardwebhooks.NewWebhook(s)
		if err := v.Verify(first.body, first.header); err != nil {
			t.Fatalf("during grace, %s…: %v", s[:10], err)
		}
	}

	if res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+id+"/rotate-secret", `{"grace_hours":0}`, w.Admin.Headers); res.Status != 200 {
		t.Fatalf("rotate without grace: %d %s", res.Status, res.Body)
	} else {
		newSecret = jsonField(t, []byte(res.Body), "secret")
	}
	if res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+id+"/rotate-secret", `{"grace_hours":500}`, w.Admin.Headers); res.Status != 400 {
		t.Fatalf("grace of 500 h: %d", res.Status)
	}
	platform.Emit(app, platform.Event{Workspace: w.Acme, Type: "qr.scanned"})
	webhooks.Of(app).RunDue(context.Background())
	last := got()[1]
	if n := len(strings.Fields(last.header.Get("webhook-signature"))); n != 1 {
		t.Fatalf("signatures after a rotation without grace: %d", n)
	}
	s, _ := whsig.ParseSecret(newSecret)
	if err := whsig.Verify(s, last.header, last.body, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := app.CountRecords(collections.AuditLog, dbx.HashExp{"action": "webhook_endpoint.secret_rotated", "target_id": id}); n != 2 {
		t.Errorf("rotation audit rows: %d", n)
	}
}

// The test route sends a realistic sample at once (the latest real event of the type when there is one) and
// returns the whole exchange; it creates no delivery and a 410 does not disable the endpoint.
func TestEndpointTestSendsASampleAndShowsTheExchange(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	var status atomic.Int32
	status.Store(202)
	srv, got := sink(t, func(rw http.ResponseWriter) {
		rw.Header().Set("X-Receiver", "crm")
		rw.WriteHeader(int(status.Load()))
		_, _ = rw.Write([]byte("thanks"))
	})
	ep := createEndpoint(t, h, w.Admin.Headers, `{"url":"`+srv.URL+`","events":["booking.*"],"headers":{"X-Token":"t0k"}}`)
	id, secret := ep["id"].(string), ep["secret"].(string)

	res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+id+"/test", `{"event_type":"booking.created"}`, w.Admin.Headers)
	var out struct {
		Request struct {
			Method, URL string
			Headers     map[string]string
			Body        string
		}
		Response struct {
			Status  int
			Headers map[string]string
			Body    string
		}
		Outcome string
		Sample  bool
	}
	_ = json.Unmarshal([]byte(res.Body), &out)
	if res.Status != 200 || out.Request.Method != "POST" || out.Request.URL != srv.URL || out.Request.Headers["X-Token"] != "t0k" ||
		!strings.HasPrefix(out.Request.Headers["webhook-id"], "msg_") || !strings.Contains(out.Request.Body, `"type":"booking.created"`) ||
		!strings.Contains(out.Request.Body, `"helper":`) || !out.Sample || out.Response.Status != 202 || out.Response.Body != "thanks" ||
		out.Response.Headers["X-Receiver"] != "crm" || out.Outcome != "delivered" {
		t.Fatalf("test: %d %s", res.Status, res.Body)
	}
	sent := got()[0]
	if string(sent.body) != out.Request.Body {
		t.Fatalf("shown body differs from the sent one")
	}
	v, _ := standardwebhooks.NewWebhook(secret)
	if err := v.Verify(sent.body, sent.header); err != nil {
		t.Fatal(err)
	}

	platform.Emit(app, platform.Event{Workspace: w.Acme, Type: "booking.cancelled", Data: map[string]any{"id": "bk_real", "reason": "ill"}})
	status.Store(410)
	res = testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+id+"/test", `{"event_type":"booking.cancelled"}`, w.Admin.Headers)
	if !strings.Contains(res.Body, `\"id\":\"bk_real\"`) || !strings.Contains(res.Body, `"sample":false`) || !strings.Contains(res.Body, `"outcome":"disable"`) {
		t.Fatalf("test with a real event: %s", res.Body)
	}
	if rec, _ := app.FindRecordById(collections.WebhookEndpoints, id); !rec.GetBool("enabled") {
		t.Fatal("a test answered 410 disabled the endpoint")
	}
	if n, _ := app.CountRecords(collections.WebhookDeliveries, dbx.HashExp{"endpoint": id}); n != 0 {
		t.Fatalf("tests created %d deliveries", n)
	}
	if res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+id+"/test", `{"event_type":"Booking created"}`, w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, `"event_type"`) {
		t.Fatalf("bad event type: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints/"+id+"/test", `{"event_type":"qr.scanned"}`, w.GlobexAdmin.Headers); res.Status != 404 {
		t.Fatalf("another workspace: %d", res.Status)
	}
}

// Deliveries and attempts are visible to the admins of their own workspace only.
func TestDeliveryLogsStayInTheirWorkspace(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	srv, _ := sink(t, nil)
	createEndpoint(t, h, w.Admin.Headers, `{"url":"`+srv.URL+`","events":["*"]}`)
	createEndpoint(t, h, w.GlobexAdmin.Headers, `{"url":"`+srv.URL+`","events":["*"]}`)
	platform.Emit(app, platform.Event{Workspace: w.Acme, Type: "qr.scanned"})
	platform.Emit(app, platform.Event{Workspace: w.Globex, Type: "qr.scanned"})
	if n, err := webhooks.Of(app).RunDue(context.Background()); n != 2 || err != nil {
		t.Fatalf("sent %d, %v", n, err)
	}
	for _, coll := range []string{"webhook_deliveries", "webhook_attempts"} {
		for who, want := range map[string]struct {
			headers map[string]string
			total   string
		}{
			"acme admin":   {w.Admin.Headers, `"totalItems":1`},
			"globex admin": {w.GlobexAdmin.Headers, `"totalItems":1`},
			"acme viewer":  {w.Viewer.Headers, `"totalItems":0`},
		} {
			res := testutil.Do(h, "GET", "/api/collections/"+coll+"/records", "", want.headers)
			if res.Status != 200 || !strings.Contains(res.Body, want.total) {
				t.Errorf("%s lists %s: %s", who, coll, res.Body)
			}
			if want.total == `"totalItems":1` {
				ws := w.Acme
				if who == "globex admin" {
					ws = w.Globex
				}
				if !strings.Contains(res.Body, ws) {
					t.Errorf("%s sees another workspace's %s: %s", who, coll, res.Body)
				}
			}
		}
	}
	d, _ := app.FindFirstRecordByFilter(collections.WebhookDeliveries, "workspace = {:ws}", dbx.Params{"ws": w.Acme})
	if res := testutil.Do(h, "POST", "/api/v1/webhooks/deliveries/"+d.Id+"/replay", "", w.GlobexAdmin.Headers); res.Status != 404 {
		t.Errorf("replay of another workspace's delivery: %d", res.Status)
	}

	// Logs go with their endpoint, and with their workspace.
	if res := testutil.Do(h, "DELETE", "/api/collections/webhook_endpoints/records/"+d.GetString("endpoint"), "", w.Admin.Headers); res.Status != 204 {
		t.Fatalf("delete endpoint: %d %s", res.Status, res.Body)
	}
	globex, _ := app.FindRecordById(collections.Workspaces, w.Globex)
	if err := app.Delete(globex); err != nil {
		t.Fatal(err)
	}
	for _, coll := range []string{collections.WebhookDeliveries, collections.WebhookAttempts} {
		if n, _ := app.CountRecords(coll); n != 0 {
			t.Errorf("%s left behind: %d", coll, n)
		}
	}
}
