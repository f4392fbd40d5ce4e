package routes_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

type verificationEnv struct {
	app  core.App
	acme *core.Record
}

func newVerificationApp(t *testing.T, config map[string]any) (verificationEnv, testutil.World, http.Handler, func(method, url, body string, headers map[string]string) testutil.Response) {
	t.Helper()
	app := testutil.NewWorldApp(t)
	t.Cleanup(app.Cleanup)
	w := testutil.TheWorld(t)
	acme, _ := app.FindRecordById(collections.Workspaces, w.Acme)
	if config == nil {
		config = map[string]any{"instagram_username": "acme_shop", "max_attempts_per_code": 3.0}
	}
	testutil.Tool(t, app, acme, "verification", "Login", config)
	h := testutil.Handler(t, app)
	return verificationEnv{app, acme}, w, h, func(method, url, body string, headers map[string]string) testutil.Response {
		return testutil.Do(h, method, url, body, headers)
	}
}

func verificationKey(t *testing.T, app core.App, ws *core.Record) (string, string) {
	t.Helper()
	secret, rec := testutil.APIKey(t, app, ws, "verification")
	return secret, rec.Id
}

func dmReply(t *testing.T, res testutil.Response) string {
	t.Helper()
	var block struct {
		Version string `json:"version"`
		Content struct {
			Type     string `json:"type"`
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		} `json:"content"`
	}
	if res.Status != 200 || json.Unmarshal([]byte(res.Body), &block) != nil || block.Version != "v2" || block.Content.Type != "instagram" || len(block.Content.Messages) != 1 {
		t.Fatalf("not a Dynamic Block reply: %d %s", res.Status, res.Body)
	}
	return block.Content.Messages[0].Text
}

func TestVerificationByDM(t *testing.T) {
	env, w, _, do := newVerificationApp(t, nil)
	app, acme := env.app, env.acme
	key := testutil.Bearer(w.AdminKey)
	res := do("POST", "/api/v1/verifications", `{"ig_username":"@Ana.B","metadata":{"order":"A-1"}}`, key)
	if res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	created := decodeBody(t, res.Body)
	code := created["code"].(string)
	if len(code) != 6 || created["status"] != "pending" || created["dm_link"] != "https://ig.me/m/acme_shop" ||
		!strings.Contains(created["dm_text"].(string), code) || created["expires_at"] == nil || created["watch_token"] == "" {
		t.Fatalf("created %v", created)
	}
	id := created["id"].(string)
	mc := testutil.Bearer(w.ManychatKey)

	if got := dmReply(t, do("POST", "/api/v1/manychat/verify", `{"code":"WRONG9","ig_username":"ana.b","subscriber_id":"555"}`, mc)); !strings.Contains(got, "not valid") {
		t.Fatalf("wrong code: %s", got)
	}
	if got := dmReply(t, do("POST", "/api/v1/manychat/verify", `{"code":"`+code+`","ig_username":"mallory","subscriber_id":"666"}`, mc)); !strings.Contains(got, "another Instagram account") {
		t.Fatalf("other account: %s", got)
	}
	got := dmReply(t, do("POST", "/api/v1/manychat/verify", `{"code":"My verification code is `+strings.ToLower(code)+`","ig_username":"Ana.B","subscriber_id":"555"}`, mc))
	if !strings.Contains(got, "verified") {
		t.Fatalf("right code: %s", got)
	}
	status := decodeBody(t, do("GET", "/api/v1/verifications/"+id, "", key).Body)
	if status["status"] != "verified" || status["ig_username"] != "ana.b" || status["subscriber_id"] != "555" || status["contact"] == nil || status["metadata"].(map[string]any)["order"] != "A-1" {
		t.Fatalf("status: %v", status)
	}
	if got := dmReply(t, do("POST", "/api/v1/manychat/verify", `{"code":"`+code+`","ig_username":"ana.b","subscriber_id":"555"}`, mc)); !strings.Contains(got, "already used") {
		t.Fatalf("reused code: %s", got)
	}
	if n, _ := app.CountRecords(collections.Events, dbx.HashExp{"type": "verification.completed", "subject_id": id}); n != 1 {
		t.Fatalf("verification.completed events = %d", n)
	}
	if n, _ := app.CountRecords(collections.VerificationAttempts, dbx.HashExp{"workspace": w.Acme}); n != 4 {
		t.Fatalf("attempts recorded = %d", n)
	}

	// Another key of the workspace cannot read it; the watch token can.
	if res := do("GET", "/api/v1/verifications/"+id, "", testutil.Bearer(w.SocialKey)); res.Status != 403 {
		t.Fatalf("a key without the scope: %d", res.Status)
	}
	otherKey, _ := verificationKey(t, app, acme)
	if res := do("GET", "/api/v1/verifications/"+id, "", testutil.Bearer(otherKey)); res.Status != 404 {
		t.Fatalf("another partner key: %d", res.Status)
	}
	if res := do("GET", "/api/v1/verifications/"+id+"?token="+created["watch_token"].(string), "", nil); res.Status != 200 {
		t.Fatalf("watch token: %d", res.Status)
	}
	if res := do("GET", "/api/v1/verifications/"+id+"?token=nope", "", nil); res.Status != 404 {
		t.Fatalf("bad watch token: %d", res.Status)
	}
}

