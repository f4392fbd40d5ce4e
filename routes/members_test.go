package routes_test

import (
	"context"
	"strings"
	"testing"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/seed"
	"github.com/pocketbase/dbx"
)

func TestSignUpCreatesAWorkspaceForTheOwner(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)

	// A guest cannot pick a workspace or role: the body tries to join Acme as its owner.
	res := testutil.Do(h, "POST", "/api/collections/users/records",
		`{"email":"new@shop.test","password":"long-enough-1","passwordConfirm":"long-enough-1","name":"Nia","workspace":"`+w.Acme+`","role":"admin","workspace_name":"Nia's Nails","timezone":"America/New_York"}`, nil)
	if res.Status != 200 {
		t.Fatalf("sign-up: %d %s", res.Status, res.Body)
	}
	user, err := app.FindAuthRecordByEmail(collections.Users, "new@shop.test")
	if err != nil {
		t.Fatal(err)
	}
	if user.GetString("workspace") == w.Acme || user.GetString("role") != collections.RoleOwner {
		t.Fatalf("sign-up joined workspace %s as %s", user.GetString("workspace"), user.GetString("role"))
	}
	ws, err := app.FindRecordById(collections.Workspaces, user.GetString("workspace"))
	if err != nil {
		t.Fatal(err)
	}
	if ws.GetString("name") != "Nia's Nails" || ws.GetString("slug") != "nia-s-nails" || ws.GetString("timezone") != "America/New_York" {
		t.Fatalf("new workspace = %s / %s / %s", ws.GetString("name"), ws.GetString("slug"), ws.GetString("timezone"))
	}
	if got := auditActions(t, app, user.Id); strings.Join(got, ",") != "member.signed_up" {
		t.Fatalf("audit = %v", got)
	}
}

