package gobench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/pocketbase/core"
)

// BenchmarkWebhookDeliveriesBurst records b.N events as fast as it can, each subscribed to by 10 endpoints on
// a loopback receiver, with the delivery engine running, and waits for every delivery: deliveries/s is the
// engine's throughput; latencies include the queueing of the burst. Use -benchtime=2000x or more.
func BenchmarkWebhookDeliveriesBurst(b *testing.B) { benchWebhooks(b, 0) }

// BenchmarkWebhookDeliveriesPaced records 100 events per second (1,000 deliveries per second to the 10
// endpoints): p50-ms and p99-ms are the event-to-first-attempt latency at that sustained load.
// Use -benchtime=1000x or more.
func BenchmarkWebhookDeliveriesPaced(b *testing.B) { benchWebhooks(b, 100) }

func benchWebhooks(b *testing.B, eventsPerSecond int) {
	const endpoints = 10
	app := testutil.NewWorldApp(b)
	defer app.Cleanup()
	w := testutil.TheWorld(b)
	h := testutil.Handler(b, app)
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
		rw.WriteHeader(204)
	}))
	defer rc.Close()
	for i := range endpoints {
		res := testutil.Do(h, "POST", "/api/v1/webhooks/endpoints", fmt.Sprintf(`{"url":"%s/%d","events":["bench.*"]}`, rc.URL, i), w.Admin.Headers)
		if res.Status != 201 {
			b.Fatalf("endpoint: %d %s", res.Status, res.Body)
		}
	}
	engine := webhooks.Of(app)
	engine.Start()
	b.ResetTimer()
	start := time.Now()
	batch := 100
	if eventsPerSecond > 0 {
		batch = max(eventsPerSecond/100, 1)
	}
	for done := 0; done < b.N; done += batch {
		if eventsPerSecond > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(float64(done) / float64(eventsPerSecond) * float64(time.Second)))))
		}
		err := app.RunInTransaction(func(tx core.App) error {
			for range min(batch, b.N-done) {
				if _, err := platform.Emit(tx, platform.Event{Workspace: w.Acme, Type: "bench.created", Data: map[string]any{"order": "ord_1", "amount": 4200}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N * endpoints)
	deadline := time.Now().Add(5 * time.Minute)
	for got.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", got.Load(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	elapsed := b.Elapsed()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	engine.Stop(ctx)
	cancel()
	var lat []int64
	if err := app.DB().NewQuery(`SELECT a.ts - d.event_ts FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery WHERE a.attempt = 1`).Column(&lat); err != nil {
		b.Fatal(err)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ms")
	}
}
