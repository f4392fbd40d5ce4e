package platform

import (
	"strconv"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// WAL checkpoints in the background.
//
// SQLite (WAL mode, synchronous=NORMAL, as PocketBase opens it) fsyncs nothing on commit, but by default the
// commit that takes the WAL past 1,000 pages checkpoints it inline: it copies the pages into the database file
// and fsyncs both files, and the next write transaction restarts the WAL with one more fsync. On this kind of
// disk that made every ~25th write request 10–100 ms slower. The checkpointer does that work on a read
// connection every CheckpointEvery instead, and lets the writer checkpoint inline only if the WAL grows past
// WriterCheckpointPages (the background fell behind, or was never started: commands and tests). A short
// interval keeps the WAL far below that bound even at a few thousand writes a second (each commit appends
// every page it touched), and each run still copies many commits' pages at once. Shorter runs stall the
// requests alongside them less: DMs at 1,000/s over loopback had a p99 of 25–33 ms with a run every second,
// 10–11 ms every 250 ms, 6–7 ms every 100 ms (and no better every 50 ms).
const (
	CheckpointEvery       = 100 * time.Millisecond
	WriterCheckpointPages = 20000 // ≈ 80 MB of WAL at 4 KB pages
)

// StartWALCheckpointer starts checkpointing app's main database every interval (passive: it never waits for
// readers or blocks the writer) until the returned stop is called; stop may be called more than once (an app
// can be terminated twice).
func StartWALCheckpointer(app core.App, every time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			if !app.IsBootstrapped() {
				return
			}
			CheckpointWAL(app)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

// CheckpointWAL raises the writer connection's inline checkpoint bound (the pool may have reopened its one
// connection since the last call, with SQLite's default of 1,000 pages) and checkpoints the WAL passively
// from a read connection.
func CheckpointWAL(app core.App) {
	if _, err := app.NonconcurrentDB().NewQuery("PRAGMA wal_autocheckpoint = " + strconv.Itoa(WriterCheckpointPages)).Execute(); err != nil {
		app.Logger().Warn("raising the writer's WAL checkpoint bound failed", "error", err)
	}
	var busy, frames, copied int
	if err := app.ConcurrentDB().NewQuery("PRAGMA wal_checkpoint(PASSIVE)").Row(&busy, &frames, &copied); err != nil {
		app.Logger().Warn("WAL checkpoint failed", "error", err)
	}
}
