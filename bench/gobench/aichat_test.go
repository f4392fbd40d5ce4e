package gobench

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/collections"
	fakeai "github.com/playgram/playgram/internal/fakes/openai"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/pocketbase/core"
)

var kbTopics = []string{"opening hours", "parking", "returns", "gift cards", "delivery", "payment", "allergies", "vouchers", "booking", "prices"}

// BenchmarkAIChatReplyOverhead answers Manychat messages (POST /api/v1/ai/{tool}/messages) in a conversation
// of 200 earlier messages, for a tool with 1,000 knowledge entries, against the fake model. It reports the
// time Playgram adds around the model call: the whole request minus the wall time of the model calls
// (authentication, contact, conversation, storing the message, the sentiment job, the knowledge search,
// packing, storing the reply with usage and cost, the Dynamic Block answer), as p50 and p99 of wall time,
// and the process CPU time per request (all goroutines: the handler, the reply goroutine, GC and the fake
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
	overheads := make([]time.Duration, 0, b.N)
	cpus := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start, cpu0 := time.Now(), cpuTime()
		ask("What are your opening hours and is there parking? " + kbTopics[i%len(kbTopics)])
		total := time.Since(start)
		cpus = append(cpus, cpuTime()-cpu0)
		mu.Lock()
		overheads = append(overheads, total-model)
		mu.Unlock()
		// keep the conversation at 200 earlier messages
		b.StopTimer()
		if _, err := app.NonconcurrentDB().NewQuery("DELETE FROM ai_messages WHERE id IN (SELECT id FROM ai_messages ORDER BY created DESC LIMIT 2)").Execute(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(percentileMs(overheads, 0.50), "p50-added-ms")
	b.ReportMetric(percentileMs(overheads, 0.99), "p99-added-ms")
	b.ReportMetric(percentileMs(cpus, 0.50), "p50-cpu-ms")
	b.ReportMetric(percentileMs(cpus, 0.99), "p99-cpu-ms")
}

func percentileMs(d []time.Duration, p float64) float64 {
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
}
