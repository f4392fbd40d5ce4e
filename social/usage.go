package social

import (
	"sync"
	"time"

	"github.com/playgram/playgram/internal/socialcache"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// usage counts reads in memory per client and platform per day, and per cache key; FlushUsage writes them.
type usage struct {
	mu      sync.Mutex
	clients map[usageKey]*counts
	keys    map[string]*counts
}

type usageKey struct{ ws, client, platform, day string }

type counts struct {
	requests, hits, stale, misses, refused int64
	last                                   time.Time
}

func newUsage() *usage {
	return &usage{clients: map[usageKey]*counts{}, keys: map[string]*counts{}}
}

func (u *usage) count(q Query, client string, out socialcache.Outcome, answered bool, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	uk := usageKey{q.Workspace, client, q.Platform, now.UTC().Format("2006-01-02")}
	c := u.clients[uk]
	if c == nil {
		c = &counts{}
		u.clients[uk] = c
	}
	k := u.keys[q.Key()]
	if k == nil {
		k = &counts{}
		u.keys[q.Key()] = k
	}
	c.requests++
	k.requests++
	k.last = now
	if !answered {
		return
	}
	switch out {
	case socialcache.Hit:
		c.hits++
		k.hits++
	case socialcache.Stale:
		c.stale++
		k.stale++
	default:
		c.misses++
		k.misses++
	}
}

// Refused counts a request turned away by the client's limits.
func (s *Service) Refused(ws, client, platform string) {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	uk := usageKey{ws, client, platform, s.Now().UTC().Format("2006-01-02")}
	c := s.usage.clients[uk]
	if c == nil {
		c = &counts{}
		s.usage.clients[uk] = c
	}
	c.requests++
	c.refused++
}

// FlushUsage adds the counts gathered since the last flush to social_usage and social_cache in one
// transaction; on failure they are kept for the next flush.
func (s *Service) FlushUsage() error {
	u := s.usage
	u.mu.Lock()
	clients, keys := u.clients, u.keys
	u.clients, u.keys = map[usageKey]*counts{}, map[string]*counts{}
	u.mu.Unlock()
	if len(clients) == 0 && len(keys) == 0 {
		return nil
	}
	now := dbTime(time.Now())
	err := s.app.RunInTransaction(func(tx core.App) error {
		for k, c := range clients {
			_, err := tx.DB().NewQuery(`INSERT INTO social_usage (id, workspace, client, platform, day, requests, hits, stale, misses, refused, created, updated)
				VALUES ({:id}, {:ws}, {:client}, {:platform}, {:day}, {:r}, {:h}, {:s}, {:m}, {:x}, {:now}, {:now})
				ON CONFLICT(workspace, client, platform, day) DO UPDATE SET requests = requests + excluded.requests, hits = hits + excluded.hits,
				stale = stale + excluded.stale, misses = misses + excluded.misses, refused = refused + excluded.refused, updated = excluded.updated`).
				Bind(dbx.Params{"id": security.RandomStringWithAlphabet(15, core.DefaultIdAlphabet), "ws": k.ws, "client": k.client, "platform": k.platform,
					"day": k.day, "r": c.requests, "h": c.hits, "s": c.stale, "m": c.misses, "x": c.refused, "now": now}).Execute()
			if err != nil {
				return err
			}
		}
		for key, c := range keys {
			_, err := tx.DB().NewQuery(`UPDATE social_cache SET hits = hits + {:h}, stale_hits = stale_hits + {:s}, misses = misses + {:m},
				last_read_at = {:last} WHERE key = {:key}`).
				Bind(dbx.Params{"h": c.hits, "s": c.stale, "m": c.misses, "last": dbTime(c.last), "key": key}).Execute()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		u.mu.Lock()
		for k, c := range clients {
			if cur := u.clients[k]; cur != nil {
				cur.requests, cur.hits, cur.stale, cur.misses, cur.refused = cur.requests+c.requests, cur.hits+c.hits, cur.stale+c.stale, cur.misses+c.misses, cur.refused+c.refused
			} else {
				u.clients[k] = c
			}
		}
		for k, c := range keys {
			if cur := u.keys[k]; cur == nil {
				u.keys[k] = c
			} else {
				cur.hits, cur.stale, cur.misses = cur.hits+c.hits, cur.stale+c.stale, cur.misses+c.misses
			}
		}
		u.mu.Unlock()
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
