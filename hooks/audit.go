package hooks

import (
	"errors"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
)

// registerAppendOnly keeps the audit log and the event log append-only: no API may change or remove a row,
// superusers included. Retention and erasure jobs delete through the model layer, which stays possible.
func registerAppendOnly(app core.App) {
	refuse := func(e *core.RecordRequestEvent) error {
		return e.ForbiddenError("The "+e.Collection.Name+" collection is append-only: rows cannot be changed or deleted.", nil)
	}
	app.OnRecordUpdateRequest(collections.AuditLog, collections.Events).BindFunc(refuse)
	app.OnRecordDeleteRequest(collections.AuditLog, collections.Events).BindFunc(refuse)
	app.OnRecordUpdate(collections.AuditLog).BindFunc(func(e *core.RecordEvent) error {
		return errors.New("audit_log rows cannot be changed")
	})
}
