package collections

import "github.com/pocketbase/pocketbase/tools/types"

// CRM collections (the Manychat mirror around contacts). tags and custom_fields hold the definitions synced
// from Manychat; the values live on each contact.
const (
	SyncLogs         = "sync_logs"
	ManychatTags     = "tags"
	ManychatFields   = "custom_fields"
	Interactions     = "interactions"
	ContactSnapshots = "contact_snapshots"
	AutoReplyRules   = "auto_reply_rules"
	MessageTemplates = "message_templates"
	SavedSearches    = "saved_searches"
)

// ContactsFTS and ContactAttrs are plain SQLite tables (not collections) that hooks keep in step with contacts:
// the FTS5 index over names, Instagram username, email and phone, and one row per tag and custom field value
// for indexed filters.
const (
	ContactsFTS  = "contacts_fts"
	ContactAttrs = "contact_attrs"
)

// OwnRows lets each member see and change only the rows whose user field names them, inside their workspace
// (saved searches).
func OwnRows() Rules {
	own := types.Pointer(ruleMember + " && user = @request.auth.id")
	return Rules{
		List:   own,
		View:   own,
		Create: types.Pointer(ruleSignedInUser + " && " + ruleCreateInOwnWorkspace + " && @request.body.user = @request.auth.id"),
		Update: types.Pointer(ruleMember + " && user = @request.auth.id && " + ruleStayInWorkspace + " && (@request.body.user:isset = false || @request.body.user = @request.auth.id)"),
		Delete: own,
	}
}
