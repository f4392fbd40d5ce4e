package routes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/collections"
	fakeai "github.com/playgram/playgram/internal/fakes/openai"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
)

const fallback = "Thanks for your message! We will get back to you soon."

func chatRequests(f *fakeai.Server) []fakeai.Request {
	var out []fakeai.Request
	for _, r := range f.Requests() {
		if r.ResponseFormat == nil {
			out = append(out, r)
		}
	}
	return out
}

func TestAIProviderErrorsInWords(t *testing.T) {
	env := newAIEnv(t, nil)
	last := func() map[string]any {
		m := env.messages("role = 'assistant'", nil)
		return m[len(m)-1].FieldsData()
	}
	// 429 rate_limit_exceeded is retried with backoff and then answers.
	env.fake.Fail(fakeai.RateLimited, fakeai.Overloaded)
	if got := env.ask("601", "hello"); got[0] != "You said: hello" {
		t.Fatalf("after retries %v", got)
	}
	if n := len(chatRequests(env.fake)); n != 3 {
		t.Fatalf("calls %d, want 3 (two retried failures)", n)
	}
	// insufficient_quota is not retried, the customer gets the fallback and the admins are told.
	env.fake.Reset()
	env.fake.Fail(fakeai.InsufficientQuota)
	if got := env.ask("601", "again"); got[0] != fallback {
		t.Fatalf("quota reply %v", got)
	}
	if n := len(chatRequests(env.fake)); n != 1 {
		t.Fatalf("quota retried: %d calls", n)
	}
	if m := last(); m["status"] != "fallback" || m["error_kind"] != "insufficient_quota" || !strings.Contains(m["error"].(string), "out of credit") {
		t.Fatalf("quota message %v", m)
	}
	audit, err := env.app.FindFirstRecordByFilter(collections.AuditLog, "action = 'ai.provider_quota_exhausted' && target_id = {:t}", dbx.Params{"t": env.tool.Id})
	if err != nil || audit.GetString("workspace") != env.acme.Id {
		t.Fatalf("no audit row for the admins: %v", err)
	}
	if _, err := env.app.FindFirstRecordByFilter(collections.Events, "type = 'ai.provider_quota_exhausted'", nil); err != nil {
		t.Fatal("no event for the admins")
	}
	cases := []struct {
		fail fakeai.Failure
		kind string
		word string
	}{
		{fakeai.ModelNotFound, "model_not_found", "does not know this model"},
		{fakeai.InvalidKey, "auth", "refused the API key"},
		{fakeai.ContextTooLong, "context_length", "context_tokens"},
		{fakeai.OllamaError, "model_not_found", "not found, try pulling it"},
		{fakeai.Failure{MidStream: true, AfterChunks: 1}, "stream", "error while answering"},
	}
	for _, c := range cases {
		env.fake.Fail(c.fail)
		// A stream failing after output is not retried (the customer would get the text twice).
		if got := env.ask("602", "x"); got[0] != fallback {
			t.Fatalf("%s: reply %v", c.kind, got)
		}
		if m := last(); m["error_kind"] != c.kind || !strings.Contains(m["error"].(string), c.word) {
			t.Fatalf("%s: stored %v / %v", c.kind, m["error_kind"], m["error"])
		}
	}
	// A malformed tool call (bad JSON, an unknown function) never ends the conversation.
	env.fake.Reset()
	env.fake.Script(fakeai.Reply{ToolCalls: []fakeai.ToolCall{{Name: "no_such_fn", Arguments: `{`}}}, fakeai.Reply{Content: "Sorry, let me answer directly."})
	if got := env.ask("602", "y"); got[0] != "Sorry, let me answer directly." {
		t.Fatalf("after malformed call %v", got)
	}
}

