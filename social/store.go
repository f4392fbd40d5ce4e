package social

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/playgram/playgram/internal/socialcache"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/types"
)

// dbLayer is the social_cache collection as the cache's last layer before Apify. It survives restarts and
// keeps entries past their stale deadline (for a spent budget) until the daily cleanup.
type dbLayer struct{ app core.App }

func (l *dbLayer) Name() string { return "database" }

type cacheRow struct {
	Items      string `db:"items"`
	NotFound   bool   `db:"not_found"`
	FetchLimit int    `db:"fetch_limit"`
	FetchedAt  string `db:"fetched_at"`
	FreshUntil string `db:"fresh_until"`
	StaleUntil string `db:"stale_until"`
}

func (l *dbLayer) Get(_ context.Context, key string) (*socialcache.Entry, error) {
	var r cacheRow
	err := l.app.DB().NewQuery("SELECT items, not_found, fetch_limit, fetched_at, fresh_until, stale_until FROM social_cache WHERE key = {:k}").
		Bind(dbx.Params{"k": key}).One(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := &socialcache.Entry{Key: key, NotFound: r.NotFound, Limit: r.FetchLimit, FetchedAt: parseDB(r.FetchedAt),
		FreshUntil: parseDB(r.FreshUntil), StaleUntil: parseDB(r.StaleUntil)}
	if r.Items != "" && r.Items != "null" {
		if err := json.Unmarshal([]byte(r.Items), &e.Items); err != nil {
			return nil, nil
		}
	}
	return e, nil
}

func (l *dbLayer) Set(_ context.Context, e *socialcache.Entry) error {
	parts := strings.SplitN(e.Key, "|", 4)
	if len(parts) != 4 {
		return errors.New("social: malformed cache key " + e.Key)
	}
	items, _ := json.Marshal(e.Items)
	if e.Items == nil {
		items = []byte("[]")
	}
	now := dbTime(time.Now())
	_, err := l.app.NonconcurrentDB().NewQuery(`INSERT INTO social_cache
		(id, workspace, key, platform, type, handle, items, not_found, fetch_limit, fetched_at, fresh_until, stale_until, hits, stale_hits, misses, last_read_at, created, updated)
		VALUES ({:id}, {:ws}, {:key}, {:platform}, {:type}, {:handle}, {:items}, {:nf}, {:limit}, {:fetched}, {:fresh}, {:stale}, 0, 0, 0, '', {:now}, {:now})
		ON CONFLICT(key) DO UPDATE SET items = excluded.items, not_found = excluded.not_found, fetch_limit = excluded.fetch_limit,
		fetched_at = excluded.fetched_at, fresh_until = excluded.fresh_until, stale_until = excluded.stale_until, updated = excluded.updated`).
		Bind(dbx.Params{"id": security.RandomStringWithAlphabet(15, core.DefaultIdAlphabet), "ws": parts[0], "key": e.Key,
			"platform": parts[1], "type": parts[2], "handle": parts[3], "items": string(items), "nf": e.NotFound, "limit": e.Limit,
			"fetched": dbTime(e.FetchedAt), "fresh": dbTime(e.FreshUntil), "stale": dbTime(e.StaleUntil), "now": now}).Execute()
	return err
}

func (l *dbLayer) Delete(_ context.Context, key string) error {
	_, err := l.app.NonconcurrentDB().NewQuery("DELETE FROM social_cache WHERE key = {:k}").Bind(dbx.Params{"k": key}).Execute()
	return err
}

func parseDB(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	d, err := types.ParseDateTime(s)
	if err != nil {
		return time.Time{}
	}
	return d.Time()
}
