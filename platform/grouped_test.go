package platform_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Concurrent writes share transactions, but each one's rows commit exactly when its call succeeds: a failing
// write gets its own error and leaves nothing behind, and a panic reaches its own caller.
func TestWriteGroupsWithoutMixingResults(t *testing.T) {
	app, _ := testutil.NewApp(t)
	if _, err := app.NonconcurrentDB().NewQuery("CREATE TABLE write_probe (n INTEGER NOT NULL)").Execute(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	const n = 200
	errs := make([]error, n)
	panics := make([]any, n)
	runs := make([]int, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = platform.WriteGrouped(app, func(tx core.App) error {
				mu.Lock()
				runs[i]++
				mu.Unlock()
				if _, err := tx.NonconcurrentDB().NewQuery("INSERT INTO write_probe (n) VALUES ({:n})").Bind(dbx.Params{"n": i}).Execute(); err != nil {
					return err
				}
				switch {
				case i%50 == 7:
					return boom
				case i%50 == 9:
					panic(fmt.Sprint("panic ", i))
				}
				return nil
			})
		}()
	}
	wg.Wait()
	var stored []int
	if err := app.DB().NewQuery("SELECT n FROM write_probe ORDER BY n").Column(&stored); err != nil {
		t.Fatal(err)
	}
	want := []int{}
	for i := range n {
		switch i % 50 {
		case 7:
			if !errors.Is(errs[i], boom) || panics[i] != nil {
				t.Errorf("write %d: err %v, panic %v; want its own error", i, errs[i], panics[i])
			}
		case 9:
			if panics[i] != fmt.Sprint("panic ", i) {
				t.Errorf("write %d: panic %v, err %v; want its own panic", i, panics[i], errs[i])
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("write %d: err %v, panic %v", i, errs[i], panics[i])
			}
			want = append(want, i)
		}
	}
	if fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Fatalf("stored rows %v\nwant %v", stored, want)
	}
}

// Inside a transaction, Write joins it (as RunInTransaction does) instead of queueing behind it.
func TestWriteInsideATransactionJoinsIt(t *testing.T) {
	app, _ := testutil.NewApp(t)
	err := app.RunInTransaction(func(tx core.App) error {
		if _, err := tx.NonconcurrentDB().NewQuery("CREATE TABLE write_join (n INTEGER)").Execute(); err != nil {
			return err
		}
		return platform.WriteGrouped(tx, func(inner core.App) error {
			_, err := inner.NonconcurrentDB().NewQuery("INSERT INTO write_join (n) VALUES (1)").Execute()
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM write_join").Row(&n); err != nil || n != 1 {
		t.Fatalf("rows %d, %v", n, err)
	}
}
