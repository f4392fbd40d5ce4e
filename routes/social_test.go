package routes_test

import (
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apify"
	fake "github.com/playgram/playgram/internal/fakes/apify"
	"github.com/playgram/playgram/internal/socialcache/redistest"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/social"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

type socialEnv struct {
	app *tests.TestApp
	h   http.Handler
	f   *fake.Server
	s   *social.Service
	w   testutil.World
}

func newSocialEnv(t *testing.T) *socialEnv {
	t.Helper()
	app := testutil.NewWorldApp(t)
	t.Cleanup(app.Cleanup)
	f := fake.New()
	t.Cleanup(f.Close)
	s := social.Of(app)
	s.ApifyToken = fake.Token
	s.OutboundAllow = "127.0.0.0/8"
	s.NewApify = func(token string) *apify.Client {
		c := apify.New(f.URL, token)
		c.CostDelay, c.BackoffBase, c.PollWaitSecs = time.Millisecond, time.Millisecond, 1
		return c
	}
	t.Cleanup(s.Cache.Wait) // runs before the app is cleaned up
	return &socialEnv{app: app, h: testutil.Handler(t, app), f: f, s: s, w: testutil.TheWorld(t)}
}

// client creates an API key of workspace ws with the social scope and an api_clients row of tier.
func (env *socialEnv) client(t *testing.T, ws, tier string, rpm int) (secret, clientID string) {
	t.Helper()
	wsRec, err := env.app.FindRecordById(collections.Workspaces, ws)
	if err != nil {
		t.Fatal(err)
	}
	secret, key := testutil.APIKey(t, env.app, wsRec, "social")
	coll, _ := env.app.FindCollectionByNameOrId(collections.APIClients)
	c := core.NewRecord(coll)
	c.Set("workspace", ws)
	c.Set("name", tier+" site")
	c.Set("tier", tier)
	c.Set("key", key.Id)
	c.Set("rpm", rpm)
	if err := env.app.Save(c); err != nil {
		t.Fatal(err)
	}
	return secret, c.Id
}

func (env *socialEnv) get(url string, headers map[string]string) testutil.Response {
	return testutil.Do(env.h, "GET", url, "", headers)
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	return m
}

func TestSocialReadsNormalizedDataThroughTheCache(t *testing.T) {
	env := newSocialEnv(t)
	key := testutil.Bearer(env.w.SocialKey)

	res := env.get("/api/v1/social/instagram/@NatGeo?limit=5", key)
	if res.Status != 200 || res.Header.Get("X-Cache") != "miss" {
		t.Fatalf("first read: %d %s %s", res.Status, res.Header.Get("X-Cache"), res.Body)
	}
	body := decode(t, res.Body)
	items := body["items"].([]any)
	if body["handle"] != "natgeo" || body["type"] != "posts" || len(items) != 5 || body["count"] != 5.0 {
		t.Fatalf("body = %s", res.Body)
	}
	first := items[0].(map[string]any)
	for _, k := range []string{"id", "url", "kind", "caption", "published_at", "likes", "media", "author", "thumbnail_url"} {
		if _, ok := first[k]; !ok {
			t.Errorf("post lacks %s: %v", k, first)
		}
	}
	kinds := map[string]bool{}
	for _, it := range items {
		kinds[it.(map[string]any)["kind"].(string)] = true
	}
	if !kinds["image"] || !kinds["video"] || !kinds["carousel"] {
		t.Fatalf("kinds = %v", kinds)
	}
	if strings.Contains(res.Body, "127.0.0.1") || !strings.Contains(res.Body, `"http://playgram.test/api/v1/media/`) {
		t.Fatalf("media URLs must be proxy URLs: %s", res.Body)
	}
	if res := env.get("/api/v1/social/instagram/natgeo?limit=3", key); res.Status != 200 || res.Header.Get("X-Cache") != "hit" || decode(t, res.Body)["count"] != 3.0 {
		t.Fatalf("second read: %d %s", res.Status, res.Header.Get("X-Cache"))
	}
	if n := env.f.Runs("instagram:natgeo:posts"); n != 1 {
		t.Fatalf("runs = %d", n)
	}

	// Profiles, TikTok and Google reviews need a tier that includes them.
	pro, _ := env.client(t, env.w.Acme, "pro", 0)
	res = env.get("/api/v1/social/instagram/natgeo?type=profile", testutil.Bearer(pro))
	prof, _ := decode(t, res.Body)["profile"].(map[string]any)
	if res.Status != 200 || prof["handle"] != "natgeo" || prof["followers"] == nil || !strings.HasPrefix(prof["avatar_url"].(string), "http://playgram.test/api/v1/media/") {
		t.Fatalf("profile: %d %s", res.Status, res.Body)
	}
	res = env.get("/api/v1/social/tiktok/gretalynn?limit=4", testutil.Bearer(pro))
	tt := decode(t, res.Body)["items"].([]any)
	if res.Status != 200 || len(tt) != 4 || tt[0].(map[string]any)["views"] == nil || tt[1].(map[string]any)["id"] == "" {
		t.Fatalf("tiktok: %d %s", res.Status, res.Body)
	}
	res = env.get("/api/v1/social/tiktok/gretalynn?type=profile", testutil.Bearer(pro))
	if prof, _ := decode(t, res.Body)["profile"].(map[string]any); res.Status != 200 || prof["followers"] != 51200.0 {
		t.Fatalf("tiktok profile: %d %s", res.Status, res.Body)
	}
	res = env.get("/api/v1/social/google/ChIJN1t_tDeuEmsRUsoyG83frY4?limit=6", testutil.Bearer(pro))
	reviews := decode(t, res.Body)["items"].([]any)
	if res.Status != 200 || len(reviews) != 6 || decode(t, res.Body)["type"] != "reviews" {
		t.Fatalf("reviews: %d %s", res.Status, res.Body)
	}
	r0 := reviews[0].(map[string]any)
	if r0["rating"] != 5.0 || r0["author"].(map[string]any)["name"] != "Reviewer 0" || r0["owner_response"] == nil || r0["place"].(map[string]any)["name"] == "" {
		t.Fatalf("review = %v", r0)
	}
	if reviews[4].(map[string]any)["text"] != "" {
		t.Fatalf("a star-only review has empty text: %v", reviews[4])
	}
	// A Maps URL with a place id is the same place.
	res = env.get("/api/v1/social/google/"+strings.ReplaceAll("https%3A%2F%2Fwww.google.com%2Fmaps%2Fsearch%2F%3Fapi%3D1%26query_place_id%3DChIJN1t_tDeuEmsRUsoyG83frY4", "/", "")+"?limit=6", testutil.Bearer(pro))
	if res.Status != 200 || res.Header.Get("X-Cache") != "hit" {
		t.Fatalf("maps URL: %d %s %s", res.Status, res.Header.Get("X-Cache"), res.Body)
	}

	for _, c := range []struct {
		url, field string
	}{
		{"/api/v1/social/myspace/x", "platform"},
		{"/api/v1/social/instagram/natgeo?type=reviews", "type"},
		{"/api/v1/social/instagram/bad%20name", "handle"},
		{"/api/v1/social/instagram/natgeo?limit=0", "limit"},
		{"/api/v1/social/instagram/natgeo?limit=x", "limit"},
		{"/api/v1/social/google/https%3A%2F%2Fevil.example%2Fmaps", "handle"},
	} {
		if res := env.get(c.url, testutil.Bearer(pro)); res.Status != 400 || !strings.Contains(res.Body, `"`+c.field+`":{"code"`) {
			t.Errorf("%s: %d %s", c.url, res.Status, res.Body)
		}
	}
	// The free tier has Instagram only; keys without the scope are refused.
	if res := env.get("/api/v1/social/tiktok/gretalynn", key); res.Status != 403 || !strings.Contains(res.Body, "free tier") {
		t.Fatalf("free tier tiktok: %d %s", res.Status, res.Body)
	}
	if res := env.get("/api/v1/social/instagram/natgeo", testutil.Bearer(env.w.ManychatKey)); res.Status != 403 {
		t.Fatalf("manychat scope: %d", res.Status)
	}
	// Members read without limits.
	if res := env.get("/api/v1/social/instagram/natgeo", env.w.Viewer.Headers); res.Status != 200 || res.Header.Get("RateLimit-Limit") != "" {
		t.Fatalf("viewer: %d", res.Status)
	}
}

func TestSocialOneRunPerKeyUnderConcurrentMissesAndStaleRefresh(t *testing.T) {
	env := newSocialEnv(t)
	env.f.Set(func(s *fake.Server) { s.RunDuration = 200 * time.Millisecond })
	secret, _ := env.client(t, env.w.Acme, "enterprise", 0)
	key := testutil.Bearer(secret)
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = env.get("/api/v1/social/instagram/busyshop", key).Status
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 200 {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	if n := env.f.Runs("instagram:busyshop:posts"); n != 1 {
		t.Fatalf("50 concurrent misses made %d runs", n)
	}

	// A restart (empty memory) answers from the database layer without a run.
	env.s.Memory.Delete(t.Context(), env.w.Acme+"|instagram|posts|busyshop")
	if res := env.get("/api/v1/social/instagram/busyshop", key); res.Status != 200 || res.Header.Get("X-Cache") != "hit" || env.f.Runs("instagram:busyshop:posts") != 1 {
		t.Fatalf("database layer: %d %s", res.Status, res.Header.Get("X-Cache"))
	}

	// Past freshness: readers get the stale data at once, and one refresh runs in the background.
	_, err := env.app.NonconcurrentDB().NewQuery("UPDATE social_cache SET fetched_at = '2000-01-01 00:00:00.000Z', fresh_until = '2000-01-01 00:00:00.000Z' WHERE key = {:k}").
		Bind(dbx.Params{"k": env.w.Acme + "|instagram|posts|busyshop"}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	env.s.Memory.Delete(t.Context(), env.w.Acme+"|instagram|posts|busyshop")
	for range 10 {
		began := time.Now()
		res := env.get("/api/v1/social/instagram/busyshop", key)
		if res.Status != 200 || res.Header.Get("X-Cache") != "stale" || time.Since(began) > 150*time.Millisecond {
			t.Fatalf("stale read: %d %s after %v", res.Status, res.Header.Get("X-Cache"), time.Since(began))
		}
	}
	env.s.Cache.Wait()
	if n := env.f.Runs("instagram:busyshop:posts"); n != 2 {
		t.Fatalf("one refresh expected, runs = %d", n)
	}
	if res := env.get("/api/v1/social/instagram/busyshop", key); res.Header.Get("X-Cache") != "hit" {
		t.Fatalf("after refresh: %s", res.Header.Get("X-Cache"))
	}

	// Hits, stale reads and misses are counted per key (admin list) and per client (usage); of the 50 concurrent
	// requests, late arrivals may find the entry already stored (hits).
	res := env.get("/api/v1/social/cache?platform=instagram", testutil.Bearer(env.w.AdminKey))
	if res.Status != 200 {
		t.Fatalf("cache list: %d %s", res.Status, res.Body)
	}
	var list struct {
		Items []social.CacheRow `json:"items"`
	}
	_ = json.Unmarshal([]byte(res.Body), &list)
	if len(list.Items) != 1 || list.Items[0].Handle != "busyshop" || list.Items[0].State != "fresh" || list.Items[0].Misses < 1 ||
		list.Items[0].StaleHits != 10 || list.Items[0].Hits+list.Items[0].Misses != 52 || !list.Items[0].InMemory || list.Items[0].Items != 12 {
		t.Fatalf("cache list = %s", res.Body)
	}
	res = env.get("/api/v1/social/usage", key)
	tot := decode(t, res.Body)["totals"].(map[string]any)
	if res.Status != 200 || tot["requests"] != 62.0 || tot["misses"].(float64)+tot["hits"].(float64) != 52 || tot["stale"] != 10.0 {
		t.Fatalf("usage: %d %s", res.Status, res.Body)
	}
}

func TestSocialNotFoundIsNegativelyCached(t *testing.T) {
	env := newSocialEnv(t)
	pro, _ := env.client(t, env.w.Acme, "pro", 0)
	for _, c := range []struct{ url, key string }{
		{"/api/v1/social/instagram/nopeshop", "instagram:nopeshop:posts"},
		{"/api/v1/social/tiktok/nopetok", "tiktok:nopetok:posts"},
		{"/api/v1/social/google/nopeplace123", "google:nopeplace123:reviews"},
	} {
		for range 3 {
			if res := env.get(c.url, testutil.Bearer(pro)); res.Status != 404 {
				t.Fatalf("%s: %d %s", c.url, res.Status, res.Body)
			}
		}
		if n := env.f.Runs(c.key); n != 1 {
			t.Fatalf("%s ran %d times", c.url, n)
		}
	}
	// A failing run is a 502 that names no third party.
	res := env.get("/api/v1/social/instagram/failshop", testutil.Bearer(pro))
	if res.Status != 502 || strings.Contains(strings.ToLower(res.Body), "apify") {
		t.Fatalf("failed run: %d %s", res.Status, res.Body)
	}
	var status string
	_ = env.app.DB().NewQuery("SELECT status FROM social_runs WHERE handle = 'failshop'").Row(&status)
	if status != "failed" {
		t.Fatalf("failed run row: %q", status)
	}
}

func TestSocialTierLimitsAndHeaders(t *testing.T) {
	env := newSocialEnv(t)
	secret, clientID := env.client(t, env.w.Acme, "starter", 3)
	key := testutil.Bearer(secret)
	for i := range 3 {
		res := env.get("/api/v1/social/instagram/natgeo", key)
		if res.Status != 200 || res.Header.Get("RateLimit-Limit") != "3" || res.Header.Get("RateLimit-Remaining") != fmt.Sprint(2-i) ||
			res.Header.Get("RateLimit-Reset") == "" || !strings.Contains(res.Header.Get("RateLimit-Policy"), "3;w=60") {
			t.Fatalf("request %d: %d %v", i, res.Status, res.Header)
		}
	}
	res := env.get("/api/v1/social/instagram/natgeo", key)
	if res.Status != 429 || res.Header.Get("Retry-After") == "" || res.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("over the limit: %d %v %s", res.Status, res.Header, res.Body)
	}
	// Another client has its own budget of requests.
	if res := env.get("/api/v1/social/instagram/natgeo", testutil.Bearer(env.w.SocialKey)); res.Status != 200 || res.Header.Get("RateLimit-Limit") != "30" {
		t.Fatalf("free client: %d %v", res.Status, res.Header)
	}
	res = env.get("/api/v1/social/usage", key)
	rows := decode(t, res.Body)["rows"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["client"] != clientID || rows[0].(map[string]any)["refused"] != 1.0 || rows[0].(map[string]any)["requests"] != 4.0 {
		t.Fatalf("a client sees its own usage: %s", res.Body)
	}
	res = env.get("/api/v1/social/usage?from=2026-01-01", testutil.Bearer(env.w.AdminKey))
	if rows := decode(t, res.Body)["rows"].([]any); res.Status != 200 || len(rows) != 2 {
		t.Fatalf("admin sees every client: %s", res.Body)
	}
	if res := env.get("/api/v1/social/usage?from=yesterday", key); res.Status != 400 || !strings.Contains(res.Body, `"from"`) {
		t.Fatalf("bad from: %d %s", res.Status, res.Body)
	}
	// Tiers are configurable per workspace.
	ws, _ := env.app.FindRecordById(collections.Workspaces, env.w.Acme)
	ws.Set("settings", map[string]any{"social": map[string]any{"tiers": map[string]any{"free": map[string]any{"rpm": 1}}}})
	if err := env.app.Save(ws); err != nil {
		t.Fatal(err)
	}
	other, _ := testutil.APIKey(t, env.app, ws, "social")
	if res := env.get("/api/v1/social/instagram/natgeo", testutil.Bearer(other)); res.Status != 200 || res.Header.Get("RateLimit-Limit") != "1" {
		t.Fatalf("configured tier: %d %v", res.Status, res.Header)
	}
	// Admins manage clients through the collection API, with keys of their own workspace only.
	globex, _ := env.app.FindRecordById(collections.Workspaces, env.w.Globex)
	_, gkey := testutil.APIKey(t, env.app, globex, "social")
	_, akey := testutil.APIKey(t, env.app, ws, "social")
	if res := testutil.Do(env.h, "POST", "/api/collections/api_clients/records", `{"workspace":"`+env.w.Acme+`","name":"x","tier":"pro","key":"`+gkey.Id+`"}`, env.w.Admin.Headers); res.Status != 400 {
		t.Fatalf("another workspace's key: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(env.h, "POST", "/api/collections/api_clients/records", `{"workspace":"`+env.w.Acme+`","name":"x","tier":"pro","key":"`+akey.Id+`"}`, env.w.Manager.Headers); res.Status == 200 {
		t.Fatal("managers cannot create clients")
	}
	if res := testutil.Do(env.h, "POST", "/api/collections/api_clients/records", `{"workspace":"`+env.w.Acme+`","name":"x","tier":"pro","key":"`+akey.Id+`"}`, env.w.Admin.Headers); res.Status != 200 {
		t.Fatalf("admin creates a client: %d %s", res.Status, res.Body)
	}
	// Disabled clients are refused.
	c, _ := env.app.FindRecordById(collections.APIClients, clientID)
	c.Set("disabled", true)
	if err := env.app.Save(c); err != nil {
		t.Fatal(err)
	}
	if res := env.get("/api/v1/social/instagram/natgeo", key); res.Status != 403 {
		t.Fatalf("disabled: %d", res.Status)
	}
	// A tier change applies to existing clients at once.
	ws.Set("settings", map[string]any{"social": map[string]any{"tiers": map[string]any{"free": map[string]any{"rpm": 7}}}})
	if err := env.app.Save(ws); err != nil {
		t.Fatal(err)
	}
	if res := env.get("/api/v1/social/instagram/natgeo", testutil.Bearer(other)); res.Header.Get("RateLimit-Limit") != "7" {
		t.Fatalf("changed tier: %v", res.Header)
	}
	// The workspace's social tool decides which platforms it serves.
	testutil.Tool(t, env.app, ws, "social", "Site feed", map[string]any{"platforms": []any{"tiktok"}})
	if res := env.get("/api/v1/social/instagram/natgeo", testutil.Bearer(env.w.SocialKey)); res.Status != 403 || !strings.Contains(res.Body, "does not serve instagram") {
		t.Fatalf("tool platforms: %d %s", res.Status, res.Body)
	}
}

func TestSocialCostsAndBudgetCutOff(t *testing.T) {
	env := newSocialEnv(t)
	secret, clientID := env.client(t, env.w.Acme, "pro", 0)
	key := testutil.Bearer(secret)
	ws, _ := env.app.FindRecordById(collections.Workspaces, env.w.Acme)
	ws.Set("settings", map[string]any{"social": map[string]any{"monthly_budget_usd": 0.05}})
	if err := env.app.Save(ws); err != nil {
		t.Fatal(err)
	}
	// 12 items cost 0.005 + 12 × 0.0023 = 0.0326 each in the fake.
	for _, h := range []string{"shopone", "shoptwo"} {
		if res := env.get("/api/v1/social/instagram/"+h, key); res.Status != 200 {
			t.Fatalf("%s: %d %s", h, res.Status, res.Body)
		}
	}
	res := env.get("/api/v1/social/costs", testutil.Bearer(env.w.AdminKey))
	body := decode(t, res.Body)
	if res.Status != 200 || body["total_usd"] != 0.0652 || body["runs"] != 2.0 {
		t.Fatalf("costs: %d %s", res.Status, res.Body)
	}
	if bp := body["by_platform"].([]any); len(bp) != 1 || bp[0].(map[string]any)["platform"] != "instagram" || bp[0].(map[string]any)["usd"] != 0.0652 {
		t.Fatalf("by platform: %v", bp)
	}
	if bc := body["by_client"].([]any); len(bc) != 1 || bc[0].(map[string]any)["client"] != clientID {
		t.Fatalf("by client: %v", bc)
	}
	if bd := body["by_day"].([]any); len(bd) != 1 || bd[0].(map[string]any)["day"] != time.Now().UTC().Format(time.DateOnly) {
		t.Fatalf("by day: %v", bd)
	}
	if b := body["budget"].(map[string]any); b["exhausted"] != true || b["monthly_usd"] != 0.05 {
		t.Fatalf("budget: %v", b)
	}
	// Spent: a new handle is refused, cached ones are still answered (even when stale, without a refresh).
	if res := env.get("/api/v1/social/instagram/shopthree", key); res.Status != 402 || env.f.Runs("instagram:shopthree:posts") != 0 {
		t.Fatalf("over budget: %d %s", res.Status, res.Body)
	}
	_, _ = env.app.NonconcurrentDB().NewQuery("UPDATE social_cache SET fresh_until = '2000-01-01 00:00:00.000Z', stale_until = '2000-01-02 00:00:00.000Z'").Execute()
	env.s.Memory.Delete(t.Context(), env.w.Acme+"|instagram|posts|shopone")
	if res := env.get("/api/v1/social/instagram/shopone", key); res.Status != 200 || res.Header.Get("X-Cache") != "stale" {
		t.Fatalf("cached data over budget: %d %s", res.Status, res.Header.Get("X-Cache"))
	}
	env.s.Cache.Wait()
	if n := env.f.Runs("instagram:shopone:posts"); n != 1 {
		t.Fatalf("no refresh over budget, runs = %d", n)
	}
	if res := env.testWarm(t, `{"platform":"instagram","handle":"shopfour"}`); res.Status != 402 {
		t.Fatalf("warm over budget: %d", res.Status)
	}
	if res := env.get("/api/v1/social/costs?from=2026-13-01", testutil.Bearer(env.w.AdminKey)); res.Status != 400 {
		t.Fatalf("bad date: %d", res.Status)
	}
	if res := env.get("/api/v1/social/costs", testutil.Bearer(secret)); res.Status != 403 {
		t.Fatalf("costs need admin: %d", res.Status)
	}
}

func (env *socialEnv) testWarm(t *testing.T, body string) testutil.Response {
	return testutil.Do(env.h, "POST", "/api/v1/social/cache/warm", body, testutil.Bearer(env.w.AdminKey))
}

func TestSocialAdminWarmPurgeAndIsolation(t *testing.T) {
	env := newSocialEnv(t)
	res := env.testWarm(t, `{"platform":"instagram","handle":"warmshop","limit":20}`)
	if res.Status != 202 || !strings.Contains(res.Body, `"status":"queued"`) {
		t.Fatalf("warm: %d %s", res.Status, res.Body)
	}
	if res := env.testWarm(t, `{"platform":"instagram","handle":"warmshop","limit":20}`); res.Status != 202 {
		t.Fatalf("warm again: %d", res.Status)
	}
	if n, _ := env.app.CountRecords(collections.Jobs, dbx.HashExp{"kind": social.KindWarm}); n != 1 {
		t.Fatalf("a queued warm job is not queued twice: %d", n)
	}
	if res := env.testWarm(t, `{"platform":"instagram","handle":"x y"}`); res.Status != 400 {
		t.Fatalf("bad warm: %d", res.Status)
	}
	if _, err := jobs.RunnerOf(env.app).RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := env.f.Runs("instagram:warmshop:posts"); n != 1 {
		t.Fatalf("warm runs = %d", n)
	}
	if res := env.get("/api/v1/social/instagram/warmshop?limit=20", testutil.Bearer(env.w.SocialKey)); res.Header.Get("X-Cache") != "hit" || decode(t, res.Body)["count"] != 20.0 {
		t.Fatalf("after warm: %s %s", res.Header.Get("X-Cache"), res.Body)
	}

	// Globex has its own cache, runs and admin views; Acme's keys are invisible to it.
	globex, _ := env.app.FindRecordById(collections.Workspaces, env.w.Globex)
	gkey, _ := testutil.APIKey(t, env.app, globex, "social")
	if res := env.get("/api/v1/social/instagram/warmshop?limit=20", testutil.Bearer(gkey)); res.Status != 200 || res.Header.Get("X-Cache") != "miss" {
		t.Fatalf("globex read: %d %s", res.Status, res.Header.Get("X-Cache"))
	}
	if n := env.f.Runs("instagram:warmshop:posts"); n != 2 {
		t.Fatalf("workspaces share no cache entries: runs = %d", n)
	}
	res = env.get("/api/v1/social/cache", env.w.GlobexAdmin.Headers)
	var list struct {
		Items []social.CacheRow `json:"items"`
	}
	_ = json.Unmarshal([]byte(res.Body), &list)
	if res.Status != 200 || len(list.Items) != 1 {
		t.Fatalf("globex list: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(env.h, "DELETE", "/api/v1/social/cache/instagram/warmshop", "", env.w.GlobexAdmin.Headers); res.Status != 200 {
		t.Fatalf("globex purge: %d", res.Status)
	}
	if res := env.get("/api/v1/social/instagram/warmshop?limit=20", testutil.Bearer(env.w.SocialKey)); res.Header.Get("X-Cache") != "hit" {
		t.Fatalf("globex's purge touched acme: %s", res.Header.Get("X-Cache"))
	}
	if n, _ := env.app.CountRecords(collections.SocialCache, dbx.HashExp{"workspace": env.w.Globex}); n != 0 {
		t.Fatalf("globex rows after purge: %d", n)
	}
	// The collection API shows members their own workspace's rows only.
	res = env.get("/api/collections/social_cache/records", env.w.GlobexOwner.Headers)
	if !strings.Contains(res.Body, `"totalItems":0`) {
		t.Fatalf("collection isolation: %s", res.Body)
	}

	res = testutil.Do(env.h, "DELETE", "/api/v1/social/cache/instagram/warmshop?type=posts", "", env.w.Admin.Headers)
	if res.Status != 200 {
		t.Fatalf("purge: %d %s", res.Status, res.Body)
	}
	if res := env.get("/api/v1/social/instagram/warmshop", testutil.Bearer(env.w.SocialKey)); res.Header.Get("X-Cache") != "miss" {
		t.Fatalf("after purge: %s", res.Header.Get("X-Cache"))
	}
	if res := testutil.Do(env.h, "DELETE", "/api/v1/social/cache/instagram/warmshop", "", env.w.Manager.Headers); res.Status != 403 {
		t.Fatalf("managers cannot purge: %d", res.Status)
	}
	if n, _ := env.app.CountRecords(collections.AuditLog, dbx.HashExp{"action": "social.cache_purged"}); n != 2 {
		t.Fatalf("purge audit rows: %d", n)
	}
}

func TestSocialSyncTimeoutFallsBackAndRecordsTheRun(t *testing.T) {
	env := newSocialEnv(t)
	env.f.Set(func(s *fake.Server) { s.RunDuration = 250 * time.Millisecond; s.SyncWait = 30 * time.Millisecond })
	env.f.RateLimitNext(2)
	if res := env.get("/api/v1/social/instagram/slowshop", testutil.Bearer(env.w.SocialKey)); res.Status != 200 || decode(t, res.Body)["count"] != 12.0 {
		t.Fatalf("async read: %d %s", res.Status, res.Body)
	}
	var row struct {
		Async     bool    `db:"async"`
		Cost      float64 `db:"cost_usd"`
		CostKnown bool    `db:"cost_known"`
		RunID     string  `db:"run_id"`
		Client    string  `db:"client"`
	}
	if err := env.app.DB().NewQuery("SELECT async, cost_usd, cost_known, run_id, client FROM social_runs").One(&row); err != nil {
		t.Fatal(err)
	}
	if !row.Async || !row.CostKnown || row.Cost < 0.03 || row.RunID == "" || !strings.HasPrefix(row.Client, "key:") {
		t.Fatalf("run row = %+v", row)
	}
	// A miss that takes longer than MissWait answers 202 and the run fills the cache.
	env.s.MissWait = 20 * time.Millisecond
	env.f.Set(func(s *fake.Server) { s.RunDuration = 100 * time.Millisecond; s.SyncWait = time.Minute })
	res := env.get("/api/v1/social/instagram/lateshop", testutil.Bearer(env.w.SocialKey))
	if res.Status != 202 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("pending: %d %s", res.Status, res.Body)
	}
	env.s.Cache.Wait()
	if res := env.get("/api/v1/social/instagram/lateshop", testutil.Bearer(env.w.SocialKey)); res.Status != 200 || res.Header.Get("X-Cache") != "hit" {
		t.Fatalf("after pending: %d %s", res.Status, res.Header.Get("X-Cache"))
	}
	// A workspace's own Apify token overrides APIFY_TOKEN.
	env.s.ApifyToken = ""
	if res := env.get("/api/v1/social/instagram/tokenshop", testutil.Bearer(env.w.SocialKey)); res.Status != 503 {
		t.Fatalf("no token: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(env.h, "POST", "/api/v1/workspace/secrets", `{"apify_token":"`+fake.Token+`"}`, testutil.Bearer(env.w.AdminKey)); res.Status != 200 {
		t.Fatalf("secret: %d %s", res.Status, res.Body)
	}
	env.s.MissWait = 5 * time.Second
	if res := env.get("/api/v1/social/instagram/tokenshop2", testutil.Bearer(env.w.SocialKey)); res.Status != 200 {
		t.Fatalf("workspace token: %d %s", res.Status, res.Body)
	}
}

func TestSocialMediaProxy(t *testing.T) {
	env := newSocialEnv(t)
	res := env.get("/api/v1/social/instagram/mediashop?limit=3", testutil.Bearer(env.w.SocialKey))
	var body struct {
		Items []social.Post `json:"items"`
	}
	_ = json.Unmarshal([]byte(res.Body), &body)
	if len(body.Items) != 3 {
		t.Fatalf("read: %s", res.Body)
	}
	path := func(u string) string { return strings.TrimPrefix(u, "http://playgram.test") }
	cdnHost := strings.TrimPrefix(env.f.URL, "http://")
	noHost := func(r testutil.Response) {
		t.Helper()
		all := r.Body
		for k, v := range r.Header {
			all += k + ":" + strings.Join(v, ",")
		}
		if strings.Contains(all, cdnHost) || strings.Contains(all, "127.0.0.1") || strings.Contains(all, "fake-cdn") {
			t.Fatalf("the source host leaked: %v %s", r.Header, r.Body)
		}
	}

	img := body.Items[0]
	res = testutil.Do(env.h, "GET", path(img.Thumbnail), "", nil)
	if res.Status != 200 || res.Header.Get("Content-Type") != "image/jpeg" || res.Body != string(fake.Image("img/ig-mediashop-0.jpg")) {
		t.Fatalf("image: %d %v", res.Status, res.Header)
	}
	noHost(res)

	video := body.Items[1].Media[0]
	if video.Kind != "video" {
		t.Fatalf("item 1 = %+v", body.Items[1])
	}
	res = testutil.Do(env.h, "GET", path(video.URL), "", map[string]string{"Range": "bytes=100-199"})
	if res.Status != 206 || len(res.Body) != 100 || res.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", 256<<10) ||
		res.Body != string(fake.Video("")[100:200]) {
		t.Fatalf("range: %d %v len %d", res.Status, res.Header, len(res.Body))
	}
	noHost(res)

	res = testutil.Do(env.h, "GET", path(img.Thumbnail)+"?w=120", "", nil)
	if res.Status != 200 || res.Header.Get("X-Media-Cache") != "miss" {
		t.Fatalf("resize: %d %s", res.Status, res.Body)
	}
	decoded, err := jpeg.DecodeConfig(strings.NewReader(res.Body))
	if err != nil || decoded.Width != 120 || decoded.Height != 90 {
		t.Fatalf("resized = %+v %v", decoded, err)
	}
	if res := testutil.Do(env.h, "GET", path(img.Thumbnail)+"?w=120", "", nil); res.Status != 200 || res.Header.Get("X-Media-Cache") != "hit" {
		t.Fatalf("resized again: %d %s", res.Status, res.Header.Get("X-Media-Cache"))
	}
	if res := testutil.Do(env.h, "GET", path(img.Thumbnail)+"?w=5000", "", nil); res.Status != 400 || !strings.Contains(res.Body, `"w"`) {
		t.Fatalf("bad w: %d", res.Status)
	}
	if res := testutil.Do(env.h, "GET", path(video.URL)+"?w=100", "", nil); res.Status != 400 {
		t.Fatalf("resizing a video: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(env.h, "GET", path(img.Thumbnail)+"x", "", nil); res.Status != 404 {
		t.Fatalf("tampered token: %d", res.Status)
	}
	if res := testutil.Do(env.h, "GET", "/api/v1/media/"+mustToken(t, env.s, env.f.URL+"/cdn/missing"), "", nil); res.Status != 404 || !strings.Contains(res.Body, "no longer available") {
		t.Fatalf("gone: %d %s", res.Status, res.Body)
	}

	// Without PLAYGRAM_OUTBOUND_ALLOW the guard refuses private and loopback sources, and says nothing of them.
	strict := testutil.Config()
	strict.OutboundAllow = ""
	app2 := testutil.NewWorldAppWith(t, strict)
	defer app2.Cleanup()
	s2 := social.Of(app2)
	h2 := testutil.Handler(t, app2)
	for _, src := range []string{env.f.URL + "/cdn/img/x.jpg", "http://10.1.2.3/secret.jpg", "http://169.254.169.254/latest/meta-data/"} {
		res := testutil.Do(h2, "GET", "/api/v1/media/"+mustToken(t, s2, src), "", nil)
		if res.Status != 502 {
			t.Fatalf("%s: %d %s", src, res.Status, res.Body)
		}
		if strings.Contains(res.Body, "127.0.0.1") || strings.Contains(res.Body, "10.1.2.3") || strings.Contains(res.Body, "169.254") {
			t.Fatalf("refusal names the host: %s", res.Body)
		}
	}
}

func mustToken(t *testing.T, s *social.Service, src string) string {
	t.Helper()
	tok, err := s.MediaToken("ws", src)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestPostCategoriesAndPublicFeeds(t *testing.T) {
	env := newSocialEnv(t)
	if res := env.get("/api/v1/social/instagram/catshop?limit=6", testutil.Bearer(env.w.SocialKey)); res.Status != 200 {
		t.Fatalf("read: %d", res.Status)
	}
	var posts struct {
		Items []social.Post `json:"items"`
	}
	_ = json.Unmarshal([]byte(env.get("/api/v1/social/instagram/catshop?limit=6", testutil.Bearer(env.w.SocialKey)).Body), &posts)

	mk := func(body string, headers map[string]string) string {
		res := testutil.Do(env.h, "POST", "/api/collections/post_categories/records", body, headers)
		if res.Status != 200 {
			t.Fatalf("category: %d %s", res.Status, res.Body)
		}
		return jsonField(t, []byte(res.Body), "id")
	}
	summer := mk(`{"workspace":"`+env.w.Acme+`","name":"Summer Sale","published":true,"order":2,"seo_title":"Summer sale","seo_description":"Hot deals"}`, env.w.Manager.Headers)
	mk(`{"workspace":"`+env.w.Acme+`","name":"New In","published":true,"order":1}`, env.w.Manager.Headers)
	draft := mk(`{"workspace":"`+env.w.Acme+`","name":"Draft","slug":"draft"}`, env.w.Manager.Headers)
	if res := testutil.Do(env.h, "POST", "/api/collections/post_categories/records", `{"workspace":"`+env.w.Acme+`","name":"X"}`, env.w.Viewer.Headers); res.Status == 200 {
		t.Fatal("viewers cannot create categories")
	}

	assign := func(cat, body string, headers map[string]string) testutil.Response {
		return testutil.Do(env.h, "POST", "/api/v1/social/categories/"+cat+"/posts", body, headers)
	}
	if res := assign(summer, `{"handle":"catshop","post_id":"`+posts.Items[2].ID+`","position":2}`, env.w.Manager.Headers); res.Status != 201 {
		t.Fatalf("assign: %d %s", res.Status, res.Body)
	}
	// By short code, as people copy it from a post URL.
	short := strings.TrimSuffix(strings.TrimPrefix(posts.Items[0].URL, "https://www.instagram.com/p/"), "/")
	if res := assign(summer, `{"handle":"catshop","post_id":"`+short+`","position":1}`, env.w.Manager.Headers); res.Status != 201 {
		t.Fatalf("assign by short code: %d %s", res.Status, res.Body)
	}
	if res := assign(summer, `{"handle":"catshop","post_id":"`+short+`","position":1}`, env.w.Manager.Headers); res.Status != 200 {
		t.Fatalf("assign again updates: %d %s", res.Status, res.Body)
	}
	if res := assign(draft, `{"handle":"catshop","post_id":"`+posts.Items[3].ID+`"}`, env.w.Manager.Headers); res.Status != 201 {
		t.Fatalf("assign to draft: %d", res.Status)
	}
	if res := assign(summer, `{"handle":"catshop","post_id":"999"}`, env.w.Manager.Headers); res.Status != 400 || !strings.Contains(res.Body, `"post_id"`) {
		t.Fatalf("unknown post: %d %s", res.Status, res.Body)
	}
	if res := assign(summer, `{"handle":"catshop","post_id":"`+posts.Items[1].ID+`"}`, env.w.GlobexAdmin.Headers); res.Status != 404 {
		t.Fatalf("other workspace's category: %d", res.Status)
	}
	if res := assign(summer, `{"handle":"catshop","post_id":"`+posts.Items[1].ID+`"}`, env.w.Viewer.Headers); res.Status != 403 {
		t.Fatalf("viewer: %d", res.Status)
	}
	if n, _ := env.app.CountRecords(collections.Events, dbx.HashExp{"type": "post_category.post_added"}); n != 4 {
		t.Fatalf("events: %d", n)
	}

	res := testutil.Do(env.h, "GET", "/api/v1/sites/"+env.w.AcmeSlug+"/categories", "", nil)
	if res.Status != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "public") || res.Header.Get("ETag") == "" {
		t.Fatalf("public categories: %d %v %s", res.Status, res.Header, res.Body)
	}
	var cats struct {
		Categories []social.SiteCategory `json:"categories"`
	}
	_ = json.Unmarshal([]byte(res.Body), &cats)
	if len(cats.Categories) != 2 || cats.Categories[0].Slug != "new-in" || cats.Categories[1].Slug != "summer-sale" || cats.Categories[1].Posts != 2 ||
		cats.Categories[1].SEOTitle != "Summer sale" {
		t.Fatalf("categories = %s", res.Body)
	}
	if r := testutil.Do(env.h, "GET", "/api/v1/sites/"+env.w.AcmeSlug+"/categories", "", map[string]string{"If-None-Match": res.Header.Get("ETag")}); r.Status != 304 {
		t.Fatalf("etag: %d", r.Status)
	}
	res = testutil.Do(env.h, "GET", "/api/v1/sites/"+env.w.Acme+"/categories/summer-sale/posts", "", nil)
	var feed struct {
		Posts []social.Post `json:"posts"`
	}
	_ = json.Unmarshal([]byte(res.Body), &feed)
	if res.Status != 200 || len(feed.Posts) != 2 || feed.Posts[0].ID != posts.Items[0].ID || feed.Posts[1].ID != posts.Items[2].ID ||
		!strings.HasPrefix(feed.Posts[0].Thumbnail, "http://playgram.test/api/v1/media/") {
		t.Fatalf("feed: %d %s", res.Status, res.Body)
	}
	for _, url := range []string{
		"/api/v1/sites/" + env.w.AcmeSlug + "/categories/draft/posts",
		"/api/v1/sites/" + env.w.AcmeSlug + "/categories/nothing/posts",
		"/api/v1/sites/no-such-shop/categories",
	} {
		if res := testutil.Do(env.h, "GET", url, "", nil); res.Status != 404 {
			t.Fatalf("%s: %d", url, res.Status)
		}
	}
	// Globex's site shows none of Acme's categories.
	globex, _ := env.app.FindRecordById(collections.Workspaces, env.w.Globex)
	if res := testutil.Do(env.h, "GET", "/api/v1/sites/"+globex.GetString("slug")+"/categories", "", nil); !strings.Contains(res.Body, `"categories":[]`) {
		t.Fatalf("globex site: %s", res.Body)
	}
	// The snapshot outlives the cache entry.
	testutil.Do(env.h, "DELETE", "/api/v1/social/cache/instagram/catshop", "", env.w.Admin.Headers)
	if res := testutil.Do(env.h, "GET", "/api/v1/sites/"+env.w.AcmeSlug+"/categories/summer-sale/posts", "", nil); !strings.Contains(res.Body, posts.Items[2].ID) {
		t.Fatalf("after purge: %s", res.Body)
	}
	if res := testutil.Do(env.h, "DELETE", "/api/v1/social/categories/"+summer+"/posts/"+posts.Items[2].ID, "", env.w.Manager.Headers); res.Status != 204 {
		t.Fatalf("remove: %d %s", res.Status, res.Body)
	}
	if res := testutil.Do(env.h, "DELETE", "/api/v1/social/categories/"+summer+"/posts/"+posts.Items[2].ID, "", env.w.Manager.Headers); res.Status != 404 {
		t.Fatalf("remove twice: %d", res.Status)
	}
}

func TestSocialWithRedis(t *testing.T) {
	url := redistest.Start(t)
	cfg := testutil.Config()
	cfg.RedisURL = url
	app := testutil.NewAppWith(t, cfg)
	f := fake.New()
	defer f.Close()
	s := social.Of(app)
	if s.Redis == nil {
		t.Fatal("REDIS_URL did not enable the Redis layer")
	}
	s.ApifyToken = fake.Token
	s.NewApify = func(token string) *apify.Client {
		c := apify.New(f.URL, token)
		c.CostDelay = time.Millisecond
		return c
	}
	defer s.Cache.Wait()
	ws := testutil.Workspace(t, app, "Redis Shop")
	secret, key := testutil.APIKey(t, app, ws, "social")
	h := testutil.Handler(t, app)
	if res := testutil.Do(h, "GET", "/api/v1/social/instagram/redisshop", "", testutil.Bearer(secret)); res.Status != 200 || res.Header.Get("RateLimit-Remaining") != "29" {
		t.Fatalf("read: %d %v", res.Status, res.Header)
	}
	ctx := t.Context()
	cacheKey := ws.Id + "|instagram|posts|redisshop"
	if n, err := s.Redis.Exists(ctx, "playgram:social:"+cacheKey).Result(); err != nil || n != 1 {
		t.Fatalf("entry in redis: %d %v", n, err)
	}
	// Limits are counted in Redis, so every process sharing it sees them.
	keys, _ := s.Redis.Keys(ctx, "playgram:quota:key:"+key.Id+":m@*").Result()
	if len(keys) != 1 || s.Redis.Get(ctx, keys[0]).Val() != "1" {
		t.Fatalf("quota keys: %v", keys)
	}
	// Memory and database rows gone: Redis answers (and refills memory) without a run.
	s.Memory.Delete(ctx, cacheKey)
	_, _ = app.NonconcurrentDB().NewQuery("DELETE FROM social_cache").Execute()
	if res := testutil.Do(h, "GET", "/api/v1/social/instagram/redisshop", "", testutil.Bearer(secret)); res.Status != 200 || res.Header.Get("X-Cache") != "hit" || f.Runs("") != 1 {
		t.Fatalf("redis hit: %d %s runs %d", res.Status, res.Header.Get("X-Cache"), f.Runs(""))
	}
	if !s.Memory.Has(cacheKey) {
		t.Fatal("memory not refilled from redis")
	}
}
