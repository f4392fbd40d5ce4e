package access_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/playgram/playgram/boot"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// actor is someone calling the collection API. Its letter is what the policy table uses.
type actor struct {
	letter byte
	name   string
	// acmeMember actors belong to Acme and must never read or write a Globex row.
	acmeMember bool
	person     func(w testutil.World) testutil.Person // nil: a guest
}

func (a actor) headers(w testutil.World) map[string]string {
	if a.person == nil {
		return nil
	}
	return a.person(w).Headers
}

var (
	guest       = actor{'U', "guest", false, nil}
	viewer      = actor{'V', "viewer", true, func(w testutil.World) testutil.Person { return w.Viewer }}
	manager     = actor{'M', "manager", true, func(w testutil.World) testutil.Person { return w.Manager }}
	admin       = actor{'A', "admin", true, func(w testutil.World) testutil.Person { return w.Admin }}
	owner       = actor{'O', "owner", true, func(w testutil.World) testutil.Person { return w.Owner }}
	globexAdmin = actor{'G', "globex-admin", false, func(w testutil.World) testutil.Person { return w.GlobexAdmin }}
	superuser   = actor{'S', "superuser", false, func(w testutil.World) testutil.Person { return w.Superuser }}
	actors      = []actor{guest, viewer, manager, admin, owner, globexAdmin, superuser}
	members     = []actor{viewer, manager, admin, owner}
)

var actions = [5]string{"list", "view", "create", "update", "delete"}

// policy is who may do what to Acme's rows through /api/collections/{c}/records. V, M, A and O are Acme's
// viewer, manager, admin and owner, S a superuser. Guests (U) and Globex's admin (G) appear in no cell: on
// Acme's rows they may do nothing. An empty cell means nobody at all, superusers included. The users row acts on
// another member, a viewer; TestMemberRoles covers editing oneself, roles and owners. Managers write domain
// records (QR codes, bookings, ...), none of which is a platform collection: tools belong to admins.
var policy = map[string][5]string{
	//                           list     view     create  update  delete
	collections.Workspaces:      {"VMAOS", "VMAOS", "S", "AOS", "OS"},
	collections.Users:           {"VMAOS", "VMAOS", "AOS", "AOS", "AOS"},
	collections.Tools:           {"VMAOS", "VMAOS", "AOS", "AOS", "AOS"},
	collections.ToolVersions:    {"VMAOS", "VMAOS", "S", "S", "S"},
	collections.APIKeys:         {"AOS", "AOS", "S", "S", "S"},
	collections.APIKeyUsage:     {"AOS", "AOS", "S", "S", "S"},
	collections.AuditLog:        {"AOS", "AOS", "", "", ""},
	collections.Jobs:            {"AOS", "AOS", "S", "S", "S"},
	collections.Events:          {"VMAOS", "VMAOS", "", "", ""},
	collections.IdempotencyKeys: {"S", "S", "S", "S", "S"},
}

var matrixCollections = []string{
	collections.Workspaces, collections.Users, collections.Tools, collections.ToolVersions, collections.APIKeys,
	collections.APIKeyUsage, collections.AuditLog, collections.Jobs, collections.Events, collections.IdempotencyKeys,
}

// env is one World app with a row of every collection seeded for Acme and for Globex.
type env struct {
	app          *tests.TestApp
	h            http.Handler
	w            testutil.World
	acme, globex map[string]string // collection → id of a row the workspace owns
}

// The seeded World is built once and copied for every env: seeding through the hooks costs far more than a copy.
var (
	seededOnce           sync.Once
	seededDir            string
	seededAcme, seededGx map[string]string
	seededErr            error
)

func newEnv(t testing.TB) *env {
	t.Helper()
	w := testutil.TheWorld(t)
	seededOnce.Do(func() {
		seededErr = errors.New("seeding the World failed in an earlier test")
		app := testutil.NewWorldApp(t)
		e := &env{app: app, w: w}
		seededAcme, seededGx = e.seed(t, w.Acme), e.seed(t, w.Globex)
		seededDir = app.DataDir()
		seededErr = app.ClearBootstrap()
	})
	if seededErr != nil {
		t.Fatal(seededErr)
	}
	app, err := tests.NewTestApp(seededDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	if _, err := boot.Register(app, testutil.Config()); err != nil {
		t.Fatal(err)
	}
	return &env{app: app, h: testutil.Handler(t, app), w: w, acme: seededAcme, globex: seededGx}
}

// removeSeeded deletes the seeded World's data dir once every test has run.
func removeSeeded() {
	if seededDir != "" {
		os.RemoveAll(seededDir)
	}
}

// seed gives workspace ws one fresh row in every collection, written the way Playgram's own code writes them.
func (e *env) seed(t testing.TB, wsID string) map[string]string {
	t.Helper()
	app := e.app
	ws := e.record(t, collections.Workspaces, wsID)
	rows := map[string]string{collections.Workspaces: wsID}

	user := core.NewRecord(e.collection(t, collections.Users))
	user.SetEmail("target@" + ws.GetString("slug") + ".test")
	user.SetPassword(testutil.Password)
	user.Set("name", "Target of "+ws.GetString("name"))
	user.Set("workspace", wsID)
	user.Set("role", collections.RoleViewer)
	e.save(t, user)
	rows[collections.Users] = user.Id

	tool := testutil.Tool(t, app, ws, "qr", "Target tool", nil)
	rows[collections.Tools] = tool.Id
	version, err := app.FindFirstRecordByFilter(collections.ToolVersions, "tool = {:tool}", dbx.Params{"tool": tool.Id})
	if err != nil {
		t.Fatalf("the new tool has no version row: %v", err)
	}
	rows[collections.ToolVersions] = version.Id

	_, key, err := platform.CreateKey(app, wsID, platform.NewKeyParams{Name: "target key", Scopes: []string{"manychat"}}, platform.SystemActor("test"))
	if err != nil {
		t.Fatal(err)
	}
	rows[collections.APIKeys] = key.Id

	usage := core.NewRecord(e.collection(t, collections.APIKeyUsage))
	usage.Set("workspace", wsID)
	usage.Set("key", key.Id)
	usage.Set("day", "2030-01-01")
	usage.Set("count", 3)
	e.save(t, usage)
	rows[collections.APIKeyUsage] = usage.Id

	if err := platform.Audit(app, platform.SystemActor("test"), wsID, "test.seeded", "", "", nil, nil); err != nil {
		t.Fatal(err)
	}
	audit, err := app.FindFirstRecordByFilter(collections.AuditLog, "workspace = {:ws} && action = 'test.seeded'", dbx.Params{"ws": wsID})
	if err != nil {
		t.Fatal(err)
	}
	rows[collections.AuditLog] = audit.Id

	job, err := jobs.Enqueue(app, jobs.New{Kind: "test.seeded", Workspace: wsID})
	if err != nil {
		t.Fatal(err)
	}
	rows[collections.Jobs] = job.Id

	ev, err := platform.Emit(app, platform.Event{Workspace: wsID, Type: "test.seeded"})
	if err != nil {
		t.Fatal(err)
	}
	rows[collections.Events] = ev.Id

	idem := core.NewRecord(e.collection(t, collections.IdempotencyKeys))
	idem.Set("scope", wsID+":user:"+user.Id)
	idem.Set("key", "seed-key")
	idem.Set("request_hash", strings.Repeat("0", 64))
	idem.Set("status", 201)
	idem.Set("response", map[string]any{"ok": true})
	e.save(t, idem)
	rows[collections.IdempotencyKeys] = idem.Id
	return rows
}

func (e *env) collection(t testing.TB, name string) *core.Collection {
	t.Helper()
	c, err := e.app.FindCollectionByNameOrId(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) save(t testing.TB, r *core.Record) {
	t.Helper()
	if err := e.app.Save(r); err != nil {
		t.Fatalf("saving %s: %v", r.Collection().Name, err)
	}
}

func (e *env) record(t testing.TB, collection, id string) *core.Record {
	t.Helper()
	r, err := e.app.FindRecordById(collection, id)
	if err != nil {
		t.Fatalf("%s %s: %v", collection, id, err)
	}
	return r
}

func (e *env) exists(collection, id string) bool {
	_, err := e.app.FindRecordById(collection, id)
	return err == nil
}

// owned is the filter for the rows a workspace owns in collection.
func owned(collection, ws string) dbx.Expression {
	switch collection {
	case collections.Workspaces:
		return dbx.HashExp{"id": ws}
	case collections.IdempotencyKeys:
		// idempotency rows are scoped "<workspace>:<user or key>:<id>".
		return dbx.NewExp("scope LIKE {:prefix}", dbx.Params{"prefix": ws + ":%"})
	}
	return dbx.HashExp{"workspace": ws}
}

func (e *env) ids(t testing.TB, collection, ws string) []string {
	t.Helper()
	recs, err := e.app.FindAllRecords(collection, owned(collection, ws))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Id
	}
	return out
}

func (e *env) count(t testing.TB, collection string, where dbx.Expression) int64 {
	t.Helper()
	n, err := e.app.CountRecords(collection, where)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) do(a actor, method, path string, body any) testutil.Response {
	return testutil.Do(e.h, method, path, jsonString(body), a.headers(e.w))
}

func jsonString(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func recordsURL(collection string) string { return "/api/collections/" + collection + "/records" }

// listed returns the ids of a list response's items.
func listed(t testing.TB, res testutil.Response) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	if res.Status != http.StatusOK {
		return got
	}
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(res.Body), &page); err != nil {
		t.Fatalf("list answer is not a page: %s", res.Body)
	}
	for _, it := range page.Items {
		got[it.ID] = true
	}
	return got
}

