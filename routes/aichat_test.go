package routes_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/collections"
	fakemc "github.com/playgram/playgram/internal/fakes/manychat"
	fakeai "github.com/playgram/playgram/internal/fakes/openai"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

type aiEnv struct {
	t    *testing.T
	app  core.App
	w    testutil.World
	acme *core.Record
	tool *core.Record
	fake *fakeai.Server
	svc  *aichat.Service
	h    http.Handler
}

func newAIEnv(t *testing.T, config map[string]any) *aiEnv {
	t.Helper()
	app := testutil.NewWorldApp(t)
	t.Cleanup(app.Cleanup)
	fake := fakeai.New()
	t.Cleanup(fake.Close)
	w := testutil.TheWorld(t)
	acme, _ := app.FindRecordById(collections.Workspaces, w.Acme)
	cfg := map[string]any{"base_url": fake.BaseURL(), "model": "gpt-4o-mini", "system_prompt": "You are Acme's assistant.", "temperature": 0.3}
	for k, v := range config {
		cfg[k] = v
	}
	tool := testutil.Tool(t, app, acme, "ai_chat", "Acme AI", cfg)
	svc := aichat.Of(app)
	svc.BackoffBase, svc.BackoffMax = time.Millisecond, 5*time.Millisecond
	return &aiEnv{t: t, app: app, w: w, acme: acme, tool: tool, fake: fake, svc: svc, h: testutil.Handler(t, app)}
}

func (env *aiEnv) do(method, url, body string, headers map[string]string) testutil.Response {
	return testutil.Do(env.h, method, url, body, headers)
}

// ask posts a customer's message as Manychat would and returns the reply texts.
func (env *aiEnv) ask(subscriber, text string, extra ...string) []string {
	env.t.Helper()
	body := fmt.Sprintf(`{"subscriber_id":%q,"text":%q%s}`, subscriber, text, strings.Join(extra, ""))
	res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/messages", body, testutil.Bearer(env.w.ManychatKey))
	return blockTexts(env.t, res)
}

