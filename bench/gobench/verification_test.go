package gobench

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
)

// BenchmarkVerificationWatchers opens 1,000 Server-Sent Events streams at once, one per pending verification,
// then confirms every code by DM and measures how long each watcher waits for its final status.
func BenchmarkVerificationWatchers(b *testing.B) {
	const watchers = 1000
	for range b.N {
		app := testutil.NewWorldApp(b)
		w := testutil.TheWorld(b)
		acme, _ := app.FindRecordById(collections.Workspaces, w.Acme)
		testutil.Tool(b, app, acme, "verification", "Login", nil)
		h := testutil.Handler(b, app)
		srv := httptest.NewServer(h)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: watchers, MaxConnsPerHost: 0}}

		type pending struct{ id, code, token string }
		list := make([]pending, watchers)
		for i := range list {
			res := testutil.Do(h, "POST", "/api/v1/verifications", `{}`, w.Admin.Headers) // members are not rate limited per key
			var c struct {
				ID         string `json:"id"`
				Code       string `json:"code"`
				WatchToken string `json:"watch_token"`
			}
			if err := json.Unmarshal([]byte(res.Body), &c); err != nil || res.Status != 201 {
				b.Fatalf("create: %d %s", res.Status, res.Body)
			}
			list[i] = pending{c.ID, c.Code, c.WatchToken}
		}
		var ready, done sync.WaitGroup
		sentAt := make([]time.Time, watchers)
		waited := make([]time.Duration, watchers)
		var mu sync.Mutex
		for i, p := range list {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				resp, err := client.Get(srv.URL + "/api/v1/verifications/" + p.id + "/events?token=" + p.token)
				if err != nil || resp.StatusCode != 200 {
					b.Errorf("watch: %v %v", err, resp)
					ready.Done()
					return
				}
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				first := true
				for sc.Scan() {
					line := sc.Text()
					if !strings.HasPrefix(line, "data: ") {
						continue
					}
					if first {
						first = false
						ready.Done()
						continue
					}
					if strings.Contains(line, `"status":"verified"`) {
						mu.Lock()
						waited[i] = time.Since(sentAt[i])
						mu.Unlock()
					}
				}
			}()
		}
		ready.Wait()
		for i, p := range list {
			mu.Lock()
			sentAt[i] = time.Now()
			mu.Unlock()
			res := testutil.Do(h, "POST", "/api/v1/manychat/verify", `{"code":"`+p.code+`","ig_username":"ana","subscriber_id":"1"}`, testutil.Bearer(w.ManychatKey))
			if res.Status != 200 {
				b.Fatalf("verify: %d %s", res.Status, res.Body)
			}
		}
		done.Wait()
		srv.Close()
		app.Cleanup()
		slices.Sort(waited)
		if waited[0] == 0 {
			b.Fatalf("a watcher was never told: %v", waited[:5])
		}
		b.ReportMetric(float64(waited[len(waited)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(waited[len(waited)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(waited[len(waited)-1].Microseconds())/1000, "max-ms")
	}
}
