package gobench

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// crmBench is an app with one workspace, a manychat key and a viewer.
type crmBench struct {
	app    core.App
	h      http.Handler
	ws     *core.Record
	key    map[string]string
	viewer map[string]string
}

func newCRMBench(b *testing.B) *crmBench {
	app, _ := testutil.NewApp(b)
	ws := testutil.Workspace(b, app, "Bench Shop")
	secret, _ := testutil.APIKey(b, app, ws, "manychat")
	v := testutil.Member(b, app, ws, collections.RoleViewer)
	return &crmBench{app: app, h: testutil.Handler(b, app), ws: ws, key: testutil.Bearer(secret), viewer: testutil.Auth(b, v)}
}

// latencies records per-request durations and reports req/s and p50/p99 in milliseconds.
type latencies struct {
	mu    sync.Mutex
	d     []time.Duration
	start time.Time
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	elapsed := time.Since(l.start)
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(l.d[int(float64(len(l.d)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}

// runAt runs b.N calls of do from exactly `concurrency` goroutines (closed loop) and reports req/s, latency and
// the process's CPU time per request (cpu_ms/op: the figure that holds on a shared machine).
func runAt(b *testing.B, concurrency int, do func(i int64) (int, string), want int) {
	var n atomic.Int64
	lat := &latencies{start: time.Now()}
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	var failed atomic.Value
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := n.Add(1)
				if i > int64(b.N) || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				status, body := do(i)
				lat.add(time.Since(t0))
				if status != want {
					failed.Store(fmt.Sprintf("status %d: %s", status, body))
				}
			}
		}()
	}
	finish(b, &wg, &failed, cpu0, lat)
	b.ReportMetric(float64(concurrency), "clients")
}

// finish waits for the calls, fails the benchmark on a wrong answer and reports CPU per call and latency.
func finish(b *testing.B, wg *sync.WaitGroup, failed *atomic.Value, cpu0 time.Duration, lat *latencies) {
	wg.Wait()
	b.StopTimer()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu_ms/op")
	lat.report(b)
}

func (c *crmBench) post(url, body string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.key {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// BenchmarkContactUpsert pushes Full Contact Data with 10 tags and 20 custom fields at concurrency 50, every
// push newer than the last one of its subscriber: "new" creates a contact per push, "changed" updates one of
// 500 contacts with a changed field value (events, index rows), "repeat" re-sends unchanged data (only
// Manychat's last_interaction moves).
func BenchmarkContactUpsert(b *testing.B) {
	var tags []string
	for i := range 10 {
		tags = append(tags, fmt.Sprintf(`{"id":%d,"name":"tag-%d"}`, i+1, i))
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, mode := range []string{"new", "changed", "repeat"} {
		b.Run(mode, func(b *testing.B) {
			c := newCRMBench(b)
			runAt(b, 50, func(i int64) (int, string) {
				var fields []string
				for f := range 20 {
					v := fmt.Sprintf(`"value %d"`, f)
					if f == 0 && mode == "changed" {
						v = fmt.Sprint(i)
					}
					fields = append(fields, fmt.Sprintf(`"field_%d":%s`, f, v))
				}
				sid := 1_000_000 + i
				if mode != "new" {
					sid = 1_000_000 + i%500
				}
				body := fmt.Sprintf(`{"id":"%d","first_name":"Ana","last_name":"Souza %d","ig_username":"ana%d","email":"ana%d@example.com","phone":"+5511%08d",`+
					`"last_interaction":"%s","tags":[%s],"custom_fields":{%s}}`, sid, sid, sid, sid, sid,
					base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), strings.Join(tags, ","), strings.Join(fields, ","))
				return c.post("/api/v1/manychat/contacts", body)
			}, 200)
		})
	}
}

// BenchmarkMessagesWith200Rules answers DMs against 200 enabled rules (keywords, contains, regexes, some with
// conditions) at concurrency 50.
func BenchmarkMessagesWith200Rules(b *testing.B) {
	c := newCRMBench(b)
	coll, _ := c.app.FindCollectionByNameOrId(collections.AutoReplyRules)
	for i := range 200 {
		r := core.NewRecord(coll)
		r.Set("workspace", c.ws.Id)
		r.Set("name", fmt.Sprintf("rule %d", i))
		switch i % 4 {
		case 0:
			r.Set("match", "keyword")
			r.Set("pattern", fmt.Sprintf("produto%d, item%d", i, i))
		case 1:
			r.Set("match", "contains")
			r.Set("pattern", fmt.Sprintf("quero o modelo %d", i))
		case 2:
			r.Set("match", "regex")
			r.Set("pattern", fmt.Sprintf(`pedido\s*#?%d\d{3}`, i))
		case 3:
			r.Set("match", "contains")
			r.Set("pattern", fmt.Sprintf("preço %d", i))
			r.Set("conditions", map[string]any{"tags_none": []string{"blocked"}})
		}
		r.Set("priority", i%10)
		r.Set("enabled", true)
		r.Set("actions", []map[string]any{{"type": "reply", "text": fmt.Sprintf("Olá {first_name}, regra %d", i)}})
		if err := c.app.Save(r); err != nil {
			b.Fatal(err)
		}
	}
	texts := []string{"Qual o preço 150?", "quero o MODELO 37 azul", "meu pedido #1421234 não chegou", "bom dia!", "tem o produto88?", "obrigado"}
	var n atomic.Int64
	dm := func(int64) (int, string) {
		i := n.Add(1)
		return c.post("/api/v1/manychat/messages", fmt.Sprintf(`{"subscriber_id":"%d","text":"%s"}`, 2_000_000+i%1000, texts[i%int64(len(texts))]))
	}
	for _, conc := range []int{1, 4, 50} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) { runAt(b, conc, dm, 200) })
	}
	// The target's own shape: DMs arriving at a fixed 1,000 per second (open loop), each timed from its
	// scheduled arrival, so a slow answer cannot hold back the next arrivals.
	b.Run("rate1000", func(b *testing.B) { runAtRate(b, 1000, dm, 200) })
}

