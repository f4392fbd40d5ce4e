package manychat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/ratelimit"
)

// do sends a raw request and returns the status, Content-Type and body.
func do(t *testing.T, srv *fake.Server, method, path, token, body string) (int, string, string) {
	t.Helper()
	var rdr io.Reader
	if body != "" {
		rdr = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rdr)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func newFake(t *testing.T) *fake.Server {
	srv := fake.New()
	t.Cleanup(srv.Close)
	return srv
}

func TestWireFormat(t *testing.T) {
	srv := newFake(t)
	srv.AddCustomField("plan", "text", "")
	id := srv.AddSubscriber(fake.Subscriber{FirstName: "Ada", IGID: 6384638, Tags: []string{"vip"}})
	tok := srv.Token

	cases := []struct {
		name, method, path, token, body string
		wantStatus                      int
		wantType                        string
		wantBody                        string // exact JSON, or a substring for HTML
	}{
		{"no token", "GET", "/fb/page/getInfo", "", "", 401, "application/json", `{"status":"error","message":"Token is required"}`},
		{"wrong token", "GET", "/fb/page/getInfo", "1:nope", "", 401, "application/json", `{"status":"error","message":"Wrong token"}`},
		{"unknown path", "GET", "/fb/page/nope", tok, "", 404, "text/html; charset=UTF-8", "<title>404 Not Found</title>"},
		{"unknown path without a token", "GET", "/ig/page/getInfo", "", "", 404, "text/html; charset=UTF-8", "<html>"},
		{"wrong method", "POST", "/fb/page/getTags", tok, "{}", 404, "text/html; charset=UTF-8", "<html>"},
		{"page id is a number", "GET", "/fb/page/getInfo", tok, "", 200, "application/json",
			`{"status":"success","data":{"about":"","avatar_link":"","category":"Shopping & Retail","description":"","id":100000000000001,"is_pro":true,"name":"Playgram Demo","timezone":"UTC","username":"playgram.demo"}}`},
		{"createTag nests data.tag", "POST", "/fb/page/createTag", tok, `{"name":"new"}`, 200, "application/json",
			`{"status":"success","data":{"tag":{"id":1003,"name":"new"}}}`},
		{"write without data", "POST", "/fb/subscriber/addTagByName", tok, `{"subscriber_id":` + itoa(id) + `,"tag_name":"new"}`, 200, "application/json",
			`{"status":"success"}`},
		{"validation error", "POST", "/fb/subscriber/addTagByName", tok, `{"subscriber_id":"` + itoa(id) + `","tag_name":"new"}`, 400, "application/json",
			`{"status":"error","message":"The subscriber_id must be an integer.","details":{"messages":[{"message":"The subscriber_id must be an integer."}]}}`},
		{"float id is refused", "POST", "/fb/subscriber/addTagByName", tok, `{"subscriber_id":9.007199254740992e15,"tag_name":"new"}`, 400, "application/json",
			`{"status":"error","message":"The subscriber_id must be an integer.","details":{"messages":[{"message":"The subscriber_id must be an integer."}]}}`},
		{"finder miss is an empty list", "GET", "/fb/subscriber/findBySystemField?email=x@example.com", tok, "", 200, "application/json",
			`{"status":"success","data":[]}`},
		{"finder needs exactly one field", "GET", "/fb/subscriber/findBySystemField?email=x@example.com&phone=%2B1", tok, "", 400, "application/json",
			`{"status":"error","message":"Exactly one of email or phone is required.","details":{"messages":[{"message":"Exactly one of email or phone is required."}]}}`},
		{"unknown user_ref has a code", "GET", "/fb/subscriber/getInfoByUserRef?user_ref=zz", tok, "", 400, "application/json",
			`{"status":"error","message":"User ref is not registered","code":2011}`},
		{"body must be JSON", "POST", "/fb/page/createTag", tok, `name=x`, 400, "application/json",
			`{"status":"error","message":"Request body must be a JSON object","details":{"messages":[{"message":"Request body must be a JSON object"}]}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := do(t, srv, tc.method, tc.path, tc.token, tc.body)
			if status != tc.wantStatus || ctype != tc.wantType {
				t.Fatalf("status %d %q, want %d %q: %s", status, ctype, tc.wantStatus, tc.wantType, body)
			}
			if strings.HasPrefix(tc.wantType, "text/html") {
				if !strings.Contains(body, tc.wantBody) {
					t.Fatalf("body %s", body)
				}
				return
			}
			if strings.TrimSpace(body) != tc.wantBody {
				t.Fatalf("body\n got %s\nwant %s", body, tc.wantBody)
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestSubscriberShape(t *testing.T) {
	srv := newFake(t)
	srv.AddCustomField("plan", "text", "")
	srv.AddCustomField("visits", "number", "")
	id := srv.AddSubscriber(fake.Subscriber{FirstName: "Ada", IGID: 1416655297162108, IGUsername: "ada", Tags: []string{"vip"}, Fields: map[string]any{"visits": 3}})
	if id <= 1<<53 {
		t.Fatalf("default ids should exceed 2^53 to catch float64 decoding: %d", id)
	}
	_, _, body := do(t, srv, "GET", "/fb/subscriber/getInfo?subscriber_id="+itoa(id), srv.Token, "")
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var env struct {
		Status string
		Data   map[string]any
	}
	if err := dec.Decode(&env); err != nil {
		t.Fatal(err)
	}
	d := env.Data
	if d["id"] != itoa(id) || d["page_id"] != "100000000000001" {
		t.Fatalf("ids must be strings: id=%#v page_id=%#v", d["id"], d["page_id"])
	}
	if d["ig_id"] != json.Number("1416655297162108") {
		t.Fatalf("ig_id must be a number: %#v", d["ig_id"])
	}
	for _, k := range []string{"last_name", "gender", "profile_pic", "email", "phone", "whatsapp_phone"} {
		if v, present := d[k]; !present || v != nil {
			t.Errorf("%s = %#v, want null", k, v)
		}
	}
	fields := d["custom_fields"].([]any)
	if len(fields) != 2 || fields[0].(map[string]any)["value"] != nil || fields[1].(map[string]any)["value"] != json.Number("3") {
		t.Fatalf("custom_fields = %v", fields)
	}
}

func TestFieldRules(t *testing.T) {
	srv := newFake(t)
	srv.SetRateLimits(false)
	srv.AddCustomField("Plan", "text", "")
	srv.AddCustomField("when", "date", "")
	srv.AddBotField("seats", "number", 1)
	id := itoa(srv.AddSubscriber(fake.Subscriber{FirstName: "Ada"}))
	many := make([]string, 21)
	for i := range many {
		many[i] = `{"field_name":"Plan","field_value":"x"}`
	}
	cases := []struct {
		name, path, body string
		wantStatus       int
		wantMessage      string
	}{
		{"case-insensitive name", "/fb/subscriber/setCustomFieldByName", `{"subscriber_id":` + id + `,"field_name":"plan","field_value":"pro"}`, 200, ""},
		{"unknown field", "/fb/subscriber/setCustomFieldByName", `{"subscriber_id":` + id + `,"field_name":"nope","field_value":"pro"}`, 400, "Field not found"},
		{"bad date", "/fb/subscriber/setCustomFieldByName", `{"subscriber_id":` + id + `,"field_name":"when","field_value":"01/02/2026"}`, 400, `Wrong value for field "when": expected a date as YYYY-MM-DD`},
		{"text needs a string", "/fb/subscriber/setCustomFieldByName", `{"subscriber_id":` + id + `,"field_name":"plan","field_value":5}`, 400, `Wrong value for field "Plan": expected a text value`},
		{"21 custom fields", "/fb/subscriber/setCustomFields", `{"subscriber_id":` + id + `,"fields":[` + strings.Join(many, ",") + `]}`, 400, "The number of fields is limited to 20 for one request."},
		{"both identifiers", "/fb/page/setBotFields", `{"fields":[{"field_id":1,"field_name":"seats","field_value":2}]}`, 400, "Use field_id OR field_name to specify the field."},
		{"21 bot fields", "/fb/page/setBotFields", `{"fields":[` + strings.Repeat(`{"field_name":"seats","field_value":2},`, 20) + `{"field_name":"seats","field_value":2}]}`, 400, "The number of fields is limited to 20 for one request."},
		{"unknown subscriber", "/fb/subscriber/addTagByName", `{"subscriber_id":5,"tag_name":"x"}`, 400, "Subscriber does not exist"},
		{"createSubscriber needs a contact point", "/fb/subscriber/createSubscriber", `{"first_name":"x"}`, 400, "One of phone, whatsapp_phone or email is required."},
		{"createSubscriber sms needs opt-in flag", "/fb/subscriber/createSubscriber", `{"phone":"+15400000000"}`, 400, "The has_opt_in_sms field is required when phone is present."},
		{"createSubscriber sms consent", "/fb/subscriber/createSubscriber", `{"phone":"+15400000000","has_opt_in_sms":true}`, 400, "The consent_phrase field is required when has_opt_in_sms is true."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, srv, "POST", tc.path, srv.Token, tc.body)
			var env struct{ Message string }
			json.Unmarshal([]byte(body), &env)
			if status != tc.wantStatus || env.Message != tc.wantMessage {
				t.Fatalf("%d %s", status, body)
			}
		})
	}
	st, _ := srv.SubscriberState(mustInt(id))
	if st.Values["Plan"] != "pro" {
		t.Fatalf("state %+v", st.Values)
	}
}

func mustInt(s string) int64 {
	var n int64
	json.Unmarshal([]byte(s), &n)
	return n
}

func TestSendContentRules(t *testing.T) {
	srv := newFake(t)
	clock := ratelimit.NewManualClock(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC))
	srv.SetClock(clock)
	srv.AddOTNTopic("restock", "")
	ig := itoa(srv.AddSubscriber(fake.Subscriber{FirstName: "Ig"}))
	msgr := itoa(srv.AddSubscriber(fake.Subscriber{FirstName: "Fb", Channel: fake.ChannelMessenger,
		LastInteraction: clock.Now().Add(-48 * time.Hour), OTNTopics: []string{"restock"}}))
	text := `{"type":"text","text":"hi"}`
	msgs := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat(text+",", n), ",") + "]" }
	cases := []struct {
		name, body string
		wantStatus int
		wantCode   int
		wantMsg    string
	}{
		{"ok", `{"subscriber_id":` + ig + `,"data":{"version":"v2","content":{"type":"instagram","messages":` + msgs(10) + `}}}`, 200, 0, ""},
		{"v1", `{"subscriber_id":` + ig + `,"data":{"version":"v1","content":{"type":"instagram","messages":[]}}}`, 400, 0, "Only version v2 is supported"},
		{"missing type for Instagram", `{"subscriber_id":` + ig + `,"data":{"version":"v2","content":{"messages":` + msgs(1) + `}}}`, 400, 0, `content.type must be "instagram" for this subscriber`},
		{"11 messages", `{"subscriber_id":` + ig + `,"data":{"version":"v2","content":{"type":"instagram","messages":` + msgs(11) + `}}}`, 400, 0, "No more than 10 messages allowed"},
		{"node button", `{"subscriber_id":` + ig + `,"data":{"version":"v2","content":{"type":"instagram","messages":[{"type":"text","text":"x","buttons":[{"type":"node","caption":"n","target":"t"}]}]}}}`, 400, 0, "Node buttons are not supported in sendContent"},
		{"outside window", `{"subscriber_id":` + msgr + `,"data":{"version":"v2","content":{"messages":` + msgs(1) + `}}}`, 400, 3011, ""},
		{"outside window with OTN token", `{"subscriber_id":` + msgr + `,"otn_topic_name":"restock","data":{"version":"v2","content":{"messages":` + msgs(1) + `}}}`, 200, 0, ""},
		{"OTN token spent", `{"subscriber_id":` + msgr + `,"otn_topic_name":"restock","data":{"version":"v2","content":{"messages":` + msgs(1) + `}}}`, 400, 3021, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, srv, "POST", "/fb/sending/sendContent", srv.Token, tc.body)
			var env struct {
				Message string
				Code    int
			}
			json.Unmarshal([]byte(body), &env)
			if status != tc.wantStatus || env.Code != tc.wantCode || (tc.wantMsg != "" && env.Message != tc.wantMsg) {
				t.Fatalf("%d %s", status, body)
			}
		})
	}
	if n := len(srv.SentContent()); n != 2 {
		t.Fatalf("%d sends recorded, want 2", n)
	}
}

func TestRateLimitAndFailures(t *testing.T) {
	srv := newFake(t)
	clock := ratelimit.NewManualClock(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC))
	srv.SetClock(clock)
	count := func(path string, n int) map[int]int {
		out := map[int]int{}
		for i := 0; i < n; i++ {
			s, _, _ := do(t, srv, "GET", path, srv.Token, "")
			out[s]++
		}
		return out
	}
	if got := count("/fb/page/getFlows", 15); got[200] != 10 || got[429] != 5 {
		t.Fatalf("getFlows at 10 qps in one instant: %v", got)
	}
	if got := count("/fb/subscriber/findBySystemField?email=a@b.c", 60); got[200] != 50 || got[429] != 10 {
		t.Fatalf("findBySystemField at 50 qps: %v", got)
	}
	clock.Advance(time.Second)
	if got := count("/fb/page/getFlows", 10); got[200] != 10 {
		t.Fatalf("after a second the bucket is full again: %v", got)
	}
	srv.SetRateLimitResponse(503, "Slow down")
	if s, _, b := do(t, srv, "GET", "/fb/page/getFlows", srv.Token, ""); s != 503 || !strings.Contains(b, "Slow down") {
		t.Fatalf("configured over-limit answer: %d %s", s, b)
	}
	srv.SetRateLimits(false)
	if got := count("/fb/page/getFlows", 30); got[200] != 30 {
		t.Fatalf("limits off: %v", got)
	}

	srv.FailNext("/fb/page/getTags", 200, 1)
	srv.InjectFailure("*", fake.Failure{Status: 400, Message: "Broken", Code: 3041}, 1)
	if s, _, b := do(t, srv, "GET", "/fb/page/getTags", srv.Token, ""); s != 200 || strings.TrimSpace(b) != `{"status":"error","message":"Something went wrong"}` {
		t.Fatalf("logical failure: %d %s", s, b)
	}
	if s, _, b := do(t, srv, "GET", "/fb/page/getInfo", srv.Token, ""); s != 400 || strings.TrimSpace(b) != `{"status":"error","message":"Broken","code":3041}` {
		t.Fatalf("wildcard failure: %d %s", s, b)
	}
	if s, _, _ := do(t, srv, "GET", "/fb/page/getTags", srv.Token, ""); s != 200 {
		t.Fatalf("failures are used up: %d", s)
	}
}

func TestConcurrentUse(t *testing.T) {
	srv := newFake(t)
	srv.SetRateLimits(false)
	srv.AddTag("vip")
	id := itoa(srv.AddSubscriber(fake.Subscriber{FirstName: "Ada"}))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				do(t, srv, "POST", "/fb/subscriber/addTagByName", srv.Token, `{"subscriber_id":`+id+`,"tag_name":"vip"}`)
				srv.AddSubscriber(fake.Subscriber{FirstName: "P"})
				srv.Calls()
			}
		}(i)
	}
	wg.Wait()
	if n := srv.CallCount("/fb/subscriber/addTagByName"); n != 160 {
		t.Fatalf("%d calls recorded", n)
	}
}

func TestListenOnAddress(t *testing.T) {
	srv, err := fake.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := net.ResolveTCPAddr("tcp", strings.TrimPrefix(srv.URL, "http://")); err != nil {
		t.Fatalf("URL %q: %v", srv.URL, err)
	}
	if s, _, _ := do(t, srv, "GET", "/fb/page/getInfo", srv.Token, ""); s != 200 {
		t.Fatalf("status %d", s)
	}
	if _, err := fake.Listen("256.0.0.1:1"); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestExternalRequestDriver(t *testing.T) {
	srv := newFake(t)
	srv.AddCustomField("plan", "text", "")
	empty, _ := srv.CustomFieldID("plan")
	id := srv.AddSubscriber(fake.Subscriber{FirstName: `Ada "the" Countess`, IGUsername: "ada"})

	var got struct {
		secret string
		body   map[string]any
	}
	playgram := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.secret = r.Header.Get("x-webhook-secret")
		json.NewDecoder(r.Body).Decode(&got.body)
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
		w.Write([]byte(`{"action":"ok"}`))
	}))
	defer playgram.Close()

	req := fake.ExternalRequest{
		URL:     playgram.URL + "/api/v1/manychat/contact",
		Headers: map[string]string{"x-webhook-secret": "s3cret"},
		Body:    `{"name":"{{first_name}}","plan":"{{cuf_` + itoa(empty) + `}}","typed":"{{Contact Id}}","contact":` + fake.FullContactDataPill + `}`,
	}
	resp, err := srv.FireExternalRequest(context.Background(), req, id)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || !bytes.Equal(resp.Body, []byte(`{"action":"ok"}`)) || got.secret != "s3cret" {
		t.Fatalf("resp %+v secret %q", resp, got.secret)
	}
	if got.body["name"] != `Ada "the" Countess` || got.body["plan"] != "{{cuf_"+itoa(empty)+"}}" || got.body["typed"] != "{{Contact Id}}" {
		t.Fatalf("pills: %v", got.body)
	}
	contact := got.body["contact"].(map[string]any)
	if contact["id"] != itoa(id) || contact["key"] != "user:"+itoa(id) || contact["ig_username"] != "ada" {
		t.Fatalf("full contact data: %v", contact)
	}
	if cf, isList := contact["custom_fields"].([]any); !isList || len(cf) != 0 {
		t.Fatalf("no set fields must render as []: %#v", contact["custom_fields"])
	}

	req.URL = playgram.URL + "/slow"
	req.Timeout = 50 * time.Millisecond
	if _, err := srv.FireExternalRequest(context.Background(), req, id); err == nil || !strings.Contains(err.Error(), "Manychat waits") {
		t.Fatalf("a slow answer must fail like Manychat: %v", err)
	}
	if _, err := srv.RenderBody("{}", 12345); err == nil {
		t.Fatal("unknown subscriber rendered")
	}
}