func blockTexts(t *testing.T, res testutil.Response) []string {
	t.Helper()
	var block struct {
		Version string `json:"version"`
		Content struct {
			Type     string `json:"type"`
			Messages []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"messages"`
		} `json:"content"`
	}
	if res.Status != 200 || json.Unmarshal([]byte(res.Body), &block) != nil || block.Version != "v2" || block.Content.Type != "instagram" {
		t.Fatalf("not a Dynamic Block reply: %d %s", res.Status, res.Body)
	}
	var out []string
	for _, m := range block.Content.Messages {
		out = append(out, m.Text)
	}
	return out
}

func (env *aiEnv) messages(filter string, params dbx.Params) []*core.Record {
	env.t.Helper()
	recs, err := env.app.FindRecordsByFilter(collections.AIMessages, filter, "created,id", 0, 0, params)
	if err != nil {
		env.t.Fatal(err)
	}
	return recs
}

func (env *aiEnv) knowledge(title, content string, enabled bool) {
	env.t.Helper()
	coll, _ := env.app.FindCollectionByNameOrId(collections.AIKnowledge)
	r := core.NewRecord(coll)
	r.Set("workspace", env.acme.Id)
	r.Set("tool", env.tool.Id)
	r.Set("title", title)
	r.Set("content", content)
	r.Set("disabled", !enabled)
	if err := env.app.Save(r); err != nil {
		env.t.Fatal(err)
	}
}

func TestAIManychatConversation(t *testing.T) {
	env := newAIEnv(t, nil)
	env.fake.SetUsage(fakeai.UsageMode{CachedTokens: 10})
	if got := env.ask("501", "Hello there"); len(got) != 1 || got[0] != "You said: Hello there" {
		t.Fatalf("reply %v", got)
	}
	if got := env.ask("501", "Second question"); got[0] != "You said: Second question" {
		t.Fatalf("reply %v", got)
	}
	reqs := env.fake.Requests()
	if len(reqs) < 2 {
		t.Fatalf("model calls: %d", len(reqs))
	}
	var chat []fakeai.Request
	for _, r := range reqs {
		if r.ResponseFormat == nil {
			chat = append(chat, r)
		}
	}
	last := chat[len(chat)-1]
	if !last.Stream || last.StreamOptions == nil || !last.StreamOptions.IncludeUsage || last.Model != "gpt-4o-mini" || last.Authorization != "" {
		t.Fatalf("request %s", last.Raw)
	}
	var roles []string
	for _, m := range last.Messages {
		roles = append(roles, m.Role+":"+m.Text())
	}
	want := "system:You are Acme's assistant.|user:Hello there|assistant:You said: Hello there|user:Second question"
	if strings.Join(roles, "|") != want {
		t.Fatalf("context %q", strings.Join(roles, "|"))
	}
	// One conversation for the contact, four messages with usage on the replies.
	convs, _ := env.app.FindRecordsByFilter(collections.AIConversations, "tool = {:t}", "", 0, 0, dbx.Params{"t": env.tool.Id})
	if len(convs) != 1 || convs[0].GetInt("message_count") != 4 || convs[0].GetString("contact") == "" {
		t.Fatalf("conversations %v", convs)
	}
	replies := env.messages("role = 'assistant'", nil)
	r := replies[1]
	if r.GetString("status") != "ok" || r.GetString("delivery") != "inline" || r.GetInt("prompt_tokens") == 0 || r.GetInt("cached_tokens") != 10 ||
		r.GetInt("completion_tokens") != 4 || r.GetFloat("cost_usd") <= 0 || r.GetBool("cost_unknown") {
		t.Fatalf("reply usage %v", r.FieldsData())
	}
	wantCost := (float64(r.GetInt("prompt_tokens")-10)*0.15 + 10*0.075 + 4*0.60) / 1e6
	if d := r.GetFloat("cost_usd") - wantCost; d > 1e-12 || d < -1e-12 {
		t.Fatalf("cost %v, want %v", r.GetFloat("cost_usd"), wantCost)
	}
	// A new conversation on request: the old one is closed and the model sees no history.
	env.ask("501", "Start over", `,"new_conversation":true`)
	convs, _ = env.app.FindRecordsByFilter(collections.AIConversations, "tool = {:t}", "created", 0, 0, dbx.Params{"t": env.tool.Id})
	if len(convs) != 2 || convs[0].GetString("status") != "closed" || convs[1].GetString("status") != "open" {
		t.Fatalf("conversations after new_conversation: %d", len(convs))
	}
	reqs = env.fake.Requests()
	if n := len(reqs[len(reqs)-1].Messages); n != 2 {
		t.Fatalf("new conversation sent %d messages", n)
	}
	// Input errors name the field; other workspaces' keys do not see the tool.
	for _, c := range []struct{ body, field string }{
		{`{"subscriber_id":"501"}`, "text"},
		{`{"text":"hi"}`, "subscriber_id"},
		{`{"subscriber_id":"abc","text":"hi"}`, "subscriber_id"},
		{`{"subscriber_id":"501","text":"{{last_input_text}}"}`, "text"},
	} {
		res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/messages", c.body, testutil.Bearer(env.w.ManychatKey))
		if res.Status != 400 || !strings.Contains(res.Body, `"`+c.field+`"`) {
			t.Fatalf("%s: %d %s", c.body, res.Status, res.Body)
		}
	}
	res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/messages", `{"subscriber_id":"501","text":"hi"}`, testutil.Bearer(env.w.GlobexManychatKey))
	if res.Status != 404 {
		t.Fatalf("other workspace: %d", res.Status)
	}
	res = env.do("POST", "/api/v1/ai/"+env.tool.Id+"/messages", `{"subscriber_id":"501","text":"hi"}`, env.w.Manager.Headers)
	if res.Status != 403 {
		t.Fatalf("members may not use the Manychat route: %d", res.Status)
	}
}

func TestAIToolPricesSeededAndEditable(t *testing.T) {
	env := newAIEnv(t, nil)
	res := env.do("POST", "/api/collections/tools/records", fmt.Sprintf(`{"workspace":%q,"type":"ai_chat","name":"Priced","enabled":true,"config":{"base_url":%q,"model":"gpt-4o-mini"}}`, env.acme.Id, env.fake.BaseURL()), env.w.Admin.Headers)
	if res.Status != 200 || !strings.Contains(res.Body, `"gpt-4o-mini":{"cached_input":0.075,"input":0.15,"output":0.6}`) {
		t.Fatalf("seeded prices: %d %s", res.Status, res.Body)
	}
	id := jsonField(t, []byte(res.Body), "id")
	// An operator edits the table: the new price is charged.
	res = env.do("PATCH", "/api/collections/tools/records/"+id, fmt.Sprintf(`{"config":{"base_url":%q,"model":"gpt-4o-mini","prices":{"gpt-4o-mini":{"input":1000,"output":1000}}}}`, env.fake.BaseURL()), env.w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("edit prices: %d %s", res.Status, res.Body)
	}
	env.fake.SetUsage(fakeai.UsageMode{PromptTokens: 1000})
	res = env.do("POST", "/api/v1/ai/"+id+"/messages", `{"subscriber_id":"520","text":"hi"}`, testutil.Bearer(env.w.ManychatKey))
	blockTexts(t, res)
	m := env.messages("role = 'assistant' && tool = {:t}", dbx.Params{"t": id})[0]
	if want := (1000*1000.0 + 3*1000.0) / 1e6; m.GetFloat("cost_usd") != want {
		t.Fatalf("cost %v want %v", m.GetFloat("cost_usd"), want)
	}
}

func TestAIToolKeyAndZeroTemperature(t *testing.T) {
	env := newAIEnv(t, map[string]any{"temperature": 0.0})
	env.fake.RequireKey("sk-tool")
	res := env.do("POST", "/api/v1/tools/"+env.tool.Id+"/secret", `{"api_key":"sk-tool"}`, env.w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("secret: %d %s", res.Status, res.Body)
	}
	if got := env.ask("502", "hi"); got[0] != "You said: hi" {
		t.Fatalf("reply %v", got)
	}
	req := env.fake.Requests()[0]
	if req.Authorization != "Bearer sk-tool" || req.Field("temperature") != "0" || req.Field("max_tokens") != "512" {
		t.Fatalf("auth %q temperature %q max_tokens %q", req.Authorization, req.Field("temperature"), req.Field("max_tokens"))
	}
}

func TestAIReplySplitForInstagram(t *testing.T) {
	env := newAIEnv(t, nil)
	para := strings.Repeat("Our opening hours are long and our staff is friendly. ", 18)
	env.fake.Script(fakeai.Reply{Content: para + "\n\n" + para + "\n\n" + para})
	got := env.ask("503", "Tell me everything")
	if len(got) < 3 {
		t.Fatalf("%d parts", len(got))
	}
	for _, p := range got {
		if len(p) > 1000 || p == "" {
			t.Fatalf("part of %d bytes", len(p))
		}
	}
}

func TestAIKnowledgeAndContextBudget(t *testing.T) {
	env := newAIEnv(t, map[string]any{"context_tokens": 300})
	env.knowledge("Opening hours", "We are open Monday to Friday from 9:00 to 18:00.", true)
	env.knowledge("Parking", "Free parking behind the shop.", true)
	env.knowledge("Secret sale", "Hidden hours entry that is disabled.", false)
	// Earlier turns: long enough that the budget cannot hold them all.
	for i := 0; i < 6; i++ {
		env.ask("504", fmt.Sprintf("Message number %d %s", i, strings.Repeat("filler words here ", 10)))
	}
	env.fake.Reset()
	env.ask("504", "What are your opening hours?")
	req := env.fake.Requests()[0]
	sys := req.Messages[0].Text()
	if !strings.Contains(sys, "Monday to Friday") || strings.Contains(sys, "disabled") || strings.Contains(sys, "parking") {
		t.Fatalf("system message %q", sys)
	}
	// The oldest turns were dropped, the newest kept, the new message last.
	var texts []string
	for _, m := range req.Messages[1:] {
		texts = append(texts, m.Text())
	}
	all := strings.Join(texts, "|")
	if strings.Contains(all, "Message number 0") || !strings.Contains(all, "Message number 5") || texts[len(texts)-1] != "What are your opening hours?" {
		t.Fatalf("history %q", all)
	}
	// Members of another workspace cannot attach entries to this tool.
	res := env.do("POST", "/api/collections/ai_knowledge/records", fmt.Sprintf(`{"workspace":%q,"tool":%q,"content":"x"}`, env.w.Globex, env.tool.Id), env.w.GlobexAdmin.Headers)
	if res.Status == 200 {
		t.Fatalf("cross-workspace knowledge accepted: %s", res.Body)
	}
	res = env.do("POST", "/api/collections/ai_knowledge/records", fmt.Sprintf(`{"workspace":%q,"tool":%q,"title":"Returns","content":"Returns within 30 days."}`, env.acme.Id, env.tool.Id), env.w.Manager.Headers)
	if res.Status != 200 {
		t.Fatalf("manager adds knowledge: %d %s", res.Status, res.Body)
	}
	found, err := env.svc.SearchKnowledge(env.acme.Id, env.tool.Id, "can I return it?", 5)
	if err != nil || len(found) != 1 || found[0].Title != "Returns" {
		t.Fatalf("search %v %v", found, err)
	}
}

func TestAIHeldReplyDeliveredThroughManychat(t *testing.T) {
	env := newAIEnv(t, nil)
	mc := newManychatFake(t)
	env.svc.Services().Config.ManychatBaseURL = mc.URL
	sub := mc.AddSubscriber(fakemc.Subscriber{FirstName: "Ana", IGUsername: "ana"})
	setWorkspaceSecret(t, env, "manychat_token", mc.Token)
	env.svc.HoldAfter = 50 * time.Millisecond
	env.fake.Script(fakeai.Reply{Content: "Here is the slow but thoughtful answer.", Latency: 400 * time.Millisecond})
	got := env.ask(fmt.Sprint(sub), "A hard question")
	if len(got) != 1 || got[0] != aichat.HoldingText {
		t.Fatalf("holding reply %v", got)
	}
	env.svc.Wait()
	held := env.messages("role = 'assistant'", nil)
	if len(held) != 1 || held[0].GetString("delivery") != "held" || held[0].GetString("content") != "Here is the slow but thoughtful answer." {
		t.Fatalf("held message %v", held)
	}
	if _, err := jobs.RunnerOf(env.app).RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := mc.SentContent()
	if len(sent) != 1 || sent[0].SubscriberID != sub || !strings.Contains(string(sent[0].Data), "slow but thoughtful") {
		t.Fatalf("sent %v", sent)
	}
	if m, _ := env.app.FindRecordById(collections.AIMessages, held[0].Id); m.GetString("delivery") != "sent" {
		t.Fatalf("delivery %s", m.GetString("delivery"))
	}
	// A fast reply is answered inline and never sent again.
	env.fake.Script(fakeai.Reply{Content: "Quick one."})
	if got := env.ask(fmt.Sprint(sub), "Easy question"); got[0] != "Quick one." {
		t.Fatalf("inline %v", got)
	}
	jobs.RunnerOf(env.app).RunDue(context.Background())
	if n := len(mc.SentContent()); n != 1 {
		t.Fatalf("sent %d times", n)
	}
}

func setWorkspaceSecret(t *testing.T, env *aiEnv, name, value string) {
	t.Helper()
	res := env.do("POST", "/api/v1/workspace/secrets", fmt.Sprintf(`{%q:%q}`, name, value), env.w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("workspace secret: %d %s", res.Status, res.Body)
	}
}

func newManychatFake(t *testing.T) *fakemc.Server {
	mc := fakemc.New()
	t.Cleanup(mc.Close)
	return mc
}

func TestAIChatStreamsWithFunctionCalls(t *testing.T) {
	env := newAIEnv(t, map[string]any{"functions": []any{"generate_qr", "lookup_contact", "create_booking", "add_tag"}})
	qrTool := env.w.AcmeQRTool
	env.fake.Script(
		fakeai.Reply{ToolCalls: []fakeai.ToolCall{{Name: "lookup_contact", Arguments: `{}`}, {Name: "generate_qr", Arguments: `{"label":"10% off"}`}}},
		fakeai.Reply{ToolCalls: []fakeai.ToolCall{{Name: "create_booking", Arguments: `{"start":"2027-01-01T10:00:00Z"}`}, {Name: "add_tag", Arguments: `{"tag":"vip"}`}, {Name: "generate_qr", Arguments: `{"label": 5`}, {Name: "check_availability", Arguments: `{"date":"2027-01-01"}`}}},
		fakeai.Reply{Content: "Your voucher is ready, Ana!"},
	)
	body := `{"text":"Can I get a voucher?","subscriber_id":"777"}`
	res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/chat", body, env.w.Manager.Headers)
	if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("chat: %d %s", res.Status, res.Body)
	}
	events := sseEvents(t, res.Body)
	var deltas []string
	var calls []map[string]any
	var done map[string]any
	for _, ev := range events {
		switch ev.name {
		case "delta":
			deltas = append(deltas, ev.data["text"].(string))
		case "function":
			calls = append(calls, ev.data)
		case "done":
			done = ev.data
		}
	}
	if strings.Join(deltas, "") != "Your voucher is ready, Ana!" || len(deltas) != 5 {
		t.Fatalf("deltas %q", deltas)
	}
	if len(calls) != 6 || done == nil || done["status"] != "ok" || done["rounds"] != 3.0 || done["cost_usd"] == nil {
		t.Fatalf("calls %v done %v", calls, done)
	}
	qrResult, _ := calls[1]["result"].(map[string]any)
	if calls[1]["name"] != "generate_qr" || qrResult == nil || qrResult["code"] == "" {
		t.Fatalf("generate_qr %v", calls[1])
	}
	if calls[2]["error"] != "ask the customer for their name first, then pass it as name" ||
		calls[3]["error"] != nil || fmt.Sprint(calls[3]["result"]) != "map[status:queued tag:vip]" ||
		!strings.Contains(calls[4]["error"].(string), "not a JSON object") ||
		calls[5]["error"] != `function "check_availability" is not available to this assistant` {
		t.Fatalf("refused calls %v", calls[2:])
	}
	// The tag is queued as a CRM action for the contact, like POST /api/v1/contacts/actions does.
	if _, err := env.app.FindFirstRecordByFilter(collections.Jobs, "kind = 'crm.action' && payload ~ 'vip'", nil); err != nil {
		t.Fatalf("no crm.action job for the tag: %v", err)
	}
	// The code exists in the QR domain, issued to the contact, and the model was told the results.
	codes, _ := env.app.FindRecordsByFilter(collections.QRCodes, "tool = {:t}", "", 0, 0, dbx.Params{"t": qrTool})
	if len(codes) != 1 || codes[0].GetString("code") != qrResult["code"] || codes[0].GetString("label") != "10% off" || codes[0].GetString("contact") == "" {
		t.Fatalf("codes %v", codes)
	}
	reqs := env.fake.Requests()
	var chatReqs []fakeai.Request
	for _, r := range reqs {
		if r.ResponseFormat == nil {
			chatReqs = append(chatReqs, r)
		}
	}
	second := chatReqs[1]
	var names []string
	for _, tl := range chatReqs[0].Tools {
		names = append(names, tl.Function.Name)
	}
	if strings.Join(names, ",") != "generate_qr,lookup_contact,create_booking,add_tag" {
		t.Fatalf("offered functions %v", names)
	}
	lastTool := second.Messages[len(second.Messages)-1]
	if lastTool.Role != "tool" || lastTool.ToolCallID == "" || !strings.Contains(lastTool.Text(), qrResult["code"].(string)) {
		t.Fatalf("tool result message %+v", lastTool)
	}
	// Every call is recorded on the stored reply.
	m, _ := env.app.FindRecordById(collections.AIMessages, done["message"].(string))
	var stored []aichat.CallRecord
	if err := m.UnmarshalJSONField("function_calls", &stored); err != nil || len(stored) != 6 || stored[0].Name != "lookup_contact" || m.GetInt("rounds") != 3 {
		t.Fatalf("stored calls %v %v", stored, err)
	}
}

func TestAIUnavailableFunctionIsNotOffered(t *testing.T) {
	env := newAIEnv(t, map[string]any{"functions": []any{"lookup_contact", "add_tag"}})
	env.svc.SetFunction("add_tag", nil) // as on a server without the CRM domain
	env.fake.Script(fakeai.Reply{ToolCalls: []fakeai.ToolCall{{Name: "add_tag", Arguments: `{"tag":"vip"}`}}}, fakeai.Reply{Content: "Done."})
	if got := env.ask("506", "tag me"); got[0] != "Done." {
		t.Fatalf("reply %v", got)
	}
	reqs := chatRequests(env.fake)
	if len(reqs[0].Tools) != 1 || reqs[0].Tools[0].Function.Name != "lookup_contact" {
		t.Fatalf("offered %s", reqs[0].Field("tools"))
	}
	if last := reqs[1].Messages[len(reqs[1].Messages)-1]; !strings.Contains(last.Text(), `function \"add_tag\" is unavailable on this server`) {
		t.Fatalf("model told %s", last.Text())
	}
}

func TestAIFunctionRoundsAreBounded(t *testing.T) {
	env := newAIEnv(t, map[string]any{"functions": []any{"lookup_contact"}})
	loop := fakeai.Reply{ToolCalls: []fakeai.ToolCall{{Name: "lookup_contact", Arguments: `{}`}}}
	env.fake.Script(loop, loop, loop, loop, loop, loop)
	got := env.ask("505", "loop forever")
	m := env.messages("role = 'assistant'", nil)[0]
	if got[0] != "Thanks for your message! We will get back to you soon." || m.GetString("status") != "fallback" || m.GetInt("rounds") != 4 {
		t.Fatalf("reply %v status %s rounds %d", got, m.GetString("status"), m.GetInt("rounds"))
	}
	reqs := env.fake.Requests()
	var last fakeai.Request
	for _, r := range reqs {
		if r.ResponseFormat == nil {
			last = r
		}
	}
	if last.Field("tool_choice") != `"none"` {
		t.Fatalf("last round tool_choice %s", last.Field("tool_choice"))
	}
}

type sseEvent struct {
	name string
	data map[string]any
}

func sseEvents(t *testing.T, body string) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				t.Fatalf("bad SSE data %q", line)
			}
			out = append(out, sseEvent{name, d})
		}
	}
	return out
}

