package collections

import "github.com/pocketbase/pocketbase/tools/types"

// AI chat collections: conversations per contact and tool, their messages (with usage, function calls and
// sentiment), and the per-tool knowledge base (full-text indexed in AIKnowledgeFTS).
const (
	AIConversations = "ai_conversations"
	AIMessages      = "ai_messages"
	AIKnowledge     = "ai_knowledge"
	// AIKnowledgeFTS is the FTS5 table kept in step with ai_knowledge by triggers (enabled entries only).
	AIKnowledgeFTS = "ai_knowledge_fts"
)

// Statuses of an assistant message: how the reply came about.
const (
	AIStatusOK          = "ok"           // the model answered
	AIStatusPending     = "pending"      // the model is still answering (a holding text was sent)
	AIStatusFallback    = "fallback"     // the model failed; the customer got the fallback text
	AIStatusBudget      = "budget"       // the monthly budget is spent; the model was not called
	AIStatusRateLimited = "rate_limited" // the contact or tool sent too many messages; the model was not called
)

// KnowledgeRules are WorkspaceData(manager) plus: an entry's tool must belong to the writer's workspace.
func KnowledgeRules() Rules {
	r := WorkspaceData(RoleManager)
	toolInWS := " && (@request.body.tool:isset = false || @request.body.tool.workspace = @request.auth.workspace)"
	r.Create = types.Pointer(*r.Create + toolInWS)
	r.Update = types.Pointer(*r.Update + toolInWS)
	return r
}
