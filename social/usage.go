package social

import (
	"github.com/playgram/playgram/platform"
	"sync"
	"sync/atomic"
	"time"

	"github.com/playgram/playgram/internal/socialcache"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// usage counts reads in memory per client and platform per day, and per cache key; FlushUsage writes them.
// The read path takes a shared lock and bumps atomic counters, so concurrent readers do not queue on it.
type usage struct {
	mu      sync.RWMutex
	clients map[usageKey]*counts
	keys    map[string]*counts
}

type usageKey struct {
	ws, client, platform string
	day                  int64 // days since the Unix epoch (UTC)
}

type counts struct {
	requests, hits, stale, misses, refused atomic.Int64
	last                                   atomic.Int64 // unix nanoseconds of the last read
}

func newUsage() *usage {
	return &usage{clients: map[usageKey]*counts{}, keys: map[string]*counts{}}
}

func (u *usage) client(k usageKey) *counts {
	u.mu.RLock()
	c := u.clients[k]
	u.mu.RUnlock()
	if c != nil {
		return c
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if c = u.clients[k]; c == nil {
		c = &counts{}
		u.clients[k] = c
	}
	return c
}

func (u *usage) key(k string) *counts {
	u.mu.RLock()
	c := u.keys[k]
	u.mu.RUnlock()
	if c != nil {
		return c
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if c = u.keys[k]; c == nil {
		c = &counts{}
		u.keys[k] = c
	}
	return c
}

func (u *usage) count(q Query, client string, out socialcache.Outcome, answered bool, now time.Time) {
	c := u.client(usageKey{q.Workspace, client, q.Platform, now.Unix() / 86400})
	k := u.key(q.Key())
	c.requests.Add(1)
	k.requests.Add(1)
	k.last.Store(now.UnixNano())
	if !answered {
		return
	}
	switch out {
	case socialcache.Hit:
		c.hits.Add(1)
		k.hits.Add(1)
	case socialcache.Stale:
		c.stale.Add(1)
		k.stale.Add(1)
	default:
		c.misses.Add(1)
		k.misses.Add(1)
	}
}

// Refused counts a request turned away by the client's limits.
func (s *Service) Refused(ws, client, platform string) {
	c := s.usage.client(usageKey{ws, client, platform, s.Now().Unix() / 86400})
	c.requests.Add(1)
	c.refused.Add(1)
}

type flushed struct{ requests, hits, stale, misses, refused, last int64 }

func take(c *counts) flushed {
	return flushed{c.requests.Swap(0), c.hits.Swap(0), c.stale.Swap(0), c.misses.Swap(0), c.refused.Swap(0), c.last.Load()}
}

func giveBack(c *counts, f flushed) {
	c.requests.Add(f.requests)
	c.hits.Add(f.hits)
	c.stale.Add(f.stale)
	c.misses.Add(f.misses)
	c.refused.Add(f.refused)
}

// FlushUsage adds the counts gathered since the last flush to social_usage and social_cache in one
// transaction; on failure they are added back for the next flush.
func (s *Service) FlushUsage() error {
	u := s.usage
	today := s.Now().Unix() / 86400
	clients, keys := map[usageKey]flushed{}, map[string]flushed{}
	u.mu.Lock()
	for k, c := range u.clients {
		if f := take(c); f.requests > 0 {
			clients[k] = f
		}
		if k.day < today-1 {
			delete(u.clients, k) // no reads can be counted for that day any more
		}
	}
	idle := time.Now().Add(-time.Hour).UnixNano()
	for k, c := range u.keys {
		if f := take(c); f.requests > 0 {
			keys[k] = f
		} else if c.last.Load() < idle {
			delete(u.keys, k)
		}
	}
	u.mu.Unlock()
	if len(clients) == 0 && len(keys) == 0 {
		return nil
	}
	now := dbTime(time.Now())
	err := platform.WriteTx(s.app, func(tx core.App) error {
		for k, c := range clients {
			_, err := tx.DB().NewQuery(`INSERT INTO social_usage (id, workspace, client, platform, day, requests, hits, stale, misses, refused, created, updated)
				VALUES ({:id}, {:ws}, {:client}, {:platform}, {:day}, {:r}, {:h}, {:s}, {:m}, {:x}, {:now}, {:now})
				ON CONFLICT(workspace, client, platform, day) DO UPDATE SET requests = requests + excluded.requests, hits = hits + excluded.hits,
				stale = stale + excluded.stale, misses = misses + excluded.misses, refused = refused + excluded.refused, updated = excluded.updated`).
				Bind(dbx.Params{"id": security.RandomStringWithAlphabet(15, core.DefaultIdAlphabet), "ws": k.ws, "client": k.client, "platform": k.platform,
					"day": time.Unix(k.day*86400, 0).UTC().Format(time.DateOnly), "r": c.requests, "h": c.hits, "s": c.stale, "m": c.misses,
					"x": c.refused, "now": now}).Execute()
			if err != nil {
				return err
			}
		}
		for key, c := range keys {
			_, err := tx.DB().NewQuery(`UPDATE social_cache SET hits = hits + {:h}, stale_hits = stale_hits + {:s}, misses = misses + {:m},
				last_read_at = {:last} WHERE key = {:key}`).
				Bind(dbx.Params{"h": c.hits, "s": c.stale, "m": c.misses, "last": dbTime(time.Unix(0, c.last)), "key": key}).Execute()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for k, f := range clients {
			giveBack(u.client(k), f)
		}
		for k, f := range keys {
			giveBack(u.key(k), f)
		}
	}
	return err
}

// runRow is one Apify run to record.
type runRow struct {
	Query
	Client, Actor, RunID, Status, Error string
	Items                               int
	Cost                                float64
	CostKnown, Async                    bool
	Duration                            time.Duration
}

// recordRun stores a run and its cost; it runs in the background fetch, never in a reader's request.
func (s *Service) recordRun(r runRow) {
	now := s.Now().UTC()
	_, err := s.app.NonconcurrentDB().NewQuery(`INSERT INTO social_runs (id, workspace, client, platform, type, handle, actor, run_id, status, items,
		cost_usd, cost_known, async, duration_ms, error, day, month, created, updated) VALUES ({:id}, {:ws}, {:client}, {:platform}, {:type}, {:handle},
		{:actor}, {:run}, {:status}, {:items}, {:cost}, {:known}, {:async}, {:ms}, {:err}, {:day}, {:month}, {:now}, {:now})`).
		Bind(dbx.Params{"id": security.RandomStringWithAlphabet(15, core.DefaultIdAlphabet), "ws": r.Workspace, "client": r.Client,
			"platform": r.Platform, "type": r.Type, "handle": r.Handle, "actor": r.Actor, "run": r.RunID, "status": r.Status, "items": r.Items,
			"cost": r.Cost, "known": r.CostKnown, "async": r.Async, "ms": r.Duration.Milliseconds(), "err": truncate(r.Error, 1000),
			"day": now.Format("2006-01-02"), "month": now.Format("2006-01"), "now": dbTime(now)}).Execute()
	if err != nil {
		s.app.Logger().Error("recording an Apify run failed", "error", err, "workspace", r.Workspace)
	}
	s.spend.forget(r.Workspace + "|" + now.Format("2006-01"))
}

// MonthSpend is the workspace's Apify cost this UTC month.
func (s *Service) MonthSpend(ws string) float64 {
	month := s.Now().UTC().Format("2006-01")
	return s.spend.get(ws+"|"+month, func() float64 {
		var total float64
		_ = s.app.DB().NewQuery("SELECT COALESCE(SUM(cost_usd), 0) FROM social_runs WHERE workspace = {:ws} AND month = {:m}").
			Bind(dbx.Params{"ws": ws, "m": month}).Row(&total)
		return total
	})
}

// BudgetSpent reports whether the workspace has a monthly budget and has used it up.
func (s *Service) BudgetSpent(ws string) bool {
	b := s.settingsOf(ws).Budget
	return b > 0 && s.MonthSpend(ws) >= b
}

// Budget is the workspace's monthly budget (0: none).
func (s *Service) Budget(ws string) float64 { return s.settingsOf(ws).Budget }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
