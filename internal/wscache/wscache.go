// Package wscache keeps one derived value per key, usually a workspace (parsed tool configs, compiled rules) or
// a tool (its knowledge index), so that hot requests do not re-read and re-parse rows that change a few times a
// day.
package wscache

import "sync"

// Cache maps a workspace id to a value built from its rows. Invalidate must be called whenever those rows
// change; a load that overlapped an invalidation is returned to its caller but not kept, so a value built from
// rows read before a change can never outlive it.
type Cache[T any] struct {
	mu  sync.Mutex
	gen map[string]uint64
	m   map[string]T
}

// New returns an empty cache.
func New[T any]() *Cache[T] {
	return &Cache[T]{gen: map[string]uint64{}, m: map[string]T{}}
}

// Get returns the workspace's value, loading it on a miss. With keep false the loaded value is not stored:
// a load inside a database transaction may see rows that are not committed yet.
func (c *Cache[T]) Get(ws string, keep bool, load func() (T, error)) (T, error) {
	c.mu.Lock()
	if v, ok := c.m[ws]; ok {
		c.mu.Unlock()
		return v, nil
	}
	gen := c.gen[ws]
	c.mu.Unlock()

	v, err := load()
	if err != nil || !keep {
		return v, err
	}
	c.mu.Lock()
	if c.gen[ws] == gen {
		c.m[ws] = v
	}
	c.mu.Unlock()
	return v, nil
}

// Invalidate drops the workspace's value; the next Get loads it again.
func (c *Cache[T]) Invalidate(ws string) {
	c.mu.Lock()
	c.gen[ws]++
	delete(c.m, ws)
	c.mu.Unlock()
}
