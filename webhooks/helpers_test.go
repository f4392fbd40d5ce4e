package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func TestMain(m *testing.M) { os.Exit(testutil.Run(m)) }

// world is a test app with the fixtures, its router and a fresh engine with the given options.
type world struct {
	t      *testing.T
	app    *tests.TestApp
	h      http.Handler
	w      testutil.World
	engine *webhooks.Engine
}

func newWorld(t *testing.T, opts webhooks.Options) *world {
	t.Helper()
	app := testutil.NewWorldApp(t)
	t.Cleanup(app.Cleanup)
	key, _, err := secretbox.LoadOrCreateKey(testutil.SecretKey, app.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := &platform.Services{Config: testutil.Config(), Box: box}
	engine, err := webhooks.New(app, svc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, app: app, h: testutil.Handler(t, app), w: testutil.TheWorld(t), engine: engine}
}

// endpoint creates an endpoint through the API as an admin of the workspace and returns its id and secret.
func (w *world) endpoint(headers map[string]string, body map[string]any) (id, secret string) {
	w.t.Helper()
	raw, _ := json.Marshal(body)
	res := testutil.Do(w.h, "POST", "/api/v1/webhooks/endpoints", string(raw), headers)
	if res.Status != 201 {
		w.t.Fatalf("create endpoint %s: %d %s", raw, res.Status, res.Body)
	}
	var out map[string]any
	_ = json.Unmarshal([]byte(res.Body), &out)
	return out["id"].(string), out["secret"].(string)
}

func (w *world) emit(ws, typ string, data any) *core.Record {
	w.t.Helper()
	rec, err := platform.Emit(w.app, platform.Event{Workspace: ws, Type: typ, Data: data})
	if err != nil {
		w.t.Fatal(err)
	}
	return rec
}

func (w *world) runDue() int {
	w.t.Helper()
	n, err := w.engine.RunDue(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) exec(sql string, params map[string]any) {
	w.t.Helper()
	if _, err := w.app.NonconcurrentDB().NewQuery(sql).Bind(params).Execute(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) deliveries(endpoint string) []*core.Record {
	w.t.Helper()
	recs, err := w.app.FindRecordsByFilter("webhook_deliveries", "endpoint = {:ep}", "event_ts,id", 0, 0, map[string]any{"ep": endpoint})
	if err != nil {
		w.t.Fatal(err)
	}
	return recs
}

func (w *world) attempts(delivery string) []*core.Record {
	w.t.Helper()
	recs, err := w.app.FindRecordsByFilter("webhook_attempts", "delivery = {:d}", "attempt", 0, 0, map[string]any{"d": delivery})
	if err != nil {
		w.t.Fatal(err)
	}
	return recs
}

// hit is one request a receiver got.
type hit struct {
	Path      string
	ID, TS    string
	Signature string
	Header    http.Header
	Body      []byte
	At        time.Time
}

func (h hit) payload(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.Body, &m); err != nil {
		t.Fatalf("payload is not JSON: %s", h.Body)
	}
	return m
}

// receiver is an httptest server on 127.0.0.1 that records every request and answers with reply.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	hits    []hit
	reply   func(n int, r *http.Request, w http.ResponseWriter)
	inNow   atomic.Int32
	inMax   atomic.Int32
	latency atomic.Int64 // a delay before answering, in nanoseconds
}

func newReceiver(t *testing.T, reply func(n int, r *http.Request, w http.ResponseWriter)) *receiver {
	rc := &receiver{reply: reply}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := rc.inNow.Add(1)
		defer rc.inNow.Add(-1)
		for {
			m := rc.inMax.Load()
			if cur <= m || rc.inMax.CompareAndSwap(m, cur) {
				break
			}
		}
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.hits)
		rc.hits = append(rc.hits, hit{Path: r.URL.Path, ID: r.Header.Get("webhook-id"), TS: r.Header.Get("webhook-timestamp"),
			Signature: r.Header.Get("webhook-signature"), Header: r.Header.Clone(), Body: body, At: time.Now()})
		rc.mu.Unlock()
		if d := time.Duration(rc.latency.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if rc.reply != nil {
			rc.reply(n, r, w)
			return
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got(path string) []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []hit
	for _, h := range rc.hits {
		if path == "" || h.Path == path {
			out = append(out, h)
		}
	}
	return out
}

// verify checks a hit's signature with Playgram's verifier and with the official Standard Webhooks library.
func verify(t *testing.T, h hit, secret string) {
	t.Helper()
	s, err := whsig.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := whsig.Verify(s, h.Header, h.Body, time.Now(), 0); err != nil {
		t.Errorf("whsig.Verify %s: %v", h.ID, err)
	}
	official, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := official.Verify(h.Body, h.Header); err != nil {
		t.Errorf("standardwebhooks.Verify %s: %v", h.ID, err)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// newEngineFor replaces the world's engine with a new one, as a restarted process would have.
func newEngineFor(t *testing.T, w *world, opts webhooks.Options) *webhooks.Engine {
	t.Helper()
	key, _, _ := secretbox.LoadOrCreateKey(testutil.SecretKey, w.app.DataDir())
	box, _ := secretbox.New(key)
	e, err := webhooks.New(w.app, &platform.Services{Config: testutil.Config(), Box: box}, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.engine = e
	return e
}

func dbxStatus(s string) dbx.Expression { return dbx.HashExp{"status": s} }
