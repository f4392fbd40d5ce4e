package platform

import (
	"github.com/pocketbase/pocketbase/core"
)

// WriteTx runs fn in a write transaction, queued behind the earlier callers in arrival order.
//
// PocketBase has one writer connection, and database/sql hands a freed connection to a random waiter, so under
// load a request can wait behind any number of later ones: with 50 concurrent scans the slowest 1% waited four
// times the median. A FIFO queue in front of the connection makes each wait proportional to the queue's length.
// Inside a transaction fn simply joins it, as app.RunInTransaction does.
func WriteTx(app core.App, fn func(tx core.App) error) error {
	if app.IsTransactional() {
		return app.RunInTransaction(fn)
	}
	queue := writeQueue(app)
	queue <- struct{}{} // a buffered channel's blocked senders are woken first in, first out
	defer func() { <-queue }()
	return app.RunInTransaction(fn)
}

const writeQueueKey = "playgram.writeQueue"

func writeQueue(app core.App) chan struct{} {
	return app.Store().GetOrSet(writeQueueKey, func() any { return make(chan struct{}, 1) }).(chan struct{})
}
