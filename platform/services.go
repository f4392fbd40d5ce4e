package platform

import (
	"net/http"

	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/pocketbase/core"
)

// Services are built once at start-up and handed to every domain's Register function.
type Services struct {
	Config Config
	Box    *secretbox.Box
	Keys   *KeyAuth
	Jobs   *jobs.Runner
	// Outbound is the SSRF-guarded client (internal/outbound) for requests to user-supplied URLs, with
	// PLAYGRAM_OUTBOUND_ALLOW applied.
	Outbound *http.Client
}

// PublicURL is the base of absolute links: PLAYGRAM_PUBLIC_URL, else the address being served, else PocketBase's
// default address (for CLI commands).
func (s *Services) PublicURL() string {
	if s.Config.PublicURL != "" {
		return s.Config.PublicURL
	}
	return "http://127.0.0.1:8090"
}

const actorKey = "@playgram.actor"

// WithActor attaches who is saving a record, so model hooks (which see every save path: REST, routes, CLI,
// jobs) can write audit rows and versions naming them. It is not a field and is never stored.
func WithActor(r *core.Record, a Actor) { r.SetRaw(actorKey, a) }

// ActorOf returns the actor attached by WithActor, or the system actor.
func ActorOf(r *core.Record) Actor {
	if a, ok := r.GetRaw(actorKey).(Actor); ok {
		return a
	}
	return SystemActor("")
}
