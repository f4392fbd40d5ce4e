package platform_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

// A refusal found before writing reaches its own caller, runs once, and leaves the rest of its group to commit.
func TestRefusalsDoNotSendTheirGroupBack(t *testing.T) {
	app, _ := testutil.NewApp(t)
	if _, err := app.NonconcurrentDB().NewQuery("CREATE TABLE refusal_probe (n INTEGER NOT NULL)").Execute(); err != nil {
		t.Fatal(err)
	}
	taken := errors.New("slot taken")
	const n = 100
	errs := make([]error, n)
	var runs atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = platform.WriteGrouped(app, func(tx core.App) error {
				runs.Add(1)
				if i%2 == 1 {
					return platform.Refused(taken)
				}
				_, err := tx.NonconcurrentDB().NewQuery("INSERT INTO refusal_probe (n) VALUES ({:n})").Bind(dbx.Params{"n": i}).Execute()
				return err
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%2 == 1; (err == taken) != want || (!want && err != nil) {
			t.Errorf("write %d: err %v", i, err)
		}
	}
	var stored int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM refusal_probe").Row(&stored); err != nil || stored != n/2 {
		t.Fatalf("%d rows stored (%v), want %d", stored, err, n/2)
	}
	if r := runs.Load(); r != n {
		t.Fatalf("the writes ran %d times, want %d: a refusal sent its group back", r, n)
	}
}
