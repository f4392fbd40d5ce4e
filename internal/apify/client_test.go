package apify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/apify"
	fake "github.com/playgram/playgram/internal/fakes/apify"
)

func client(f *fake.Server) (*apify.Client, *[]time.Duration) {
	c := apify.New(f.URL, fake.Token)
	c.CostDelay = time.Millisecond
	var slept []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		time.Sleep(time.Millisecond)
		return ctx.Err()
	}
	return c, &slept
}

func igInput(handle string, limit int) map[string]any {
	return map[string]any{"directUrls": []string{"https://www.instagram.com/" + handle + "/"}, "resultsType": "posts", "resultsLimit": limit}
}

func TestSyncRunReturnsItemsAndCost(t *testing.T) {
	f := fake.New()
	defer f.Close()
	c, _ := client(f)
	res, err := c.Call(context.Background(), apify.ActorInstagram, igInput("natgeo", 12), apify.CallOptions{MaxItems: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 12 || res.Async {
		t.Fatalf("items %d async %v", len(res.Items), res.Async)
	}
	var first map[string]any
	_ = json.Unmarshal(res.Items[0], &first)
	if first["ownerUsername"] != "natgeo" || first["shortCode"] == "" {
		t.Fatalf("item = %v", first)
	}
	// usageTotalUsd is null on the first read after the run; the client re-reads it.
	if !res.CostKnown || res.CostUSD < 0.03 || res.CostUSD > 0.04 || res.Run == nil {
		t.Fatalf("cost %v known %v run %v", res.CostUSD, res.CostKnown, res.Run)
	}
	reqs := strings.Join(f.Requests(), "\n")
	if !strings.Contains(reqs, "POST /v2/acts/apify~instagram-scraper/run-sync-get-dataset-items") {
		t.Fatalf("requests:\n%s", reqs)
	}
}

func TestSyncTimeoutFallsBackToPollingAndPaging(t *testing.T) {
	f := fake.New()
	defer f.Close()
	f.Set(func(s *fake.Server) { s.RunDuration = 300 * time.Millisecond; s.SyncWait = 50 * time.Millisecond })
	c, _ := client(f)
	c.PageSize = 7
	c.PollWaitSecs = 1
	res, err := c.Call(context.Background(), apify.ActorTikTok, map[string]any{"profiles": []string{"gretalynn"}, "resultsPerPage": 20}, apify.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Async || len(res.Items) != 20 || res.Run.Status != apify.StatusSucceeded {
		t.Fatalf("async %v items %d run %+v", res.Async, len(res.Items), res.Run)
	}
	pages := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "GET /v2/datasets/") {
			pages++
		}
	}
	if pages != 3 {
		t.Fatalf("20 items in pages of 7 took %d reads", pages)
	}
	if f.Runs("") != 1 {
		t.Fatalf("the fallback must follow the same run, not start another: %d runs", f.Runs(""))
	}
	if !res.CostKnown || res.CostUSD <= 0 {
		t.Fatalf("cost %v", res.CostUSD)
	}
}

func TestFailedRunIsAnError(t *testing.T) {
	f := fake.New()
	defer f.Close()
	c, _ := client(f)
	_, err := c.Call(context.Background(), apify.ActorInstagram, igInput("failshop", 5), apify.CallOptions{})
	var ae *apify.Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Type != "run-failed" || !apify.IsRunFailed(err) {
		t.Fatalf("err = %v", err)
	}
	// The same failure discovered while polling.
	f.Set(func(s *fake.Server) { s.RunDuration = 200 * time.Millisecond; s.SyncWait = 20 * time.Millisecond })
	_, err = c.Call(context.Background(), apify.ActorInstagram, igInput("failshop", 5), apify.CallOptions{})
	if !apify.IsRunFailed(err) {
		t.Fatalf("polled failure: %v", err)
	}
}

func TestRateLimitBacksOffExponentially(t *testing.T) {
	f := fake.New()
	defer f.Close()
	c, slept := client(f)
	f.RateLimitNext(3)
	res, err := c.Call(context.Background(), apify.ActorGoogleReviews, map[string]any{"placeIds": []string{"ChIJabc"}, "maxReviews": 5}, apify.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 5 || res.Retries != 3 {
		t.Fatalf("items %d retries %d", len(res.Items), res.Retries)
	}
	// Waits in [d, 2d] with d = 500 ms, 1 s, 2 s (then the cost re-read's own short delay).
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}
	for i, d := range want {
		if (*slept)[i] < d || (*slept)[i] > 2*d {
			t.Fatalf("backoff %d = %v, want in [%v, %v]", i, (*slept)[i], d, 2*d)
		}
	}
	f.RateLimitNext(100)
	c.MaxRetries = 2
	_, err = c.Call(context.Background(), apify.ActorGoogleReviews, map[string]any{"placeIds": []string{"ChIJabc"}}, apify.CallOptions{})
	var ae *apify.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
		t.Fatalf("after the retry budget: %v", err)
	}
}

func TestAuthAndUnknownActorErrors(t *testing.T) {
	f := fake.New()
	defer f.Close()
	c := apify.New(f.URL, "wrong")
	_, err := c.Call(context.Background(), apify.ActorInstagram, igInput("x", 1), apify.CallOptions{})
	var ae *apify.Error
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Type != "invalid-token" {
		t.Fatalf("bad token: %v", err)
	}
	c, _ = client(f)
	_, err = c.Call(context.Background(), "nobody/nothing", map[string]any{}, apify.CallOptions{})
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("unknown actor: %v", err)
	}
	f.PaymentRequired(true)
	_, err = c.Call(context.Background(), apify.ActorInstagram, igInput("x", 1), apify.CallOptions{})
	if !errors.As(err, &ae) || ae.Status != 402 {
		t.Fatalf("out of credit: %v", err)
	}
}

func TestFakeDatasetParameters(t *testing.T) {
	f := fake.New()
	defer f.Close()
	c, _ := client(f)
	res, err := c.Call(context.Background(), apify.ActorInstagram, igInput("natgeo", 5), apify.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", f.URL+"/v2/datasets/"+res.Run.DefaultDatasetID+"/items?token="+fake.Token+"&fields=id,type&desc=true&offset=1&limit=2", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var items []map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&items)
	if len(items) != 2 || len(items[0]) != 2 || resp.Header.Get("X-Apify-Pagination-Total") != "5" || resp.Header.Get("X-Apify-Pagination-Count") != "2" {
		t.Fatalf("items %v headers %v", items, resp.Header)
	}
	// The /v2/actors prefix and a user/name id in two segments reach the same actor; ?method=POST is honoured.
	req, _ = http.NewRequest("GET", f.URL+"/v2/actors/apify/instagram-scraper/runs/last?token="+fake.Token, nil)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil || resp2.StatusCode != 200 {
		t.Fatalf("alias: %v %v", resp2, err)
	}
	resp2.Body.Close()
	req, _ = http.NewRequest("GET", f.URL+"/v2/actor-runs/"+res.Run.ID+"/abort?method=POST&token="+fake.Token, nil)
	resp3, err := http.DefaultClient.Do(req)
	if err != nil || resp3.StatusCode != 200 {
		t.Fatalf("abort via method override: %v %v", resp3, err)
	}
	resp3.Body.Close()
}
