// Package socialcache is the read-through cache in front of Apify: a chain of layers (memory, then Redis when
// configured, then the database) filled by one fetch per key however many readers miss at once. Entries have a
// freshness deadline (the type's TTL, jittered so entries written together do not expire together) and a
// longer stale deadline: a stale entry is answered at once while one background refresh runs. Not-found
// answers are cached briefly (negative caching). It knows nothing of PocketBase; the database layer and the
// fetch function are supplied by the caller.
package socialcache

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Entry is one cached answer.
type Entry struct {
	Key string `json:"key"`
	// Items are the normalized items (a profile is one item).
	Items    []json.RawMessage `json:"items"`
	NotFound bool              `json:"not_found,omitempty"`
	// Limit is how many items were asked of the source; a request for more needs a new fetch.
	Limit      int       `json:"limit"`
	FetchedAt  time.Time `json:"fetched_at"`
	FreshUntil time.Time `json:"fresh_until"`
	StaleUntil time.Time `json:"stale_until"`
}

// Size approximates the memory an entry holds.
func (e *Entry) Size() int {
	n := 128 + len(e.Key)
	for _, it := range e.Items {
		n += len(it) + 24
	}
	return n
}

// Covers reports whether the entry can answer a request for limit items.
func (e *Entry) Covers(limit int) bool {
	return e.NotFound || limit <= e.Limit || len(e.Items) < e.Limit
}

// Outcome says how a read was answered.
type Outcome string

// Read outcomes, as counted per key and per client.
const (
	Hit   Outcome = "hit"
	Stale Outcome = "stale"
	Miss  Outcome = "miss"
)

// Layer is one level of the cache. Get returns nil, nil when the key is absent.
type Layer interface {
	Name() string
	Get(ctx context.Context, key string) (*Entry, error)
	Set(ctx context.Context, e *Entry) error
	Delete(ctx context.Context, key string) error
}

// Locker lets processes sharing a layer (Redis) agree that only one of them fetches a key at a time.
type Locker interface {
	// TryLock takes the key's fetch lock for ttl; ok is false when another holder has it.
	TryLock(ctx context.Context, key string, ttl time.Duration) (release func(), ok bool, err error)
}

// Request names what to read and how long a fresh answer lasts.
type Request struct {
	Key   string
	Limit int
	TTL   time.Duration
	// Data is handed to the fetch function as it is (which workspace, platform, handle...).
	Data any
}

// Fetcher asks the source. It returns the items (Key and deadlines are set by the cache), or an entry with
// NotFound for a handle that does not exist.
type Fetcher func(ctx context.Context, req Request) (*Entry, error)

// ReadOptions are per-read choices.
type ReadOptions struct {
	// MaxAge, when set, replaces the entry's freshness deadline for this reader (a client tier's freshness):
	// shorter, and older entries are stale and refreshed; longer, and the reader takes older data as a hit
	// without causing a refresh. Not-found entries keep their own deadline.
	MaxAge time.Duration
	// NoFetch serves whatever is cached, however old, and never asks the source (a spent budget).
	NoFetch bool
	// Wait bounds how long a miss waits for the fetch; the fetch itself goes on in the background.
	Wait time.Duration
}

// Errors of Get.
var (
	// ErrPending means the fetch for a miss is still running after ReadOptions.Wait; ask again later.
	ErrPending = errors.New("socialcache: the data is being fetched")
	// ErrNotCached means NoFetch was set and nothing is cached.
	ErrNotCached = errors.New("socialcache: nothing cached and fetching is not allowed")
)

// Options configure a Cache.
type Options struct {
	Layers []Layer
	Fetch  Fetcher
	Locker Locker
	// Jitter shortens each entry's freshness by a random fraction up to Jitter (default 0.1).
	Jitter float64
	// StaleFor is how long past freshness an entry is still answered while it is refreshed (default 7 days).
	StaleFor time.Duration
	// NegativeTTL is how long a not-found answer is kept (default 15 minutes).
	NegativeTTL time.Duration
	// FetchTimeout bounds one fetch (default 10 minutes).
	FetchTimeout time.Duration
	// RetryAfterError keeps a key from being refreshed again this soon after a failed fetch (default 1 minute).
	RetryAfterError time.Duration
	// OnError is told about failed background fetches and layer errors.
	OnError func(key string, err error)
	Now     func() time.Time
}