func responseID(res testutil.Response) string {
	var r struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(res.Body), &r)
	return r.ID
}

// refused is how PocketBase says no to a single record: a rule that does not match hides the record (404) or
// rejects the body (400), a superuser-only collection answers 403, a hook refuses with 400 or 403.
func refused(status int) bool {
	return status == 400 || status == 401 || status == 403 || status == 404
}

func verdict(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "denied"
}

func TestPolicyCoversEveryCollection(t *testing.T) {
	if len(policy) != len(matrixCollections) {
		t.Fatalf("policy has %d collections, the matrix walks %d", len(policy), len(matrixCollections))
	}
	e := newEnv(t)
	for _, c := range matrixCollections {
		if _, ok := policy[c]; !ok {
			t.Errorf("no policy row for %s", c)
		}
		coll := e.collection(t, c)
		// The table must be the one the rules imply for members: a collection without a rule is superuser-only.
		for i, rule := range []*string{coll.ListRule, coll.ViewRule, coll.CreateRule, coll.UpdateRule, coll.DeleteRule} {
			if rule == nil && strings.Trim(policy[c][i], "S") != "" {
				t.Errorf("%s %s has no rule (superusers only) but the policy lets %q", c, actions[i], policy[c][i])
			}
		}
	}
}

// TestCollectionMatrix walks every actor × collection × action against the policy table, judging by what is
// in the database afterwards, not only by the status code.
func TestCollectionMatrix(t *testing.T) {
	reads := newEnv(t) // reads change nothing, so they share one app
	for _, coll := range matrixCollections {
		for i, action := range actions {
			for _, a := range actors {
				allowed := strings.IndexByte(policy[coll][i], a.letter) >= 0
				t.Run(fmt.Sprintf("%s/%s/%s/%s", coll, action, a.name, verdict(allowed)), func(t *testing.T) {
					switch action {
					case "list":
						checkList(t, reads, a, coll, allowed)
					case "view":
						checkView(t, reads, a, coll, allowed)
					case "create":
						checkCreate(t, newEnv(t), a, coll, allowed)
					case "update":
						checkUpdate(t, newEnv(t), a, coll, allowed)
					case "delete":
						checkDelete(t, newEnv(t), a, coll, allowed)
					}
				})
			}
		}
	}
}

func checkList(t *testing.T, e *env, a actor, coll string, allowed bool) {
	acme, globex := e.ids(t, coll, e.w.Acme), e.ids(t, coll, e.w.Globex)
	if len(acme) == 0 || len(globex) == 0 {
		t.Fatalf("fixture: %s needs rows of both workspaces (acme %d, globex %d)", coll, len(acme), len(globex))
	}
	res := e.do(a, http.MethodGet, recordsURL(coll)+"?perPage=1000", nil)
	got := listed(t, res)
	if allowed {
		if res.Status != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", res.Status, res.Body)
		}
		for _, id := range acme {
			if !got[id] {
				t.Errorf("Acme row %s is missing from the list", id)
			}
		}
	} else {
		if res.Status != http.StatusOK && res.Status != http.StatusForbidden {
			t.Fatalf("status %d, want 200 with no rows or 403: %s", res.Status, res.Body)
		}
		for _, id := range acme {
			if got[id] {
				t.Errorf("Acme row %s is listed to a %s", id, a.name)
			}
		}
	}
	switch {
	case a.letter == guest.letter && len(got) > 0:
		t.Errorf("a guest lists %d rows", len(got))
	case a.acmeMember:
		for id := range got {
			if !slices.Contains(acme, id) {
				t.Errorf("an Acme %s sees row %s, which is not Acme's", a.name, id)
			}
		}
	case a.letter == globexAdmin.letter:
		for id := range got {
			if !slices.Contains(globex, id) {
				t.Errorf("Globex's admin sees row %s, which is not Globex's", id)
			}
		}
	}
}