func TestAITimeoutAndTruncatedStream(t *testing.T) {
	env := newAIEnv(t, nil)
	env.svc.ReplyTimeout = 100 * time.Millisecond
	env.fake.Script(fakeai.Reply{Content: "too late", Latency: time.Second})
	if got := env.ask("603", "slow"); got[0] != fallback {
		t.Fatalf("timeout reply %v", got)
	}
	m := env.messages("role = 'assistant'", nil)
	if m[0].GetString("error_kind") != "timeout" || !strings.Contains(m[0].GetString("error"), "did not answer in time") {
		t.Fatalf("timeout stored %v", m[0].FieldsData())
	}
	// A stream cut before [DONE] keeps the text, but its usage never came: cost unknown, not 0.
	env.svc.ReplyTimeout = 10 * time.Second
	// (a loaded machine may time the first call out before it reached the fake, leaving its reply queued)
	env.fake.Reset()
	env.fake.Fail(fakeai.Failure{Truncate: true, AfterChunks: 2})
	env.fake.Script(fakeai.Reply{Content: "one two three four"})
	if got := env.ask("603", "cut"); got[0] != "one two" {
		t.Fatalf("truncated reply %v", got)
	}
	m = env.messages("role = 'assistant'", nil)
	if r := m[len(m)-1]; !r.GetBool("cost_unknown") || r.GetFloat("cost_usd") != 0 || r.GetString("status") != "ok" {
		t.Fatalf("truncated stored %v", r.FieldsData())
	}
}

func TestAIBudgetAndRateLimits(t *testing.T) {
	env := newAIEnv(t, map[string]any{"monthly_budget_usd": 0.00001, "fallback_text": "We'll reply soon."})
	env.fake.SetUsage(fakeai.UsageMode{PromptTokens: 100})
	env.ask("604", "first") // 100×0.15 + … ≈ $0.0000165: the budget is spent
	before := len(chatRequests(env.fake))
	if got := env.ask("604", "second"); got[0] != "We'll reply soon." {
		t.Fatalf("over budget %v", got)
	}
	if n := len(chatRequests(env.fake)); n != before {
		t.Fatal("the model was called over budget")
	}
	m := env.messages("role = 'assistant'", nil)
	if m[len(m)-1].GetString("status") != "budget" {
		t.Fatalf("status %s", m[len(m)-1].GetString("status"))
	}

	env2 := newAIEnv(t, nil)
	env2.svc.SetRateLimits(2, 3)
	env2.ask("605", "a")
	env2.ask("605", "b")
	if got := env2.ask("605", "c"); got[0] != aichat.RateLimitedText {
		t.Fatalf("contact limit %v", got)
	}
	env2.ask("606", "d") // the tool's third call
	res := env2.do("POST", "/api/v1/ai/"+env2.tool.Id+"/messages", `{"subscriber_id":"607","text":"e"}`, testutil.Bearer(env2.w.ManychatKey))
	if got := blockTexts(t, res); got[0] != aichat.RateLimitedText || res.Header.Get("Retry-After") == "" {
		t.Fatalf("tool limit %v %v", got, res.Header)
	}
	if n := len(chatRequests(env2.fake)); n != 3 {
		t.Fatalf("model calls %d", n)
	}
	res = env2.do("POST", "/api/v1/ai/"+env2.tool.Id+"/chat", `{"text":"f"}`, env2.w.Manager.Headers)
	if res.Status != 429 {
		t.Fatalf("dashboard over the tool limit: %d", res.Status)
	}
}

