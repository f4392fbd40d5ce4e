package social

import (
	"time"

	"github.com/pocketbase/dbx"
)

// UsageRow is one client's reads of one platform on one day.
type UsageRow struct {
	Day      string `db:"day" json:"day"`
	Client   string `db:"client" json:"client"`
	Platform string `db:"platform" json:"platform"`
	Requests int64  `db:"requests" json:"requests"`
	Hits     int64  `db:"hits" json:"hits"`
	Stale    int64  `db:"stale" json:"stale"`
	Misses   int64  `db:"misses" json:"misses"`
	Refused  int64  `db:"refused" json:"refused"`
}

// Usage lists daily usage of workspace between the days from and to (inclusive), optionally of one client.
func (s *Service) Usage(ws, from, to, client string) ([]UsageRow, error) {
	if err := s.FlushUsage(); err != nil {
		return nil, err
	}
	rows := []UsageRow{}
	q := s.app.DB().Select("day", "client", "platform", "requests", "hits", "stale", "misses", "refused").From("social_usage").
		Where(dbx.NewExp("workspace = {:ws} AND day >= {:from} AND day <= {:to}", dbx.Params{"ws": ws, "from": from, "to": to}))
	if client != "" {
		q = q.AndWhere(dbx.HashExp{"client": client})
	}
	err := q.OrderBy("day", "client", "platform").All(&rows)
	return rows, err
}

// CostGroup is a sum of run costs.
type CostGroup struct {
	Group string  `db:"grp" json:"-"`
	USD   float64 `db:"usd" json:"usd"`
	Runs  int64   `db:"runs" json:"runs"`
}

// Costs sums the workspace's run costs between the days from and to by platform, client and day.
func (s *Service) Costs(ws, from, to string) (map[string][]CostGroup, CostGroup, error) {
	out := map[string][]CostGroup{}
	params := dbx.Params{"ws": ws, "from": from, "to": to}
	for name, col := range map[string]string{"platform": "platform", "client": "client", "day": "day"} {
		var groups []CostGroup
		err := s.app.DB().NewQuery("SELECT " + col + " AS grp, COALESCE(SUM(cost_usd), 0) AS usd, COUNT(*) AS runs FROM social_runs " +
			"WHERE workspace = {:ws} AND day >= {:from} AND day <= {:to} GROUP BY " + col + " ORDER BY " + col).Bind(params).All(&groups)
		if err != nil {
			return nil, CostGroup{}, err
		}
		out[name] = groups
	}
	var total CostGroup
	err := s.app.DB().NewQuery("SELECT '' AS grp, COALESCE(SUM(cost_usd), 0) AS usd, COUNT(*) AS runs FROM social_runs WHERE workspace = {:ws} AND day >= {:from} AND day <= {:to}").
		Bind(params).One(&total)
	return out, total, err
}

// CacheRow is one cached key as the admin list shows it.
type CacheRow struct {
	Platform   string `db:"platform" json:"platform"`
	Type       string `db:"type" json:"type"`
	Handle     string `db:"handle" json:"handle"`
	Key        string `db:"key" json:"-"`
	NotFound   bool   `db:"not_found" json:"not_found"`
	Items      int    `db:"n" json:"items"`
	FetchedAt  string `db:"fetched_at" json:"fetched_at"`
	FreshUntil string `db:"fresh_until" json:"fresh_until"`
	StaleUntil string `db:"stale_until" json:"stale_until"`
	Hits       int64  `db:"hits" json:"hits"`
	StaleHits  int64  `db:"stale_hits" json:"stale_hits"`
	Misses     int64  `db:"misses" json:"misses"`
	LastReadAt string `db:"last_read_at" json:"last_read_at"`
	State      string `db:"-" json:"state"`
	InMemory   bool   `db:"-" json:"in_memory"`
}

// CacheKeys lists the workspace's cached keys, newest first, optionally of one platform and type.
func (s *Service) CacheKeys(ws, platform, typ string, limit, offset int) ([]CacheRow, error) {
	if err := s.FlushUsage(); err != nil {
		return nil, err
	}
	rows := []CacheRow{}
	q := s.app.DB().Select("platform", "type", "handle", "key", "not_found", "json_array_length(items) AS n", "fetched_at", "fresh_until",
		"stale_until", "hits", "stale_hits", "misses", "last_read_at").From("social_cache").Where(dbx.HashExp{"workspace": ws})
	if platform != "" {
		q = q.AndWhere(dbx.HashExp{"platform": platform})
	}
	if typ != "" {
		q = q.AndWhere(dbx.HashExp{"type": typ})
	}
	if err := q.OrderBy("updated DESC").Limit(int64(limit)).Offset(int64(offset)).All(&rows); err != nil {
		return nil, err
	}
	now := s.Now()
	for i := range rows {
		r := &rows[i]
		switch {
		case r.NotFound:
			r.State = "not_found"
		case now.Before(parseDB(r.FreshUntil)):
			r.State = "fresh"
		case now.Before(parseDB(r.StaleUntil)):
			r.State = "stale"
		default:
			r.State = "expired"
		}
		r.InMemory = s.Memory.Has(r.Key)
		r.FetchedAt, r.FreshUntil, r.StaleUntil, r.LastReadAt = rfc(r.FetchedAt), rfc(r.FreshUntil), rfc(r.StaleUntil), rfc(r.LastReadAt)
	}
	return rows, nil
}

func rfc(db string) string {
	t := parseDB(db)
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
