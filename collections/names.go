package collections

// Collection names of the platform. Domain collections are named in their own files.
const (
	Workspaces      = "workspaces"
	Users           = "users"
	Tools           = "tools"
	ToolVersions    = "tool_versions"
	APIKeys         = "api_keys"
	APIKeyUsage     = "api_key_usage"
	AuditLog        = "audit_log"
	Jobs            = "jobs"
	Events          = "events"
	IdempotencyKeys = "idempotency_keys"
)

// Contacts is the CRM mirror of Manychat subscribers, shared by every domain.
const Contacts = "contacts"
