package verify

import "sync"

// Hub tells watchers (Server-Sent Events streams) the final status of a verification, in this process.
type Hub struct {
	mu       sync.Mutex
	watchers map[string]map[chan Result]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{watchers: map[string]map[chan Result]struct{}{}} }

// Watch returns a channel that receives the verification's final result once, and a function to stop watching.
func (h *Hub) Watch(id string) (<-chan Result, func()) {
	ch := make(chan Result, 1)
	h.mu.Lock()
	if h.watchers[id] == nil {
		h.watchers[id] = map[chan Result]struct{}{}
	}
	h.watchers[id][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.watchers[id], ch)
		if len(h.watchers[id]) == 0 {
			delete(h.watchers, id)
		}
		h.mu.Unlock()
	}
}

// Publish hands a final result to every watcher of its verification.
func (h *Hub) Publish(r Result) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.watchers[r.ID] {
		select {
		case ch <- r:
		default:
		}
	}
}

// Watchers counts open watches (for tests and benchmarks).
func (h *Hub) Watchers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.watchers {
		n += len(set)
	}
	return n
}
