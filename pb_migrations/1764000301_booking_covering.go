package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Every slot search and booking reads a helper's bookings around a time and sums the seats of each slot. An
// index holding every column that query needs, in its grouping order, answers it without visiting the table
// and without sorting: a 1,000-seat class is a run of 1,000 index entries. It replaces (helper, start), its
// prefix.
func init() {
	m.Register(func(app core.App) error {
		bookings, err := app.FindCollectionByNameOrId(collections.Bookings)
		if err != nil {
			return err
		}
		bookings.RemoveIndex("idx_bookings_helper_start")
		bookings.AddIndex("idx_bookings_helper_slot", false, "`helper`, `start`, `tool`, `end`, `status`, `seats`, `id`", "")
		return app.Save(bookings)
	}, nil)
}
