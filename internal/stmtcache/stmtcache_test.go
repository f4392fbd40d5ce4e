package stmtcache

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// oneConn opens a database through Connect on a single connection, so every statement meets the same cache.
func oneConn(t *testing.T) (*sql.DB, func() *conn) {
	t.Helper()
	db, err := Connect(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	sdb := db.DB()
	sdb.SetMaxOpenConns(1)
	t.Cleanup(func() { sdb.Close() })
	if _, err := sdb.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"); err != nil {
		t.Fatal(err)
	}
	inspect := func() *conn {
		var c *conn
		sc, err := sdb.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		_ = sc.Raw(func(dc any) error { c = dc.(*conn); return nil })
		return c
	}
	return sdb, inspect
}

func TestStatementsAreKeptAndReused(t *testing.T) {
	db, inspect := oneConn(t)
	for i := range 5 {
		if _, err := db.Exec("INSERT INTO t (name) VALUES (?)", fmt.Sprint("n", i)); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	for range 3 {
		if err := db.QueryRow("SELECT count(*) FROM t WHERE name LIKE ?", "n%").Scan(&n); err != nil || n != 5 {
			t.Fatalf("count %d, %v", n, err)
		}
	}
	c := inspect()
	if _, ok := c.byQuery["INSERT INTO t (name) VALUES (?)"]; !ok {
		t.Fatal("the insert was not kept")
	}
	if c.lru.Len() != 3 || c.misses != 3 { // CREATE, INSERT, SELECT
		t.Fatalf("%d statements kept and %d prepared for 9 executions of 3 texts, want 3 and 3", c.lru.Len(), c.misses)
	}
}

func TestSameTextWhileItsRowsAreOpen(t *testing.T) {
	db, _ := oneConn(t)
	for i := range 3 {
		if _, err := db.Exec("INSERT INTO t (name) VALUES (?)", fmt.Sprint("n", i)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Begin() // one connection: the inner query runs on the same one
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = "SELECT name FROM t WHERE id >= ? ORDER BY id"
	outer, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for outer.Next() {
		var a string
		_ = outer.Scan(&a)
		inner, err := tx.Query(q, 3)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var b string
			_ = inner.Scan(&b)
			pairs = append(pairs, a+b)
		}
		inner.Close()
	}
	outer.Close()
	if got := strings.Join(pairs, ","); got != "n0n2,n1n2,n2n2" {
		t.Fatalf("pairs %s", got)
	}
	var name string
	if err := tx.QueryRow(q, 2).Scan(&name); err != nil || name != "n1" {
		t.Fatalf("after both closed: %q %v", name, err)
	}
}

func TestEvictionKeepsAnswersRight(t *testing.T) {
	db, inspect := oneConn(t)
	if _, err := db.Exec("INSERT INTO t (name) VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	for i := range PerConn * 2 {
		var got int
		if err := db.QueryRow(fmt.Sprintf("SELECT %d + count(*) FROM t", i)).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("query %d: %d %v", i, got, err)
		}
	}
	if n := inspect().lru.Len(); n > PerConn {
		t.Fatalf("%d statements kept, bound %d", n, PerConn)
	}
}

func TestErrorsSchemaChangesAndRollbacks(t *testing.T) {
	db, _ := oneConn(t)
	const ins = "INSERT INTO t (name) VALUES (?)"
	if _, err := db.Exec(ins, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ins, "a"); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := db.Exec(ins, "b"); err != nil {
		t.Fatalf("the statement after a failure: %v", err)
	}
	const all = "SELECT * FROM t ORDER BY id"
	cols := func() string {
		r, err := db.Query(all)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		c, _ := r.Columns()
		return strings.Join(c, ",")
	}
	if got := cols(); got != "id,name" {
		t.Fatalf("columns %s", got)
	}
	if _, err := db.Exec("ALTER TABLE t ADD COLUMN note TEXT"); err != nil {
		t.Fatal(err)
	}
	if got := cols(); got != "id,name,note" {
		t.Fatalf("columns after ALTER TABLE %s", got)
	}
	tx, _ := db.Begin()
	if _, err := tx.Exec(ins, "c"); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("after rollback %d rows, %v", n, err)
	}
}
