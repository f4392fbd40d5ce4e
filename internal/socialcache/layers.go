package socialcache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Memory is the in-process layer: a byte-bounded LRU of entries.
type Memory struct{ lru *LRU[*Entry] }

// NewMemory returns a memory layer holding at most maxBytes of entries.
func NewMemory(maxBytes int) *Memory {
	return &Memory{lru: NewLRU(maxBytes, (*Entry).Size)}
}

// Name implements Layer.
func (m *Memory) Name() string { return "memory" }

// Get implements Layer.
func (m *Memory) Get(_ context.Context, key string) (*Entry, error) {
	e, _ := m.lru.Get(key)
	return e, nil
}

// Set implements Layer. Entries are shared read-only between readers.
func (m *Memory) Set(_ context.Context, e *Entry) error {
	m.lru.Add(e.Key, e)
	return nil
}

// Delete implements Layer.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.lru.Remove(key)
	return nil
}

// Len is how many entries are held.
func (m *Memory) Len() int { return m.lru.Len() }

// Has reports whether key is held, without touching its recency.
func (m *Memory) Has(key string) bool {
	m.lru.mu.Lock()
	defer m.lru.mu.Unlock()
	_, ok := m.lru.items[key]
	return ok
}

// Redis is the layer shared by several Playgram processes. Entries expire in Redis once their stale window
// has passed (plus keep, so a spent budget can still answer old data from the database layer below).
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis wraps a client; keys are stored under prefix.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix}
}

// Name implements Layer.
func (r *Redis) Name() string { return "redis" }

// Get implements Layer.
func (r *Redis) Get(ctx context.Context, key string) (*Entry, error) {
	b, err := r.rdb.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, nil // an unreadable entry is a miss
	}
	return &e, nil
}

// Set implements Layer.
func (r *Redis) Set(ctx context.Context, e *Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ttl := time.Until(e.StaleUntil)
	if ttl < time.Second {
		ttl = time.Second
	}
	return r.rdb.Set(ctx, r.prefix+e.Key, b, ttl).Err()
}

// Delete implements Layer.
func (r *Redis) Delete(ctx context.Context, key string) error {
	return r.rdb.Del(ctx, r.prefix+key).Err()
}

// releaseScript deletes the lock only if it still holds our token.
var releaseScript = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`)

// TryLock implements Locker with SET NX PX and a random token.
func (r *Redis) TryLock(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	token := time.Now().Format(time.RFC3339Nano) + randToken()
	lk := r.prefix + "lock:" + key
	ok, err := r.rdb.SetNX(ctx, lk, token, ttl).Result()
	if err != nil || !ok {
		return nil, false, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = releaseScript.Run(ctx, r.rdb, []string{lk}, token).Err()
	}, true, nil
}

func randToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
