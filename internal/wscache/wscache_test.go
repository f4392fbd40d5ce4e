package wscache

import (
	"errors"
	"testing"
)

func TestGetLoadsOnceAndInvalidateReloads(t *testing.T) {
	c := New[int]()
	loads := 0
	load := func() (int, error) { loads++; return loads * 10, nil }
	for range 3 {
		if v, _ := c.Get("ws1", true, load); v != 10 {
			t.Fatalf("got %d, want the first load's 10", v)
		}
	}
	if v, _ := c.Get("ws2", true, load); v != 20 {
		t.Fatalf("another workspace got %d, want its own load", v)
	}
	c.Invalidate("ws1")
	if v, _ := c.Get("ws1", true, load); v != 30 {
		t.Fatalf("after Invalidate got %d, want a fresh load", v)
	}
	if loads != 3 {
		t.Fatalf("%d loads, want 3", loads)
	}
}

func TestGetDoesNotKeepWhatItMustNot(t *testing.T) {
	tests := []struct {
		name string
		keep bool
		load func(c *Cache[string]) (string, error)
	}{
		{"inside a transaction", false, func(*Cache[string]) (string, error) { return "uncommitted", nil }},
		{"a failed load", true, func(*Cache[string]) (string, error) { return "", errors.New("disk") }},
		{"a load that raced with a change", true, func(c *Cache[string]) (string, error) {
			c.Invalidate("ws") // the rows changed while they were being read
			return "stale", nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string]()
			_, _ = c.Get("ws", tt.keep, func() (string, error) { return tt.load(c) })
			v, _ := c.Get("ws", true, func() (string, error) { return "fresh", nil })
			if v != "fresh" {
				t.Fatalf("kept %q", v)
			}
		})
	}
}
