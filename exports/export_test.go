package exports

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Page exposes one page's query to the plan test.
func (q *Query) Page(app core.App, afterCreated, afterID string) (*dbx.SelectQuery, error) {
	return q.page(app, afterCreated, afterID)
}
