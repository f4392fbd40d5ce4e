package analytics_test

import (
	"testing"

	"github.com/playgram/playgram/analytics"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/dbx"
)

// A filter SQLite tests (pushed into the query) must keep exactly the rows Match keeps.
func TestFilterPushdownMatchesGo(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	datas := []string{`{}`, `{"channel":"instagram"}`, `{"channel":"Instagram"}`, `{"channel":null}`, `{"channel":12}`,
		`{"channel":"12"}`, `{"channel":true}`, `{"channel":false}`, `{"channel":["instagram"]}`, `{"channel":{"a":1}}`,
		`{"channel":"instagram "}`, `{"channel":""}`, `{"channel":1.5}`, `{"other":"instagram"}`, `{"channel":"ads"}`}
	filters := []analytics.Filter{
		{Field: "channel", Op: "eq", Value: "instagram"}, {Field: "channel", Op: "eq", Value: ""},
		{Field: "channel", Op: "eq", Value: "12"}, {Field: "channel", Op: "eq", Value: 12.0}, {Field: "channel", Op: "eq", Value: true},
		{Field: "channel", Op: "eq", Value: `["instagram"]`}, {Field: "channel", Op: "exists"},
		{Field: "channel", Op: "in", Value: []any{"instagram", "ads"}}, {Field: "channel", Op: "in", Value: []any{}},
		{Field: "channel", Op: "in", Value: []any{"ads", 12.0}}, {Field: "channel", Op: "neq", Value: "instagram"},
		{Field: "channel", Op: "gt", Value: 3.0},
	}
	pushed := 0
	for _, f := range filters {
		for _, d := range datas {
			params := dbx.Params{"d": d}
			cond := analytics.SQLCond(f, params, "f")
			if cond == "" {
				continue
			}
			pushed++
			var v any
			var sqlKeeps bool
			if err := app.DB().NewQuery("SELECT json_extract({:d}, '$.channel'), coalesce((SELECT 1 FROM (SELECT {:d} AS data) WHERE "+cond+"), 0)").
				Bind(params).Row(&v, &sqlKeeps); err != nil {
				t.Fatal(err)
			}
			if goKeeps := f.Match(v); goKeeps != sqlKeeps {
				t.Errorf("%+v on %s: SQL keeps %v, Match %v", f, d, sqlKeeps, goKeeps)
			}
		}
	}
	if pushed == 0 {
		t.Fatal("no filter was pushed down")
	}
}
