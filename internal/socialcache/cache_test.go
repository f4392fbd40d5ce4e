package socialcache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/quota"
	"github.com/playgram/playgram/internal/socialcache"
	"github.com/playgram/playgram/internal/socialcache/redistest"
	"github.com/redis/go-redis/v9"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// source counts fetches per key and can be slowed down or told a key does not exist.
type source struct {
	mu       sync.Mutex
	runs     map[string]int
	active   map[string]int
	maxAct   int
	delay    time.Duration
	missing  map[string]bool
	failNext atomic.Int32
}

func newSource() *source {
	return &source{runs: map[string]int{}, active: map[string]int{}, missing: map[string]bool{}}
}

func (s *source) fetch(ctx context.Context, req socialcache.Request) (*socialcache.Entry, error) {
	s.mu.Lock()
	s.runs[req.Key]++
	s.active[req.Key]++
	s.maxAct = max(s.maxAct, s.active[req.Key])
	n := s.runs[req.Key]
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.active[req.Key]--; s.mu.Unlock() }()
	time.Sleep(s.delay)
	if s.failNext.Load() > 0 {
		s.failNext.Add(-1)
		return nil, errors.New("apify is down")
	}
	if s.missing[req.Key] {
		return &socialcache.Entry{NotFound: true}, nil
	}
	items := make([]json.RawMessage, req.Limit)
	for i := range items {
		items[i] = json.RawMessage(fmt.Sprintf(`{"i":%d,"run":%d}`, i, n))
	}
	return &socialcache.Entry{Items: items}, nil
}

func (s *source) count(key string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.runs[key] }

func req(key string) socialcache.Request {
	return socialcache.Request{Key: key, Limit: 3, TTL: time.Hour}
}

func TestFiftyConcurrentMissesMakeOneFetch(t *testing.T) {
	src := newSource()
	src.delay = 100 * time.Millisecond
	c := socialcache.New(socialcache.Options{Layers: []socialcache.Layer{socialcache.NewMemory(1 << 20)}, Fetch: src.fetch})
	var wg sync.WaitGroup
	var misses, errs atomic.Int32
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, out, err := c.Get(context.Background(), req("ig:natgeo:posts"), socialcache.ReadOptions{Wait: 5 * time.Second})
			if err != nil || len(e.Items) != 3 {
				errs.Add(1)
			}
			if out == socialcache.Miss {
				misses.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := src.count("ig:natgeo:posts"); n != 1 || errs.Load() != 0 {
		t.Fatalf("fetches = %d, errors = %d", n, errs.Load())
	}
	if _, out, _ := c.Get(context.Background(), req("ig:natgeo:posts"), socialcache.ReadOptions{}); out != socialcache.Hit {
		t.Fatalf("then a hit, got %s", out)
	}
}

func TestStaleIsServedAtOnceWhileOneRefreshRuns(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := newSource()
	c := socialcache.New(socialcache.Options{Layers: []socialcache.Layer{socialcache.NewMemory(1 << 20)}, Fetch: src.fetch, Now: clk.Now, Jitter: 0.2})
	ctx := context.Background()
	e, _, err := c.Get(ctx, req("k"), socialcache.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Jitter shortens freshness by up to 20%, never lengthens it.
	ttl := e.FreshUntil.Sub(e.FetchedAt)
	if ttl > time.Hour || ttl < 48*time.Minute {
		t.Fatalf("jittered TTL = %v", ttl)
	}
	clk.Add(time.Hour + time.Second)
	src.delay = 300 * time.Millisecond
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			e, out, err := c.Get(ctx, req("k"), socialcache.ReadOptions{})
			if err != nil || out != socialcache.Stale || string(e.Items[0]) != `{"i":0,"run":1}` {
				t.Errorf("stale read: %v %s %v", err, out, e)
			}
			if time.Since(began) > 100*time.Millisecond {
				t.Errorf("a stale reader waited %v for the refresh", time.Since(began))
			}
		}()
	}
	wg.Wait()
	c.Wait()
	if n := src.count("k"); n != 2 {
		t.Fatalf("one refresh expected, fetches = %d", n)
	}
	e, out, _ := c.Get(ctx, req("k"), socialcache.ReadOptions{})
	if out != socialcache.Hit || string(e.Items[0]) != `{"i":0,"run":2}` {
		t.Fatalf("after the refresh: %s %s", out, e.Items[0])
	}
	// A reader with a stricter freshness (a client tier) sees the entry as stale.
	clk.Add(10 * time.Minute)
	if _, out, _ := c.Get(ctx, req("k"), socialcache.ReadOptions{MaxAge: 5 * time.Minute}); out != socialcache.Stale {
		t.Fatalf("max age: %s", out)
	}
	c.Wait()
	// A reader content with older data (a free tier) takes an entry past its deadline as a hit, and causes no run.
	clk.Add(2 * time.Hour)
	if _, out, _ := c.Get(ctx, req("k"), socialcache.ReadOptions{MaxAge: 24 * time.Hour}); out != socialcache.Hit {
		t.Fatalf("lenient max age: %s", out)
	}
	c.Wait()
	if n := src.count("k"); n != 3 {
		t.Fatalf("runs = %d", n)
	}
	// Past the stale window the entry is a miss again.
	clk.Add(8 * 24 * time.Hour)
	if _, out, _ := c.Get(ctx, req("k"), socialcache.ReadOptions{}); out != socialcache.Miss {
		t.Fatalf("expired: %s", out)
	}
}