func TestInviteMember(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	headers := map[string]string{"Authorization": w.Admin.Headers["Authorization"], "Idempotency-Key": "invite-kim-1"}

	res := testutil.Do(h, "POST", "/api/v1/members", `{"email":"kim@acme.test","name":"Kim","role":"manager"}`, headers)
	if res.Status != 201 || !strings.Contains(res.Body, `"role":"manager"`) || !strings.Contains(res.Body, `"workspace":"`+w.Acme+`"`) {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	again := testutil.Do(h, "POST", "/api/v1/members", `{"email":"kim@acme.test","name":"Kim","role":"manager"}`, headers)
	if again.Status != 201 || again.Body != res.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a retried request must replay the first response: %d %s", again.Status, again.Body)
	}
	conflict := testutil.Do(h, "POST", "/api/v1/members", `{"email":"lee@acme.test","role":"viewer"}`, headers)
	if conflict.Status != 422 || !strings.Contains(conflict.Body, "different request body") {
		t.Fatalf("same key, other body: %d %s", conflict.Status, conflict.Body)
	}
	if n, _ := app.CountRecords(collections.Users, dbx.HashExp{"email": "kim@acme.test"}); n != 1 {
		t.Fatalf("%d users for one idempotent invite", n)
	}
	// Members of the workspace see an invited colleague's email; other workspaces do not see the member at all.
	if list := testutil.Do(h, "GET", "/api/collections/users/records?perPage=200", "", w.Viewer.Headers); !strings.Contains(list.Body, `"email":"kim@acme.test"`) {
		t.Fatalf("a colleague should see the invited member's email: %d %s", list.Status, list.Body)
	}
	if list := testutil.Do(h, "GET", "/api/collections/users/records?perPage=200", "", w.GlobexAdmin.Headers); strings.Contains(list.Body, "kim@acme.test") {
		t.Fatalf("another workspace sees the member: %s", list.Body)
	}

	// The invitation is a job in the same transaction; running it sends the set-your-password email.
	svcJobs := jobs.RunnerOf(app)
	if n, err := svcJobs.RunDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("ran %d jobs: %v", n, err)
	}
	if app.TestMailer.TotalSend() != 1 || !strings.Contains(app.TestMailer.LastMessage().To[0].Address, "kim@acme.test") {
		t.Fatalf("invitation email not sent: %d", app.TestMailer.TotalSend())
	}

	for _, c := range []struct{ name, body, want string }{
		{"admin cannot invite an owner", `{"email":"boss@acme.test","role":"owner"}`, `"role":{"code"`},
		{"unknown role", `{"email":"x@acme.test","role":"god"}`, `"role":{"code"`},
		{"bad email", `{"email":"nope","role":"viewer"}`, `"email":{"code"`},
		{"duplicate email", `{"email":"kim@acme.test","role":"viewer"}`, `"email":{"code"`},
	} {
		if res := testutil.Do(h, "POST", "/api/v1/members", c.body, w.Admin.Headers); res.Status != 400 || !strings.Contains(res.Body, c.want) {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
	if res := testutil.Do(h, "POST", "/api/v1/members", `{"email":"v@acme.test"}`, w.Manager.Headers); res.Status != 403 {
		t.Errorf("a manager cannot invite: %d", res.Status)
	}
}

func TestRoleChangesAndTheLastOwner(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)

	res := testutil.Do(h, "PATCH", "/api/collections/users/records/"+w.Manager.ID, `{"role":"viewer"}`, w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("admin demotes manager: %d %s", res.Status, res.Body)
	}
	audit, err := app.FindFirstRecordByFilter(collections.AuditLog, "action = 'member.role_changed' && target_id = {:id}", dbx.Params{"id": w.Manager.ID})
	if err != nil {
		t.Fatal("role change not audited")
	}
	if !strings.Contains(audit.GetString("before"), `"manager"`) || !strings.Contains(audit.GetString("after"), `"viewer"`) || audit.GetString("actor_id") != w.Admin.ID {
		t.Fatalf("audit row: %s -> %s by %s", audit.GetString("before"), audit.GetString("after"), audit.GetString("actor_id"))
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/users/records/"+w.Owner.ID, `{"role":"admin"}`, w.Owner.Headers); res.Status != 400 || !strings.Contains(res.Body, "last owner") {
		t.Fatalf("the last owner cannot step down: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/users/records/"+w.Admin.ID, `{"role":"owner"}`, w.Owner.Headers); res.Status != 200 {
		t.Fatalf("owner promotes admin: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/users/records/"+w.Owner.ID, `{"role":"admin"}`, w.Owner.Headers); res.Status != 200 {
		t.Fatalf("with a second owner the first may step down: %d %s", res.Status, res.Body)
	}
}

func TestPasswordSignInAndOptInMFA(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	h := testutil.Handler(t, app)
	login := `{"identity":"` + w.Viewer.Email + `","password":"` + testutil.Password + `"}`

	if res := testutil.Do(h, "POST", "/api/collections/users/auth-with-password", login, nil); res.Status != 200 || !strings.Contains(res.Body, `"token"`) {
		t.Fatalf("plain password sign-in without MFA: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "PATCH", "/api/collections/users/records/"+w.Viewer.ID, `{"mfa_enabled":true}`, w.Viewer.Headers); res.Status != 200 {
		t.Fatalf("a member turns MFA on for themselves: %d %s", res.Status, res.Body)
	}
	res := testutil.Do(h, "POST", "/api/collections/users/auth-with-password", login, nil)
	if res.Status != 401 || !strings.Contains(res.Body, `"mfaId"`) {
		t.Fatalf("with MFA on, the password is only the first factor: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(h, "POST", "/api/collections/users/request-otp", `{"email":"`+w.Viewer.Email+`"}`, nil); res.Status != 200 || !strings.Contains(res.Body, `"otpId"`) {
		t.Fatalf("email OTP is available as the second factor: %d %s", res.Status, res.Body)
	}
	other := `{"identity":"` + w.Manager.Email + `","password":"` + testutil.Password + `"}`
	if res := testutil.Do(h, "POST", "/api/collections/users/auth-with-password", other, nil); res.Status != 200 {
		t.Fatalf("other members keep signing in with a password: %d %s", res.Status, res.Body)
	}
}

// The first start creates the demo workspace once; later starts leave it alone.
func TestFirstStartDemo(t *testing.T) {
	cfg := testutil.Config()
	cfg.NoDemo = false
	app := testutil.NewAppWith(t, cfg)
	testutil.Handler(t, app) // serving triggers the first-start check
	if n, _ := app.CountRecords(collections.Tools); n != 5 {
		t.Fatalf("demo tools = %d, want one of each of the 5 types", n)
	}
	if n, _ := app.CountRecords(collections.Users, dbx.HashExp{"role": "owner"}); n != 1 {
		t.Fatalf("demo owners = %d", n)
	}
	if n, _ := app.CountRecords("_superusers"); n != 1 {
		t.Fatalf("superusers = %d", n)
	}
	// Later starts find data and leave it alone; `playgram seed` is idempotent.
	if seed.IsEmpty(app) {
		t.Fatal("the data dir still looks empty")
	}
	creds, err := seed.Demo(app)
	if err != nil || creds.Banner("x") != "" {
		t.Fatalf("a second seed created logins again: %+v %v", creds, err)
	}
	if n, _ := app.CountRecords(collections.Tools); n != 5 {
		t.Fatalf("tools after a second seed = %d", n)
	}
}