func checkView(t *testing.T, e *env, a actor, coll string, allowed bool) {
	id := e.acme[coll]
	res := e.do(a, http.MethodGet, recordsURL(coll)+"/"+id, nil)
	if allowed {
		if res.Status != http.StatusOK || responseID(res) != id {
			t.Fatalf("status %d, want 200 with record %s: %s", res.Status, id, res.Body)
		}
	} else if !refused(res.Status) || strings.Contains(res.Body, id) {
		t.Fatalf("status %d, want 403/404 without the record: %s", res.Status, res.Body)
	}
	if a.acmeMember {
		other := e.globex[coll]
		res := e.do(a, http.MethodGet, recordsURL(coll)+"/"+other, nil)
		if !refused(res.Status) || strings.Contains(res.Body, other) {
			t.Fatalf("an Acme %s viewing Globex's %s: status %d: %s", a.name, coll, res.Status, res.Body)
		}
	}
}

// createBody is a body that creates an Acme row when the caller may.
func createBody(w testutil.World, coll, tag string) map[string]any {
	switch coll {
	case collections.Workspaces:
		return map[string]any{"name": "New " + tag, "slug": "new-" + tag, "timezone": "UTC"}
	case collections.Users:
		return map[string]any{"email": "new-" + tag + "@acme.test", "password": testutil.Password, "passwordConfirm": testutil.Password,
			"name": "New " + tag, "workspace": w.Acme, "role": collections.RoleViewer}
	case collections.Tools:
		return map[string]any{"workspace": w.Acme, "type": "qr", "name": "New " + tag, "enabled": true}
	case collections.ToolVersions:
		return map[string]any{"workspace": w.Acme, "tool": w.AcmeQRTool, "version": 50, "config": map[string]any{}, "note": "forged"}
	case collections.APIKeys:
		sum := sha256.Sum256([]byte(tag))
		return map[string]any{"workspace": w.Acme, "name": "forged", "prefix": "pgk_forged", "hash": hex.EncodeToString(sum[:]), "scopes": []string{"admin"}}
	case collections.APIKeyUsage:
		return map[string]any{"workspace": w.Acme, "key": w.ManychatKeyID, "day": "2031-01-01", "count": 1}
	case collections.AuditLog:
		return map[string]any{"workspace": w.Acme, "actor_type": "system", "action": "forged.entry"}
	case collections.Jobs:
		return map[string]any{"workspace": w.Acme, "kind": "forged", "status": "queued", "run_at": "2030-01-01 00:00:00.000Z"}
	case collections.Events:
		return map[string]any{"workspace": w.Acme, "type": "forged.event", "ts": 1}
	case collections.IdempotencyKeys:
		return map[string]any{"scope": w.Acme + ":user:forged", "key": "forged", "request_hash": strings.Repeat("f", 64), "status": 200}
	}
	panic("no create body for " + coll)
}

func checkCreate(t *testing.T, e *env, a actor, coll string, allowed bool) {
	// A new workspace belongs to nobody yet, so for workspaces every row counts.
	scope := owned(coll, e.w.Acme)
	if coll == collections.Workspaces {
		scope = dbx.NewExp("1=1")
	}
	before := e.count(t, coll, scope)
	res := e.do(a, http.MethodPost, recordsURL(coll), createBody(e.w, coll, a.name))
	after := e.count(t, coll, scope)
	if allowed {
		if res.Status != http.StatusOK || after != before+1 {
			t.Fatalf("status %d and %d → %d rows, want 200 and one more: %s", res.Status, before, after, res.Body)
		}
		if id := responseID(res); coll != collections.Workspaces && !slices.Contains(e.ids(t, coll, e.w.Acme), id) {
			t.Fatalf("created %s is not Acme's", id)
		}
		return
	}
	if after != before {
		t.Fatalf("a %s created an Acme %s row (status %d): %s", a.name, coll, res.Status, res.Body)
	}
	if refused(res.Status) {
		return
	}
	// Creating a user is open to guests (sign-up) and to every workspace's admins (invites); the users hook
	// puts the account in a new workspace or the inviter's own, never in the one named in the body.
	if coll != collections.Users || (a.letter != guest.letter && a.letter != globexAdmin.letter) || res.Status != http.StatusOK {
		t.Fatalf("status %d, want a refusal: %s", res.Status, res.Body)
	}
	if ws := e.record(t, coll, responseID(res)).GetString("workspace"); ws == e.w.Acme {
		t.Fatalf("a %s's new user landed in Acme", a.name)
	}
}

// updateField is a harmless field of each collection and a new value for it.
func updateField(coll string) (string, any) {
	switch coll {
	case collections.Workspaces, collections.Users, collections.Tools, collections.APIKeys:
		return "name", "Changed"
	case collections.ToolVersions:
		return "note", "changed"
	case collections.APIKeyUsage:
		return "count", 4242
	case collections.AuditLog:
		return "action", "changed.entry"
	case collections.Jobs:
		return "last_error", "changed"
	case collections.Events:
		return "actor", "changed"
	case collections.IdempotencyKeys:
		return "key", "changed"
	}
	panic("no update field for " + coll)
}

func checkUpdate(t *testing.T, e *env, a actor, coll string, allowed bool) {
	field, value := updateField(coll)
	want := fmt.Sprint(value)
	if a.acmeMember {
		other := e.globex[coll]
		before := fmt.Sprint(e.record(t, coll, other).Get(field))
		res := e.do(a, http.MethodPatch, recordsURL(coll)+"/"+other, map[string]any{field: value})
		if after := fmt.Sprint(e.record(t, coll, other).Get(field)); !refused(res.Status) || after != before {
			t.Fatalf("an Acme %s updating Globex's %s: status %d, %s %q → %q", a.name, coll, res.Status, field, before, after)
		}
	}
	id := e.acme[coll]
	before := fmt.Sprint(e.record(t, coll, id).Get(field))
	res := e.do(a, http.MethodPatch, recordsURL(coll)+"/"+id, map[string]any{field: value})
	after := fmt.Sprint(e.record(t, coll, id).Get(field))
	if allowed {
		if res.Status != http.StatusOK || after != want {
			t.Fatalf("status %d and %s %q, want 200 and %q: %s", res.Status, field, after, want, res.Body)
		}
		return
	}
	if !refused(res.Status) || after != before {
		t.Fatalf("status %d and %s %q → %q, want a refusal and no change: %s", res.Status, field, before, after, res.Body)
	}
}

