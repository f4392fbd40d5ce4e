package platform

import (
	"github.com/playgram/playgram/internal/apikey"
	"github.com/pocketbase/pocketbase/core"
)

const principalKey = "playgram.principal"

// Principal is who a /api/v1 request acts for, after authentication: a workspace member, an API key of a
// workspace, or a superuser acting on a workspace it named.
type Principal struct {
	Workspace string
	Role      string // the member's role; "admin" for superusers; "" for keys
	User      *core.Record
	Key       *apikey.Key
	Superuser bool
}

// SetPrincipal stores p on the request for handlers and ActorFromRequest.
func SetPrincipal(e *core.RequestEvent, p *Principal) { e.Set(principalKey, p) }

// PrincipalOf returns the request's principal, or nil when the route has no access middleware.
func PrincipalOf(e *core.RequestEvent) *Principal {
	p, _ := e.Get(principalKey).(*Principal)
	return p
}