// runAtRate starts b.N calls of do at rate per second, each in its own goroutine, and reports the achieved
// rate and the latency from each call's scheduled start.
func runAtRate(b *testing.B, rate int, do func(i int64) (int, string), want int) {
	lat := &latencies{start: time.Now()}
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	var failed atomic.Value
	interval := time.Second / time.Duration(rate)
	for i := range int64(b.N) {
		at := lat.start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := do(i)
			lat.add(time.Since(at))
			if status != want {
				failed.Store(fmt.Sprintf("status %d: %s", status, body))
			}
		}()
	}
	finish(b, &wg, &failed, cpu0, lat)
}

var firstNames = []string{"Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Isabela", "João", "Larissa", "Mateus", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Tiago", "Vitória", "José"}
var lastNames = []string{"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Müller", "Schmidt", "García", "Álvarez"}

// seedContacts bulk-inserts n contacts and their search rows (the same rows the contacts hooks write) in one
// transaction, which is far faster than n record saves.
func seedContacts(b *testing.B, app core.App, ws string, n int) {
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000Z")
	err := app.RunInTransaction(func(tx core.App) error {
		db := tx.NonconcurrentDB()
		// The workspace's rowid range in contacts_fts (as crm.IndexContact allocates it).
		if _, err := db.NewQuery("INSERT OR IGNORE INTO contacts_fts_ws (workspace) VALUES ({:ws})").Bind(dbx.Params{"ws": ws}).Execute(); err != nil {
			return err
		}
		var lo int64
		if err := db.NewQuery("SELECT n << 32 FROM contacts_fts_ws WHERE workspace = {:ws}").Bind(dbx.Params{"ws": ws}).Row(&lo); err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range n {
			first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
			name := first + " " + last
			id := security.RandomStringWithAlphabet(15, core.DefaultIdAlphabet)
			ig := strings.ToLower(fmt.Sprintf("%s.%s%d", first, last, i))
			email := strings.ToLower(fmt.Sprintf("%s%d@example.com", first, i))
			phone := fmt.Sprintf("+55 11 9%04d-%04d", rng.IntN(10000), i%10000)
			_, err := db.NewQuery(`INSERT INTO contacts (id, workspace, subscriber_id, name, first_name, last_name, ig_username, email, phone,
				tags, custom_fields, local_tags, last_interaction_at, engagement_score, source, created, updated)
				VALUES ({:id}, {:ws}, {:sid}, {:name}, {:first}, {:last}, {:ig}, {:email}, {:phone}, '[]', '{}', '[]', {:now}, {:score}, 'manychat', {:now}, {:now})`).
				Bind(dbx.Params{"id": id, "ws": ws, "sid": fmt.Sprint(3_000_000 + i), "name": name, "first": first, "last": last, "ig": ig,
					"email": email, "phone": phone, "now": now, "score": rng.Float64() * 50}).Execute()
			if err != nil {
				return err
			}
			rid := lo + int64(i) + 1
			if _, err := db.NewQuery("INSERT INTO contacts_fts_map (rid, contact) VALUES ({:rid}, {:id})").Bind(dbx.Params{"rid": rid, "id": id}).Execute(); err != nil {
				return err
			}
			_, err = db.NewQuery(`INSERT INTO contacts_fts (rowid, name, ig_username, email, phone, phone_digits)
				VALUES ({:rid}, {:name}, {:ig}, {:email}, {:phone}, {:digits})`).
				Bind(dbx.Params{"rid": rid, "name": name + " " + first + " " + last, "ig": ig, "email": email, "phone": phone,
					"digits": strings.Map(func(r rune) rune {
						if r >= '0' && r <= '9' {
							return r
						}
						return -1
					}, phone)}).Execute()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := app.NonconcurrentDB().NewQuery("ANALYZE").Execute(); err != nil {
		b.Fatal(err)
	}
}

// ftsContacts is the size of the searched workspace.
var ftsContacts = 100_000

// BenchmarkContactSearchFTS runs full-text searches (names with and without accents, partial words, e-mail and
// phone prefixes; first page of 50, with the total) over 100,000 contacts of one workspace.
func BenchmarkContactSearchFTS(b *testing.B) {
	c := newCRMBench(b)
	seedContacts(b, c.app, c.ws.Id, ftsContacts)
	// Default order (newest first, straight from the index) and bm25 relevance, which scores every match.
	plain := []string{"jose", "maria+silva", "alvarez", "gabi", "muller", "joao+santos", "larissa12", "9876", "ana+lima", "souza", "tiago"}
	relevance := []string{"souza&sort=relevance", "ana+lima&sort=relevance", "gabriela&sort=relevance"}
	for _, set := range []struct {
		name    string
		queries []string
		conc    int
	}{{"c1", plain, 1}, {"c4", plain, 4}, {"relevance-c1", relevance, 1}} {
		b.Run(set.name, func(b *testing.B) {
			runAt(b, set.conc, func(i int64) (int, string) {
				req := httptest.NewRequest(http.MethodGet, "/api/v1/contacts?q="+set.queries[i%int64(len(set.queries))], nil)
				for k, v := range c.viewer {
					req.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, req)
				return rec.Code, rec.Body.String()
			}, 200)
		})
	}
}
