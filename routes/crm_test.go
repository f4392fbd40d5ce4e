package routes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/crm"
	fakemc "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/internal/manychat/dynblock"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// crmEnv is a test app pointed at a fake Manychat, with a workspace (Europe/Berlin), its members and a
// manychat-scoped API key.
type crmEnv struct {
	t                       *testing.T
	app                     *tests.TestApp
	fake                    *fakemc.Server
	h                       http.Handler
	ws                      *core.Record
	owner, admin, manager   *core.Record
	viewer                  *core.Record
	key                     map[string]string
	adminH, managerH, viewH map[string]string
}

func newCRM(t *testing.T) *crmEnv {
	t.Helper()
	fake := fakemc.New()
	t.Cleanup(fake.Close)
	cfg := testutil.Config()
	cfg.ManychatBaseURL = fake.URL
	app := testutil.NewAppWith(t, cfg)
	crm.SetClientOptions(app, manychat.WithRetry(2, time.Millisecond, 2*time.Millisecond))
	env := &crmEnv{t: t, app: app, fake: fake, h: testutil.Handler(t, app)}
	env.ws = testutil.Workspace(t, app, "Loja")
	env.owner = testutil.Member(t, app, env.ws, collections.RoleOwner)
	env.admin = testutil.Member(t, app, env.ws, collections.RoleAdmin)
	env.manager = testutil.Member(t, app, env.ws, collections.RoleManager)
	env.viewer = testutil.Member(t, app, env.ws, collections.RoleViewer)
	secret, _ := testutil.APIKey(t, app, env.ws, "manychat")
	env.key = testutil.Bearer(secret)
	env.adminH, env.managerH, env.viewH = testutil.Auth(t, env.admin), testutil.Auth(t, env.manager), testutil.Auth(t, env.viewer)
	return env
}

func (env *crmEnv) do(method, url, body string, headers map[string]string) testutil.Response {
	return testutil.Do(env.h, method, url, body, headers)
}

// connect stores the fake's token the way an admin does, and runs the first syncs.
func (env *crmEnv) connect() {
	env.t.Helper()
	res := env.do("POST", "/api/v1/manychat/connect", `{"token":"`+env.fake.Token+`"}`, env.adminH)
	if res.Status != 200 {
		env.t.Fatalf("connect: %d %s", res.Status, res.Body)
	}
	env.runJobs()
}

func (env *crmEnv) runJobs() {
	env.t.Helper()
	if _, err := jobs.RunnerOf(env.app).RunDue(context.Background()); err != nil {
		env.t.Fatal(err)
	}
}

func (env *crmEnv) contact(sid string) *core.Record {
	env.t.Helper()
	c, err := env.app.FindFirstRecordByFilter(collections.Contacts, "workspace = {:ws} && subscriber_id = {:s}", dbx.Params{"ws": env.ws.Id, "s": sid})
	if err != nil {
		env.t.Fatalf("contact %s: %v", sid, err)
	}
	return c
}

func (env *crmEnv) events(typ, contact string) []*core.Record {
	env.t.Helper()
	evs, err := env.app.FindRecordsByFilter(collections.Events, "workspace = {:ws} && type = {:t} && contact = {:c}", "ts", 0, 0,
		dbx.Params{"ws": env.ws.Id, "t": typ, "c": contact})
	if err != nil {
		env.t.Fatal(err)
	}
	return evs
}

func (env *crmEnv) logs(kind string) []*core.Record {
	env.t.Helper()
	l, err := env.app.FindRecordsByFilter(collections.SyncLogs, "workspace = {:ws} && kind = {:k}", "created", 0, 0, dbx.Params{"ws": env.ws.Id, "k": kind})
	if err != nil {
		env.t.Fatal(err)
	}
	return l
}

// makeDue lets queued retries run now instead of after their backoff.
func (env *crmEnv) makeDue() {
	if _, err := env.app.NonconcurrentDB().NewQuery("UPDATE jobs SET run_at = '2000-01-01 00:00:00.000Z' WHERE status = 'queued'").Execute(); err != nil {
		env.t.Fatal(err)
	}
}

func TestManychatConnectAndTestConnection(t *testing.T) {
	env := newCRM(t)
	env.fake.AddTag("vip")
	env.fake.AddTag("lead")
	env.fake.AddCustomField("plan", "text", "subscription plan")

	if res := env.do("POST", "/api/v1/manychat/test-connection", "", env.adminH); res.Status != 400 || !strings.Contains(res.Body, "not connected") {
		t.Fatalf("before connect: %d %s", res.Status, res.Body)
	}
	if res := env.do("POST", "/api/v1/manychat/connect", `{"token":"999:wrong"}`, env.adminH); res.Status != 400 || !strings.Contains(res.Body, `"token"`) || !strings.Contains(res.Body, "Manychat refused the token") {
		t.Fatalf("bad token: %d %s", res.Status, res.Body)
	}
	if res := env.do("POST", "/api/v1/manychat/connect", `{"token":"`+env.fake.Token+`"}`, env.managerH); res.Status != 403 {
		t.Fatalf("manager may not connect: %d", res.Status)
	}
	res := env.do("POST", "/api/v1/manychat/connect", `{"token":"`+env.fake.Token+`"}`, env.adminH)
	body := decodeBody(t, res.Body)
	page, _ := body["page"].(map[string]any)
	if res.Status != 200 || body["ok"] != true || page["name"] != "Playgram Demo" || page["id"] != fmt.Sprint(fakemc.DefaultPageID) {
		t.Fatalf("connect: %d %s", res.Status, res.Body)
	}
	if _, err := env.app.FindFirstRecordByFilter(collections.AuditLog, "action = 'manychat.connected' && workspace = {:ws}", dbx.Params{"ws": env.ws.Id}); err != nil {
		t.Fatal("no audit row for the connection")
	}
	ws, _ := env.app.FindRecordById(collections.Workspaces, env.ws.Id)
	if strings.Contains(ws.GetString("secrets"), env.fake.Token) {
		t.Fatal("token stored in clear")
	}
	// Connecting queued the definition syncs.
	env.runJobs()
	tags, _ := env.app.FindRecordsByFilter(collections.ManychatTags, "workspace = {:ws}", "name", 0, 0, dbx.Params{"ws": env.ws.Id})
	if len(tags) != 2 || tags[0].GetString("name") != "lead" {
		t.Fatalf("tags synced: %v", tags)
	}
	fields, _ := env.app.FindRecordsByFilter(collections.ManychatFields, "workspace = {:ws}", "", 0, 0, dbx.Params{"ws": env.ws.Id})
	if len(fields) != 1 || fields[0].GetString("type") != "text" || fields[0].GetString("description") != "subscription plan" {
		t.Fatalf("fields synced: %v", fields)
	}
	if l := env.logs("tags"); len(l) != 1 || l[0].GetString("status") != "ok" || !strings.Contains(l[0].GetString("counts"), `"created":2`) {
		t.Fatalf("tags log: %v", l)
	}

	res = env.do("POST", "/api/v1/manychat/test-connection", "", env.adminH)
	if body := decodeBody(t, res.Body); res.Status != 200 || body["ok"] != true {
		t.Fatalf("test-connection: %s", res.Body)
	}
	env.fake.InjectFailure("/fb/page/getInfo", fakemc.Failure{Status: 200, Message: "Page is not connected"}, 1)
	res = env.do("POST", "/api/v1/manychat/test-connection", "", env.adminH)
	if body := decodeBody(t, res.Body); res.Status != 200 || body["ok"] != false || !strings.Contains(body["error"].(string), "Page is not connected") {
		t.Fatalf("test-connection failure in words: %s", res.Body)
	}
}

