package platform

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/pocketbase/pocketbase/core"
)

// SignatureTolerance is how far a signed request's timestamp may be from now.
const SignatureTolerance = 5 * time.Minute

// CreateSigningSecret gives a key a new whsec_ signing secret (sealed), sets whether requests must be signed,
// and audits it. The secret is returned once.
func CreateSigningSecret(app core.App, box *secretbox.Box, rec *core.Record, require bool, actor Actor) (string, error) {
	secret := whsig.NewSecret()
	sealed, err := box.Seal(secret)
	if err != nil {
		return "", err
	}
	before := KeySummary(rec)
	err = WriteTx(app, func(tx core.App) error {
		rec.Set("signing_secret", sealed)
		rec.Set("require_signature", require)
		if err := tx.Save(rec); err != nil {
			return err
		}
		return Audit(tx, actor, rec.GetString("workspace"), "api_key.signing_secret_created", collections.APIKeys, rec.Id, before, KeySummary(rec))
	})
	return secret, err
}

// KeySigningSecret opens a key's signing secret; ok is false when it has none.
func KeySigningSecret(box *secretbox.Box, k *apikey.Key) (whsig.Secret, bool, error) {
	if k == nil || k.SigningSecret == "" {
		return whsig.Secret{}, false, nil
	}
	plain, err := box.Open(k.SigningSecret)
	if err != nil {
		return whsig.Secret{}, false, err
	}
	s, err := whsig.ParseSecret(plain)
	return s, err == nil, err
}

// ReplayGuard remembers the message ids of signed requests for the tolerance window, so a captured request
// cannot be sent again.
type ReplayGuard struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// NewReplayGuard returns an empty guard.
func NewReplayGuard() *ReplayGuard { return &ReplayGuard{seen: map[string]time.Time{}} }

// ErrReplayed is returned for a message id seen before within the window.
var ErrReplayed = errors.New("this signed request was already received (webhook-id reused)")

// VerifyRequest checks a Standard Webhooks signature over the body and refuses replays.
func (g *ReplayGuard) VerifyRequest(secret whsig.Secret, h http.Header, body []byte, now time.Time) error {
	if err := whsig.Verify(secret, h, body, now, SignatureTolerance); err != nil {
		return err
	}
	id := h.Get("webhook-id")
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, at := range g.seen {
		if now.Sub(at) > 2*SignatureTolerance {
			delete(g.seen, k)
		}
	}
	if _, dup := g.seen[id]; dup {
		return ErrReplayed
	}
	g.seen[id] = now
	return nil
}
