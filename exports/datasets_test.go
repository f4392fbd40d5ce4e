package exports_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/exports"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/dbx"
)

// A bulk import writes many rows in the same millisecond; paging must still return each row exactly once.
func TestEachReturnsEveryRowOnceWhenCreatedTimesTie(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	total := 2*exports.PageSize + 7
	for i := range total {
		save(t, app, collections.Contacts, map[string]any{"workspace": w.Acme, "name": fmt.Sprintf("Tied %05d", i)})
	}
	if _, err := app.DB().NewQuery("UPDATE contacts SET created = '2026-01-01 10:00:00.000Z' WHERE workspace = {:ws}").
		Bind(dbx.Params{"ws": w.Acme}).Execute(); err != nil {
		t.Fatal(err)
	}
	q, err := exports.NewQuery(app, "contacts", w.Acme, "", []string{"name"}, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	n, err := q.Each(app, func(values []any) error {
		seen[fmt.Sprint(values[0])]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != total || len(seen) != total {
		t.Fatalf("exported %d rows, %d distinct; want %d", n, len(seen), total)
	}
	for name, c := range seen {
		if c != 1 || !strings.HasPrefix(name, "Tied ") {
			t.Fatalf("%q exported %d times", name, c)
		}
	}
}

// Every dataset pages through its (workspace, created, id) index: no full scan, no sort per page.
func TestEveryDatasetPageSeeksAnIndex(t *testing.T) {
	app := testutil.NewWorldApp(t)
	defer app.Cleanup()
	w := testutil.TheWorld(t)
	for name := range exports.Datasets {
		q, err := exports.NewQuery(app, name, w.Acme, "", nil, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sq, err := q.Page(app, "2026-01-01 10:00:00.000Z", "abc")
		if err != nil {
			t.Fatal(err)
		}
		raw := sq.Build()
		got := testutil.QueryPlan(t, app, raw.SQL(), raw.Params())
		if !strings.Contains(got, "_workspace_created_id") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("%s pages with: %s", name, got)
		}
	}
}
