package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Exports page through a dataset in (created, id) order and continue after the last row with a row-value
// comparison. An index on (workspace, created, id) serves both the order and the seek, so each page costs the
// same however many rows share one created time (a bulk import writes thousands in the same millisecond).
// It replaces the (workspace, created) indexes, which are its prefix.
func init() {
	m.Register(func(app core.App) error {
		for _, name := range []string{
			collections.Contacts, collections.QRCodes, collections.QRScans, collections.Bookings,
			collections.Interactions, collections.Verifications, collections.WebhookDeliveries,
		} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				return err
			}
			c.RemoveIndex("idx_" + name + "_workspace_created")
			c.AddIndex("idx_"+name+"_workspace_created_id", false, "workspace, created, id", "")
			if err := app.Save(c); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}
