package analytics

import (
	"fmt"
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
