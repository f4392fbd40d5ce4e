package hooks

import (
	"github.com/pocketbase/pocketbase/core"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
)

// registerAPIKeys drops cached keys whenever a key changes, so a revocation takes effect at once.
func registerAPIKeys(app core.App, svc *platform.Services) {
	forget := func(e *core.RecordEvent) error {
		svc.Keys.Forget()
		return e.Next()
	}
	app.OnRecordAfterUpdateSuccess(collections.APIKeys).BindFunc(forget)
	app.OnRecordAfterDeleteSuccess(collections.APIKeys).BindFunc(forget)
}
