package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestEvictsLeastRecentlyUsedWithinTheBound(t *testing.T) {
	c := New(10)
	c.Add("a", []byte("aaaa"))
	c.Add("b", []byte("bbbb"))
	if _, ok := c.Get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Add("c", []byte("cccc")) // 12 bytes > 10: b goes
	if _, ok := c.Get("b"); ok {
		t.Fatal("b should have been evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	c.Add("a", []byte("A")) // replacing shrinks the size
	c.Add("d", []byte("dddd"))
	if c.Len() != 3 {
		t.Fatalf("len = %d, want 3", c.Len())
	}
	c.Add("huge", make([]byte, 11))
	if _, ok := c.Get("huge"); ok {
		t.Fatal("a value over the bound must not be stored")
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New(1 << 10)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := fmt.Sprint(g, i%50)
				c.Add(k, make([]byte, 16))
				c.Get(k)
			}
		}()
	}
	wg.Wait()
	if c.size > 1<<10 || c.size != c.Len()*16 {
		t.Fatalf("size %d for %d entries", c.size, c.Len())
	}
}
