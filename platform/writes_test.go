package platform_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestWriteTxRunsWritersInArrivalOrder(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	if _, err := app.DB().NewQuery("CREATE TABLE arrivals (n INTEGER)").Execute(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	first := make(chan struct{})
	go platform.WriteTx(app, func(tx core.App) error {
		close(first)
		<-release
		return nil
	})
	<-first
	var wg sync.WaitGroup
	for n := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := platform.WriteTx(app, func(tx core.App) error {
				_, err := tx.DB().NewQuery("INSERT INTO arrivals (n) VALUES ({:n})").Bind(dbx.Params{"n": n}).Execute()
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(30 * time.Millisecond) // let writer n queue up before writer n+1 arrives
	}
	close(release)
	wg.Wait()
	var order []int
	if err := app.DB().NewQuery("SELECT n FROM arrivals ORDER BY rowid").Column(&order); err != nil {
		t.Fatal(err)
	}
	for i, n := range order {
		if n != i {
			t.Fatalf("writers ran in the order %v, want arrival order", order)
		}
	}
	if len(order) != 6 {
		t.Fatalf("%d writers ran, want 6", len(order))
	}
}

func TestWriteTxJoinsAnOpenTransactionAndRollsBackOnError(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	if _, err := app.DB().NewQuery("CREATE TABLE notes (s TEXT)").Execute(); err != nil {
		t.Fatal(err)
	}
	insert := func(tx core.App, s string) error {
		_, err := tx.DB().NewQuery("INSERT INTO notes (s) VALUES ({:s})").Bind(dbx.Params{"s": s}).Execute()
		return err
	}
	boom := errors.New("boom")
	err := platform.WriteTx(app, func(tx core.App) error {
		if err := insert(tx, "outer"); err != nil {
			return err
		}
		// A nested call joins the transaction instead of waiting for the queue it already holds.
		if err := platform.WriteTx(tx, func(tx core.App) error { return insert(tx, "inner") }); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	var n int
	if err := app.DB().NewQuery("SELECT count(*) FROM notes").Row(&n); err != nil || n != 0 {
		t.Fatalf("%d rows kept after the rollback (%v)", n, err)
	}
	if err := platform.WriteTx(app, func(tx core.App) error { return insert(tx, "after") }); err != nil {
		t.Fatalf("the queue was not released after an error: %v", err)
	}
}
