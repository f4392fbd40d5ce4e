package hooks

import (
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
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