func TestVerificationFailuresAndLimits(t *testing.T) {
	env, w, _, do := newVerificationApp(t, nil)
	app := env.app
	key := testutil.Bearer(w.AdminKey)
	mc := testutil.Bearer(w.ManychatKey)

	locked := decodeBody(t, do("POST", "/api/v1/verifications", `{"ig_username":"ana"}`, key).Body)
	for i := range 3 {
		got := dmReply(t, do("POST", "/api/v1/manychat/verify", `{"code":"`+locked["code"].(string)+`","ig_username":"eve","subscriber_id":"9`+string(rune('0'+i))+`"}`, mc))
		if i < 2 && !strings.Contains(got, "another Instagram account") {
			t.Fatalf("attempt %d: %s", i, got)
		}
	}
	if s := decodeBody(t, do("GET", "/api/v1/verifications/"+locked["id"].(string), "", key).Body); s["status"] != "failed" || s["reason"] != "too_many_attempts" {
		t.Fatalf("after 3 wrong senders: %v", s)
	}
	if n, _ := app.CountRecords(collections.Events, dbx.HashExp{"type": "verification.failed", "subject_id": locked["id"]}); n != 1 {
		t.Fatalf("verification.failed events = %d", n)
	}

	expiring := decodeBody(t, do("POST", "/api/v1/verifications", `{}`, key).Body)
	rec, _ := app.FindRecordById(collections.Verifications, expiring["id"].(string))
	rec.Set("expires_at", time.Now().Add(-time.Second))
	_ = app.Save(rec)
	if got := dmReply(t, do("POST", "/api/v1/manychat/verify", `{"code":"`+expiring["code"].(string)+`","ig_username":"ana","subscriber_id":"7"}`, mc)); !strings.Contains(got, "expired") {
		t.Fatalf("expired: %s", got)
	}

	// A sender who keeps guessing is stopped, even with a right code.
	good := decodeBody(t, do("POST", "/api/v1/verifications", `{}`, key).Body)
	for range 10 {
		do("POST", "/api/v1/manychat/verify", `{"code":"ZZZZZZ","ig_username":"guesser","subscriber_id":"4242"}`, mc)
	}
	if got := dmReply(t, do("POST", "/api/v1/manychat/verify", `{"code":"`+good["code"].(string)+`","ig_username":"guesser","subscriber_id":"4242"}`, mc)); !strings.Contains(got, "Too many attempts") {
		t.Fatalf("rate limited sender: %s", got)
	}

	for _, c := range []struct{ body, field string }{
		{`{"ig_username":"not a user"}`, "ig_username"},
		{`{"ttl":5}`, "ttl"},
		{`{"metadata":[1]}`, "metadata"},
		{`{"callback_url":"https://partner.example/cb"}`, "callback_url"},
		{`{"callback_url":"ftp://x"}`, "callback_url"},
	} {
		if res := do("POST", "/api/v1/verifications", c.body, key); res.Status != 400 || !strings.Contains(res.Body, `"`+c.field+`":{"code"`) {
			t.Errorf("%s: %d %s", c.body, res.Status, res.Body)
		}
	}
	for _, c := range []struct{ body, field string }{
		{`{"ig_username":"a","subscriber_id":"1"}`, "code"},
		{`{"code":"X","ig_username":"{{ig_username}}","subscriber_id":"1"}`, "ig_username"},
		{`{"code":"X","ig_username":"a","subscriber_id":"abc"}`, "subscriber_id"},
	} {
		if res := do("POST", "/api/v1/manychat/verify", c.body, mc); res.Status != 400 || !strings.Contains(res.Body, `"`+c.field+`":{"code"`) {
			t.Errorf("verify %s: %d %s", c.body, res.Status, res.Body)
		}
	}

	stats := decodeBody(t, do("GET", "/api/v1/verifications/stats", "", key).Body)
	day := stats["days"].([]any)[0].(map[string]any)
	if day["issued"] != 3.0 || day["failed"] != 1.0 || day["expired"] != 1.0 || day["verified"] != 0.0 {
		t.Fatalf("stats: %v", stats)
	}
}