func checkDelete(t *testing.T, e *env, a actor, coll string, allowed bool) {
	if a.acmeMember {
		other := e.globex[coll]
		res := e.do(a, http.MethodDelete, recordsURL(coll)+"/"+other, nil)
		if !refused(res.Status) || !e.exists(coll, other) {
			t.Fatalf("an Acme %s deleting Globex's %s: status %d, still there: %v", a.name, coll, res.Status, e.exists(coll, other))
		}
	}
	id := e.acme[coll]
	res := e.do(a, http.MethodDelete, recordsURL(coll)+"/"+id, nil)
	gone := !e.exists(coll, id)
	if allowed {
		if res.Status != http.StatusNoContent || !gone {
			t.Fatalf("status %d, gone %v, want 204 and gone: %s", res.Status, gone, res.Body)
		}
		return
	}
	if !refused(res.Status) || gone {
		t.Fatalf("status %d, gone %v, want a refusal and the row kept: %s", res.Status, gone, res.Body)
	}
}

// TestMemberRoles pins who may change whose role, name, workspace and membership.
func TestMemberRoles(t *testing.T) {
	id := func(pick func(w testutil.World) testutil.Person) func(w testutil.World) string {
		return func(w testutil.World) string { return pick(w).ID }
	}
	viewerID, managerID, adminID, ownerID := id(viewer.person), id(manager.person), id(admin.person), id(owner.person)
	scenarios := []struct {
		name    string
		by      actor
		method  string
		target  func(w testutil.World) string
		body    func(w testutil.World) map[string]any
		allowed bool
	}{
		{"viewer renames themself", viewer, http.MethodPatch, viewerID, fixed(map[string]any{"name": "Vera"}), true},
		{"viewer makes themself admin", viewer, http.MethodPatch, viewerID, fixed(map[string]any{"role": "admin"}), false},
		{"manager makes themself owner", manager, http.MethodPatch, managerID, fixed(map[string]any{"role": "owner"}), false},
		{"admin makes themself owner", admin, http.MethodPatch, adminID, fixed(map[string]any{"role": "owner"}), false},
		{"manager promotes the viewer", manager, http.MethodPatch, viewerID, fixed(map[string]any{"role": "manager"}), false},
		{"manager renames the viewer", manager, http.MethodPatch, viewerID, fixed(map[string]any{"name": "Renamed"}), false},
		{"admin demotes the manager to viewer", admin, http.MethodPatch, managerID, fixed(map[string]any{"role": "viewer"}), true},
		{"admin promotes the manager to admin", admin, http.MethodPatch, managerID, fixed(map[string]any{"role": "admin"}), true},
		{"admin promotes the manager to owner", admin, http.MethodPatch, managerID, fixed(map[string]any{"role": "owner"}), false},
		{"admin demotes the owner", admin, http.MethodPatch, ownerID, fixed(map[string]any{"role": "viewer"}), false},
		{"admin renames the owner", admin, http.MethodPatch, ownerID, fixed(map[string]any{"name": "Renamed"}), false},
		{"owner promotes the manager to owner", owner, http.MethodPatch, managerID, fixed(map[string]any{"role": "owner"}), true},
		{"owner demotes the admin to viewer", owner, http.MethodPatch, adminID, fixed(map[string]any{"role": "viewer"}), true},
		{"the last owner demotes themself", owner, http.MethodPatch, ownerID, fixed(map[string]any{"role": "admin"}), false},
		{"viewer moves themself to Globex", viewer, http.MethodPatch, viewerID, toGlobex, false},
		{"admin moves the manager to Globex", admin, http.MethodPatch, managerID, toGlobex, false},
		{"owner moves the manager to Globex", owner, http.MethodPatch, managerID, toGlobex, false},
		{"Globex's admin demotes Acme's manager", globexAdmin, http.MethodPatch, managerID, fixed(map[string]any{"role": "viewer"}), false},
		{"admin removes the owner", admin, http.MethodDelete, ownerID, nil, false},
		{"admin removes the manager", admin, http.MethodDelete, managerID, nil, true},
		{"manager removes the viewer", manager, http.MethodDelete, viewerID, nil, false},
		{"owner removes the admin", owner, http.MethodDelete, adminID, nil, true},
		{"viewer removes themself", viewer, http.MethodDelete, viewerID, nil, false},
		{"manager removes themself", manager, http.MethodDelete, managerID, nil, false},
		{"admin removes themself", admin, http.MethodDelete, adminID, nil, false},
		{"owner removes themself", owner, http.MethodDelete, ownerID, nil, false},
		{"Globex's admin removes Acme's viewer", globexAdmin, http.MethodDelete, viewerID, nil, false},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(t)
			target := s.target(e.w)
			before := e.record(t, collections.Users, target)
			var body map[string]any
			if s.body != nil {
				body = s.body(e.w)
			}
			res := e.do(s.by, s.method, recordsURL(collections.Users)+"/"+target, body)
			if s.method == http.MethodDelete {
				gone := !e.exists(collections.Users, target)
				if s.allowed != gone || (s.allowed && res.Status != http.StatusNoContent) || (!s.allowed && !refused(res.Status)) {
					t.Fatalf("status %d, gone %v, want %s: %s", res.Status, gone, verdict(s.allowed), res.Body)
				}
				return
			}
			after := e.record(t, collections.Users, target)
			for field, want := range body {
				got, was := after.GetString(field), before.GetString(field)
				if s.allowed && (res.Status != http.StatusOK || got != want) {
					t.Fatalf("status %d and %s %q, want 200 and %q: %s", res.Status, field, got, want, res.Body)
				}
				if !s.allowed && (!refused(res.Status) || got != was) {
					t.Fatalf("status %d and %s %q → %q, want a refusal and no change: %s", res.Status, field, was, got, res.Body)
				}
			}
		})
	}
}

func fixed(body map[string]any) func(testutil.World) map[string]any {
	return func(testutil.World) map[string]any { return body }
}

func toGlobex(w testutil.World) map[string]any { return map[string]any{"workspace": w.Globex} }

