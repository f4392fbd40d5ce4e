// Package quota counts requests in fixed windows (per minute, per day) for API client tiers: in memory for one
// process, or in Redis so that several Playgram processes share the counts.
package quota

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Result is one window's verdict.
type Result struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is how long until the window starts over.
	Reset time.Duration
}

// Counter counts a key's requests in the window of length window that contains now, and says whether the
// new count is within limit.
type Counter interface {
	Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (Result, error)
}

func verdict(n int64, limit int, window time.Duration, now time.Time) Result {
	start := now.Truncate(window)
	return Result{Allowed: n <= int64(limit), Limit: limit, Remaining: max(limit-int(n), 0), Reset: start.Add(window).Sub(now)}
}

// Memory is a Counter for one process.
type Memory struct {
	mu     sync.Mutex
	counts map[string]*slot
	ops    int
}

type slot struct {
	n       int64
	expires time.Time
}

// NewMemory returns an empty in-memory counter.
func NewMemory() *Memory { return &Memory{counts: map[string]*slot{}} }

// Take implements Counter.
func (m *Memory) Take(_ context.Context, key string, limit int, window time.Duration, now time.Time) (Result, error) {
	start := now.Truncate(window)
	k := key + "@" + strconv.FormatInt(start.Unix(), 10)
	m.mu.Lock()
	m.ops++
	if m.ops%4096 == 0 {
		for k, s := range m.counts {
			if !now.Before(s.expires) {
				delete(m.counts, k)
			}
		}
	}
	s := m.counts[k]
	if s == nil {
		s = &slot{expires: start.Add(window)}
		m.counts[k] = s
	}
	s.n++
	n := s.n
	m.mu.Unlock()
	return verdict(n, limit, window, now), nil
}

// Len is how many windows are tracked (for tests of the memory bound).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.counts)
}

// Redis is a Counter shared through Redis: INCR on a key per window, expiring with the window.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis returns a Redis-backed counter with keys under prefix.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix}
}

var incr = redis.NewScript(`local n = redis.call("INCR", KEYS[1]) if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end return n`)

// Take implements Counter.
func (r *Redis) Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (Result, error) {
	start := now.Truncate(window)
	k := r.prefix + key + "@" + strconv.FormatInt(start.Unix(), 10)
	n, err := incr.Run(ctx, r.rdb, []string{k}, (window + time.Minute).Milliseconds()).Int64()
	if err != nil {
		return Result{}, err
	}
	return verdict(n, limit, window, now), nil
}