func TestAISentimentJobAndFilter(t *testing.T) {
	env := newAIEnv(t, nil)
	env.fake.Default = func(req fakeai.Request) fakeai.Reply {
		if req.ResponseFormat != nil && req.ResponseFormat.Type == "json_schema" {
			switch text := req.LastUser(); {
			case strings.Contains(text, "terrible"):
				return fakeai.Reply{Content: `{"sentiment":"negative","score":-0.8,"toxic":false,"topics":["service"]}`}
			case strings.Contains(text, "weird"):
				return fakeai.Reply{Content: `{"sentiment":"happy","score":3}`}
			}
			return fakeai.Reply{Content: `{"sentiment":"positive","score":0.9,"toxic":false,"topics":["coffee"]}`}
		}
		return fakeai.Reply{Content: "Thanks!"}
	}
	env.ask("608", "Lovely coffee")
	env.ask("608", "The service was terrible")
	env.ask("608", "weird one")
	if n := len(env.fake.Requests()); n != 3 {
		t.Fatalf("classification ran in the reply path: %d calls", n)
	}
	if _, err := jobs.RunnerOf(env.app).RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	var schemaReq fakeai.Request
	for _, r := range env.fake.Requests() {
		if r.ResponseFormat != nil {
			schemaReq = r
		}
	}
	if schemaReq.Stream || schemaReq.Field("temperature") != "0" || schemaReq.ResponseFormat.JSONSchema == nil || !schemaReq.ResponseFormat.JSONSchema.Strict {
		t.Fatalf("classification request %s", schemaReq.Raw)
	}
	users := env.messages("role = 'user'", nil)
	if users[0].GetString("sentiment") != "positive" || users[1].GetString("sentiment") != "negative" || users[1].GetFloat("sentiment_score") != -0.8 ||
		users[2].GetString("sentiment") != "" || !strings.Contains(users[2].GetString("sentiment_error"), "happy") {
		t.Fatalf("sentiments %v / %v / %v", users[0].GetString("sentiment"), users[1].GetString("sentiment"), users[2].GetString("sentiment_error"))
	}
	if users[1].GetInt("prompt_tokens") == 0 {
		t.Fatal("the classification's usage was not recorded")
	}
	res := env.do("GET", "/api/collections/ai_messages/records?filter="+urlq("sentiment='negative'"), "", env.w.Viewer.Headers)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if res.Status != 200 || json.Unmarshal([]byte(res.Body), &list) != nil || len(list.Items) != 1 || list.Items[0]["content"] != "The service was terrible" {
		t.Fatalf("filter: %d %s", res.Status, res.Body)
	}
	res = env.do("GET", "/api/collections/ai_messages/records", "", env.w.GlobexOwner.Headers)
	if !strings.Contains(res.Body, `"totalItems":0`) {
		t.Fatalf("another workspace sees messages: %s", res.Body)
	}
}

func urlq(s string) string { return strings.NewReplacer(" ", "%20", "'", "%27", "=", "%3D").Replace(s) }

func TestAIUsageAndTranscript(t *testing.T) {
	env := newAIEnv(t, nil)
	env.fake.SetUsage(fakeai.UsageMode{PromptTokens: 1000, CachedTokens: 400})
	env.ask("609", "one")
	env.ask("609", "two")
	res := env.do("GET", "/api/v1/ai/usage?tool="+env.tool.Id, "", env.w.Viewer.Headers)
	if res.Status != 200 {
		t.Fatalf("usage: %d %s", res.Status, res.Body)
	}
	var u struct {
		Totals         map[string]float64 `json:"totals"`
		ByDay          []map[string]any   `json:"by_day"`
		ByTool         []map[string]any   `json:"by_tool"`
		ByConversation []map[string]any   `json:"by_conversation"`
	}
	if err := json.Unmarshal([]byte(res.Body), &u); err != nil {
		t.Fatal(err)
	}
	// Two replies of 1,000 prompt tokens (400 cached) and 2 completion tokens ("You said: one").
	wantCost := 2 * (600*0.15 + 400*0.075 + 3*0.60) / 1e6
	if u.Totals["messages"] != 4 || u.Totals["prompt_tokens"] != 2000 || u.Totals["cached_tokens"] != 800 || u.Totals["completion_tokens"] != 6 ||
		fmt.Sprintf("%.10f", u.Totals["cost_usd"]) != fmt.Sprintf("%.10f", wantCost) {
		t.Fatalf("totals %v (want cost %v)", u.Totals, wantCost)
	}
	if len(u.ByDay) != 1 || len(u.ByTool) != 1 || u.ByTool[0]["tool"] != env.tool.Id || len(u.ByConversation) != 1 {
		t.Fatalf("groups %s", res.Body)
	}
	conv := u.ByConversation[0]["conversation"].(string)
	if c, _ := env.app.FindRecordById(collections.AIConversations, conv); c.GetInt("prompt_tokens") != 2000 || c.GetFloat("cost_usd") <= 0 {
		t.Fatalf("conversation totals %v", c.FieldsData())
	}
	if res := env.do("GET", "/api/v1/ai/usage", "", env.w.GlobexOwner.Headers); !strings.Contains(res.Body, `"messages":0`) {
		t.Fatalf("another workspace's usage: %s", res.Body)
	}
	res = env.do("GET", "/api/v1/ai/conversations/"+conv+"/transcript", "", env.w.Viewer.Headers)
	if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(res.Body, "· Customer\none\n") || !strings.Contains(res.Body, "· Assistant\nYou said: two\n") {
		t.Fatalf("text transcript: %d %s", res.Status, res.Body)
	}
	res = env.do("GET", "/api/v1/ai/conversations/"+conv+"/transcript?format=json", "", env.w.Viewer.Headers)
	var tr struct {
		Messages []struct{ Role, Text string } `json:"messages"`
	}
	if res.Status != 200 || json.Unmarshal([]byte(res.Body), &tr) != nil || len(tr.Messages) != 4 || tr.Messages[3].Text != "You said: two" {
		t.Fatalf("json transcript: %d %s", res.Status, res.Body)
	}
	if res := env.do("GET", "/api/v1/ai/conversations/"+conv+"/transcript?format=pdf", "", env.w.Viewer.Headers); res.Status != 400 {
		t.Fatalf("bad format: %d", res.Status)
	}
	if res := env.do("GET", "/api/v1/ai/conversations/"+conv+"/transcript", "", env.w.GlobexOwner.Headers); res.Status != 404 {
		t.Fatalf("another workspace's transcript: %d", res.Status)
	}
}