func TestVerificationEventsStream(t *testing.T) {
	_, w, h, do := newVerificationApp(t, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	created := decodeBody(t, do("POST", "/api/v1/verifications", `{}`, testutil.Bearer(w.AdminKey)).Body)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/verifications/"+created["id"].(string)+"/events?token="+created["watch_token"].(string), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				lines <- sc.Text()
			}
		}
		close(lines)
	}()
	if first := <-lines; !strings.Contains(first, `"status":"pending"`) {
		t.Fatalf("first event: %s", first)
	}
	sent := time.Now()
	do("POST", "/api/v1/manychat/verify", `{"code":"`+created["code"].(string)+`","ig_username":"ana","subscriber_id":"1"}`, testutil.Bearer(w.ManychatKey))
	select {
	case final := <-lines:
		if !strings.Contains(final, `"status":"verified"`) || time.Since(sent) > time.Second {
			t.Fatalf("final event %s after %s", final, time.Since(sent))
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no final event")
	}
	if _, open := <-lines; open {
		t.Fatal("the stream must close after the final status")
	}
}

func TestSignedPartnerRequestsAndCallbacks(t *testing.T) {
	env, w, _, do := newVerificationApp(t, nil)
	app, acme := env.app, env.acme
	secret, keyID := verificationKey(t, app, acme)
	res := do("POST", "/api/v1/api-keys/"+keyID+"/signing-secret", `{"require":true}`, w.Admin.Headers)
	signing := decodeBody(t, res.Body)["signing_secret"].(string)
	if res.Status != 200 || !strings.HasPrefix(signing, "whsec_") {
		t.Fatalf("signing secret: %d %s", res.Status, res.Body)
	}
	ws, err := whsig.ParseSecret(signing)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	receiver := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer receiver.Close()

	body := `{"callback_url":"` + receiver.URL + `/verified"}`
	if res := do("POST", "/api/v1/verifications", body, testutil.Bearer(secret)); res.Status != 401 || !strings.Contains(res.Body, "signature") {
		t.Fatalf("unsigned request: %d %s", res.Status, res.Body)
	}
	signed := func(at time.Time, msgID string) map[string]string {
		h := whsig.Headers(msgID, at, whsig.Sign(ws, msgID, at, []byte(body)))
		out := map[string]string{"Authorization": "Bearer " + secret}
		for k := range h {
			out[k] = h[k][0]
		}
		return out
	}
	if res := do("POST", "/api/v1/verifications", body, signed(time.Now().Add(-10*time.Minute), "msg_old")); res.Status != 401 {
		t.Fatalf("stale signature: %d %s", res.Status, res.Body)
	}
	headers := signed(time.Now(), "msg_1")
	res = do("POST", "/api/v1/verifications", body, headers)
	if res.Status != 201 {
		t.Fatalf("signed request: %d %s", res.Status, res.Body)
	}
	if again := do("POST", "/api/v1/verifications", body, headers); again.Status != 401 || !strings.Contains(again.Body, "already received") {
		t.Fatalf("replayed request: %d %s", again.Status, again.Body)
	}
	created := decodeBody(t, res.Body)
	do("POST", "/api/v1/manychat/verify", `{"code":"`+created["code"].(string)+`","ig_username":"ana","subscriber_id":"1"}`, testutil.Bearer(w.ManychatKey))
	if n, err := jobs.RunnerOf(app).RunDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("callback jobs run: %d %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].URL.Path != "/verified" {
		t.Fatalf("callbacks received: %d", len(got))
	}
	if err := whsig.Verify(ws, got[0].Header, bodies[0], time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("callback signature does not verify: %v", err)
	}
	if !strings.Contains(string(bodies[0]), `"type":"verification.completed"`) || !strings.Contains(string(bodies[0]), `"status":"verified"`) {
		t.Fatalf("callback body: %s", bodies[0])
	}
}
