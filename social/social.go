// Package social is the social data service: Instagram posts and profiles, TikTok videos and profiles and
// Google reviews, fetched with Apify (internal/apify), normalized to one shape per type, and answered from a
// layered cache (internal/socialcache: memory → Redis when REDIS_URL is set → the social_cache collection →
// Apify). It also meters API clients by tier (internal/quota), records usage and run costs, enforces a
// workspace's monthly budget, signs media proxy tokens and serves category feeds for websites.
package social

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apify"
	"github.com/playgram/playgram/internal/quota"
	"github.com/playgram/playgram/internal/slug"
	"github.com/playgram/playgram/internal/socialcache"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	"github.com/redis/go-redis/v9"
)

// StoreKey is where Register keeps the app's Service in app.Store().
const StoreKey = "playgram.social"

// KindWarm is the job that fetches a key on an admin's request.
const KindWarm = "social.warm"

// Platforms and the types each answers.
var Types = map[string][]string{
	"instagram": {"posts", "profile"},
	"tiktok":    {"posts", "profile"},
	"google":    {"reviews"},
}

// Service is the social data service of one app.
type Service struct {
	app core.App
	svc *platform.Services

	Cache  *socialcache.Cache
	Memory *socialcache.Memory
	Redis  *redis.Client
	Quota  quota.Counter

	// MissWait is how long a request waits for a miss's Apify run before answering 202 (the run goes on).
	MissWait time.Duration
	// NewApify makes the client for a token; tests shorten its delays.
	NewApify func(token string) *apify.Client
	// ApifyToken is the default token (APIFY_TOKEN) used when a workspace has no apify_token secret.
	ApifyToken string
	// OutboundAllow is the SSRF guard's allow-list of the media proxy (PLAYGRAM_OUTBOUND_ALLOW); read on the
	// proxy's first use.
	OutboundAllow string
	// Now is the clock of budgets, usage days and rate windows.
	Now func() time.Time

	usage *usage

	settings memo[*wsSettings]
	tools    memo[*ToolConfig]
	clients  memo[*Client]
	spend    memo[float64]

	mediaOnce     sync.Once
	mediaKey      []byte
	mediaHTTPOnce sync.Once
	mediaHTTP     *http.Client
	mediaHTTPErr  error
}

// Of returns the app's Service.
func Of(app core.App) *Service {
	s, _ := app.Store().Get(StoreKey).(*Service)
	return s
}