// Cache reads through the layers and fetches on a miss.
type Cache struct {
	opts Options

	mu       sync.Mutex
	inflight map[string]*call
	failed   map[string]time.Time
	wg       sync.WaitGroup
}

type call struct {
	done  chan struct{}
	entry *Entry
	err   error
}

// New returns a cache over opts.Layers (first = fastest).
func New(opts Options) *Cache {
	if opts.Jitter <= 0 {
		opts.Jitter = 0.1
	}
	if opts.StaleFor <= 0 {
		opts.StaleFor = 7 * 24 * time.Hour
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = 15 * time.Minute
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 10 * time.Minute
	}
	if opts.RetryAfterError <= 0 {
		opts.RetryAfterError = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnError == nil {
		opts.OnError = func(string, error) {}
	}
	return &Cache{opts: opts, inflight: map[string]*call{}, failed: map[string]time.Time{}}
}

// Get answers req from the layers, refreshing stale entries in the background and fetching misses once.
func (c *Cache) Get(ctx context.Context, req Request, ro ReadOptions) (*Entry, Outcome, error) {
	now := c.opts.Now()
	e := c.lookup(ctx, req.Key)
	if e != nil && !e.NotFound && e.Limit > req.Limit {
		req.Limit = e.Limit // a refresh keeps what the entry had, so readers of different sizes do not thrash it
	}
	if e != nil && e.Covers(req.Limit) {
		fresh := now.Before(e.FreshUntil)
		if ro.MaxAge > 0 && !e.NotFound {
			fresh = now.Sub(e.FetchedAt) < ro.MaxAge
		}
		switch {
		case fresh:
			return e, Hit, nil
		case ro.NoFetch:
			return e, Stale, nil
		case now.Before(e.StaleUntil):
			c.Refresh(req)
			return e, Stale, nil
		}
	}
	if ro.NoFetch {
		if e != nil {
			return e, Stale, nil
		}
		return nil, Miss, ErrNotCached
	}
	cl := c.start(req)
	var timeout <-chan time.Time
	if ro.Wait > 0 {
		t := time.NewTimer(ro.Wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-cl.done:
		if cl.err != nil && e != nil {
			return e, Stale, nil // an old answer beats an error
		}
		return cl.entry, Miss, cl.err
	case <-timeout:
		return nil, Miss, ErrPending
	case <-ctx.Done():
		return nil, Miss, ctx.Err()
	}
}

// Peek returns what the layers hold for key without fetching.
func (c *Cache) Peek(ctx context.Context, key string) *Entry { return c.lookup(ctx, key) }

// lookup reads the layers in order and copies a lower layer's entry into the layers above it.
func (c *Cache) lookup(ctx context.Context, key string) *Entry {
	for i, l := range c.opts.Layers {
		e, err := l.Get(ctx, key)
		if err != nil {
			c.opts.OnError(key, err)
			continue
		}
		if e == nil {
			continue
		}
		for _, up := range c.opts.Layers[:i] {
			if err := up.Set(ctx, e); err != nil {
				c.opts.OnError(key, err)
			}
		}
		return e
	}
	return nil
}

// Refresh starts a background fetch of req unless one is running or the last one failed moments ago.
func (c *Cache) Refresh(req Request) {
	c.mu.Lock()
	if until, ok := c.failed[req.Key]; ok && c.opts.Now().Before(until) {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.start(req)
}

// Fetch fetches req now (sharing a fetch already running) and waits for it: for warming a key.
func (c *Cache) Fetch(ctx context.Context, req Request) (*Entry, error) {
	cl := c.start(req)
	select {
	case <-cl.done:
		return cl.entry, cl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Purge removes key from every layer.
func (c *Cache) Purge(ctx context.Context, key string) error {
	var first error
	for _, l := range c.opts.Layers {
		if err := l.Delete(ctx, key); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Inflight is how many fetches are running.
func (c *Cache) Inflight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)
}

// Wait blocks until every background fetch has finished (for shutdown and tests).
func (c *Cache) Wait() { c.wg.Wait() }

// start joins the key's running fetch or starts one, detached from any reader's request.
func (c *Cache) start(req Request) *call {
	c.mu.Lock()
	if cl, ok := c.inflight[req.Key]; ok {
		c.mu.Unlock()
		return cl
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[req.Key] = cl
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.FetchTimeout)
		defer cancel()
		cl.entry, cl.err = c.fetch(ctx, req)
		c.mu.Lock()
		delete(c.inflight, req.Key)
		if cl.err != nil {
			if len(c.failed) > 10_000 {
				c.failed = map[string]time.Time{} // bounded: a pause is an optimisation, not a promise
			}
			c.failed[req.Key] = c.opts.Now().Add(c.opts.RetryAfterError)
			c.opts.OnError(req.Key, cl.err)
		} else {
			delete(c.failed, req.Key)
		}
		c.mu.Unlock()
		close(cl.done)
	}()
	return cl
}

func (c *Cache) fetch(ctx context.Context, req Request) (*Entry, error) {
	if c.opts.Locker != nil {
		began := c.opts.Now()
		for {
			release, ok, err := c.opts.Locker.TryLock(ctx, req.Key, c.opts.FetchTimeout)
			if err != nil {
				c.opts.OnError(req.Key, err) // the shared lock is unavailable: fetch without it
				break
			}
			if ok {
				defer release()
				// The previous holder may have just stored the key; take that rather than run again.
				if e := c.sharedSince(ctx, req.Key, began); e != nil {
					return e, nil
				}
				break
			}
			// Another process is fetching the key: wait for its entry, or for its lock to go (it failed).
			if e, err := c.awaitOther(ctx, req.Key, began); e != nil || err != nil {
				return e, err
			}
		}
	}
	e, err := c.opts.Fetch(ctx, req)
	if err != nil {
		return nil, err
	}
	now := c.opts.Now()
	e.Key = req.Key
	e.Limit = req.Limit
	e.FetchedAt = now
	if e.NotFound {
		e.Items = nil
		e.FreshUntil = now.Add(c.opts.NegativeTTL)
		e.StaleUntil = e.FreshUntil
	} else {
		ttl := time.Duration(float64(req.TTL) * (1 - c.opts.Jitter*rand.Float64()))
		e.FreshUntil = now.Add(ttl)
		e.StaleUntil = e.FreshUntil.Add(c.opts.StaleFor)
	}
	// Store bottom-up, so an upper layer never holds what a lower one lacks.
	for i := len(c.opts.Layers) - 1; i >= 0; i-- {
		if err := c.opts.Layers[i].Set(ctx, e); err != nil {
			c.opts.OnError(req.Key, err)
		}
	}
	return e, nil
}

// awaitOther waits a moment for another process's fetch of key to land in the shared layers; nil, nil means
// it has not (yet).
func (c *Cache) awaitOther(ctx context.Context, key string, began time.Time) (*Entry, error) {
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	return c.sharedSince(ctx, key, began), nil
}

// sharedSince returns the key's entry from the shared layers when it was fetched after began.
func (c *Cache) sharedSince(ctx context.Context, key string, began time.Time) *Entry {
	for i, l := range c.opts.Layers {
		if i == 0 {
			continue // the memory layer is this process's own
		}
		if e, err := l.Get(ctx, key); err == nil && e != nil && !e.FetchedAt.Before(began.Add(-time.Second)) {
			if err := c.opts.Layers[0].Set(ctx, e); err != nil {
				c.opts.OnError(key, err)
			}
			return e
		}
	}
	return nil
}