// TestNewMembersLandInTheCallersWorkspace: whatever a create body names, a sign-up gets a workspace of its own
// and an invite lands in the inviter's workspace, never above the inviter's role.
func TestNewMembersLandInTheCallersWorkspace(t *testing.T) {
	scenarios := []struct {
		name     string
		by       actor
		body     map[string]any // workspace is set per scenario below
		names    func(w testutil.World) string
		wantWS   func(e *env) string // "": a new workspace; refused when wantRole is ""
		wantRole string
	}{
		{"a guest naming Acme gets a workspace of their own", guest, map[string]any{"role": "viewer"},
			func(w testutil.World) string { return w.Acme }, func(*env) string { return "" }, collections.RoleOwner},
		{"Acme's admin naming Globex invites into Acme", admin, map[string]any{"role": "manager"},
			func(w testutil.World) string { return w.Globex }, func(e *env) string { return e.w.Acme }, collections.RoleManager},
		{"Globex's admin naming Acme invites into Globex", globexAdmin, map[string]any{"role": "viewer"},
			func(w testutil.World) string { return w.Acme }, func(e *env) string { return e.w.Globex }, collections.RoleViewer},
		{"Acme's admin cannot invite an owner", admin, map[string]any{"role": "owner"},
			func(w testutil.World) string { return w.Acme }, nil, ""},
		{"Acme's manager cannot invite", manager, map[string]any{"role": "viewer"},
			func(w testutil.World) string { return w.Acme }, nil, ""},
		{"Acme's owner may invite an owner", owner, map[string]any{"role": "owner"},
			func(w testutil.World) string { return w.Acme }, func(e *env) string { return e.w.Acme }, collections.RoleOwner},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(t)
			body := map[string]any{"email": "newcomer@example.test", "password": testutil.Password, "passwordConfirm": testutil.Password,
				"workspace": s.names(e.w)}
			for k, v := range s.body {
				body[k] = v
			}
			acmeBefore := e.count(t, collections.Users, dbx.HashExp{"workspace": e.w.Acme})
			globexBefore := e.count(t, collections.Users, dbx.HashExp{"workspace": e.w.Globex})
			res := e.do(s.by, http.MethodPost, recordsURL(collections.Users), body)
			created, err := e.app.FindAuthRecordByEmail(collections.Users, "newcomer@example.test")
			if s.wantRole == "" {
				if !refused(res.Status) || err == nil {
					t.Fatalf("status %d, created %v, want a refusal: %s", res.Status, err == nil, res.Body)
				}
				return
			}
			if res.Status != http.StatusOK || err != nil {
				t.Fatalf("status %d (%v), want 200: %s", res.Status, err, res.Body)
			}
			ws, want := created.GetString("workspace"), s.wantWS(e)
			if want == "" && (ws == e.w.Acme || ws == e.w.Globex || ws == "") {
				t.Fatalf("sign-up landed in %q, want a new workspace", ws)
			}
			if want != "" && ws != want {
				t.Fatalf("new member is in %q, want %q", ws, want)
			}
			if role := created.GetString("role"); role != s.wantRole {
				t.Fatalf("role %q, want %q", role, s.wantRole)
			}
			for _, w := range []struct {
				id     string
				before int64
			}{{e.w.Acme, acmeBefore}, {e.w.Globex, globexBefore}} {
				n := e.count(t, collections.Users, dbx.HashExp{"workspace": w.id})
				if w.id != ws && n != w.before {
					t.Fatalf("workspace %s went from %d to %d members", w.id, w.before, n)
				}
			}
		})
	}
}

// TestRecordsStayInTheirWorkspace tries every spelling of "put it in Globex" a JSON or form body allows.
func TestRecordsStayInTheirWorkspace(t *testing.T) {
	type attempt struct {
		name        string
		by          actor
		method      string
		contentType string // "" for JSON
		body        func(w testutil.World) string
	}
	js := func(m func(w testutil.World) map[string]any) func(w testutil.World) string {
		return func(w testutil.World) string { return jsonString(m(w)) }
	}
	tool := func(ws any) func(w testutil.World) map[string]any {
		return func(w testutil.World) map[string]any {
			return map[string]any{"workspace": ws, "type": "qr", "name": "Smuggled", "enabled": true}
		}
	}
	form := func(values ...string) func(w testutil.World) string {
		return func(w testutil.World) string {
			var b strings.Builder
			for i := 0; i+1 < len(values); i += 2 {
				v := strings.NewReplacer("ACME", w.Acme, "GLOBEX", w.Globex).Replace(values[i+1])
				fmt.Fprintf(&b, "--x\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", values[i], v)
			}
			b.WriteString("--x--\r\n")
			return b.String()
		}
	}
	const multipart = "multipart/form-data; boundary=x"
	attempts := []attempt{
		{"admin creates a tool in Globex", admin, http.MethodPost, "", func(w testutil.World) string { return jsonString(tool(w.Globex)(w)) }},
		{"owner creates a tool in Globex", owner, http.MethodPost, "", func(w testutil.World) string { return jsonString(tool(w.Globex)(w)) }},
		{"admin creates a tool in [Globex]", admin, http.MethodPost, "", func(w testutil.World) string { return jsonString(tool([]string{w.Globex})(w)) }},
		{"admin creates a tool in [Acme, Globex]", admin, http.MethodPost, "", func(w testutil.World) string { return jsonString(tool([]string{w.Acme, w.Globex})(w)) }},
		{"admin creates a tool in [Globex, Acme]", admin, http.MethodPost, "", func(w testutil.World) string { return jsonString(tool([]string{w.Globex, w.Acme})(w)) }},
		{"admin creates a tool in Globex by form", admin, http.MethodPost, multipart, form("workspace", "GLOBEX", "type", "qr", "name", "Smuggled")},
		{"admin creates a tool in Acme and Globex by form", admin, http.MethodPost, multipart, form("workspace", "ACME", "workspace", "GLOBEX", "type", "qr", "name", "Smuggled")},
		{"admin creates a tool in Globex and Acme by form", admin, http.MethodPost, multipart, form("workspace", "GLOBEX", "workspace", "ACME", "type", "qr", "name", "Smuggled")},
		{"admin moves a tool to Globex", admin, http.MethodPatch, "", js(func(w testutil.World) map[string]any { return map[string]any{"workspace": w.Globex} })},
		{"owner moves a tool to Globex", owner, http.MethodPatch, "", js(func(w testutil.World) map[string]any { return map[string]any{"workspace": w.Globex} })},
		{"admin moves a tool to [Globex]", admin, http.MethodPatch, "", js(func(w testutil.World) map[string]any { return map[string]any{"workspace": []string{w.Globex}} })},
		{"admin moves a tool with workspace+", admin, http.MethodPatch, "", js(func(w testutil.World) map[string]any { return map[string]any{"workspace+": w.Globex} })},
		{"admin moves a tool with +workspace", admin, http.MethodPatch, "", js(func(w testutil.World) map[string]any { return map[string]any{"+workspace": w.Globex} })},
		{"admin moves a tool by form", admin, http.MethodPatch, multipart, form("workspace", "GLOBEX")},
		{"admin moves a tool by form with workspace+", admin, http.MethodPatch, multipart, form("workspace+", "GLOBEX")},
	}
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t)
			globexBefore := e.count(t, collections.Tools, dbx.HashExp{"workspace": e.w.Globex})
			headers := map[string]string{}
			for k, v := range a.by.headers(e.w) {
				headers[k] = v
			}
			if a.contentType != "" {
				headers["Content-Type"] = a.contentType
			}
			path := recordsURL(collections.Tools)
			if a.method == http.MethodPatch {
				path += "/" + e.acme[collections.Tools]
			}
			res := testutil.Do(e.h, a.method, path, a.body(e.w), headers)
			if n := e.count(t, collections.Tools, dbx.HashExp{"workspace": e.w.Globex}); n != globexBefore {
				t.Fatalf("Globex now has %d tools, had %d (status %d): %s", n, globexBefore, res.Status, res.Body)
			}
			if ws := e.record(t, collections.Tools, e.acme[collections.Tools]).GetString("workspace"); ws != e.w.Acme {
				t.Fatalf("Acme's tool moved to %s (status %d)", ws, res.Status)
			}
			// A create may still succeed when Acme is what the record ends up in; it must never end up elsewhere.
			if res.Status == http.StatusOK && a.method == http.MethodPost {
				if ws := e.record(t, collections.Tools, responseID(res)).GetString("workspace"); ws != e.w.Acme {
					t.Fatalf("the new tool is in %s", ws)
				}
			} else if res.Status >= 500 {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
		})
	}
}