func TestNegativeCachingAndFailures(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := newSource()
	src.missing["nope"] = true
	c := socialcache.New(socialcache.Options{Layers: []socialcache.Layer{socialcache.NewMemory(1 << 20)}, Fetch: src.fetch, Now: clk.Now, NegativeTTL: 10 * time.Minute})
	ctx := context.Background()
	for range 5 {
		e, _, err := c.Get(ctx, req("nope"), socialcache.ReadOptions{})
		if err != nil || !e.NotFound {
			t.Fatalf("not found: %v %v", e, err)
		}
	}
	if src.count("nope") != 1 {
		t.Fatalf("a missing handle is asked once while negatively cached: %d", src.count("nope"))
	}
	clk.Add(11 * time.Minute)
	if _, out, _ := c.Get(ctx, req("nope"), socialcache.ReadOptions{}); out != socialcache.Miss || src.count("nope") != 2 {
		t.Fatalf("negative entries expire without a stale window: %s %d", out, src.count("nope"))
	}

	src.failNext.Store(1)
	if _, _, err := c.Get(ctx, req("down"), socialcache.ReadOptions{}); err == nil {
		t.Fatal("a failed fetch on a miss is an error")
	}
	// Nothing cached and fetching forbidden (a spent budget).
	if _, _, err := c.Get(ctx, req("other"), socialcache.ReadOptions{NoFetch: true}); !errors.Is(err, socialcache.ErrNotCached) {
		t.Fatalf("no fetch: %v", err)
	}
	// A slow miss answers ErrPending and the fetch still fills the cache.
	src.delay = 200 * time.Millisecond
	if _, _, err := c.Get(ctx, req("slow"), socialcache.ReadOptions{Wait: 20 * time.Millisecond}); !errors.Is(err, socialcache.ErrPending) {
		t.Fatalf("pending: %v", err)
	}
	c.Wait()
	if _, out, err := c.Get(ctx, req("slow"), socialcache.ReadOptions{}); err != nil || out != socialcache.Hit {
		t.Fatalf("after pending: %s %v", out, err)
	}
	// Asking for more items than were fetched fetches again.
	big := req("slow")
	big.Limit = 10
	if e, out, _ := c.Get(ctx, big, socialcache.ReadOptions{}); out != socialcache.Miss || len(e.Items) != 10 {
		t.Fatalf("bigger limit: %s", out)
	}
}

// sliceLayer is a map layer standing for the database.
type mapLayer struct {
	mu sync.Mutex
	m  map[string]*socialcache.Entry
}

func (l *mapLayer) Name() string { return "db" }
func (l *mapLayer) Get(_ context.Context, k string) (*socialcache.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[k], nil
}
func (l *mapLayer) Set(_ context.Context, e *socialcache.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[e.Key] = e
	return nil
}
func (l *mapLayer) Delete(_ context.Context, k string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, k)
	return nil
}

