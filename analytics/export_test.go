package analytics

import "github.com/pocketbase/dbx"

// SQLCond exposes Filter.sqlCond to the tests.
func SQLCond(f Filter, params dbx.Params, name string) string { return f.sqlCond(params, name) }
