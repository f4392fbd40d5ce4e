// Package lru is a size-bounded, concurrency-safe least-recently-used cache of byte values, for rendered
// images and other responses that are expensive to make and cheap to keep.
package lru

import (
	"container/list"
	"sync"
)

// Cache holds at most MaxBytes of values (keys are not counted).
type Cache struct {
	mu       sync.Mutex
	maxBytes int
	size     int
	order    *list.List // front = most recent
	items    map[string]*list.Element
}

type entry struct {
	key   string
	value []byte
}

// New returns a cache bounded to maxBytes.
func New(maxBytes int) *Cache {
	return &Cache{maxBytes: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

// Get returns the value of key and marks it recently used. Callers must not modify the returned slice.
func (c *Cache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).value, true
}

// Add stores value under key, evicting the least recently used values to stay within the bound. A value
// larger than the whole bound is not stored.
func (c *Cache) Add(key string, value []byte) {
	if len(value) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.size += len(value) - len(el.Value.(*entry).value)
		el.Value.(*entry).value = value
		c.order.MoveToFront(el)
	} else {
		c.items[key] = c.order.PushFront(&entry{key, value})
		c.size += len(value)
	}
	for c.size > c.maxBytes {
		oldest := c.order.Back()
		e := oldest.Value.(*entry)
		c.order.Remove(oldest)
		delete(c.items, e.key)
		c.size -= len(e.value)
	}
}

// Len is the number of values held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