// Register builds the Service and binds its job, hooks, usage flusher and cron.
func Register(app core.App, svc *platform.Services) {
	s := &Service{app: app, svc: svc, MissWait: 25 * time.Second, Now: time.Now, usage: newUsage(),
		settings: newMemo[*wsSettings](30 * time.Second), tools: newMemo[*ToolConfig](30 * time.Second),
		clients: newMemo[*Client](30 * time.Second), spend: newMemo[float64](30 * time.Second)}
	s.NewApify = func(token string) *apify.Client { return apify.New(svc.Config.ApifyBaseURL, token) }
	s.ApifyToken, s.OutboundAllow = svc.Config.ApifyToken, svc.Config.OutboundAllow
	s.Memory = socialcache.NewMemory(128 << 20)
	layers := []socialcache.Layer{s.Memory}
	var locker socialcache.Locker
	s.Quota = quota.NewMemory()
	if svc.Config.RedisURL != "" {
		opts, err := redis.ParseURL(svc.Config.RedisURL)
		if err != nil {
			app.Logger().Error("REDIS_URL is not a redis:// URL; the social cache and limits stay in this process", "error", err)
		} else {
			s.Redis = redis.NewClient(opts)
			rl := socialcache.NewRedis(s.Redis, "playgram:social:")
			layers = append(layers, rl)
			locker = rl
			s.Quota = quota.NewRedis(s.Redis, "playgram:quota:")
		}
	}
	layers = append(layers, &dbLayer{app: app})
	s.Cache = socialcache.New(socialcache.Options{
		Layers: layers, Fetch: s.fetch, Locker: locker,
		OnError: func(key string, err error) {
			app.Logger().Warn("social cache", "key", key, "error", err)
		},
	})
	app.Store().Set(StoreKey, s)

	svc.Jobs.Handle(KindWarm, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Platform, Type, Handle string
			Limit                  int
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		cfg := s.ToolConfig(job.Workspace, "")
		_, err := s.Cache.Fetch(ctx, s.request(Query{Workspace: job.Workspace, Platform: p.Platform, Type: p.Type, Handle: p.Handle, Limit: p.Limit}, cfg, "admin"))
		if apify.IsRunFailed(err) {
			return jobs.Permanent(err)
		}
		return err
	})

	forgetTools := func(e *core.RecordEvent) error { s.tools.clear(); return e.Next() }
	app.OnRecordAfterCreateSuccess(collections.Tools).BindFunc(forgetTools)
	app.OnRecordAfterUpdateSuccess(collections.Tools).BindFunc(forgetTools)
	app.OnRecordAfterDeleteSuccess(collections.Tools).BindFunc(forgetTools)
	forgetClients := func(e *core.RecordEvent) error { s.clients.clear(); return e.Next() }
	app.OnRecordAfterCreateSuccess(collections.APIClients).BindFunc(forgetClients)
	app.OnRecordAfterUpdateSuccess(collections.APIClients).BindFunc(forgetClients)
	app.OnRecordAfterDeleteSuccess(collections.APIClients).BindFunc(forgetClients)
	app.OnRecordAfterUpdateSuccess(collections.Workspaces).BindFunc(func(e *core.RecordEvent) error {
		s.settings.forget(e.Record.Id)
		s.clients.clear() // tiers may have changed
		return e.Next()
	})
	app.OnRecordCreate(collections.PostCategories).BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("slug") == "" {
			e.Record.Set("slug", slug.Make(e.Record.GetString("name"), 60, "category"))
		}
		return e.Next()
	})
	app.OnRecordValidate(collections.APIClients).BindFunc(func(e *core.RecordEvent) error {
		if k := e.Record.GetString("key"); k != "" {
			key, err := e.App.FindRecordById(collections.APIKeys, k)
			if err != nil || key.GetString("workspace") != e.Record.GetString("workspace") {
				return errors.New("key: no API key with this id in the workspace")
			}
		}
		return e.Next()
	})

	if svc.Config.Background {
		app.OnServe().BindFunc(func(se *core.ServeEvent) error {
			go func() {
				t := time.NewTicker(10 * time.Second)
				defer t.Stop()
				for range t.C {
					if !app.IsBootstrapped() {
						return
					}
					if err := s.FlushUsage(); err != nil {
						app.Logger().Error("flushing social usage failed", "error", err)
					}
				}
			}()
			return se.Next()
		})
	}
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		if err := s.FlushUsage(); err != nil {
			app.Logger().Error("flushing social usage on shutdown failed", "error", err)
		}
		if s.Redis != nil {
			_ = s.Redis.Close()
		}
		return e.Next()
	})
	app.Cron().MustAdd("playgram_social_cache_cleanup", "41 4 * * *", func() {
		// Rows stay 30 days past their stale deadline, so a spent budget can still answer old data.
		_, err := app.NonconcurrentDB().NewQuery("DELETE FROM social_cache WHERE stale_until < {:cut}").
			Bind(map[string]any{"cut": dbTime(time.Now().Add(-30 * 24 * time.Hour))}).Execute()
		if err != nil {
			app.Logger().Error("social cache cleanup failed", "error", err)
		}
	})
}

// Query is one read of the social API.
type Query struct {
	Workspace, Platform, Type, Handle string
	Limit                             int
}

// Key is the cache key of a query's data (the limit is not part of it: an entry answers any smaller limit).
func (q Query) Key() string {
	return q.Workspace + "|" + q.Platform + "|" + q.Type + "|" + q.Handle
}

type fetchData struct {
	Query
	Client string
}

// request is the cache request of a query: at least the tool's default_limit items are fetched, so smaller
// answers of the same key share one entry.
func (s *Service) request(q Query, cfg *ToolConfig, client string) socialcache.Request {
	n := q.Limit
	if q.Type != "profile" {
		n = max(n, cfg.DefaultLimit)
	}
	return socialcache.Request{Key: q.Key(), Limit: n, TTL: cfg.TTL(q.Type), Data: fetchData{Query: q, Client: client}}
}

// Errors of Read.
var (
	ErrNotFound      = errors.New("social: no such account or place")
	ErrBudgetSpent   = errors.New("social: the workspace's monthly Apify budget is spent and nothing is cached")
	ErrNoApifyToken  = errors.New("social: no Apify token: set APIFY_TOKEN or the workspace secret apify_token")
	ErrSourceFailure = errors.New("social: the data source failed")
)

// Read answers q for client from the cache, fetching when needed and allowed.
func (s *Service) Read(ctx context.Context, q Query, cfg *ToolConfig, c *Client) (*socialcache.Entry, socialcache.Outcome, error) {
	ro := socialcache.ReadOptions{Wait: s.MissWait}
	if c != nil && c.Freshness > 0 {
		ro.MaxAge = c.Freshness
	}
	if s.BudgetSpent(q.Workspace) {
		ro.NoFetch = true
	}
	clientID := "member"
	if c != nil {
		clientID = c.ID
	}
	e, out, err := s.Cache.Get(ctx, s.request(q, cfg, clientID), ro)
	s.usage.count(q, clientID, out, err == nil || errors.Is(err, socialcache.ErrPending), s.Now())
	switch {
	case errors.Is(err, socialcache.ErrNotCached):
		return nil, out, ErrBudgetSpent
	case err != nil:
		return nil, out, err
	case e.NotFound:
		return e, out, ErrNotFound
	}
	return e, out, nil
}

