// Package stmtcache is the SQLite driver PocketBase opens through, with a prepared-statement cache on every
// connection. database/sql and dbx hand each query to the driver as text, and the driver parses and plans it
// every time: on the hot routes (Manychat pushes, scans, bookings, AI replies) that was a sixth of the CPU.
// Each connection now keeps its most recently used statements, keyed by their text, and runs them again
// with new arguments. SQLite re-prepares a cached statement by itself when the schema changes.
package stmtcache

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"modernc.org/sqlite"
)

// DriverName is the database/sql name of the caching driver.
const DriverName = "sqlite_stmtcache"

// PerConn bounds the statements kept per connection.
const PerConn = 128

var register sync.Once

// Connect opens a PocketBase database like core.DefaultDBConnect, through the caching driver.
func Connect(dbPath string) (*dbx.DB, error) {
	register.Do(func() { sql.Register(DriverName, &cachingDriver{}) })
	// The pragmas of core.DefaultDBConnect (busy_timeout first, so the connection blocks while another one
	// switches the database to WAL).
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)&_defensive=1"
	return dbx.Open(DriverName, dbPath+pragmas)
}

var _ core.DBConnectFunc = Connect

type cachingDriver struct{ sqlite.Driver }

func (d *cachingDriver) Open(dsn string) (driver.Conn, error) {
	c, err := d.Driver.Open(dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := c.(innerConn)
	if !ok {
		c.Close()
		return nil, errors.New("stmtcache: the sqlite driver's connection lacks the context methods")
	}
	return &conn{innerConn: inner, byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

// innerConn is what the sqlite driver's connection offers and the cache passes through.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// conn is used by one goroutine at a time (database/sql's guarantee), so the cache needs no lock.
type conn struct {
	innerConn
	byQuery map[string]*list.Element // of *cached
	lru     *list.List               // front: most recently used
	misses  int                      // statements prepared for the cache
}

type cached struct {
	query string
	stmt  driver.Stmt
	busy  bool // its rows are open: a second use of the same text prepares a statement of its own
}

// statement returns the cached statement of query, preparing and keeping it on a miss; nil when it is busy.
func (c *conn) statement(ctx context.Context, query string) (*cached, error) {
	if e, ok := c.byQuery[query]; ok {
		c.lru.MoveToFront(e)
		s := e.Value.(*cached)
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	st, err := c.innerConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.misses++
	s := &cached{query: query, stmt: st}
	c.byQuery[query] = c.lru.PushFront(s)
	for c.lru.Len() > PerConn {
		old := c.lru.Back()
		o := old.Value.(*cached)
		if o.busy {
			break // closed when its rows are
		}
		c.evict(old)
	}
	return s, nil
}

func (c *conn) evict(e *list.Element) {
	s := e.Value.(*cached)
	c.lru.Remove(e)
	delete(c.byQuery, s.query)
	s.stmt.Close()
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.innerConn.ExecContext(ctx, query, args)
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.innerConn.QueryContext(ctx, query, args)
	}
	r, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &rows{Rows: r, release: func() { c.release(s) }}, nil
}

// release marks a statement free once its rows are closed, closing it if it was evicted meanwhile.
func (c *conn) release(s *cached) {
	s.busy = false
	if e, ok := c.byQuery[s.query]; !ok || e.Value.(*cached) != s {
		s.stmt.Close()
		return
	}
	for c.lru.Len() > PerConn && !c.lru.Back().Value.(*cached).busy {
		c.evict(c.lru.Back())
	}
}

func (c *conn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		if s := e.Value.(*cached); !s.busy {
			s.stmt.Close()
		}
	}
	c.byQuery, c.lru = nil, list.New()
	return c.innerConn.Close()
}

// rows releases its statement when closed; the remaining driver.Rows methods are the sqlite driver's.
type rows struct {
	driver.Rows
	release func()
	closed  bool
}

func (r *rows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.release()
	}
	return err
}

// The sqlite driver's rows describe their columns; so do these.

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	return r.Rows.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(i)
}

func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	return r.Rows.(driver.RowsColumnTypeLength).ColumnTypeLength(i)
}

func (r *rows) ColumnTypeNullable(i int) (bool, bool) {
	return r.Rows.(driver.RowsColumnTypeNullable).ColumnTypeNullable(i)
}

func (r *rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.Rows.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(i)
}

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	return r.Rows.(driver.RowsColumnTypeScanType).ColumnTypeScanType(i)
}
