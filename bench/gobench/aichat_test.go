package gobench

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/collections"
	fakeai "github.com/playgram/playgram/internal/fakes/openai"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
)

var kbTopics = []string{"opening hours", "parking", "returns", "gift cards", "delivery", "payment", "allergies", "vouchers", "booking", "prices"}

// BenchmarkAIChatReplyOverhead answers Manychat messages (POST /api/v1/ai/{tool}/messages) in a conversation
// of 200 earlier messages, for a tool with 1,000 knowledge entries, against the fake model. It reports the
// time Playgram adds around the model call: the whole request minus the wall time of the model calls
// (authentication, contact, conversation, storing the message, the sentiment job, the knowledge search,
// packing, storing the reply with usage and cost, the Dynamic Block answer), as p50, p90 and p99 of wall
// time with the same percentiles per step (aichat.Service.Trace), and the process CPU time per request (all goroutines: the handler, the reply goroutine, GC and the fake
// model server itself, so an upper bound of Playgram's work that a loaded machine's scheduling cannot
// inflate).
func BenchmarkAIChatReplyOverhead(b *testing.B) {
	app := testutil.NewWorldApp(b)
	defer app.Cleanup()
	w := testutil.TheWorld(b)
	fake := fakeai.New()
	defer fake.Close()
	fake.Default = func(fakeai.Request) fakeai.Reply {
		return fakeai.Reply{Content: "Thanks, we are open from nine to six on weekdays."}
	}
	acme, _ := app.FindRecordById(collections.Workspaces, w.Acme)
	tool := testutil.Tool(b, app, acme, "ai_chat", "Bench AI", map[string]any{"base_url": fake.BaseURL(), "model": "gpt-4o-mini", "context_tokens": 8000.0})
	svc := aichat.Of(app)
	svc.SetRateLimits(1<<30, 1<<30)
	var mu sync.Mutex
	var model time.Duration
	svc.OnReply = func(_ *aichat.Prepared, out *aichat.Outcome) { mu.Lock(); model = out.ModelTime; mu.Unlock() }
	steps := map[string]time.Duration{}
	svc.Trace = func(step string, d time.Duration) { mu.Lock(); steps[step] += d; mu.Unlock() }

	kb, _ := app.FindCollectionByNameOrId(collections.AIKnowledge)
	err := app.RunInTransaction(func(tx core.App) error {
		for i := 0; i < 1000; i++ {
			r := core.NewRecord(kb)
			r.Set("workspace", w.Acme)
			r.Set("tool", tool.Id)
			topic := kbTopics[i%len(kbTopics)]
			r.Set("title", fmt.Sprintf("%s #%d", topic, i))
			r.Set("content", fmt.Sprintf("Entry %d about %s: %s", i, topic, strings.Repeat("details that customers often ask about ", 6)))
			if err := tx.Save(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	h := testutil.Handler(b, app)
	key := testutil.Bearer(w.ManychatKey)
	ask := func(text string) {
		res := testutil.Do(h, "POST", "/api/v1/ai/"+tool.Id+"/messages", fmt.Sprintf(`{"subscriber_id":"90001","text":%q}`, text), key)
		if res.Status != 200 || !strings.Contains(res.Body, "nine to six") {
			b.Fatalf("%d %s", res.Status, res.Body)
		}
	}
	for i := 0; i < 100; i++ { // 200 messages of history
		ask(fmt.Sprintf("Earlier question %d about %s and a few more words", i, kbTopics[i%len(kbTopics)]))
	}
	// The server checkpoints the WAL in the background (platform.StartWALCheckpointer, started with it);
	// AICHAT_BENCH_CHECKPOINTER=off leaves it to SQLite's inline checkpoints for a comparison.
	if os.Getenv("AICHAT_BENCH_CHECKPOINTER") != "off" {
		defer platform.StartWALCheckpointer(app, platform.CheckpointEvery)()
	}
	// walCycle reads the WAL header's checkpoint sequence, which changes when a write restarts the WAL.
	walCycle := func() string {
		f, err := os.Open(filepath.Join(app.DataDir(), "data.db-wal"))
		if err != nil {
			return ""
		}
		defer f.Close()
		buf := make([]byte, 16)
		_, _ = f.ReadAt(buf, 0)
		return string(buf[12:16])
	}
	added := make([]time.Duration, 0, b.N)
	cpus := make([]time.Duration, 0, b.N)
	perStep := map[string][]time.Duration{}
	var restartTurns []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mu.Lock()
		clear(steps)
		mu.Unlock()
		cycle := walCycle()
		start, cpu0 := time.Now(), cpuTime()
		ask("What are your opening hours and is there parking? " + kbTopics[i%len(kbTopics)])
		total := time.Since(start)
		cpus = append(cpus, cpuTime()-cpu0)
		mu.Lock()
		added = append(added, total-model)
		rest := total - model
		for k, v := range steps {
			perStep[k] = append(perStep[k], v)
			if k != "knowledge search" && k != "history read" { // both inside "context reads"
				rest -= v
			}
		}
		perStep["request (auth, tool, contact, answer)"] = append(perStep["request (auth, tool, contact, answer)"], rest)
		mu.Unlock()
		if walCycle() != cycle {
			restartTurns = append(restartTurns, total-model)
		}
		// keep the conversation at 200 earlier messages, deleting through the record pipeline (as any deletion
		// other than Playgram's own SQL) so that the history cache hears of it
		b.StopTimer()
		newest, err := app.FindRecordsByFilter(collections.AIMessages, "", "-created", 2, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range newest {
			if err := app.Delete(m); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	if b.N == 1 {
		return // the probe run: its numbers say nothing
	}
	b.Logf("added ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f", percentileMs(added, .5), percentileMs(added, .9), percentileMs(added, .99), percentileMs(added, 1))
	names := slices.Sorted(maps.Keys(perStep))
	for _, k := range names {
		v := perStep[k]
		b.Logf("  %-38s p50 %.3f  p90 %.3f  p99 %.3f", k, percentileMs(v, .5), percentileMs(v, .9), percentileMs(v, .99))
	}
	b.Logf("turns whose writes restarted the WAL: %d, added p50 %.3f ms", len(restartTurns), percentileMs(restartTurns, .5))
	b.ReportMetric(percentileMs(added, 0.50), "p50-added-ms")
	b.ReportMetric(percentileMs(added, 0.90), "p90-added-ms")
	b.ReportMetric(percentileMs(added, 0.99), "p99-added-ms")
	b.ReportMetric(percentileMs(cpus, 0.50), "p50-cpu-ms")
	b.ReportMetric(percentileMs(cpus, 0.99), "p99-cpu-ms")
}

func percentileMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
}