// TestHiddenFieldsNeverShown reads every platform collection every way a member can (list, view, expand,
// fields) and looks for hidden fields and their values in the raw response.
func TestHiddenFieldsNeverShown(t *testing.T) {
	e := newEnv(t)
	w := e.w
	for path, body := range map[string]map[string]string{
		"/api/v1/workspace/secrets":                 {"manychat_token": "mc-plain-token-1234"},
		"/api/v1/tools/" + w.AcmeQRTool + "/secret": {"api_key": "sk-plain-tool-key-9876"},
	} {
		if res := e.do(owner, http.MethodPost, path, body); res.Status != http.StatusOK {
			t.Fatalf("setting secrets at %s: %d %s", path, res.Status, res.Body)
		}
	}
	// A rotation gives the key a previous_hash too.
	if res := e.do(owner, http.MethodPost, "/api/v1/api-keys/"+w.ManychatKeyID+"/rotate", map[string]any{}); res.Status != http.StatusOK {
		t.Fatalf("rotating: %d %s", res.Status, res.Body)
	}
	leaks := []string{"mc-plain-token-1234", "sk-plain-tool-key-9876"}
	for _, v := range []string{
		e.record(t, collections.Workspaces, w.Acme).GetString("secrets"),
		e.record(t, collections.Tools, w.AcmeQRTool).GetString("secrets"),
	} {
		if len(v) < 20 {
			t.Fatalf("fixture: secrets were not stored: %q", v)
		}
		leaks = append(leaks, v)
	}
	keys, err := e.app.FindAllRecords(collections.APIKeys)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		leaks = append(leaks, k.GetString("hash"))
		if p := k.GetString("previous_hash"); p != "" {
			leaks = append(leaks, p)
		}
	}
	paths := []string{
		"/api/collections/workspaces/records",
		"/api/collections/workspaces/records/" + w.Acme,
		"/api/collections/workspaces/records/" + w.Acme + "?fields=*,secrets",
		"/api/collections/workspaces/records?fields=secrets",
		"/api/collections/users/records?expand=workspace",
		"/api/collections/users/records/" + w.Owner.ID + "?expand=workspace&fields=*,tokenKey,password,expand.workspace.secrets",
		"/api/collections/tools/records?expand=workspace",
		"/api/collections/tools/records/" + w.AcmeQRTool + "?expand=workspace&fields=*,secrets,expand.workspace.secrets",
		"/api/collections/tool_versions/records?expand=tool,workspace,tool.workspace",
		"/api/collections/api_keys/records?expand=tool,workspace",
		"/api/collections/api_keys/records/" + w.ManychatKeyID + "?fields=*,hash,previous_hash",
		"/api/collections/api_key_usage/records?expand=key,key.workspace,workspace",
		"/api/collections/audit_log/records?perPage=1000",
		"/api/collections/events/records",
		"/api/collections/jobs/records",
		"/api/v1/workspace/secrets",
	}
	for _, a := range members {
		for _, path := range paths {
			res := e.do(a, http.MethodGet, path, nil)
			if res.Status >= 500 {
				t.Errorf("%s GET %s: status %d", a.name, path, res.Status)
			}
			for _, leak := range leaks {
				if strings.Contains(res.Body, leak) {
					t.Errorf("%s GET %s shows %s: %s", a.name, path, leak, res.Body)
				}
			}
			if keys := hiddenKeys(res.Body); len(keys) > 0 {
				t.Errorf("%s GET %s shows hidden fields %v: %s", a.name, path, keys, res.Body)
			}
		}
	}
	// Nor can a filter or a sort on a hidden field be used to guess it a character at a time.
	for _, path := range []string{
		"/api/collections/api_keys/records?filter=" + url.QueryEscape("hash ~ '0'"),
		"/api/collections/api_keys/records?sort=hash",
		"/api/collections/workspaces/records?filter=" + url.QueryEscape("secrets ~ 'a'"),
		"/api/collections/tools/records?filter=" + url.QueryEscape("secrets != ''"),
		"/api/collections/tools/records?filter=" + url.QueryEscape("workspace.secrets != ''"),
		"/api/collections/api_key_usage/records?filter=" + url.QueryEscape("key.hash != ''"),
	} {
		if res := e.do(owner, http.MethodGet, path, nil); res.Status != http.StatusBadRequest {
			t.Errorf("owner GET %s: status %d, want 400: %s", path, res.Status, res.Body)
		}
	}
}

// hiddenKeys finds hidden field names among the keys of a JSON answer's objects. The values of JSON fields
// (an audit row's before/after, an event's data, ...) are content, not fields, and may name a changed field.
func hiddenKeys(body string) []string {
	hidden := []string{"secrets", "hash", "previous_hash", "password", "tokenKey"}
	content := []string{"before", "after", "data", "payload", "result", "response", "settings", "branding", "config", "options"}
	var root any
	if json.Unmarshal([]byte(body), &root) != nil {
		return nil
	}
	var found []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				if slices.Contains(hidden, k) {
					found = append(found, k)
				}
				if !slices.Contains(content, k) {
					walk(child)
				}
			}
		case []any:
			for _, child := range x {
				walk(child)
			}
		}
	}
	walk(root)
	return found
}