// fetch runs the actor for a request; it is the cache's Fetcher and runs outside any reader's request.
func (s *Service) fetch(ctx context.Context, req socialcache.Request) (*socialcache.Entry, error) {
	d := req.Data.(fetchData)
	token := s.settingsOf(d.Workspace).ApifyToken
	if token == "" {
		token = s.ApifyToken
	}
	if token == "" {
		return nil, ErrNoApifyToken
	}
	actor, input := actorInput(d.Query, req.Limit)
	opts := apify.CallOptions{MaxItems: req.Limit}
	if budget := s.settingsOf(d.Workspace).Budget; budget > 0 {
		opts.MaxTotalChargeUSD = max(budget-s.MonthSpend(d.Workspace), 0.01)
	}
	began := time.Now()
	res, err := s.NewApify(token).Call(ctx, actor, input, opts)
	run := runRow{Query: d.Query, Client: d.Client, Actor: actor, Duration: time.Since(began)}
	if err != nil {
		run.Status, run.Error = "failed", err.Error()
		s.recordRun(run)
		return nil, fmt.Errorf("%w: %v", ErrSourceFailure, err)
	}
	items, found := normalizer{media: func(src string) string { return s.MediaURL(d.Workspace, src) }}.Normalize(d.Platform, d.Type, res.Items, req.Limit)
	run.Status, run.Items, run.Async = "succeeded", len(items), res.Async
	if res.Run != nil {
		run.RunID = res.Run.ID
	}
	run.Cost, run.CostKnown = res.CostUSD, res.CostKnown
	if !found {
		run.Status = "not_found"
	}
	s.recordRun(run)
	if !found {
		return &socialcache.Entry{NotFound: true}, nil
	}
	return &socialcache.Entry{Items: items}, nil
}

// actorInput is the actor and input for a query, per contract §10.
func actorInput(q Query, limit int) (string, map[string]any) {
	switch q.Platform + "/" + q.Type {
	case "instagram/profile":
		return apify.ActorInstagram, map[string]any{"directUrls": []string{"https://www.instagram.com/" + q.Handle + "/"}, "resultsType": "details", "resultsLimit": 1}
	case "instagram/posts":
		return apify.ActorInstagram, map[string]any{"directUrls": []string{"https://www.instagram.com/" + q.Handle + "/"}, "resultsType": "posts", "resultsLimit": limit, "addParentData": false}
	case "tiktok/profile", "tiktok/posts":
		n := limit
		if q.Type == "profile" {
			n = 1
		}
		return apify.ActorTikTok, map[string]any{"profiles": []string{q.Handle}, "resultsPerPage": n, "profileScrapeSections": []string{"videos"},
			"profileSorting": "latest", "shouldDownloadVideos": false, "shouldDownloadCovers": false, "proxyCountryCode": "None"}
	}
	in := map[string]any{"maxReviews": limit, "reviewsSort": "newest", "language": "en", "personalData": true}
	if strings.HasPrefix(q.Handle, "http") {
		in["startUrls"] = []map[string]string{{"url": q.Handle}}
	} else {
		in["placeIds"] = []string{q.Handle}
	}
	return apify.ActorGoogleReviews, in
}

// memo is a small map of values that expire, for per-workspace and per-key settings read on every request.
type memo[V any] struct {
	mu  sync.RWMutex
	ttl time.Duration
	m   map[string]memoEntry[V]
}

type memoEntry[V any] struct {
	v  V
	at time.Time
}

func newMemo[V any](ttl time.Duration) memo[V] {
	return memo[V]{ttl: ttl, m: map[string]memoEntry[V]{}}
}

func (m *memo[V]) get(k string, load func() V) V {
	m.mu.RLock()
	e, ok := m.m[k]
	m.mu.RUnlock()
	if ok && time.Since(e.at) < m.ttl {
		return e.v
	}
	v := load()
	m.mu.Lock()
	if len(m.m) > 100_000 {
		m.m = map[string]memoEntry[V]{}
	}
	m.m[k] = memoEntry[V]{v, time.Now()}
	m.mu.Unlock()
	return v
}

func (m *memo[V]) forget(k string) {
	m.mu.Lock()
	delete(m.m, k)
	m.mu.Unlock()
}

func (m *memo[V]) clear() {
	m.mu.Lock()
	m.m = map[string]memoEntry[V]{}
	m.mu.Unlock()
}

func dbTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }
