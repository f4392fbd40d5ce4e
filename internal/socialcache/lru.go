package socialcache

import (
	"container/list"
	"sync"
)

// LRU is a concurrency-safe least-recently-used map bounded by the total size of its values, as measured by
// the size function given to NewLRU.
type LRU[V any] struct {
	mu       sync.Mutex
	maxBytes int
	size     int
	sizeOf   func(V) int
	order    *list.List // front = most recent
	items    map[string]*list.Element
}

type lruEntry[V any] struct {
	key   string
	value V
	size  int
}

// NewLRU returns an LRU holding at most maxBytes of values.
func NewLRU[V any](maxBytes int, sizeOf func(V) int) *LRU[V] {
	return &LRU[V]{maxBytes: maxBytes, sizeOf: sizeOf, order: list.New(), items: map[string]*list.Element{}}
}

// Get returns the value of key and marks it recently used.
func (c *LRU[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry[V]).value, true
}

// Add stores value under key and evicts the least recently used values beyond the bound. A value larger than
// the whole bound is not stored.
func (c *LRU[V]) Add(key string, value V) {
	n := c.sizeOf(value) + len(key)
	if n > c.maxBytes {
		c.Remove(key)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry[V])
		c.size += n - e.size
		e.value, e.size = value, n
		c.order.MoveToFront(el)
	} else {
		c.items[key] = c.order.PushFront(&lruEntry[V]{key, value, n})
		c.size += n
	}
	for c.size > c.maxBytes {
		oldest := c.order.Back()
		e := oldest.Value.(*lruEntry[V])
		c.order.Remove(oldest)
		delete(c.items, e.key)
		c.size -= e.size
	}
}

// Remove drops key.
func (c *LRU[V]) Remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.order.Remove(el)
		delete(c.items, key)
		c.size -= el.Value.(*lruEntry[V]).size
	}
}

// Len is the number of values held; Bytes their total size.
func (c *LRU[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Bytes is the total size of the values held.
func (c *LRU[V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
