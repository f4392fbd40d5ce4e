package platform

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pocketbase/pocketbase/core"
)

const storeWrites = "playgram.groupedWrites"

// maxGroup bounds how many writes share one transaction, and so how long the writer is held at once.
const maxGroup = 64

// WriteGrouped runs fn in a write transaction, like WriteTx, but shares the transaction with the other
// WriteGrouped calls that queued while the previous one held the writer (group commit). PocketBase has one
// writer connection, so bursts (Manychat pushes, scans at the door) would otherwise each pay a transaction and
// a commit (the WAL write of every page they touched) in turn; a group pays one. It suits writes that rarely
// fail: a refusal that is an error (a taken slot) would send its whole group back to run alone. The rows of each fn still commit or roll back
// with the rows of its group, and no fn sees a half-done write of another (they run one after the other).
//
// A group that fails (any fn returns an error, or the commit fails) is rolled back and every fn of it is run
// again in a transaction of its own, in its caller's goroutine, so an error or a panic reaches its request
// exactly as with app.RunInTransaction. fn may therefore run twice; it must keep its effects in tx (as every
// transaction function must) and reset what it returns on each run.
//
// A refusal that fn finds before writing anything (a taken slot) is not a failure of the group: fn returns it
// wrapped in Refused, its caller gets it, and the others commit.
func WriteGrouped(app core.App, fn func(tx core.App) error) error {
	if app.IsTransactional() {
		return unwrapRefusal(app.RunInTransaction(fn)) // already inside a transaction: join it
	}
	g := app.Store().GetOrSet(storeWrites, func() any { return &writeGroup{} }).(*writeGroup)
	w := &pendingWrite{fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	if !g.running {
		g.running = true
		go g.loop(app)
	}
	g.mu.Unlock()
	<-w.done
	if w.alone {
		return unwrapRefusal(WriteTx(app, fn))
	}
	return unwrapRefusal(w.err)
}

// Refused marks err as a refusal fn found before it wrote anything (see WriteGrouped); the caller of
// WriteGrouped gets err itself.
func Refused(err error) error { return refusal{err} }

type refusal struct{ error }

// Unwrap lets errors.As find the refusal's own error where fn ran outside WriteGrouped.
func (r refusal) Unwrap() error { return r.error }

func unwrapRefusal(err error) error {
	if r, ok := err.(refusal); ok {
		return r.error
	}
	return err
}

type writeGroup struct {
	mu      sync.Mutex
	queue   []*pendingWrite
	running bool
}

type pendingWrite struct {
	fn    func(tx core.App) error
	err   error
	alone bool // run again in the caller's own transaction
	done  chan struct{}
}

// loop runs the queued writes in groups until the queue is empty; WriteGrouped starts it again when needed.
func (g *writeGroup) loop(app core.App) {
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		if n == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		batch := make([]*pendingWrite, n)
		copy(batch, g.queue)
		g.queue = append(g.queue[:0], g.queue[n:]...)
		g.mu.Unlock()
		runGroup(app, batch)
	}
}

func runGroup(app core.App, batch []*pendingWrite) {
	defer func() {
		for _, w := range batch {
			close(w.done)
		}
	}()
	if len(batch) == 1 {
		// A group of one is exactly a transaction of its own (a panic is rethrown in the caller).
		w := batch[0]
		if err := call(app, w.fn); err != nil {
			w.alone = isPanic(err)
			w.err = err
		}
		return
	}
	committed := false
	err := WriteTx(app, func(tx core.App) error {
		// Registered first, so it runs first after the commit or rollback and sees the transaction's own result.
		tx.TxInfo().OnComplete(func(txErr error) error { committed = txErr == nil; return nil })
		for _, w := range batch {
			err := callIn(tx, w.fn)
			var r refusal
			if errors.As(err, &r) {
				w.err = r.error // nothing of it was written; the group goes on
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if !committed {
		for _, w := range batch {
			w.alone = true
		}
		return
	}
	if err != nil {
		// Committed, but an after-commit hook failed: the data of every write is stored; log like a hook error.
		app.Logger().Error("an after-commit hook of a grouped write failed", "error", err)
	}
}

type panicked struct{ v any }

func (p panicked) Error() string { return fmt.Sprint("panic: ", p.v) }

func isPanic(err error) bool { _, ok := err.(panicked); return ok }

// call runs fn in a transaction of its own, turning a panic into an error.
func call(app core.App, fn func(tx core.App) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicked{r}
		}
	}()
	return WriteTx(app, fn)
}

// callIn runs fn inside the group's transaction, turning a panic into an error.
func callIn(tx core.App, fn func(tx core.App) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicked{r}
		}
	}()
	return fn(tx)
}
