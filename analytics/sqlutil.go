package analytics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// inList binds vals as {:prefix0}, {:prefix1}, ... and returns the placeholder list.
func inList(prefix string, vals []string, params dbx.Params) string {
	ph := make([]string, len(vals))
	for i, v := range vals {
		name := fmt.Sprintf("%s%d", prefix, i)
		params[name] = v
		ph[i] = "{:" + name + "}"
	}
	return strings.Join(ph, ", ")
}

// each runs a read query and calls fn with every row's scanned values.
func each(app core.App, sql string, params dbx.Params, dest []any, fn func() error) error {
	rows, err := app.DB().NewQuery(sql).Bind(params).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// dataCols is ", json_extract(data, '$.a'), ..." for fields (paths are validated field names).
func dataCols(fields []string) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(", json_extract(data, '" + jsonPath(f) + "')")
	}
	return b.String()
}

// workspaceTypes lists the event types a workspace has, by skipping through the (workspace, type, ts) index.
func workspaceTypes(app core.App, workspace string) ([]string, error) {
	var out []string
	var t string
	err := each(app, `WITH RECURSIVE t(type) AS (
			SELECT min(type) FROM events WHERE workspace = {:ws}
			UNION ALL SELECT (SELECT min(type) FROM events WHERE workspace = {:ws} AND type > t.type) FROM t WHERE t.type IS NOT NULL)
		SELECT type FROM t WHERE type IS NOT NULL`, dbx.Params{"ws": workspace}, []any{&t}, func() error {
		out = append(out, t)
		return nil
	})
	return out, err
}

// rowsPerStatement is how many rows one multi-row statement of execRows writes at most.
const rowsPerStatement = 100

// execRows runs head + "row, row, ..." + tail for rows, up to rowsPerStatement rows per statement, with
// statements prepared once per size on the connection of app (the transaction's own when app is one). row is
// the placeholder tuple of one row, such as "(?, ?, ?)"; every row of rows binds its values in order.
func execRows(app core.App, head, row, tail string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	ex, err := executor(app)
	if err != nil {
		return err
	}
	per := rowsPerStatement
	if n := len(rows[0]); n*per > 30_000 { // SQLite's bound on parameters per statement is 32,766
		per = max(1, 30_000/n)
	}
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	args := make([]any, 0, per*len(rows[0]))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		st := stmts[len(chunk)]
		if st == nil {
			values := strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", ")
			if st, err = ex.Prepare(head + values + tail); err != nil {
				return err
			}
			stmts[len(chunk)] = st
		}
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := st.Exec(args...); err != nil {
			return err
		}
	}
	return nil
}

// executor is the database/sql executor of app's write connection: its transaction's when app runs one.
func executor(app core.App) (dbx.Executor, error) {
	switch db := app.NonconcurrentDB().(type) {
	case *dbx.Tx:
		if b, ok := db.Builder.(interface{ Executor() dbx.Executor }); ok {
			return b.Executor(), nil
		}
	case *dbx.DB:
		return db.DB(), nil
	}
	return nil, fmt.Errorf("no SQL executor for %T", app.NonconcurrentDB())
}

// eachValue runs a read query with positional arguments and calls fn with every row's driver values (TEXT as
// string, INTEGER as int64, REAL as float64, NULL as nil; the slice is reused for the next row). Outside a
// transaction it reads on a pooled connection below database/sql's row layer, which saves its locking and
// per-column conversions on large scans; inside one it reads through the transaction.
func eachValue(app core.App, query string, args []any, fn func([]driver.Value) error) error {
	db, ok := app.ConcurrentDB().(*dbx.DB)
	if !ok || app.IsTransactional() {
		ex, err := executor(app)
		if err != nil {
			return err
		}
		rows, err := ex.Query(query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		row := make([]driver.Value, len(cols))
		ptrs := make([]any, len(cols))
		for i := range ptrs {
			ptrs[i] = &row[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	ctx := context.Background()
	conn, err := db.DB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare", dc)
		}
		st, err := pc.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer st.Close()
		sq, ok := st.(driver.StmtQueryContext)
		if !ok {
			return fmt.Errorf("driver statement %T cannot query", st)
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := sq.QueryContext(ctx, named)
		if err != nil {
			return err
		}
		defer rows.Close()
		row := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(row); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := fn(row); err != nil {
				return err
			}
		}
	})
}
