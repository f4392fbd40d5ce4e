package hooks

import (
	"errors"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
)

// registerAppendOnly keeps the audit log and the event log append-only and written by Playgram alone: no API
// may add, change or remove a row, superusers included, so an entry cannot be forged. Retention and erasure
// jobs delete through the model layer, which stays possible.
func registerAppendOnly(app core.App) {
	refuse := func(e *core.RecordRequestEvent) error {
		return e.ForbiddenError("The "+e.Collection.Name+" collection is append-only and written by Playgram: rows cannot be added, changed or deleted through the API.", nil)
	}
	app.OnRecordCreateRequest(collections.AuditLog, collections.Events).BindFunc(refuse)
	app.OnRecordUpdateRequest(collections.AuditLog, collections.Events).BindFunc(refuse)
	app.OnRecordDeleteRequest(collections.AuditLog, collections.Events).BindFunc(refuse)
	app.OnRecordUpdate(collections.AuditLog).BindFunc(func(e *core.RecordEvent) error {
		return errors.New("audit_log rows cannot be changed")
	})
}
