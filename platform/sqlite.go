package platform

import (
	"context"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// sqlitePragmas are PocketBase's own (core.DefaultDBConnect) plus wal_autocheckpoint(0).
const sqlitePragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
	"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
	"&_pragma=wal_autocheckpoint(0)&_defensive=1"

// DBConnect opens the data and auxiliary databases as PocketBase does, except that no commit checkpoints the
// WAL. With SQLite's default, the commit that crosses 1,000 WAL pages copies them into the database file and
// fsyncs it before its request can answer: one request in a few dozen paid tens of milliseconds, which was
// most of the p99 of every write route. Checkpoint does that work in the background instead.
func DBConnect(dbPath string) (*dbx.DB, error) {
	return dbx.Open("sqlite", dbPath+sqlitePragmas)
}

// CheckpointInterval is how often the background checkpoint runs: short enough that the WAL stays small
// (a few MB under full write load), long enough that each run copies many commits' pages at once.
const CheckpointInterval = 250 * time.Millisecond

// Checkpoint copies committed WAL pages of both databases into the database files every interval until ctx
// ends. PASSIVE never waits for readers or the writer, so it costs requests nothing; the next write after a
// complete checkpoint starts the WAL over.
func Checkpoint(ctx context.Context, app core.App, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, db := range []dbx.Builder{app.DB(), app.AuxDB()} {
			var busy, logPages, checkpointed int
			if err := db.NewQuery("PRAGMA wal_checkpoint(PASSIVE)").Row(&busy, &logPages, &checkpointed); err != nil {
				app.Logger().Warn("WAL checkpoint failed", "error", err)
			}
		}
	}
}