const fullContact = `{"id":"%s","key":"user:%s","first_name":"Ana","last_name":"{{last_name}}","name":"Ana",
	"ig_username":"ana.souza","email":"{{email}}","phone":null,"last_interaction":"%s",
	"custom_fields":{"plan":"pro","age":{{cuf_5}},"city":"{{cuf_7}}"},"tags":[{"id":1,"name":"vip"}]}`

func TestInboundUpsertPlaceholdersAndConflicts(t *testing.T) {
	env := newCRM(t)
	res := env.do("POST", "/api/v1/manychat/contacts", fmt.Sprintf(fullContact, "501", "501", "2026-11-20T10:00:00Z"), env.key)
	if res.Status != 200 {
		t.Fatalf("upsert: %d %s", res.Status, res.Body)
	}
	var ans map[string]any
	_ = json.Unmarshal([]byte(res.Body), &ans)
	for _, k := range []string{"contact_id", "engagement_score", "bookings", "qr_codes", "qr_scans"} {
		if _, ok := ans[k]; !ok {
			t.Fatalf("answer lacks %s: %s", k, res.Body)
		}
		if _, nested := ans[k].(map[string]any); nested {
			t.Fatalf("answer must be flat: %s", res.Body)
		}
	}
	if ans["created"] != true || ans["applied"] != true {
		t.Fatalf("answer: %s", res.Body)
	}
	c := env.contact("501")
	if c.Id != ans["contact_id"] || c.GetString("first_name") != "Ana" || c.GetString("last_name") != "" || c.GetString("email") != "" || c.GetString("ig_username") != "ana.souza" {
		t.Fatalf("contact fields: %v", c.PublicExport())
	}
	if got := crm.FieldMap(c); len(got) != 1 || got["plan"] != "pro" {
		t.Fatalf("placeholders must be empty fields: %v", got)
	}
	if got := crm.StringList(c, "tags"); len(got) != 1 || got[0] != "vip" {
		t.Fatalf("tags: %v", got)
	}
	if len(env.events("contact.created", c.Id)) != 1 {
		t.Fatal("no contact.created event")
	}

	// Local fields are the CRM's own.
	c.Set("notes", "prefers WhatsApp")
	c.Set("local_tags", []string{"met-at-fair"})
	if err := env.app.Save(c); err != nil {
		t.Fatal(err)
	}
	// An older push loses.
	stale := strings.Replace(fmt.Sprintf(fullContact, "501", "501", "2026-11-19T10:00:00Z"), `"first_name":"Ana"`, `"first_name":"Old"`, 1)
	res = env.do("POST", "/api/v1/manychat/contacts", stale, env.key)
	if body := decodeBody(t, res.Body); res.Status != 200 || body["applied"] != false || body["created"] != false {
		t.Fatalf("stale push: %s", res.Body)
	}
	if env.contact("501").GetString("first_name") != "Ana" {
		t.Fatal("a stale push overwrote the name")
	}
	// A newer push wins for Manychat's fields and keeps the local ones; the wrapped form works too.
	newer := `{"event":"updated","contact":` + strings.NewReplacer(`"first_name":"Ana"`, `"first_name":"Ana Maria"`, `"name":"Ana"`, `"name":"Ana Maria"`,
		`[{"id":1,"name":"vip"}]`, `[{"id":2,"name":"customer"}]`).Replace(fmt.Sprintf(fullContact, "501", "501", "2026-11-21T10:00:00Z")) + `}`
	res = env.do("POST", "/api/v1/manychat/contacts", newer, env.key)
	if body := decodeBody(t, res.Body); res.Status != 200 || body["applied"] != true {
		t.Fatalf("newer push: %s", res.Body)
	}
	c = env.contact("501")
	if c.GetString("name") != "Ana Maria" || c.GetString("notes") != "prefers WhatsApp" || crm.StringList(c, "local_tags")[0] != "met-at-fair" {
		t.Fatalf("after newer push: %v", c.PublicExport())
	}
	if len(env.events("contact.tag_added", c.Id)) != 2 || len(env.events("contact.tag_removed", c.Id)) != 1 {
		t.Fatal("tag events missing") // met-at-fair (local) and customer added, vip removed
	}
	upd := env.events("contact.updated", c.Id)
	if len(upd) == 0 || !strings.Contains(upd[len(upd)-1].GetString("data"), `"Ana Maria"`) {
		t.Fatalf("contact.updated with the change: %v", upd)
	}
	// The same push again changes nothing and emits nothing.
	before := len(env.events("contact.updated", c.Id))
	env.do("POST", "/api/v1/manychat/contacts", newer, env.key)
	if len(env.events("contact.updated", c.Id)) != before {
		t.Fatal("an unchanged push emitted contact.updated")
	}

	for body, field := range map[string]string{
		`{"first_name":"x"}`:              "id",
		`{"id":"{{user_id}}"}`:            "id",
		`{"contact":"{{full_contact}}"}`:  "contact",
		`not json`:                        "body",
		`{"contact":{"id":"Contact Id"}}`: "contact.id",
	} {
		res := env.do("POST", "/api/v1/manychat/contacts", body, env.key)
		if res.Status != 400 || !strings.Contains(res.Body, `"`+field+`"`) {
			t.Errorf("%s: %d %s (want a 400 naming %s)", body, res.Status, res.Body, field)
		}
	}
	if res := env.do("POST", "/api/v1/manychat/contacts", fmt.Sprintf(fullContact, "502", "502", "2026-11-20T10:00:00Z"), env.managerH); res.Status != 403 {
		t.Fatalf("members cannot push contacts: %d", res.Status)
	}
}

