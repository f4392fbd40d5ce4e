package platform

import (
	"github.com/pocketbase/pocketbase/core"
)

// Actor is who did something, for the audit log, events and tool versions.
type Actor struct {
	Type      string // user, key, superuser, system
	ID        string
	Label     string
	Workspace string
	IP        string
	UserAgent string
}

// SystemActor is Playgram itself (jobs, cron, the CLI).
func SystemActor(label string) Actor { return Actor{Type: "system", Label: label} }

// String is the compact form stored on events and tool versions, e.g. "user:abc123".
func (a Actor) String() string {
	if a.ID == "" {
		return a.Type
	}
	return a.Type + ":" + a.ID
}

// ActorFromRequest describes whoever is calling: an API key principal, a signed-in user, a superuser or a guest.
func ActorFromRequest(e *core.RequestEvent) Actor {
	a := Actor{IP: e.RealIP(), UserAgent: e.Request.UserAgent()}
	if p, ok := e.Get(principalKey).(*Principal); ok && p.Key != nil {
		a.Type, a.ID, a.Label, a.Workspace = "key", p.Key.ID, p.Key.Prefix, p.Workspace
		return a
	}
	switch {
	case e.Auth == nil:
		a.Type = "system"
		a.Label = "guest"
	case e.Auth.IsSuperuser():
		a.Type, a.ID, a.Label = "superuser", e.Auth.Id, e.Auth.Email()
	default:
		a.Type, a.ID, a.Label, a.Workspace = "user", e.Auth.Id, e.Auth.Email(), e.Auth.GetString("workspace")
	}
	return a
}
