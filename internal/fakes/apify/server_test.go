package apify_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/apify"
)

func do(t *testing.T, method, url, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestAsyncRunLifecycleWebhooksAndAuth(t *testing.T) {
	f := fake.New()
	defer f.Close()
	f.Set(func(s *fake.Server) { s.RunDuration = 80 * time.Millisecond; s.DeliverTwice = true })
	var mu sync.Mutex
	var got []map[string]any
	var headers []http.Header
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		got, headers = append(got, m), append(headers, r.Header.Clone())
		mu.Unlock()
	}))
	defer hook.Close()
	wh := base64.StdEncoding.EncodeToString([]byte(`[{"eventTypes":["ACTOR.RUN.SUCCEEDED","ACTOR.RUN.FAILED"],"requestUrl":"` + hook.URL + `/hook?secret=s"}]`))

	if st, _, body := do(t, "POST", f.URL+"/v2/acts/apify~instagram-scraper/runs", `{}`); st != 401 || !strings.Contains(body, "token-not-provided") {
		t.Fatalf("no token: %d %s", st, body)
	}
	st, hdr, body := do(t, "POST", f.URL+"/v2/acts/shu8hvrXbJbY3Eb9W/runs?token="+fake.Token+"&webhooks="+wh, `{"directUrls":["https://www.instagram.com/natgeo/"],"resultsLimit":3}`)
	if st != 201 || !strings.Contains(hdr.Get("Location"), "/v2/actor-runs/") || !strings.Contains(body, `"status":"READY"`) || !strings.Contains(body, `"usageTotalUsd":null`) {
		t.Fatalf("start: %d %v %s", st, hdr, body)
	}
	var run struct {
		Data struct{ ID, Status string } `json:"data"`
	}
	_ = json.Unmarshal([]byte(body), &run)
	_, _, body = do(t, "GET", f.URL+"/v2/actor-runs/"+run.Data.ID+"?token="+fake.Token, "")
	if !strings.Contains(body, `"status":"RUNNING"`) {
		t.Fatalf("second read: %s", body)
	}
	_, _, body = do(t, "GET", f.URL+"/v2/actor-runs/"+run.Data.ID+"?waitForFinish=5&token="+fake.Token, "")
	if !strings.Contains(body, `"status":"SUCCEEDED"`) || !strings.Contains(body, `"usageTotalUsd":null`) {
		t.Fatalf("finished: %s", body)
	}
	_, _, body = do(t, "GET", f.URL+"/v2/actor-runs/"+run.Data.ID+"?token="+fake.Token, "")
	if strings.Contains(body, `"usageTotalUsd":null`) {
		t.Fatalf("cost settles on a later read: %s", body)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0]["eventType"] != "ACTOR.RUN.SUCCEEDED" || got[0]["resource"].(map[string]any)["id"] != run.Data.ID ||
		headers[0].Get("X-Apify-Webhook-Dispatch-Id") == "" || headers[0].Get("X-Apify-Webhook") == "" {
		t.Fatalf("webhooks: %v %v", got, headers)
	}
	if st, _, _ := do(t, "GET", f.URL+"/v2/actor-runs/nope?token="+fake.Token, ""); st != 404 {
		t.Fatalf("unknown run: %d", st)
	}
	if st, _, _ := do(t, "GET", f.URL+"/v2/datasets/nope/items?token="+fake.Token, ""); st != 404 {
		t.Fatalf("unknown dataset: %d", st)
	}
}

func TestPerResourceRateLimit(t *testing.T) {
	f := fake.New()
	defer f.Close()
	f.LimitPerResource(3)
	codes := map[int]int{}
	for range 5 {
		st, hdr, _ := do(t, "GET", f.URL+"/v2/acts/apify~instagram-scraper/runs/last?token="+fake.Token, "")
		codes[st]++
		if st == 429 && hdr.Get("X-RateLimit-Limit") == "" {
			t.Fatal("429 without X-RateLimit-Limit")
		}
	}
	if codes[429] != 2 {
		t.Fatalf("codes = %v", codes)
	}
	// Another resource has its own allowance.
	if st, _, _ := do(t, "GET", f.URL+"/v2/acts/clockworks~tiktok-scraper/runs/last?token="+fake.Token, ""); st != 404 {
		t.Fatalf("other resource: %d", st)
	}
}
