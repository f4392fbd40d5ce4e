package routes_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/dbx"
)

func TestToolConfigValidationVersionsAndRestore(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)

	res := testutil.Do(h, "POST", "/api/collections/tools/records",
		`{"workspace":"`+w.Acme+`","type":"booking","name":"Haircuts","config":{"duration_minutes":"30","seats":0,"colour":"red"}}`, w.Admin.Headers)
	if res.Status != 400 {
		t.Fatalf("bad config: %d %s", res.Status, res.Body)
	}
	for _, want := range []string{`"duration_minutes":{"code":"validation_invalid_type"`, `"seats":{"code":"validation_out_of_range"`, `"colour":{"code":"validation_unknown_key"`} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("config errors lack %s: %s", want, res.Body)
		}
	}
	if res := testutil.Do(h, "POST", "/api/collections/tools/records", `{"workspace":"`+w.Acme+`","type":"fax","name":"x"}`, w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, `"type":{"code"`) {
		t.Fatalf("unknown tool type: %d %s", res.Status, res.Body)
	}

	res = testutil.Do(h, "POST", "/api/collections/tools/records",
		`{"workspace":"`+w.Acme+`","type":"booking","name":"Haircuts","enabled":true,"config":{"duration_minutes":30}}`, w.Admin.Headers)
	if res.Status != 200 || !strings.Contains(res.Body, `"slug":"haircuts"`) || !strings.Contains(res.Body, `"version":1`) {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	id := jsonField(t, []byte(res.Body), "id")
	if res := testutil.Do(h, "PATCH", "/api/collections/tools/records/"+id, `{"config":{"duration_minutes":45,"seats":3}}`, w.Admin.Headers); res.Status != 200 || !strings.Contains(res.Body, `"version":2`) {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/tools/records/"+id, `{"name":"Cuts"}`, w.Admin.Headers); res.Status != 200 || !strings.Contains(res.Body, `"version":2`) {
		t.Fatalf("a rename is not a config version: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/tools/records/"+id, `{"type":"qr"}`, w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, `"type":{"code":"validation_immutable"`) {
		t.Fatalf("type change: %d %s", res.Status, res.Body)
	}

	res = testutil.Do(h, "POST", "/api/v1/tools/"+id+"/restore/1", "", w.Admin.Headers)
	if res.Status != 200 || !strings.Contains(res.Body, `"version":3`) || !strings.Contains(res.Body, `"duration_minutes":30`) {
		t.Fatalf("restore: %d %s", res.Status, res.Body)
	}
	versions, err := app.FindRecordsByFilter(collections.ToolVersions, "tool = {:t}", "version", 0, 0, dbx.Params{"t": id})
	if err != nil || len(versions) != 3 {
		t.Fatalf("versions: %d %v", len(versions), err)
	}
	if v := versions[2]; v.GetString("note") != "restored from v1" || !strings.Contains(v.GetString("author"), "user:"+w.Admin.ID) {
		t.Fatalf("restored version: note %q author %q", v.GetString("note"), v.GetString("author"))
	}
	var cfg map[string]any
	_ = json.Unmarshal([]byte(versions[1].GetString("config")), &cfg)
	if cfg["seats"] != 3.0 {
		t.Fatalf("version 2 config = %v", cfg)
	}
	if got := strings.Join(auditActions(t, app, id), ","); got != "tool.created,tool.config_changed,tool.updated,tool.restored" {
		t.Fatalf("audit = %s", got)
	}

	for _, c := range []struct {
		url     string
		headers map[string]string
		status  int
	}{
		{"/api/v1/tools/" + id + "/restore/9", w.Admin.Headers, 404},
		{"/api/v1/tools/" + id + "/restore/x", w.Admin.Headers, 400},
		{"/api/v1/tools/" + id + "/restore/3", w.Admin.Headers, 400},
		{"/api/v1/tools/" + id + "/restore/1", w.Manager.Headers, 403},
		{"/api/v1/tools/" + id + "/restore/1", w.GlobexAdmin.Headers, 404},
	} {
		if res := testutil.Do(h, "POST", c.url, "", c.headers); res.Status != c.status {
			t.Errorf("%s: %d, want %d (%s)", c.url, res.Status, c.status, res.Body)
		}
	}
}

func TestSecretsAreSealedAndNeverShown(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	token := "1234567890123456:ABCDEF0123456789ABCDEF0123456789"

	res := testutil.Do(h, "POST", "/api/v1/workspace/secrets", `{"manychat_token":"`+token+`"}`, w.Admin.Headers)
	if res.Status != 200 || !strings.Contains(res.Body, `"manychat_token":{"set":true,"hint":"…6789"}`) || strings.Contains(res.Body, token) {
		t.Fatalf("set secret: %d %s", res.Status, res.Body)
	}
	ws, _ := app.FindRecordById(collections.Workspaces, w.Acme)
	if stored := ws.GetString("secrets"); strings.Contains(stored, token) || !strings.Contains(stored, `"v1:`) {
		t.Fatalf("stored in clear: %s", stored)
	}
	if res := testutil.Do(h, "GET", "/api/collections/workspaces/records/"+w.Acme, "", w.Owner.Headers); strings.Contains(res.Body, "secrets") || strings.Contains(res.Body, "v1:") {
		t.Fatalf("the collection API shows sealed secrets: %s", res.Body)
	}
	if res := testutil.Do(h, "POST", "/api/v1/workspace/secrets", `{"root_password":"x"}`, w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, `"root_password":{"code":"validation_unknown_field"`) {
		t.Fatalf("unknown secret name: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "GET", "/api/v1/workspace/secrets", "", w.Manager.Headers); res.Status != 403 {
		t.Fatalf("a manager may not read secret status: %d", res.Status)
	}
	audit, err := app.FindFirstRecordByFilter(collections.AuditLog, "action = 'workspace.settings_changed' && workspace = {:ws}", dbx.Params{"ws": w.Acme})
	if err != nil || strings.Contains(audit.GetString("after"), token) || !strings.Contains(audit.GetString("after"), "secrets") {
		t.Fatalf("settings change audit: %v %v", audit, err)
	}

	tool := w.AcmeQRTool
	if res := testutil.Do(h, "POST", "/api/v1/tools/"+tool+"/secret", `{"api_key":"sk-test-abcdefghijklmnop"}`, w.Admin.Headers); res.Status != 200 || !strings.Contains(res.Body, `"api_key":{"set":true,"hint":"…mnop"}`) {
		t.Fatalf("tool secret: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "GET", "/api/collections/tools/records/"+tool, "", w.Admin.Headers); strings.Contains(res.Body, "sk-test") || strings.Contains(res.Body, "secrets") {
		t.Fatalf("tool secret visible: %s", res.Body)
	}
}

func TestWorkspaceTimezoneIsValidated(t *testing.T) {
	w := testutil.TheWorld(t)
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	h := testutil.Handler(t, app)
	for _, tz := range []string{"Mars/Olympus", "CEST", "+02:00", ""} {
		res := testutil.Do(h, "PATCH", "/api/collections/workspaces/records/"+w.Acme, `{"timezone":"`+tz+`"}`, w.Admin.Headers)
		if res.Status != 400 || !strings.Contains(res.Body, `"timezone":{"code"`) {
			t.Errorf("timezone %q: %d %s", tz, res.Status, res.Body)
		}
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/workspaces/records/"+w.Acme, `{"timezone":"Asia/Kolkata"}`, w.Admin.Headers); res.Status != 200 {
		t.Fatalf("valid zone: %d %s", res.Status, res.Body)
	}
}
