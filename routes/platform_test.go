package routes_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

func worldApp(t testing.TB) *tests.TestApp { return testutil.NewWorldApp(t) }

func TestPing(t *testing.T) {
	w := testutil.TheWorld(t)
	scenarios := []tests.ApiScenario{
		{
			Name: "valid key answers its workspace, prefix and scopes", Method: http.MethodGet, URL: "/api/v1/ping",
			Headers:         testutil.Bearer(w.ManychatKey),
			ExpectedStatus:  200,
			ExpectedContent: []string{`"workspace":"` + w.Acme + `"`, `"key_prefix":"` + w.ManychatKey[:12] + `"`, `"scopes":["manychat"]`},
		},
		{
			Name: "signed-in viewer may ping", Method: http.MethodGet, URL: "/api/v1/ping",
			Headers: w.Viewer.Headers, ExpectedStatus: 200, ExpectedContent: []string{`"role":"viewer"`},
		},
		{
			Name: "no credentials", Method: http.MethodGet, URL: "/api/v1/ping",
			ExpectedStatus: 401, ExpectedContent: []string{"Sign in or send an API key"},
		},
		{
			Name: "unknown key", Method: http.MethodGet, URL: "/api/v1/ping",
			Headers:        testutil.Bearer("pgk_" + strings.Repeat("a", 43)),
			ExpectedStatus: 401, ExpectedContent: []string{"not recognised"},
		},
		{
			Name: "malformed key", Method: http.MethodGet, URL: "/api/v1/ping",
			Headers:        testutil.Bearer("pgk_short"),
			ExpectedStatus: 401, ExpectedContent: []string{"malformed"},
		},
		{
			Name: "revoked key", Method: http.MethodGet, URL: "/api/v1/ping",
			Headers: testutil.Bearer(w.RevokedKey), ExpectedStatus: 401, ExpectedContent: []string{"revoked"},
		},
		{
			Name: "expired key", Method: http.MethodGet, URL: "/api/v1/ping",
			Headers: testutil.Bearer(w.ExpiredKey), ExpectedStatus: 401, ExpectedContent: []string{"expired"},
		},
		{
			Name: "superuser names the workspace", Method: http.MethodGet, URL: "/api/v1/ping?workspace=" + w.AcmeSlug,
			Headers: w.Superuser.Headers, ExpectedStatus: 200, ExpectedContent: []string{`"workspace":"` + w.Acme + `"`},
		},
	}
	for _, s := range scenarios {
		s.TestAppFactory = worldApp
		s.Test(t)
	}
}

func TestRequestID(t *testing.T) {
	w := testutil.TheWorld(t)
	for _, c := range []struct {
		name, incoming string
		echoed         bool
	}{
		{"echoes a valid id", "req-12345678", true},
		{"replaces an invalid id", "bad id with spaces", false},
		{"makes one when missing", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			headers := map[string]string{"Authorization": "Bearer " + w.ManychatKey}
			if c.incoming != "" {
				headers["X-Request-Id"] = c.incoming
			}
			(&tests.ApiScenario{
				Method: http.MethodGet, URL: "/api/v1/ping", Headers: headers, ExpectedStatus: 200,
				ExpectedContent: []string{`"workspace"`},
				TestAppFactory:  worldApp,
				AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
					got := res.Header.Get("X-Request-Id")
					if c.echoed && got != c.incoming {
						t.Fatalf("X-Request-Id = %q, want the incoming %q", got, c.incoming)
					}
					if !c.echoed && (len(got) < 8 || got == c.incoming) {
						t.Fatalf("X-Request-Id = %q, want a fresh id", got)
					}
				},
			}).Test(t)
		})
	}
	// PocketBase's own routes and error responses carry it too.
	(&tests.ApiScenario{
		Method: http.MethodGet, URL: "/api/collections/tools/records/nope", ExpectedStatus: 404,
		ExpectedContent: []string{`"status":404`}, TestAppFactory: worldApp,
		AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
			if res.Header.Get("X-Request-Id") == "" {
				t.Fatal("error response lacks X-Request-Id")
			}
		},
	}).Test(t)
}

