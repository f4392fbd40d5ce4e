// Command webhooks measures Playgram's webhook fan-out end to end, in one process on loopback: a real app
// (migrations, hooks, the delivery engine and its SSRF-guarded client, allow-listed for 127.0.0.0/8) and a
// local receiver that verifies every signature.
//
//	go run ./bench/webhooks -mode sustained -endpoints 10 -rate 200 -duration 20s
//	go run ./bench/webhooks -mode backlog -endpoints 10 -events 100000
//
// sustained: events are recorded at -rate per second (each goes to every endpoint) while the engine runs;
// it reports successful deliveries per second and the event-to-first-attempt latency (the attempt's start
// minus the event's timestamp, from the attempt log). backlog: -events events are recorded with the engine
// stopped, then it is started and the time to drain is measured; every delivery must succeed exactly once
// (the receiver counts each webhook-id per endpoint).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/playgram/playgram/boot"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func main() {
	mode := flag.String("mode", "sustained", "sustained or backlog")
	endpoints := flag.Int("endpoints", 10, "endpoints subscribed to every event")
	rate := flag.Int("rate", 200, "sustained: events recorded per second")
	duration := flag.Duration("duration", 20*time.Second, "sustained: how long events are recorded")
	events := flag.Int("events", 10000, "backlog: events recorded before the engine starts")
	verifySigs := flag.Bool("verify", true, "verify every signature at the receiver")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*mode, *endpoints, *rate, *duration, *events, *verifySigs); err != nil {
		pprof.StopCPUProfile()
		log.Fatal(err)
	}
}

type receiver struct {
	secrets map[string]whsig.Secret // path → secret
	verify  bool
	mu      sync.Mutex
	seen    map[string]int // path + webhook-id → requests
	total   atomic.Int64
	badSig  atomic.Int64
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rc.verify {
		if err := whsig.Verify(rc.secrets[r.URL.Path], r.Header, body, time.Now(), 0); err != nil {
			rc.badSig.Add(1)
		}
	}
	rc.mu.Lock()
	rc.seen[r.URL.Path+" "+r.Header.Get("webhook-id")]++
	rc.mu.Unlock()
	rc.total.Add(1)
	w.WriteHeader(204)
}

func run(mode string, nEndpoints, rate int, duration time.Duration, nEvents int, verify bool) error {
	dir, err := os.MkdirTemp("", "playgram_bench_webhooks_")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		return err
	}
	if err := app.RunAllMigrations(); err != nil {
		return err
	}
	app.Settings().Logs.MaxDays = 0
	cfg := platform.DefaultConfig()
	cfg.SecretKey = strings.Repeat("ab", 32)
	cfg.OutboundAllow = "127.0.0.0/8"
	cfg.Background = false
	cfg.NoDemo = true
	svc, err := boot.Register(app, cfg)
	if err != nil {
		return err
	}
	engine := webhooks.Of(app)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rc := &receiver{secrets: map[string]whsig.Secret{}, seen: map[string]int{}, verify: verify}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()

	wsColl, _ := app.FindCollectionByNameOrId(collections.Workspaces)
	ws := core.NewRecord(wsColl)
	ws.Set("name", "Bench")
	ws.Set("timezone", "UTC")
	if err := app.Save(ws); err != nil {
		return err
	}
	epColl, _ := app.FindCollectionByNameOrId(collections.WebhookEndpoints)
	for i := range nEndpoints {
		ep := core.NewRecord(epColl)
		path := "/hook/" + strconv.Itoa(i)
		ep.Set("workspace", ws.Id)
		ep.Set("url", "http://"+ln.Addr().String()+path)
		ep.Set("events", []string{"bench.*"})
		ep.Set("enabled", true)
		secret, err := webhooks.SealNewSecret(svc.Box, ep, 0, time.Now())
		if err != nil {
			return err
		}
		rc.secrets[path], _ = whsig.ParseSecret(secret)
		if err := app.Save(ep); err != nil {
			return err
		}
	}

	emit := func(n int) error {
		return app.RunInTransaction(func(tx core.App) error {
			for range n {
				if _, err := platform.Emit(tx, platform.Event{Workspace: ws.Id, Type: "bench.created",
					Data: map[string]any{"order": "ord_123", "amount": 4200, "items": []string{"a", "b"}}}); err != nil {
					return err
				}
			}
			return nil
		})
	}

	var start, end time.Time
	var recorded int
	switch mode {
	case "backlog":
		t0 := time.Now()
		for left := nEvents; left > 0; left -= 500 {
			if err := emit(min(500, left)); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "recorded %d events in %s\n", nEvents, time.Since(t0).Round(time.Millisecond))
		recorded = nEvents
		start = time.Now()
		engine.Start()
	case "sustained":
		engine.Start()
		start = time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		for time.Since(start) < duration {
			<-tick.C
			// Catch up on the schedule: a slow transaction must not lower the offered rate.
			n := min(int(time.Since(start).Seconds()*float64(rate))-recorded, 500)
			if n > 0 {
				if err := emit(n); err != nil {
					return err
				}
				recorded += n
			}
		}
		tick.Stop()
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	want := int64(recorded * nEndpoints)
	deadline := time.Now().Add(time.Hour)
	for rc.total.Load() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	end = time.Now()
	// Let the last results be written before reading the attempt log.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	engine.Stop(ctx)
	cancel()

	var ok, failed, attempts int64
	_ = app.DB().NewQuery("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded'").Row(&ok)
	_ = app.DB().NewQuery("SELECT COUNT(*) FROM webhook_deliveries WHERE status != 'succeeded'").Row(&failed)
	_ = app.DB().NewQuery("SELECT COUNT(*) FROM webhook_attempts").Row(&attempts)
	var lat []int64
	if err := app.DB().NewQuery(`SELECT a.ts - d.event_ts FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery
		WHERE a.attempt = 1`).Column(&lat); err != nil {
		return err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) int64 {
		if len(lat) == 0 {
			return -1
		}
		return lat[max(int(float64(len(lat))*q+0.999999)-1, 0)]
	}
	dups, missing := 0, 0
	rc.mu.Lock()
	for _, n := range rc.seen {
		if n > 1 {
			dups += n - 1
		}
	}
	missing = int(want) - len(rc.seen)
	rc.mu.Unlock()
	elapsed := end.Sub(start)
	var rows int64
	_ = app.DB().Select("COUNT(*)").From(collections.WebhookDeliveries).Where(dbx.NewExp("1=1")).Row(&rows)
	fmt.Printf("| %s | %d | %d | %d | %.1f s | %.0f | %d | %d | %d | %d | %d | %d |\n",
		mode, nEndpoints, recorded, rc.total.Load(), elapsed.Seconds(), float64(ok)/elapsed.Seconds(),
		pct(0.50), pct(0.95), pct(0.99), failed, dups, missing+int(rc.badSig.Load()))
	if failed > 0 || dups > 0 || missing > 0 || rc.badSig.Load() > 0 || attempts != ok {
		return fmt.Errorf("not clean: %d failed deliveries, %d duplicate requests, %d missing, %d bad signatures, %d attempts for %d successes",
			failed, dups, missing, rc.badSig.Load(), attempts, ok)
	}
	return nil
}
