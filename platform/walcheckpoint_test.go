package platform_test

import (
	"testing"
	"time"

	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
)

// TestWALCheckpointer: while the background checkpointer runs, the writer connection checkpoints inline
// only past WriterCheckpointPages; stop ends it.
func TestWALCheckpointer(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	bound := func() int {
		var n int
		if err := app.NonconcurrentDB().NewQuery("PRAGMA wal_autocheckpoint").Row(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if bound() == platform.WriterCheckpointPages {
		t.Fatal("the bound is raised before the checkpointer starts")
	}
	stop := platform.StartWALCheckpointer(app, 5*time.Millisecond)
	defer stop()
	for deadline := time.Now().Add(5 * time.Second); bound() != platform.WriterCheckpointPages; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("writer bound still %d", bound())
		}
	}
}