func TestAPIKeyLifecycle(t *testing.T) {
	w := testutil.TheWorld(t)
	scenarios := []tests.ApiScenario{
		{
			Name: "admin creates a key and sees the secret once", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body:               strings.NewReader(`{"name":"Manychat prod","scopes":["manychat","verification"],"allow_ips":["203.0.113.0/24"]}`),
			Headers:            w.Admin.Headers,
			ExpectedStatus:     201,
			ExpectedContent:    []string{`"secret":"pgk_`, `"scopes":["manychat","verification"]`, `"name":"Manychat prod"`},
			NotExpectedContent: []string{`"hash"`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				rec, err := app.FindFirstRecordByData(collections.APIKeys, "name", "Manychat prod")
				if err != nil {
					t.Fatal(err)
				}
				if len(rec.GetString("hash")) != 64 || rec.GetString("workspace") != w.Acme {
					t.Fatalf("stored key: hash %q workspace %q", rec.GetString("hash"), rec.GetString("workspace"))
				}
				audit, err := app.FindFirstRecordByData(collections.AuditLog, "target_id", rec.Id)
				if err != nil || audit.GetString("action") != "api_key.created" || audit.GetString("actor_id") != w.Admin.ID {
					t.Fatalf("audit row missing or wrong: %v %v", audit, err)
				}
			},
		},
		{
			Name: "manager may not create keys", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body: strings.NewReader(`{"name":"x","scopes":["manychat"]}`), Headers: w.Manager.Headers,
			ExpectedStatus: 403, ExpectedContent: []string{"needs admin"},
		},
		{
			Name: "a manychat key may not create keys", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body: strings.NewReader(`{"name":"x","scopes":["manychat"]}`), Headers: testutil.Bearer(w.ManychatKey),
			ExpectedStatus: 403, ExpectedContent: []string{`lacks the \"admin\" scope`},
		},
		{
			Name: "an admin key may create keys", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body: strings.NewReader(`{"name":"x","scopes":["social"]}`), Headers: testutil.Bearer(w.AdminKey),
			ExpectedStatus: 201, ExpectedContent: []string{`"secret":"pgk_`},
		},
		{
			Name: "bad input names each field", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body:            strings.NewReader(`{"name":"","scopes":["root"],"allow_ips":["10.0.0.0/33"],"expires_at":"tomorrow"}`),
			Headers:         w.Admin.Headers,
			ExpectedStatus:  400,
			ExpectedContent: []string{`"name":{"code":"validation_invalid_value"`, `"scopes":{"code"`, `Unknown scope \"root\"`, `"allow_ips":{"code"`, `10.0.0.0/33`, `"expires_at":{"code"`},
		},
		{
			Name: "wrong JSON type names the field", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body: strings.NewReader(`{"name":"x","scopes":"manychat"}`), Headers: w.Admin.Headers,
			ExpectedStatus: 400, ExpectedContent: []string{`"scopes":{"code":"validation_invalid_type"`},
		},
		{
			Name: "unknown JSON field names the field", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body: strings.NewReader(`{"name":"x","scopes":["manychat"],"scope":"x"}`), Headers: w.Admin.Headers,
			ExpectedStatus: 400, ExpectedContent: []string{`"scope":{"code":"validation_unknown_field"`},
		},
		{
			Name: "malformed JSON", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body: strings.NewReader(`{"name":`), Headers: w.Admin.Headers,
			ExpectedStatus: 400, ExpectedContent: []string{`"body":{"code":"validation_invalid_json"`},
		},
		{
			Name: "oversized body", Method: http.MethodPost, URL: "/api/v1/api-keys",
			Body: strings.NewReader(`{"name":"` + strings.Repeat("x", 2<<20) + `"}`), Headers: w.Admin.Headers,
			ExpectedStatus: 413, ExpectedContent: []string{"too large"},
		},
		{
			Name: "another workspace's key is not found", Method: http.MethodPost, URL: "/api/v1/api-keys/" + w.ManychatKeyID + "/revoke",
			Headers: w.GlobexAdmin.Headers, ExpectedStatus: 404, ExpectedContent: []string{"Not found"},
		},
	}
	for _, s := range scenarios {
		s.TestAppFactory = worldApp
		s.Test(t)
	}
}

func TestAPIKeyRotateAndRevoke(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)

	res := testutil.Do(h, "POST", "/api/v1/api-keys/"+w.ManychatKeyID+"/rotate", `{"grace_hours":1}`, w.Admin.Headers)
	if res.Status != 200 || !strings.Contains(res.Body, `"previous_valid_until"`) {
		t.Fatalf("rotate: %d %s", res.Status, res.Body)
	}
	newSecret := jsonField(t, []byte(res.Body), "secret")
	if newSecret == w.ManychatKey || !strings.HasPrefix(newSecret, "pgk_") {
		t.Fatalf("rotate returned %q", newSecret)
	}
	for _, secret := range []string{w.ManychatKey, newSecret} {
		if res := testutil.Do(h, "GET", "/api/v1/ping", "", testutil.Bearer(secret)); res.Status != 200 {
			t.Fatalf("during the grace period both secrets work: %d %s", res.Status, res.Body)
		}
	}

	res = testutil.Do(h, "POST", "/api/v1/api-keys/"+w.ManychatKeyID+"/rotate", `{"grace_hours":0}`, w.Admin.Headers)
	newest := jsonField(t, []byte(res.Body), "secret")
	if res := testutil.Do(h, "GET", "/api/v1/ping", "", testutil.Bearer(newSecret)); res.Status != 401 || !strings.Contains(res.Body, "rotated") {
		t.Fatalf("with no grace the old secret stops at once: %d %s", res.Status, res.Body)
	}

	if res := testutil.Do(h, "POST", "/api/v1/api-keys/"+w.ManychatKeyID+"/revoke", "", w.Admin.Headers); res.Status != 200 {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "GET", "/api/v1/ping", "", testutil.Bearer(newest)); res.Status != 401 || !strings.Contains(res.Body, "revoked") {
		t.Fatalf("a revoked key stops at once: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "POST", "/api/v1/api-keys/"+w.ManychatKeyID+"/rotate", "", w.Admin.Headers); res.Status != 400 {
		t.Fatalf("a revoked key cannot be rotated: %d %s", res.Status, res.Body)
	}
	actions := auditActions(t, app, w.ManychatKeyID)
	if strings.Join(actions, ",") != "api_key.created,api_key.rotated,api_key.rotated,api_key.revoked" {
		t.Fatalf("audit trail = %v", actions)
	}
}

func auditActions(t testing.TB, app core.App, target string) []string {
	t.Helper()
	rows, err := app.FindRecordsByFilter(collections.AuditLog, "target_id = {:id}", "created", 0, 0, map[string]any{"id": target})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.GetString("action")
	}
	return out
}