// TestCustomRoutesStayInWorkspace calls every /api/v1 route that takes a record id with another workspace's
// id: each must answer 404 and change nothing, while the same call on an own record works.
func TestCustomRoutesStayInWorkspace(t *testing.T) {
	type target struct {
		collection string
		pick       func(rows map[string]string) string
		path       func(id string) string
		body       any
		field      string // the field the call would change
	}
	targets := map[string]target{
		"rotate a key": {collections.APIKeys, func(r map[string]string) string { return r[collections.APIKeys] },
			func(id string) string { return "/api/v1/api-keys/" + id + "/rotate" }, map[string]any{}, "hash"},
		"revoke a key": {collections.APIKeys, func(r map[string]string) string { return r[collections.APIKeys] },
			func(id string) string { return "/api/v1/api-keys/" + id + "/revoke" }, nil, "revoked"},
		"restore a tool": {collections.Tools, func(r map[string]string) string { return r[collections.Tools] },
			func(id string) string { return "/api/v1/tools/" + id + "/restore/1" }, nil, "config"},
		"set a tool secret": {collections.Tools, func(r map[string]string) string { return r[collections.Tools] },
			func(id string) string { return "/api/v1/tools/" + id + "/secret" }, map[string]string{"api_key": "sk-smuggled"}, "secrets"},
		"retry a job": {collections.Jobs, func(r map[string]string) string { return r[collections.Jobs] },
			func(id string) string { return "/api/v1/jobs/" + id + "/retry" }, nil, "status"},
	}
	for name, tg := range targets {
		for _, a := range []actor{admin, owner} {
			t.Run(name+"/"+a.name, func(t *testing.T) {
				e := newEnv(t)
				// Give both workspaces' tools a second version and kill both jobs, so restore and retry can act.
				for _, rows := range []map[string]string{e.acme, e.globex} {
					tool := e.record(t, collections.Tools, rows[collections.Tools])
					tool.Set("config", map[string]any{"caption": "second"})
					e.save(t, tool)
					job := e.record(t, collections.Jobs, rows[collections.Jobs])
					job.Set("status", jobs.StatusDead)
					e.save(t, job)
				}
				globexAudit := e.count(t, collections.AuditLog, dbx.HashExp{"workspace": e.w.Globex})

				other := tg.pick(e.globex)
				before := jsonString(e.record(t, tg.collection, other).Get(tg.field))
				res := e.do(a, http.MethodPost, tg.path(other), tg.body)
				if res.Status != http.StatusNotFound {
					t.Fatalf("on Globex's record: status %d, want 404: %s", res.Status, res.Body)
				}
				if after := jsonString(e.record(t, tg.collection, other).Get(tg.field)); after != before {
					t.Fatalf("Globex's %s changed: %s → %s", tg.field, before, after)
				}
				if n := e.count(t, collections.AuditLog, dbx.HashExp{"workspace": e.w.Globex}); n != globexAudit {
					t.Fatalf("Globex's audit log grew from %d to %d", globexAudit, n)
				}

				own := tg.pick(e.acme)
				before = jsonString(e.record(t, tg.collection, own).Get(tg.field))
				res = e.do(a, http.MethodPost, tg.path(own), tg.body)
				if after := jsonString(e.record(t, tg.collection, own).Get(tg.field)); res.Status != http.StatusOK || after == before {
					t.Fatalf("on Acme's own record: status %d and %s %s → %s, want 200 and a change: %s", res.Status, tg.field, before, after, res.Body)
				}
			})
		}
	}
}

// TestFiltersAndExpandsCannotReachAcross: a filter or expand through a back-relation sees only the joined rows
// the caller may list, and @collection joins are for superusers only, so neither can serve as an oracle on rows
// the caller cannot read. The probes use the "any" operators (?=) an attacker would. Each has a control showing
// the same query finds rows for someone allowed to see them.
func TestFiltersAndExpandsCannotReachAcross(t *testing.T) {
	e := newEnv(t)
	w := e.w
	if _, _, err := platform.CreateKey(e.app, w.Acme, platform.NewKeyParams{Name: "bound", Scopes: []string{"manychat"}, Tool: w.AcmeQRTool}, platform.SystemActor("test")); err != nil {
		t.Fatal(err)
	}
	filter := func(collection, f string) string {
		return recordsURL(collection) + "?perPage=1000&filter=" + url.QueryEscape(f)
	}
	probes := []struct {
		name    string
		by      actor
		path    string
		control actor // may see what path reaches
	}{
		{"viewer filters tools by their keys", viewer, filter(collections.Tools, "api_keys_via_tool.name ?= 'bound'"), admin},
		{"manager filters tools by their keys", manager, filter(collections.Tools, "api_keys_via_tool.name ?= 'bound'"), admin},
		{"viewer filters the workspace by its keys", viewer, filter(collections.Workspaces, "api_keys_via_workspace.name ?= 'bound'"), owner},
		{"viewer filters the workspace by key usage", viewer, filter(collections.Workspaces, "api_key_usage_via_workspace.count ?> 0"), admin},
		{"Globex's admin joins Acme's tools", globexAdmin, filter(collections.Tools, "@collection.tools.workspace ?= '"+w.Acme+"'"), superuser},
		{"Globex's admin joins Acme's members", globexAdmin, filter(collections.Users, "@collection.users.name ?= 'owner of Acme'"), superuser},
		{"viewer joins the audit log", viewer, filter(collections.Events, "@collection.audit_log.action ?= 'api_key.created'"), superuser},
		{"admin joins idempotency keys", admin, filter(collections.Tools, "@collection.idempotency_keys.key ?!= ''"), superuser},
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			if got := listed(t, e.do(p.control, http.MethodGet, p.path, nil)); len(got) == 0 {
				t.Fatalf("control: a %s finds nothing with %s", p.control.name, p.path)
			}
			res := e.do(p.by, http.MethodGet, p.path, nil)
			if got := listed(t, res); len(got) > 0 || (res.Status != http.StatusOK && !refused(res.Status)) {
				t.Fatalf("a %s: status %d, %d rows: %s", p.by.name, res.Status, len(got), res.Body)
			}
		})
	}
	t.Run("a viewer's expand of keys comes back empty", func(t *testing.T) {
		path := recordsURL(collections.Tools) + "/" + w.AcmeQRTool + "?expand=api_keys_via_tool"
		if res := e.do(admin, http.MethodGet, path, nil); !strings.Contains(res.Body, `"api_keys_via_tool"`) {
			t.Fatalf("control: the admin's expand has no keys: %s", res.Body)
		}
		if res := e.do(viewer, http.MethodGet, path, nil); res.Status != http.StatusOK || strings.Contains(res.Body, `"api_keys_via_tool"`) {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
	})
}

