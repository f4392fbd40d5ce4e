package gobench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/playgram/playgram/analytics"
	"github.com/playgram/playgram/boot"
	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// BenchmarkAnalytics loads ANALYTICS_EVENTS events (default 1,000,000; PLAYGRAM_BENCH_10M=1 for 10,000,000)
// into one workspace with the generator, builds the event segments and folds the rollup with the job's code
// (logging the segments' build time and size), and times each
// question uncached (the cache would answer repeats in microseconds). With ANALYTICS_DATA_DIR set, the loaded
// data dir is kept there and reused by later runs of the same size (a 10M load takes minutes).
// Run: ANALYTICS_EVENTS=1000000 go test ./bench/gobench -run '^$' -bench Analytics -benchtime 5x
func BenchmarkAnalytics(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("ANALYTICS_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if os.Getenv("PLAYGRAM_BENCH_10M") == "1" {
		n = 10_000_000
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	app, ws := analyticsData(b, n, end)
	defer app.Cleanup()
	loc := analytics.Location(app, ws)
	year, _ := ia.Buckets(end.AddDate(-1, 0, 0), end, ia.Daily, loc)
	month, _ := ia.Buckets(end.AddDate(0, 0, -30), end, ia.Daily, loc)
	quarterWeeks, _ := ia.Buckets(end.AddDate(0, 0, -90), end, ia.Weekly, loc)
	hours, _ := ia.Buckets(end.AddDate(0, 0, -7), end, ia.Hourly, loc)
	metric := func(name string, def analytics.MetricDef, bs []ia.Bucket) {
		b.Run(name, func(b *testing.B) {
			timed(b, func() error { _, err := analytics.Series(app, ws, def, bs, loc); return err })
		})
	}
	kpi := func(k string) analytics.MetricDef { return analytics.KPIs[k] }
	metric("metric/scans_365_days", kpi("scans"), year)
	metric("metric/messages_365_days", analytics.MetricDef{Types: []string{"manychat.message"}, Agg: ia.AggCount}, year)
	metric("metric/active_contacts_30_days", kpi("active_contacts"), month)
	metric("metric/active_contacts_365_days", kpi("active_contacts"), year)
	metric("metric/engagement_rate_13_weeks", kpi("engagement_rate"), quarterWeeks)
	metric("metric/revenue_365_days", kpi("revenue"), year)
	metric("metric/purchase_p90_instagram_365_days", analytics.MetricDef{Types: []string{analytics.PurchaseType}, Agg: ia.AggP90, Field: "value",
		Filters: []analytics.Filter{{Field: "channel", Op: "eq", Value: "instagram"}}}, year)
	metric("metric/booking_amount_instagram_365_days", analytics.MetricDef{Types: []string{"booking.created"}, Agg: ia.AggSum, Field: "amount",
		Filters: []analytics.Filter{{Field: "source", Op: "eq", Value: "instagram"}}}, year)
	metric("metric/unique_scanners_hourly_7_days", analytics.MetricDef{Types: []string{"qr.scanned"}, Agg: ia.AggUnique}, hours)
	funnel := func(name string, order ia.Order, days int) {
		b.Run(name, func(b *testing.B) {
			q := analytics.FunnelQuery{Steps: []analytics.FunnelStep{{Type: "qr.scanned"}, {Type: "booking.created"}, {Type: analytics.PurchaseType}},
				From: end.AddDate(0, 0, -days), To: end, Window: 7 * 24 * time.Hour, Order: order}
			timed(b, func() error { _, err := analytics.Funnel(app, ws, q); return err })
		})
	}
	funnel("funnel/3_steps_sequential_90_days", ia.Sequential, 90)
	funnel("funnel/3_steps_sequential_365_days", ia.Sequential, 365)
	funnel("funnel/3_steps_any_90_days", ia.Any, 90)
	funnel("funnel/3_steps_strict_30_days", ia.Strict, 30)
	b.Run("retention/12_weekly_cohorts", func(b *testing.B) {
		from := ia.StartOf(end.AddDate(0, 0, -12*7), ia.Weekly, loc)
		q := analytics.RetentionQuery{CohortEvent: "contact.created", ReturnEvent: "qr.scanned", Period: ia.Weekly, Periods: 12, From: from, To: end, Mode: ia.On}
		timed(b, func() error { _, err := analytics.Retention(app, ws, q, loc, end); return err })
	})
	b.Run("heatmap/all_365_days", func(b *testing.B) {
		timed(b, func() error {
			_, err := analytics.Heatmap(app, ws, nil, end.AddDate(-1, 0, 0), end, loc)
			return err
		})
	})
	b.Run("attribution/last_touch_90_days", func(b *testing.B) {
		q := analytics.AttributionQuery{Model: ia.LastTouch, Window: 30 * 24 * time.Hour, From: end.AddDate(0, 0, -90), To: end}
		timed(b, func() error { _, err := analytics.Attribution(app, ws, q); return err })
	})
}

// cpuTime is this process's user+system CPU time. The benchmark host is shared, so next to wall time per
// operation the benchmarks report CPU milliseconds per operation, which other processes do not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timed runs fn b.N times and reports CPU ms/op next to ns/op.
func timed(b *testing.B, fn func() error) {
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkIngestBatch posts batches of 1,000 events through POST /api/v1/events (the full router, an events
// key, subscriber ids resolved to contacts) and reports events per second.
func BenchmarkIngestBatch(b *testing.B) {
	app := testutil.NewWorldApp(b)
	defer app.Cleanup()
	w := testutil.TheWorld(b)
	key, _ := testutil.APIKey(b, app, mustWorkspace(b, app, w.Acme), "events")
	h := testutil.Handler(b, app)
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"purchase","subscriber_id":"%d","data":{"value":%d,"currency":"EUR","campaign":"c%d"}}`, 1000+i%100, i, i%5)
	}
	sb.WriteString(`]}`)
	body := sb.String()
	t0, c0 := time.Now(), cpuTime()
	timed(b, func() error {
		res := testutil.Do(h, "POST", "/api/v1/events", body, testutil.Bearer(key))
		if res.Status != 200 || !strings.Contains(res.Body, `"accepted":1000`) {
			return fmt.Errorf("%d %s", res.Status, res.Body[:min(len(res.Body), 300)])
		}
		return nil
	})
	b.ReportMetric(float64(b.N*1000)/time.Since(t0).Seconds(), "events/s")
	b.ReportMetric(float64(b.N*1000)/(cpuTime()-c0).Seconds(), "events/cpu-s")
}

func mustWorkspace(b *testing.B, app core.App, id string) *core.Record {
	ws, err := app.FindRecordById("workspaces", id)
	if err != nil {
		b.Fatal(err)
	}
	return ws
}

// analyticsData returns an app holding n generated events in one workspace, rolled up and analysed, and the
// workspace's id: built here, or copied from ANALYTICS_DATA_DIR when an earlier run left a load of n there.
func analyticsData(b *testing.B, n int, end time.Time) (*tests.TestApp, string) {
	keep := os.Getenv("ANALYTICS_DATA_DIR")
	if keep != "" {
		if raw, err := os.ReadFile(filepath.Join(keep, "analytics-bench")); err == nil {
			var size int
			var ws string
			if _, err := fmt.Sscan(string(raw), &size, &ws); err == nil && size == n {
				t0 := time.Now()
				app, err := tests.NewTestApp(keep)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := boot.Register(app, testutil.Config()); err != nil {
					b.Fatal(err)
				}
				b.Logf("%d events: reused %s (copied in %v)", n, keep, time.Since(t0).Round(time.Millisecond))
				// A load kept by an earlier build may lack what the job keeps now (event segments): the job's own
				// code catches up (in this copy: the kept load stays as it was).
				t0, c0 := time.Now(), cpuTime()
				if segs := segmentStats(b, app); segs.rows == 0 {
					// The rollup is done, so the job only builds the segments (RunRollup ends with BuildSegments),
					// with the server's WAL checkpoint loop running as in production.
					stop := platform.StartWALCheckpointer(app, 250*time.Millisecond)
					run, err := analytics.BuildSegments(context.Background(), app)
					stop()
					if err != nil {
						b.Fatal(err)
					}
					b.Logf("%d events: segments built by the rollup job's code in %v (%v CPU; %d write transactions, the longest %v): %s", n,
						time.Since(t0).Round(time.Millisecond), (cpuTime() - c0).Round(time.Millisecond), run.Transactions,
						run.Longest.Round(time.Millisecond), segmentStats(b, app))
					checkpoint(b, app)
				} else {
					b.Logf("%d events: %s", n, segs)
				}
				return app, ws
			}
		}
	}
	app := testutil.NewWorldApp(b)
	ws := testutil.TheWorld(b).Acme
	t0 := time.Now()
	if _, err := analytics.Generate(app, ws, analytics.GenerateOptions{Events: n, Days: 365, End: end, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	gen := time.Since(t0)
	// The job's two parts timed apart: event segments (BuildSegments, which RunRollup ends with), then the
	// rollup proper (RunRollup, whose segment part then finds nothing new), with the server's WAL checkpoint
	// loop running as in production.
	stop := platform.StartWALCheckpointer(app, 250*time.Millisecond)
	defer stop()
	t0, c0 := time.Now(), cpuTime()
	run, err := analytics.BuildSegments(context.Background(), app)
	if err != nil {
		b.Fatal(err)
	}
	segWall, segCPU := time.Since(t0), cpuTime()-c0
	t0 = time.Now()
	if _, err := analytics.RunRollup(context.Background(), app); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d events: generated in %v (%.0f/s, indexes and ANALYZE included), segments built in %v (%v CPU; %d write transactions, the longest %v): %s, rolled up in %v",
		n, gen.Round(time.Millisecond), float64(n)/gen.Seconds(), segWall.Round(time.Millisecond), segCPU.Round(time.Millisecond),
		run.Transactions, run.Longest.Round(time.Millisecond), segmentStats(b, app), time.Since(t0).Round(time.Millisecond))
	stop()
	checkpoint(b, app)
	keepData(b, app, keep, n, ws)
	return app, ws
}

// keepData copies app's data dir to keep (when set) for later runs with n events.
func keepData(b *testing.B, app *tests.TestApp, keep string, n int, ws string) {
	if keep == "" {
		return
	}
	_ = os.RemoveAll(keep)
	if err := os.CopyFS(keep, os.DirFS(app.DataDir())); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keep, "analytics-bench"), []byte(fmt.Sprintf("%d %s\n", n, ws)), 0o644); err != nil {
		b.Fatal(err)
	}
}

// checkpoint moves the WAL into the database, as the server's checkpoint loop (platform.StartWALCheckpointer)
// does every 250 ms, so questions read the database as they would in a running server.
func checkpoint(b *testing.B, app core.App) {
	if _, err := app.NonconcurrentDB().NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute(); err != nil {
		b.Fatal(err)
	}
}

// segStats sums up the event segments table.
type segStats struct{ rows, events, bytes, dbBytes int64 }

func (s segStats) String() string {
	if s.events == 0 {
		return "no event segments"
	}
	return fmt.Sprintf("%d event segments, %d events, %.1f MB of segment data (%.1f bytes/event), database %.0f MB", s.rows, s.events,
		float64(s.bytes)/1e6, float64(s.bytes)/float64(s.events), float64(s.dbBytes)/1e6)
}

func segmentStats(b *testing.B, app core.App) segStats {
	var s segStats
	if err := app.DB().NewQuery("SELECT count(*), coalesce(sum(n), 0), coalesce(sum(length(data)), 0) FROM analytics_segments").
		Row(&s.rows, &s.events, &s.bytes); err != nil {
		b.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db")); err == nil {
		s.dbBytes = fi.Size()
	}
	return s
}