func TestLayersFillUpwardsAndPurgeAll(t *testing.T) {
	url := redistest.Start(t)
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	src := newSource()
	db := &mapLayer{m: map[string]*socialcache.Entry{}}
	mem := socialcache.NewMemory(1 << 20)
	rl := socialcache.NewRedis(rdb, "t:")
	c := socialcache.New(socialcache.Options{Layers: []socialcache.Layer{mem, rl, db}, Fetch: src.fetch, Locker: rl})
	ctx := context.Background()
	if _, out, _ := c.Get(ctx, req("k"), socialcache.ReadOptions{}); out != socialcache.Miss {
		t.Fatal(out)
	}
	for _, l := range []socialcache.Layer{mem, rl, db} {
		if e, _ := l.Get(ctx, "k"); e == nil {
			t.Fatalf("layer %s was not filled", l.Name())
		}
	}
	// A second process (empty memory) finds the entry in Redis without fetching.
	mem2 := socialcache.NewMemory(1 << 20)
	c2 := socialcache.New(socialcache.Options{Layers: []socialcache.Layer{mem2, rl, db}, Fetch: src.fetch, Locker: rl})
	if _, out, _ := c2.Get(ctx, req("k"), socialcache.ReadOptions{}); out != socialcache.Hit || !mem2.Has("k") {
		t.Fatalf("redis hit: %s", out)
	}
	// With Redis gone (flushed), the database layer answers and refills both.
	rdb.FlushAll(ctx)
	mem2.Delete(ctx, "k")
	if _, out, _ := c2.Get(ctx, req("k"), socialcache.ReadOptions{}); out != socialcache.Hit || src.count("k") != 1 {
		t.Fatalf("db hit: %s, fetches %d", out, src.count("k"))
	}
	if e, _ := rl.Get(ctx, "k"); e == nil {
		t.Fatal("redis not refilled from the database layer")
	}
	if err := c.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []socialcache.Layer{mem, rl, db} {
		if e, _ := l.Get(ctx, "k"); e != nil {
			t.Fatalf("layer %s kept a purged key", l.Name())
		}
	}

	// Two processes missing the same key at once: the Redis lock lets one fetch; the other waits for it.
	src.delay = 200 * time.Millisecond
	var wg sync.WaitGroup
	for _, cc := range []*socialcache.Cache{c, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e, _, err := cc.Get(ctx, req("shared"), socialcache.ReadOptions{}); err != nil || len(e.Items) != 3 {
				t.Errorf("shared miss: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := src.count("shared"); n != 1 {
		t.Fatalf("two processes fetched %d times", n)
	}

	// A holder that goes away without storing anything (a crashed or failed fetch) does not block the key.
	release, ok, err := rl.TryLock(ctx, "held", time.Minute)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	time.AfterFunc(150*time.Millisecond, release)
	src.delay = 0
	if e, _, err := c.Get(ctx, req("held"), socialcache.ReadOptions{Wait: 5 * time.Second}); err != nil || len(e.Items) != 3 || src.count("held") != 1 {
		t.Fatalf("after the holder left: %v %d", err, src.count("held"))
	}

	// Quotas shared through Redis count across "processes".
	q1, q2 := quota.NewRedis(rdb, "q:"), quota.NewRedis(rdb, "q:")
	now := time.Now()
	for i := range 3 {
		q := q1
		if i%2 == 1 {
			q = q2
		}
		r, err := q.Take(ctx, "client", 2, time.Minute, now)
		if err != nil || r.Allowed != (i < 2) {
			t.Fatalf("take %d: %+v %v", i, r, err)
		}
	}
}

func TestMemoryIsBounded(t *testing.T) {
	mem := socialcache.NewMemory(4096)
	for i := range 100 {
		mem.Set(context.Background(), &socialcache.Entry{Key: fmt.Sprint(i), Items: []json.RawMessage{make([]byte, 200)}})
	}
	if mem.Len() >= 20 || !mem.Has("99") || mem.Has("0") {
		t.Fatalf("memory holds %d entries", mem.Len())
	}
}

func TestMemoryQuotaWindows(t *testing.T) {
	q := quota.NewMemory()
	now := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
	for i := range 5 {
		r, _ := q.Take(context.Background(), "c", 3, time.Minute, now)
		if r.Allowed != (i < 3) || r.Reset != 30*time.Second || r.Remaining != max(3-(i+1), 0) {
			t.Fatalf("take %d: %+v", i, r)
		}
	}
	if r, _ := q.Take(context.Background(), "c", 3, time.Minute, now.Add(30*time.Second)); !r.Allowed {
		t.Fatal("a new minute starts over")
	}
}

func TestRefreshKeepsTheEntrysSize(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := newSource()
	c := socialcache.New(socialcache.Options{Layers: []socialcache.Layer{socialcache.NewMemory(1 << 20)}, Fetch: src.fetch, Now: clk.Now})
	big := req("k")
	big.Limit = 10
	if _, _, err := c.Get(context.Background(), big, socialcache.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	small := req("k")
	small.Limit = 2
	if _, out, _ := c.Get(context.Background(), small, socialcache.ReadOptions{}); out != socialcache.Stale {
		t.Fatal(out)
	}
	c.Wait()
	if e, out, _ := c.Get(context.Background(), big, socialcache.ReadOptions{}); out != socialcache.Hit || len(e.Items) != 10 || src.count("k") != 2 {
		t.Fatalf("a small reader's refresh shrank the entry: %s %d", out, len(e.Items))
	}
}