// TestHiddenFieldsCannotBeWritten: members set secrets only through the sealing routes; a raw value in a
// collection API body is dropped, so nobody can plant ciphertext or blank another's secrets.
func TestHiddenFieldsCannotBeWritten(t *testing.T) {
	e := newEnv(t)
	w := e.w
	if res := e.do(owner, http.MethodPost, "/api/v1/workspace/secrets", map[string]string{"openai_api_key": "sk-original"}); res.Status != http.StatusOK {
		t.Fatalf("setting a secret: %d %s", res.Status, res.Body)
	}
	sealed := e.record(t, collections.Workspaces, w.Acme).GetString("secrets")
	if res := e.do(owner, http.MethodPatch, recordsURL(collections.Workspaces)+"/"+w.Acme, map[string]any{"secrets": "forged", "name": "Acme Inc"}); res.Status != http.StatusOK {
		t.Fatalf("owner's update: %d %s", res.Status, res.Body)
	}
	if ws := e.record(t, collections.Workspaces, w.Acme); ws.GetString("secrets") != sealed || ws.GetString("name") != "Acme Inc" {
		t.Fatalf("after the owner's update: name %q, secrets %q (was %q)", ws.GetString("name"), ws.GetString("secrets"), sealed)
	}
	if res := e.do(admin, http.MethodPatch, recordsURL(collections.Tools)+"/"+w.AcmeQRTool, map[string]any{"secrets": "forged"}); res.Status != http.StatusOK {
		t.Fatalf("admin's tool update: %d %s", res.Status, res.Body)
	}
	if s := e.record(t, collections.Tools, w.AcmeQRTool).GetString("secrets"); s != "" {
		t.Fatalf("the tool's secrets became %q", s)
	}
	res := e.do(admin, http.MethodPost, recordsURL(collections.Tools), map[string]any{"workspace": w.Acme, "type": "qr", "name": "Planted", "secrets": "forged"})
	if res.Status != http.StatusOK {
		t.Fatalf("admin's tool create: %d %s", res.Status, res.Body)
	}
	if s := e.record(t, collections.Tools, responseID(res)).GetString("secrets"); s != "" {
		t.Fatalf("the new tool's secrets are %q", s)
	}
}

// TestBatchFollowsTheSameRules: PocketBase's batch endpoint is off by default, but a self-hoster can switch it
// on in the admin UI; every request inside a batch must meet the same rules and hooks as on its own.
func TestBatchFollowsTheSameRules(t *testing.T) {
	type request struct {
		Method string         `json:"method"`
		URL    string         `json:"url"`
		Body   map[string]any `json:"body,omitempty"`
	}
	scenarios := []struct {
		name     string
		by       actor
		requests func(e *env) []request
		check    func(t *testing.T, e *env) // fails t if the database is not as the rules say
	}{
		{"admin creates a tool in Acme (control: batches run)", admin, func(e *env) []request {
			return []request{{"POST", recordsURL(collections.Tools), map[string]any{"workspace": e.w.Acme, "type": "qr", "name": "Batched"}}}
		}, func(t *testing.T, e *env) {
			if n := e.count(t, collections.Tools, dbx.HashExp{"name": "Batched", "workspace": e.w.Acme}); n != 1 {
				t.Fatalf("%d tools named Batched in Acme, want 1", n)
			}
		}},
		{"admin creates a tool in Globex", admin, func(e *env) []request {
			return []request{{"POST", recordsURL(collections.Tools), map[string]any{"workspace": e.w.Globex, "type": "qr", "name": "Batched"}}}
		}, func(t *testing.T, e *env) {
			if n := e.count(t, collections.Tools, dbx.HashExp{"name": "Batched"}); n != 0 {
				t.Fatalf("%d tools named Batched exist", n)
			}
		}},
		{"admin upserts Globex's tool", admin, func(e *env) []request {
			return []request{{"PUT", recordsURL(collections.Tools), map[string]any{"id": e.w.GlobexQRTool, "name": "Batched"}}}
		}, func(t *testing.T, e *env) {
			if name := e.record(t, collections.Tools, e.w.GlobexQRTool).GetString("name"); name != "Globex QR" {
				t.Fatalf("Globex's tool is now %q", name)
			}
		}},
		{"admin moves a tool to Globex", admin, func(e *env) []request {
			return []request{{"PATCH", recordsURL(collections.Tools) + "/" + e.w.AcmeQRTool, map[string]any{"workspace": e.w.Globex}}}
		}, func(t *testing.T, e *env) {
			if ws := e.record(t, collections.Tools, e.w.AcmeQRTool).GetString("workspace"); ws != e.w.Acme {
				t.Fatalf("Acme's tool moved to %s", ws)
			}
		}},
		{"viewer deletes a tool", viewer, func(e *env) []request {
			return []request{{"DELETE", recordsURL(collections.Tools) + "/" + e.w.AcmeQRTool, nil}}
		}, func(t *testing.T, e *env) {
			if !e.exists(collections.Tools, e.w.AcmeQRTool) {
				t.Fatal("a viewer deleted a tool")
			}
		}},
		{"guest signs up into Acme", guest, func(e *env) []request {
			return []request{{"POST", recordsURL(collections.Users), map[string]any{"email": "batched@example.test", "password": testutil.Password,
				"passwordConfirm": testutil.Password, "workspace": e.w.Acme, "role": "owner"}}}
		}, func(t *testing.T, e *env) {
			if u, err := e.app.FindAuthRecordByEmail(collections.Users, "batched@example.test"); err == nil && u.GetString("workspace") == e.w.Acme {
				t.Fatal("a guest's batched sign-up joined Acme")
			}
		}},
		{"superuser rewrites the audit log and events", superuser, func(e *env) []request {
			return []request{
				{"PATCH", recordsURL(collections.AuditLog) + "/" + e.acme[collections.AuditLog], map[string]any{"action": "rewritten"}},
				{"DELETE", recordsURL(collections.Events) + "/" + e.acme[collections.Events], nil},
			}
		}, func(t *testing.T, e *env) {
			if a := e.record(t, collections.AuditLog, e.acme[collections.AuditLog]).GetString("action"); a != "test.seeded" {
				t.Fatalf("audit row rewritten to %q", a)
			}
			if !e.exists(collections.Events, e.acme[collections.Events]) {
				t.Fatal("event deleted")
			}
		}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(t)
			settings := e.app.Settings()
			settings.Batch.Enabled = true
			if err := e.app.Save(settings); err != nil {
				t.Fatal(err)
			}
			res := e.do(s.by, http.MethodPost, "/api/batch", map[string]any{"requests": s.requests(e)})
			if res.Status >= 500 {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			s.check(t, e)
		})
	}
}
