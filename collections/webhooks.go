package collections

import "github.com/pocketbase/pocketbase/tools/types"

// Webhook fan-out and the playground.
const (
	WebhookEndpoints     = "webhook_endpoints"
	WebhookDeliveries    = "webhook_deliveries"
	WebhookAttempts      = "webhook_attempts"
	WebhookRecordSources = "webhook_record_sources"
	// WebhookState holds the fan-out cursor over the events log; superusers only.
	WebhookState       = "webhook_state"
	PlaygroundBins     = "playground_bins"
	PlaygroundRequests = "playground_requests"
)

// AdminData lets owners and admins of the workspace read and write; other members see nothing. Endpoints (their
// custom headers may carry the receiver's credentials) and record sources use it.
func AdminData() Rules {
	r := WorkspaceData(RoleAdmin)
	r.List = types.Pointer(ruleMember + " && " + ruleAdmin)
	r.View = r.List
	return r
}