func TestAILocalServerAndWorkspaceKey(t *testing.T) {
	env := newAIEnv(t, map[string]any{"model": "llama3.1:8b"})
	env.fake.SetUsage(fakeai.UsageMode{OmitDetails: true})
	env.fake.RequireKey("sk-workspace")
	setWorkspaceSecret(t, env, "openai_api_key", "sk-workspace")
	env.ask("610", "hi")
	m := env.messages("role = 'assistant'", nil)[0]
	// A local model with no price costs 0 (known), and its tokens are still counted.
	if m.GetString("status") != "ok" || m.GetBool("cost_unknown") || m.GetFloat("cost_usd") != 0 || m.GetInt("prompt_tokens") == 0 {
		t.Fatalf("local model message %v", m.FieldsData())
	}
}

func TestAIChatDashboardConversation(t *testing.T) {
	env := newAIEnv(t, nil)
	res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/chat", `{"text":"testing my bot"}`, env.w.Manager.Headers)
	events := sseEvents(t, res.Body)
	done := events[len(events)-1]
	if done.name != "done" || done.data["text"] != "You said: testing my bot" {
		t.Fatalf("events %v", events)
	}
	conv := done.data["conversation"].(string)
	res = env.do("POST", "/api/v1/ai/"+env.tool.Id+"/chat", `{"text":"and again"}`, env.w.Manager.Headers)
	if ev := sseEvents(t, res.Body); ev[len(ev)-1].data["conversation"] != conv {
		t.Fatal("a member's dashboard chat did not continue its conversation")
	}
	if n := len(chatRequests(env.fake)[1].Messages); n != 4 {
		t.Fatalf("second turn sent %d messages", n)
	}
	if res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/chat", `{"text":"x"}`, env.w.Viewer.Headers); res.Status != 403 {
		t.Fatalf("viewer: %d", res.Status)
	}
	if res := env.do("POST", "/api/v1/ai/nope/chat", `{"text":"x"}`, env.w.Manager.Headers); res.Status != 404 {
		t.Fatalf("unknown tool: %d", res.Status)
	}
	if res := env.do("POST", "/api/v1/ai/"+env.tool.Id+"/chat", `{"text":"x","conversation":"zzz"}`, env.w.Manager.Headers); res.Status != 400 || !strings.Contains(res.Body, "conversation") {
		t.Fatalf("unknown conversation: %d %s", res.Status, res.Body)
	}
}

func TestAIRateLimitHonoursRetryAfter(t *testing.T) {
	env := newAIEnv(t, nil)
	env.svc.BackoffMax = 2 * time.Second
	wait := fakeai.RateLimited
	wait.RetryAfter = "0.3"
	env.fake.Fail(wait)
	start := time.Now()
	if got := env.ask("611", "hi"); got[0] != "You said: hi" {
		t.Fatalf("reply %v", got)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 1500*time.Millisecond {
		t.Fatalf("retried after %v, the provider asked for 300ms", d)
	}
}