func TestAIChatAsSuperuserAndKey(t *testing.T) {
	env := newAIEnv(t, nil)
	res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/chat?workspace="+env.acme.Id, `{"text":"hello from the superuser"}`, env.w.Superuser.Headers)
	if ev := sseEvents(t, res.Body); res.Status != 200 || ev[len(ev)-1].data["text"] != "You said: hello from the superuser" {
		t.Fatalf("superuser: %d %s", res.Status, res.Body)
	}
	res = env.do("POST", "/api/v1/ai/"+env.tool.Id+"/chat", `{"text":"from a key"}`, testutil.Bearer(env.w.AdminKey))
	if ev := sseEvents(t, res.Body); res.Status != 200 || ev[len(ev)-1].data["status"] != "ok" {
		t.Fatalf("admin key: %d %s", res.Status, res.Body)
	}
	if res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/chat", `{"text":"x"}`, testutil.Bearer(env.w.ManychatKey)); res.Status != 403 {
		t.Fatalf("manychat key on the dashboard route: %d", res.Status)
	}
}

func TestAIHeldReplyLostWithItsProcessIsResumed(t *testing.T) {
	env := newAIEnv(t, nil)
	mc := newManychatFake(t)
	env.svc.Services().Config.ManychatBaseURL = mc.URL
	sub := mc.AddSubscriber(fakemc.Subscriber{FirstName: "Lu"})
	setWorkspaceSecret(t, env, "manychat_token", mc.Token)
	// The message was stored and held, then the process stopped before the model answered.
	tool, _ := aichat.LoadTool(env.app, env.acme.Id, env.tool.Id)
	contact, _ := platform.ResolveContact(env.app, env.acme.Id, platform.ContactRef{SubscriberID: fmt.Sprint(sub)}, nil)
	p, err := env.svc.Prepare(aichat.Inbound{Tool: tool, Contact: contact, Channel: aichat.ChannelManychat, Text: "Are you open?"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Enqueue(env.app, jobs.New{Kind: aichat.KindResume, Workspace: env.acme.Id, Payload: map[string]any{"message": p.UserMessage.Id}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // resume, then deliver (and the sentiment job)
		jobs.RunnerOf(env.app).RunDue(context.Background())
	}
	sent := mc.SentContent()
	if len(sent) != 1 || !strings.Contains(string(sent[0].Data), "You said: Are you open?") {
		t.Fatalf("sent %v", sent)
	}
	// A reply that exists is not made again.
	if _, err := jobs.Enqueue(env.app, jobs.New{Kind: aichat.KindResume, Workspace: env.acme.Id, Payload: map[string]any{"message": p.UserMessage.Id}}); err != nil {
		t.Fatal(err)
	}
	jobs.RunnerOf(env.app).RunDue(context.Background())
	if n := len(env.messages("reply_to = {:m}", dbx.Params{"m": p.UserMessage.Id})); n != 1 || len(mc.SentContent()) != 1 {
		t.Fatalf("replies %d, sent %d", n, len(mc.SentContent()))
	}
}

// TestAIToolChangesApplyToTheNextMessage: tools and their model clients are kept between requests, and a
// change to the tool (config, key, enabled) or to the workspace's key applies from the next message on.
func TestAIToolChangesApplyToTheNextMessage(t *testing.T) {
	env := newAIEnv(t, nil)
	env.ask("530", "first")
	last := func() fakeai.Request { r := chatRequests(env.fake); return r[len(r)-1] }
	if a := last().Authorization; a != "" {
		t.Fatalf("auth %q", a)
	}
	setWorkspaceSecret(t, env, "openai_api_key", "sk-workspace")
	env.ask("530", "second")
	if a := last().Authorization; a != "Bearer sk-workspace" {
		t.Fatalf("workspace key not used: %q", a)
	}
	if res := env.do("POST", "/api/v1/tools/"+env.tool.Id+"/secret", `{"api_key":"sk-tool"}`, env.w.Admin.Headers); res.Status != 200 {
		t.Fatalf("secret: %d %s", res.Status, res.Body)
	}
	env.ask("530", "third")
	if a := last().Authorization; a != "Bearer sk-tool" {
		t.Fatalf("tool key not used: %q", a)
	}
	tool, _ := env.app.FindRecordById(collections.Tools, env.tool.Id)
	cfg := map[string]any{}
	_ = tool.UnmarshalJSONField("config", &cfg)
	cfg["system_prompt"] = "You are the new assistant."
	tool.Set("config", cfg)
	if err := env.app.Save(tool); err != nil {
		t.Fatal(err)
	}
	env.ask("530", "fourth")
	if sys := string(last().Messages[0].Content); !strings.HasPrefix(sys, `"You are the new assistant.`) {
		t.Fatalf("system prompt %q", sys)
	}
	tool, _ = env.app.FindRecordById(collections.Tools, env.tool.Id)
	tool.Set("enabled", false)
	if err := env.app.Save(tool); err != nil {
		t.Fatal(err)
	}
	res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/messages", `{"subscriber_id":"530","text":"fifth"}`, testutil.Bearer(env.w.ManychatKey))
	if res.Status != 404 {
		t.Fatalf("disabled tool answered: %d %s", res.Status, res.Body)
	}
}