func TestConcurrentUpsertsMakeOneContact(t *testing.T) {
	env := newCRM(t)
	var wg sync.WaitGroup
	statuses := make([]int, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := time.Date(2026, 11, 20, 10, 0, i, 0, time.UTC).Format(time.RFC3339)
			statuses[i] = env.do("POST", "/api/v1/manychat/contacts", fmt.Sprintf(fullContact, "777", "777", at), env.key).Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Fatalf("request %d: %d", i, s)
		}
	}
	n, err := env.app.CountRecords(collections.Contacts, dbx.HashExp{"workspace": env.ws.Id, "subscriber_id": "777"})
	if err != nil || n != 1 {
		t.Fatalf("%d contacts for one subscriber (%v)", n, err)
	}
	if got := env.contact("777").GetDateTime("mc_last_interaction_at").Time(); !got.Equal(time.Date(2026, 11, 20, 10, 1, 39, 0, time.UTC)) {
		t.Fatalf("the newest push must win, got %v", got)
	}
	if len(env.events("contact.created", env.contact("777").Id)) != 1 {
		t.Fatal("contact.created must be emitted once")
	}
}

func TestSyncJobsRefreshAndAlert(t *testing.T) {
	env := newCRM(t)
	env.connect()
	sid := env.fake.AddSubscriber(fakemc.Subscriber{FirstName: "Bia", LastName: "Lima", IGUsername: "bia.lima", Email: "bia@example.com",
		Tags: []string{"lead"}, Fields: map[string]any{"plan": "basic"}, LastInteraction: time.Now().Add(-time.Hour)})
	gone := env.fake.AddSubscriber(fakemc.Subscriber{FirstName: "Gone"})
	// Both were seen recently (ResolveContact creates bare contacts, as a push before any sync does).
	for _, s := range []int64{sid, gone} {
		c, err := platform.ResolveContact(env.app, env.ws.Id, platform.ContactRef{SubscriberID: fmt.Sprint(s)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := crm.CountInteraction(env.app, env.ws.Id, c.Id, crm.InteractionMessage, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	env.fake.ResetRecords()
	if res := env.do("POST", "/api/v1/manychat/sync", `{"kind":"everything"}`, env.adminH); res.Status != 400 || !strings.Contains(res.Body, `"kind"`) {
		t.Fatalf("bad kind: %d %s", res.Status, res.Body)
	}
	res := env.do("POST", "/api/v1/manychat/sync", `{"kind":"contacts"}`, env.adminH)
	if res.Status != 202 {
		t.Fatalf("sync: %d %s", res.Status, res.Body)
	}
	env.fake.InjectFailure("/fb/subscriber/getInfo", fakemc.Failure{Status: 500}, 2) // the first contact fails both client attempts
	env.runJobs()
	logs := env.logs("contacts")
	if len(logs) != 1 || logs[0].GetString("status") != "partial" || logs[0].GetInt("attempt") != 1 {
		t.Fatalf("first run: %v", logs)
	}
	env.makeDue()
	env.runJobs()
	logs = env.logs("contacts")
	if len(logs) != 2 || logs[1].GetString("status") != "ok" || logs[1].GetInt("attempt") != 2 {
		t.Fatalf("retried run: %v", logs[len(logs)-1])
	}
	c := env.contact(fmt.Sprint(sid))
	if c.GetString("name") != "Bia Lima" || c.GetString("email") != "bia@example.com" || crm.FieldMap(c)["plan"] != "basic" || crm.StringList(c, "tags")[0] != "lead" {
		t.Fatalf("refreshed contact: %v", c.PublicExport())
	}
	if env.fake.CallCount("/fb/subscriber/getInfo") < 3 {
		t.Fatal("getInfo was not called for each contact")
	}
	// Incremental: a fresh run skips contacts refreshed within the hour.
	env.fake.ResetRecords()
	env.do("POST", "/api/v1/manychat/sync", `{"kind":"contacts"}`, env.adminH)
	env.runJobs()
	if n := env.fake.CallCount("/fb/subscriber/getInfo"); n != 0 {
		t.Fatalf("recently refreshed contacts were fetched again (%d calls)", n)
	}

	// Three failed tag syncs in a row email the admins, once.
	env.fake.InjectFailure("/fb/page/getTags", fakemc.Failure{Status: 503}, 100)
	env.do("POST", "/api/v1/manychat/sync", `{"kind":"tags"}`, env.adminH)
	for range 4 {
		env.makeDue()
		env.runJobs()
	}
	failed := 0
	for _, l := range env.logs("tags") {
		if l.GetString("status") == "failed" {
			failed++
		}
	}
	if failed < 4 {
		t.Fatalf("want 4 failed tag runs, got %d", failed)
	}
	if env.app.TestMailer.TotalSend() != 2 { // owner and admin, once for the streak
		t.Fatalf("alert mails: %d", env.app.TestMailer.TotalSend())
	}
	msg := env.app.TestMailer.LastMessage()
	if !strings.Contains(msg.Subject, "tags sync") || !strings.Contains(msg.Text, "503") {
		t.Fatalf("alert: %s / %s", msg.Subject, msg.Text)
	}
}

func TestOutboundActionsAreQueued(t *testing.T) {
	env := newCRM(t)
	env.connect()
	env.fake.AddFlow("content20260101", "Welcome", 0)
	env.fake.AddCustomField("plan", "text", "")
	a := env.fake.AddSubscriber(fakemc.Subscriber{FirstName: "A", Tags: []string{"lead"}})
	b := env.fake.AddSubscriber(fakemc.Subscriber{FirstName: "B", Tags: []string{"lead"}})
	other := env.fake.AddSubscriber(fakemc.Subscriber{FirstName: "C"})
	for _, s := range []int64{a, b, other} {
		body, _ := env.fake.FullContactData(s)
		if res := env.do("POST", "/api/v1/manychat/contacts", string(body), env.key); res.Status != 200 {
			t.Fatalf("seed contact: %s", res.Body)
		}
	}
	env.fake.ResetRecords()
	for body, field := range map[string]string{
		`{"type":"add_tag","filter":{"tags":"lead"}}`:                    "tag",
		`{"type":"explode","tag":"x","filter":{}}`:                       "type",
		`{"type":"add_tag","tag":"x"}`:                                   "contacts",
		`{"type":"add_tag","tag":"x","filter":{"sort":"shoe size"}}`:     "filter.sort",
		`{"type":"add_tag","tag":"x","contacts":["nope"]}`:               "contacts",
		`{"actions":[{"type":"set_field"}],"subscriber_ids":["1"]}`:      "actions.0.field",
		`{"type":"add_tag","tag":"x","subscriber_ids":["not-a-number"]}`: "subscriber_ids",
	} {
		if res := env.do("POST", "/api/v1/manychat/actions", body, env.managerH); res.Status != 400 || !strings.Contains(res.Body, `"`+field+`"`) {
			t.Errorf("%s: %d %s (want a 400 naming %s)", body, res.Status, res.Body, field)
		}
	}
	if res := env.do("POST", "/api/v1/manychat/actions", `{"type":"add_tag","tag":"x","filter":{}}`, env.viewH); res.Status != 403 {
		t.Fatalf("viewer: %d", res.Status)
	}
	res := env.do("POST", "/api/v1/manychat/actions", `{"actions":[{"type":"add_tag","tag":"vip"},{"type":"set_field","field":"plan","value":"gold"}],"filter":{"tags":"lead"}}`, env.managerH)
	if res.Status != 202 {
		t.Fatalf("queue: %d %s", res.Status, res.Body)
	}
	if env.fake.CallCount("/fb/subscriber/addTagByName") != 0 {
		t.Fatal("Manychat was called inside the request")
	}
	env.runJobs()
	for _, s := range []int64{a, b} {
		st, _ := env.fake.SubscriberState(s)
		if strings.Join(st.TagNames, ",") != "lead,vip" || st.Values["plan"] != "gold" {
			t.Fatalf("fake state of %d: %v %v", s, st.TagNames, st.Values)
		}
		c := env.contact(fmt.Sprint(s))
		if !strings.Contains(strings.Join(crm.StringList(c, "tags"), ","), "vip") || crm.FieldMap(c)["plan"] != "gold" {
			t.Fatalf("mirror not updated: %v", c.PublicExport())
		}
	}
	if st, _ := env.fake.SubscriberState(other); len(st.TagNames) != 0 {
		t.Fatal("the filter reached a contact without the tag")
	}
	logs := env.logs("action")
	if len(logs) != 1 || logs[0].GetString("status") != "ok" || !strings.Contains(logs[0].GetString("counts"), `"ok":4`) {
		t.Fatalf("action log: %v", logs)
	}

	// Removing a tag from one contact.
	cid := env.contact(fmt.Sprint(a)).Id
	if res := env.do("POST", "/api/v1/manychat/actions", `{"type":"remove_tag","tag":"lead","contacts":["`+cid+`"]}`, env.key); res.Status != 202 {
		t.Fatalf("remove_tag: %s", res.Body)
	}
	env.runJobs()
	if st, _ := env.fake.SubscriberState(a); strings.Join(st.TagNames, ",") != "vip" {
		t.Fatalf("after remove_tag: %v", st.TagNames)
	}
	if got := crm.StringList(env.contact(fmt.Sprint(a)), "tags"); strings.Join(got, ",") != "vip" {
		t.Fatalf("mirror after remove_tag: %v", got)
	}
	if len(env.events("contact.tag_removed", cid)) != 1 {
		t.Fatal("no contact.tag_removed event")
	}

	// Flows: one contact, sent once; a failed send is logged and never retried.
	res = env.do("POST", "/api/v1/manychat/actions", `{"type":"send_flow","flow_ns":"content20260101","contacts":["`+cid+`"]}`, env.managerH)
	if res.Status != 202 {
		t.Fatalf("flow: %s", res.Body)
	}
	env.runJobs()
	if flows := env.fake.SentFlows(); len(flows) != 1 || flows[0].SubscriberID != a {
		t.Fatalf("sent flows: %v", flows)
	}
	env.fake.InjectFailure("/fb/sending/sendFlow", fakemc.Failure{Status: 500}, 5)
	env.do("POST", "/api/v1/manychat/actions", `{"type":"send_flow","flow_ns":"content20260101","subscriber_ids":["`+fmt.Sprint(b)+`"]}`, env.managerH)
	env.runJobs()
	env.makeDue()
	env.runJobs()
	logs = env.logs("action")
	if last := logs[len(logs)-1]; len(logs) != 4 || last.GetString("status") != "failed" {
		t.Fatalf("failed flow: %d logs, last %v", len(logs), last)
	}
	if len(env.fake.SentFlows()) != 1 {
		t.Fatal("a failed flow was sent")
	}
}

func TestInteractionsScoreAndHeatmapAcrossDST(t *testing.T) {
	env := newCRM(t)
	post := func(body string) map[string]any {
		t.Helper()
		res := env.do("POST", "/api/v1/manychat/events", body, env.key)
		if res.Status != 200 {
			t.Fatalf("%s: %d %s", body, res.Status, res.Body)
		}
		return decodeBody(t, res.Body)
	}
	ans := post(`{"subscriber_id":"900","type":"message","text":"oi"}`)
	if ans["engagement_score"] != 3.0 {
		t.Fatalf("one message today scores 3: %v", ans)
	}
	ans = post(`{"subscriber_id":"900","type":"story_mention"}`)
	if ans["engagement_score"] != 7.0 || ans["interactions_30d"] != 2.0 {
		t.Fatalf("score: %v", ans)
	}
	// Fourteen days ago counts half.
	old := time.Now().UTC().AddDate(0, 0, -14).Format(time.RFC3339)
	ans = post(`{"subscriber_id":"900","type":"comment","at":"` + old + `"}`)
	if ans["engagement_score"] != 8.0 {
		t.Fatalf("half-life: %v", ans)
	}
	c := env.contact("900")
	if len(env.events("message.received", c.Id)) != 1 || len(env.events("contact.interaction", c.Id)) != 2 {
		t.Fatal("interaction events")
	}
	for body, field := range map[string]string{
		`{"subscriber_id":"900","type":"poke"}`:                                "type",
		`{"subscriber_id":"abc","type":"message"}`:                             "subscriber_id",
		`{"type":"message"}`:                                                   "subscriber_id",
		`{"subscriber_id":"900","type":"message","at":"yesterday"}`:            "at",
		`{"subscriber_id":"900","type":"message","at":"2999-01-01T00:00:00Z"}`: "at",
	} {
		if res := env.do("POST", "/api/v1/manychat/events", body, env.key); res.Status != 400 || !strings.Contains(res.Body, `"`+field+`"`) {
			t.Errorf("%s: %d %s", body, res.Status, res.Body)
		}
	}

	// Europe/Berlin moves from UTC+1 to UTC+2 on Sunday 2026-03-29.
	for _, at := range []string{"2026-03-28T01:30:00Z", "2026-03-28T01:45:00Z", "2026-03-30T01:30:00Z", "2026-03-29T22:30:00Z"} {
		post(`{"subscriber_id":"901","type":"click","at":"` + at + `"}`)
	}
	post(`{"subscriber_id":"901","type":"click","at":"2026-03-31T23:30:00Z"}`) // 2026-04-01 01:30 local: outside
	res := env.do("GET", "/api/v1/contacts/activity?from=2026-03-28&to=2026-03-31", "", env.viewH)
	if res.Status != 200 {
		t.Fatalf("activity: %d %s", res.Status, res.Body)
	}
	var hm crm.Heatmap
	_ = json.Unmarshal([]byte(res.Body), &hm)
	if hm.Timezone != "Europe/Berlin" || hm.Total != 4 {
		t.Fatalf("heatmap: %s", res.Body)
	}
	if hm.Grid[5][2] != 2 { // Saturday 02:30 and 02:45 CET
		t.Fatalf("saturday 02h: %v", hm.Grid[5])
	}
	if hm.Grid[0][3] != 1 || hm.Grid[0][0] != 1 { // Monday 03:30 CEST and 00:30 CEST
		t.Fatalf("monday: %v", hm.Grid[0])
	}
	if res := env.do("GET", "/api/v1/contacts/activity?from=2026-03-31&to=2026-03-01", "", env.viewH); res.Status != 400 || !strings.Contains(res.Body, `"to"`) {
		t.Fatalf("bad range: %d %s", res.Status, res.Body)
	}
	if res := env.do("GET", "/api/v1/contacts/activity?from=March", "", env.viewH); res.Status != 400 || !strings.Contains(res.Body, `"from"`) {
		t.Fatalf("bad from: %d %s", res.Status, res.Body)
	}
}

func TestAutoRepliesMatchReplyAndQueue(t *testing.T) {
	env := newCRM(t)
	env.connect()
	sid := env.fake.AddSubscriber(fakemc.Subscriber{FirstName: "Davi"})
	body, _ := env.fake.FullContactData(sid)
	env.do("POST", "/api/v1/manychat/contacts", string(body), env.key)
	sidText := fmt.Sprint(sid)

	create := func(coll, body string) testutil.Response {
		return env.do("POST", "/api/collections/"+coll+"/records", body, env.managerH)
	}
	tpl := create("message_templates", `{"workspace":"`+env.ws.Id+`","name":"prices","category":"sales","body":"Olá {first_name}! Seu plano: {field.plan}."}`)
	if tpl.Status != 200 {
		t.Fatalf("template: %s", tpl.Body)
	}
	tplID := decodeBody(t, tpl.Body)["id"].(string)
	if res := create("auto_reply_rules", `{"workspace":"`+env.ws.Id+`","name":"bad","match":"regex","pattern":"(preço","enabled":true,"actions":[{"type":"reply","text":"x"}]}`); res.Status != 400 || !strings.Contains(res.Body, `"pattern"`) {
		t.Fatalf("bad regex: %d %s", res.Status, res.Body)
	}
	if res := create("auto_reply_rules", `{"workspace":"`+env.ws.Id+`","name":"bad","match":"keyword","pattern":"x","enabled":true,"actions":[{"type":"reply","template":"nope"}]}`); res.Status != 400 || !strings.Contains(res.Body, `"actions"`) {
		t.Fatalf("unknown template: %d %s", res.Status, res.Body)
	}
	rules := []string{
		`{"name":"prices","match":"keyword","pattern":"preco, price","priority":5,"enabled":true,"actions":[{"type":"reply","template":"` + tplID + `"},{"type":"add_tag","tag":"asked-price"}]}`,
		`{"name":"vip prices","match":"contains","pattern":"PREÇO","priority":10,"enabled":true,"conditions":{"tags_all":["vip"]},"actions":[{"type":"reply","text":"VIP {first_name}, 20% off"},{"type":"flow","flow_ns":"vipflow"}]}`,
		`{"name":"orders","match":"regex","pattern":"pedido\\s*#?\\d{4,}","priority":1,"enabled":true,"actions":[{"type":"reply","text":"Vou verificar seu pedido."},{"type":"set_field","field":"plan","value":"order-asked"}]}`,
	}
	var ruleIDs []string
	for _, r := range rules {
		res := create("auto_reply_rules", `{"workspace":"`+env.ws.Id+`",`+r[1:])
		if res.Status != 200 {
			t.Fatalf("rule: %s", res.Body)
		}
		ruleIDs = append(ruleIDs, decodeBody(t, res.Body)["id"].(string))
	}
	send := func(text string) (testutil.Response, *dynblock.Response) {
		t.Helper()
		res := env.do("POST", "/api/v1/manychat/messages", `{"subscriber_id":"`+sidText+`","text":"`+text+`"}`, env.key)
		if res.Status != 200 {
			t.Fatalf("message: %d %s", res.Status, res.Body)
		}
		var block dynblock.Response
		if err := json.Unmarshal([]byte(res.Body), &block); err != nil || block.Version != "v2" {
			t.Fatalf("not a dynamic block: %s", res.Body)
		}
		if len(block.Content.Messages) > 0 {
			if _, err := dynblock.Parse([]byte(res.Body)); err != nil {
				t.Fatalf("invalid dynamic block: %v %s", err, res.Body)
			}
		}
		return res, &block
	}
	res, block := send("Qual o PREÇO?")
	if res.Header.Get("X-Playgram-Rule") != ruleIDs[0] || block.Content.Type != dynblock.Instagram || len(block.Content.Messages) != 1 ||
		block.Content.Messages[0].Text != "Olá Davi! Seu plano: ." {
		t.Fatalf("keyword reply: %s", res.Body)
	}
	if err := block.Validate(); err != nil {
		t.Fatalf("reply invalid for Instagram: %v", err)
	}
	if env.fake.CallCount("/fb/subscriber/addTagByName") != 0 {
		t.Fatal("actions ran inside the request")
	}
	env.runJobs() // the add_tag action, then the contact carries it in Manychat and here
	if st, _ := env.fake.SubscriberState(sid); strings.Join(st.TagNames, ",") != "asked-price" {
		t.Fatalf("queued tag: %v", st.TagNames)
	}
	c := env.contact(sidText)
	if len(env.events("message.received", c.Id)) != 1 {
		t.Fatal("message.received")
	}

	// Conditions and priority: a VIP gets the VIP rule.
	c.Set("local_tags", []string{"VIP"})
	if err := env.app.Save(c); err != nil {
		t.Fatal(err)
	}
	res, block = send("preço por favor")
	if res.Header.Get("X-Playgram-Rule") != ruleIDs[1] || block.Content.Messages[0].Text != "VIP Davi, 20% off" {
		t.Fatalf("vip rule: %s", res.Body)
	}
	res, block = send("Meu pédido #12345?")
	if res.Header.Get("X-Playgram-Rule") != ruleIDs[2] || block.Content.Messages[0].Text != "Vou verificar seu pedido." {
		t.Fatalf("regex rule: %s", res.Body)
	}
	// The cache follows changes: disable the keyword rule, and a price question without the VIP tag is unmatched.
	c = env.contact(sidText)
	c.Set("local_tags", []string{})
	_ = env.app.Save(c)
	if res := env.do("PATCH", "/api/collections/auto_reply_rules/records/"+ruleIDs[0], `{"enabled":false}`, env.managerH); res.Status != 200 {
		t.Fatalf("disable: %s", res.Body)
	}
	res, block = send("price?")
	if res.Header.Get("X-Playgram-Rule") != "" || len(block.Content.Messages) != 0 {
		t.Fatalf("disabled rule still answers: %s", res.Body)
	}
	if res := env.do("POST", "/api/v1/manychat/messages", `{"subscriber_id":"","text":"x"}`, env.key); res.Status != 400 || !strings.Contains(res.Body, "subscriber_id") {
		t.Fatalf("no subscriber: %d %s", res.Status, res.Body)
	}
}

func TestContactSearchAndSavedSearches(t *testing.T) {
	env := newCRM(t)
	coll, _ := env.app.FindCollectionByNameOrId(collections.Contacts)
	mk := func(sid, name, ig, email, phone string, tags []string, fields map[string]any, active time.Time) *core.Record {
		c := core.NewRecord(coll)
		c.Set("workspace", env.ws.Id)
		c.Set("subscriber_id", sid)
		c.Set("name", name)
		c.Set("ig_username", ig)
		c.Set("email", email)
		c.Set("phone", phone)
		c.Set("tags", tags)
		c.Set("custom_fields", fields)
		c.Set("last_interaction_at", active)
		if err := env.app.Save(c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	now := time.Now().UTC()
	jose := mk("1", "José Álvarez", "jose.alv", "jose@example.com", "+55 11 98765-4321", []string{"VIP", "lead"}, map[string]any{"plan": "Pro", "age": 31}, now.Add(-time.Hour))
	maria := mk("2", "Maria Souza", "maria.s", "maria@shop.br", "+49 170 1234567", []string{"lead"}, map[string]any{"plan": "basic"}, now.AddDate(0, 0, -10))
	mk("3", "Joana Dark", "joana", "", "", nil, nil, now.AddDate(0, 0, -40))
	other := testutil.Workspace(t, env.app, "Other")
	c := core.NewRecord(coll)
	c.Set("workspace", other.Id)
	c.Set("name", "José Other")
	_ = env.app.Save(c)

	search := func(qs string) []string {
		t.Helper()
		res := env.do("GET", "/api/v1/contacts?"+qs, "", env.viewH)
		if res.Status != 200 {
			t.Fatalf("%s: %d %s", qs, res.Status, res.Body)
		}
		var out struct {
			Total int              `json:"total"`
			Items []map[string]any `json:"items"`
		}
		_ = json.Unmarshal([]byte(res.Body), &out)
		names := []string{}
		for _, it := range out.Items {
			names = append(names, it["name"].(string))
		}
		if out.Total != len(names) {
			t.Fatalf("%s: total %d for %d items", qs, out.Total, len(names))
		}
		return names
	}
	for qs, want := range map[string]string{
		"q=jose":                              "José Álvarez",
		"q=JOSÉ":                              "José Álvarez",
		"q=alva":                              "José Álvarez",
		"q=maria@shop":                        "Maria Souza",
		"q=49170123":                          "Maria Souza",
		"q=jo&sort=name":                      "Joana Dark,José Álvarez",
		"tags=lead&sort=-last_interaction_at": "José Álvarez,Maria Souza",
		"tags=vip,lead":                       "José Álvarez",
		"field.plan=pro":                      "José Álvarez",
		"field.age=31":                        "José Álvarez",
		"tags=lead&field.plan=basic":          "Maria Souza",
		"active_since=" + now.AddDate(0, 0, -20).Format("2006-01-02") + "&sort=name": "José Álvarez,Maria Souza",
		"active_days=20&sort=name":   "José Álvarez,Maria Souza",
		"inactive_days=20&sort=name": "Joana Dark",
		"active_before=" + now.AddDate(0, 0, -5).Format("2006-01-02") + "&sort=name": "Joana Dark,Maria Souza",
		"tags=lead&inactive_days=5": "Maria Souza",
		"q=nobody":                  "",
	} {
		if got := strings.Join(search(qs), ","); got != want {
			t.Errorf("%s: got %q, want %q", qs, got, want)
		}
	}
	if res := env.do("GET", "/api/v1/contacts?inactive_days=0&active_days=x&active_before=soon", "", env.viewH); res.Status != 400 ||
		!strings.Contains(res.Body, `"inactive_days"`) || !strings.Contains(res.Body, `"active_days"`) || !strings.Contains(res.Body, `"active_before"`) {
		t.Fatalf("bad activity params: %s", res.Body)
	}
	if res := env.do("GET", "/api/v1/contacts?sort=shoe&per_page=1000", "", env.viewH); res.Status != 400 || !strings.Contains(res.Body, `"sort"`) || !strings.Contains(res.Body, `"per_page"`) {
		t.Fatalf("bad params: %s", res.Body)
	}
	// The index follows edits and deletes.
	maria.Set("name", "Mariana Souza")
	_ = env.app.Save(maria)
	if got := search("q=mariana"); len(got) != 1 {
		t.Fatalf("renamed: %v", got)
	}
	maria.Set("tags", []string{"VIP"})
	maria.Set("custom_fields", map[string]any{"plan": "pro"})
	_ = env.app.Save(maria)
	for qs, want := range map[string]string{
		"tags=lead":                "José Álvarez",
		"tags=vip&sort=name":       "José Álvarez,Mariana Souza",
		"field.plan=pro&sort=name": "José Álvarez,Mariana Souza",
		"field.plan=basic":         "",
	} {
		if got := strings.Join(search(qs), ","); got != want {
			t.Errorf("after retagging, %s: got %q, want %q", qs, got, want)
		}
	}
	maria.Set("tags", []string{"lead", "vip"})
	_ = env.app.Save(maria)
	if got := strings.Join(search("tags=lead&sort=name"), ","); got != "José Álvarez,Mariana Souza" {
		t.Fatalf("tag added back: %q", got)
	}
	_ = env.app.Delete(jose)
	if got := search("q=jose"); len(got) != 0 {
		t.Fatalf("deleted contact still found: %v", got)
	}

	// Saved searches belong to their user.
	res := env.do("POST", "/api/collections/saved_searches/records", `{"workspace":"`+env.ws.Id+`","user":"`+env.manager.Id+`","name":"leads","query":{"tags":"lead"}}`, env.managerH)
	if res.Status != 200 {
		t.Fatalf("save: %s", res.Body)
	}
	saved := decodeBody(t, res.Body)["id"].(string)
	if res := env.do("POST", "/api/collections/saved_searches/records", `{"workspace":"`+env.ws.Id+`","user":"`+env.manager.Id+`","name":"x","query":{}}`, env.viewH); res.Status < 400 {
		t.Fatalf("saving for someone else: %d", res.Status)
	}
	res = env.do("GET", "/api/v1/contacts?saved="+saved, "", env.managerH)
	if res.Status != 200 || !strings.Contains(res.Body, "Mariana Souza") || decodeBody(t, res.Body)["total"] != 1.0 {
		t.Fatalf("run saved: %s", res.Body)
	}
	if res := env.do("GET", "/api/v1/contacts?saved="+saved, "", env.viewH); res.Status != 400 {
		t.Fatalf("another user's saved search: %d", res.Status)
	}
	if res := env.do("GET", "/api/collections/saved_searches/records", "", env.viewH); !strings.Contains(res.Body, `"totalItems":0`) {
		t.Fatalf("others' saved searches are private: %s", res.Body)
	}
}

func TestContactHistoryRebuild(t *testing.T) {
	env := newCRM(t)
	ctx := context.Background()
	res := env.do("POST", "/api/v1/manychat/contacts", fmt.Sprintf(fullContact, "640", "640", "2026-11-01T10:00:00Z"), env.key)
	if res.Status != 200 {
		t.Fatal(res.Body)
	}
	c := env.contact("640")
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02 15:04", s); return d }
	snap := func(at string) {
		t.Helper()
		if _, err := crm.TakeSnapshots(ctx, env.app, env.ws.Id, day(at)); err != nil {
			t.Fatal(err)
		}
	}
	snap("2026-11-01 20:00")
	c.Set("name", "Ana B")
	c.Set("custom_fields", map[string]any{"plan": "gold", "city": "Porto"})
	if err := env.app.Save(c); err != nil {
		t.Fatal(err)
	}
	snap("2026-11-03 20:00")
	snap("2026-11-04 20:00") // nothing changed: no row
	c.Set("tags", []string{"vip", "customer"})
	c.Set("custom_fields", map[string]any{"plan": "gold"})
	c.Set("notes", "called")
	if err := env.app.Save(c); err != nil {
		t.Fatal(err)
	}
	snap("2026-11-06 20:00")
	n, _ := env.app.CountRecords(collections.ContactSnapshots, dbx.HashExp{"contact": c.Id})
	if n != 3 {
		t.Fatalf("%d snapshots, want 3", n)
	}

	get := func(at string) map[string]any {
		t.Helper()
		res := env.do("GET", "/api/v1/contacts/"+c.Id+"/history?at="+at, "", env.viewH)
		if res.Status != 200 {
			t.Fatalf("history %s: %d %s", at, res.Status, res.Body)
		}
		return decodeBody(t, res.Body)
	}
	h := get("2026-11-02")
	ct := h["contact"].(map[string]any)
	if h["as_of"] != "2026-11-01" || ct["name"] != "Ana" || ct["custom_fields"].(map[string]any)["plan"] != "pro" {
		t.Fatalf("on the 2nd: %v", h)
	}
	h = get("2026-11-05")
	ct = h["contact"].(map[string]any)
	if ct["name"] != "Ana B" || ct["custom_fields"].(map[string]any)["city"] != "Porto" || len(ct["tags"].([]any)) != 1 {
		t.Fatalf("on the 5th: %v", h)
	}
	h = get("2026-12-01")
	ct = h["contact"].(map[string]any)
	if _, ok := ct["custom_fields"].(map[string]any)["city"]; ok || ct["notes"] != "called" || len(ct["tags"].([]any)) != 2 {
		t.Fatalf("latest: %v", h)
	}
	if res := env.do("GET", "/api/v1/contacts/"+c.Id+"/history?at=2026-10-31", "", env.viewH); res.Status != 404 {
		t.Fatalf("before the first snapshot: %d", res.Status)
	}
	if res := env.do("GET", "/api/v1/contacts/"+c.Id+"/history?at=soon", "", env.viewH); res.Status != 400 || !strings.Contains(res.Body, `"at"`) {
		t.Fatalf("bad date: %d", res.Status)
	}
}

func TestQRScanCountsAsInteraction(t *testing.T) {
	env := newCRM(t)
	testutil.Tool(t, env.app, env.ws, "qr", "Loja QR", nil)
	res := env.do("POST", "/api/v1/qr", `{"tool":"loja-qr","subscriber_id":"321"}`, env.key)
	if res.Status != 201 {
		t.Fatalf("generate: %d %s", res.Status, res.Body)
	}
	code := decodeBody(t, res.Body)["code"].(string)
	if res := env.do("POST", "/api/v1/qr/scan", `{"code":"`+code+`"}`, env.key); res.Status != 200 {
		t.Fatalf("scan: %d %s", res.Status, res.Body)
	}
	res = env.do("POST", "/api/v1/manychat/events", `{"subscriber_id":"321","type":"click"}`, env.key)
	ans := decodeBody(t, res.Body)
	if ans["qr_scans"] != 1.0 || ans["qr_codes"] != 1.0 || ans["engagement_score"] != 6.0 {
		t.Fatalf("scan not counted: %s", res.Body)
	}
	if env.contact("321").GetDateTime("last_interaction_at").IsZero() {
		t.Fatal("last_interaction_at not moved by the scan")
	}
}

func TestDailyJobSnapshotsAndDecay(t *testing.T) {
	env := newCRM(t)
	res := env.do("POST", "/api/v1/manychat/events", `{"subscriber_id":"808","type":"story_mention"}`, env.key)
	if decodeBody(t, res.Body)["engagement_score"] != 4.0 {
		t.Fatalf("score: %s", res.Body)
	}
	if _, err := jobs.Enqueue(env.app, jobs.New{Kind: crm.KindDaily, Workspace: env.ws.Id}); err != nil {
		t.Fatal(err)
	}
	env.runJobs()
	c := env.contact("808")
	if n, _ := env.app.CountRecords(collections.ContactSnapshots, dbx.HashExp{"contact": c.Id}); n != 1 {
		t.Fatalf("daily job stored %d snapshots", n)
	}
	// Two weeks later without activity the score has halved.
	if _, err := crm.DecayScores(env.app, env.ws.Id, time.Now().AddDate(0, 0, 14)); err != nil {
		t.Fatal(err)
	}
	if got := env.contact("808").GetFloat("engagement_score"); got != 2 {
		t.Fatalf("decayed score %v, want 2", got)
	}
	// Deleting the contact takes its counters, snapshots and search rows with it.
	var rid int64
	if err := env.app.DB().NewQuery("SELECT rid FROM contacts_fts_map WHERE contact = {:c}").Bind(dbx.Params{"c": c.Id}).Row(&rid); err != nil {
		t.Fatal(err)
	}
	if err := env.app.Delete(env.contact("808")); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"interactions", "contact_snapshots", "contacts_fts_map"} {
		var n int
		if err := env.app.DB().NewQuery("SELECT COUNT(*) FROM " + table + " WHERE contact = {:c}").Bind(dbx.Params{"c": c.Id}).Row(&n); err != nil || n != 0 {
			t.Fatalf("%s keeps %d rows of the deleted contact (%v)", table, n, err)
		}
	}
	for _, table := range []string{"contacts_fts", "contacts_attrs_fts"} {
		var n int
		if err := env.app.DB().NewQuery("SELECT COUNT(*) FROM " + table + " WHERE rowid = {:rid}").Bind(dbx.Params{"rid": rid}).Row(&n); err != nil || n != 0 {
			t.Fatalf("%s keeps %d rows of the deleted contact (%v)", table, n, err)
		}
	}
}

func TestCRMStaysInsideTheWorkspace(t *testing.T) {
	env := newCRM(t)
	other := testutil.Workspace(t, env.app, "Other Shop")
	secret, _ := testutil.APIKey(t, env.app, other, "manychat")
	otherKey := testutil.Bearer(secret)
	env.do("POST", "/api/v1/manychat/contacts", fmt.Sprintf(fullContact, "555", "555", "2026-11-20T10:00:00Z"), env.key)
	mine := env.contact("555")
	if _, err := crm.TakeSnapshots(context.Background(), env.app, env.ws.Id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if res := env.do("GET", "/api/v1/contacts?q=ana", "", otherKey); res.Status != 200 || decodeBody(t, res.Body)["total"] != 0.0 {
		t.Fatalf("other workspace search: %s", res.Body)
	}
	if res := env.do("GET", "/api/v1/contacts/"+mine.Id+"/history?at=2030-01-01", "", otherKey); res.Status != 404 {
		t.Fatalf("other workspace history: %d", res.Status)
	}
	if res := env.do("POST", "/api/v1/manychat/actions", `{"type":"add_tag","tag":"x","contacts":["`+mine.Id+`"]}`, otherKey); res.Status != 400 {
		t.Fatalf("other workspace action: %d %s", res.Status, res.Body)
	}
	// The same subscriber id in another workspace is another contact.
	env.do("POST", "/api/v1/manychat/contacts", fmt.Sprintf(fullContact, "555", "555", "2026-11-20T10:00:00Z"), otherKey)
	n, _ := env.app.CountRecords(collections.Contacts, dbx.HashExp{"subscriber_id": "555"})
	if n != 2 {
		t.Fatalf("%d contacts for subscriber 555 across two workspaces", n)
	}
	if res := env.do("GET", "/api/v1/contacts?q=ana", "", env.viewH); decodeBody(t, res.Body)["total"] != 1.0 {
		t.Fatalf("own search sees the other workspace: %s", res.Body)
	}
}
