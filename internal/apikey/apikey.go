// Package apikey makes and checks Playgram API keys without touching the database.
//
// A key is "pgk_" followed by 43 base62 characters (256 random bits). Only its SHA-256 hash and a short prefix
// are stored, so a leaked database does not leak usable keys, and the prefix lets a person recognise a key in
// lists and logs.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"time"
)

const (
	// Marker starts every key, so secret scanners and people can recognise one.
	Marker = "pgk_"
	// bodyLen base62 characters carry 256 bits (62^43 > 2^256).
	bodyLen   = 43
	prefixLen = len(Marker) + 8
	alphabet  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// Scopes a key can carry. "admin" implies every other scope.
const (
	ScopeManychat     = "manychat"
	ScopeVerification = "verification"
	ScopeSocial       = "social"
	ScopeWebhooks     = "webhooks"
	ScopeEvents       = "events"
	ScopeAdmin        = "admin"
)

// AllScopes lists the scopes in a stable order for validation messages and the admin UI.
var AllScopes = []string{ScopeManychat, ScopeVerification, ScopeSocial, ScopeWebhooks, ScopeEvents, ScopeAdmin}

// Generate returns a new secret, its storage hash and its display prefix.
func Generate() (secret, hash, prefix string, err error) {
	var b strings.Builder
	b.Grow(len(Marker) + bodyLen)
	b.WriteString(Marker)
	max := big.NewInt(int64(len(alphabet)))
	for range bodyLen {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", "", "", err
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	secret = b.String()
	return secret, Hash(secret), secret[:prefixLen], nil
}

// Hash is the value stored and looked up for a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// LooksLikeKey tells a Playgram key from a PocketBase auth token in the same Authorization header.
func LooksLikeKey(token string) bool {
	if len(token) != len(Marker)+bodyLen || !strings.HasPrefix(token, Marker) {
		return false
	}
	for i := len(Marker); i < len(token); i++ {
		if strings.IndexByte(alphabet, token[i]) < 0 {
			return false
		}
	}
	return true
}

// ValidateScopes checks a requested scope list; the error names the first bad entry.
func ValidateScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("at least one scope is required (one of %s)", strings.Join(AllScopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(AllScopes, s) {
			return fmt.Errorf("unknown scope %q (allowed: %s)", s, strings.Join(AllScopes, ", "))
		}
	}
	return nil
}

// ParseAllowList parses CIDRs (or single addresses) of an IP allow-list; the error names the bad entry.
func ParseAllowList(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, raw := range entries {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if !strings.Contains(raw, "/") {
			addr, err := netip.ParseAddr(raw)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", raw)
			}
			out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid CIDR", raw)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Key is what the authenticator needs to know about a stored key.
type Key struct {
	ID        string
	Workspace string
	Prefix    string
	Scopes    []string
	Tool      string
	AllowList []netip.Prefix
	ExpiresAt time.Time // zero: never
	Revoked   bool
	// GraceUntil is set when the presented secret is the previous one of a rotated key.
	GraceUntil time.Time
	// RequireSignature makes requests need a Standard Webhooks signature made with the key's signing secret.
	RequireSignature bool
	// SigningSecret is the sealed whsec_ secret ("" when none was made).
	SigningSecret string
}

// Denial says why a key may not be used, as the HTTP status and a message an integrator can act on.
type Denial struct {
	Status  int
	Message string
}

func (d *Denial) Error() string { return d.Message }

// Check decides whether a key may call a route needing scope from ip at now. A nil result means allowed.
func Check(k Key, scope string, ip string, now time.Time) *Denial {
	switch {
	case k.Revoked:
		return &Denial{401, "The API key " + k.Prefix + "… has been revoked."}
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return &Denial{401, "The API key " + k.Prefix + "… expired at " + k.ExpiresAt.UTC().Format(time.RFC3339) + "."}
	case !k.GraceUntil.IsZero() && !now.Before(k.GraceUntil):
		return &Denial{401, "The API key " + k.Prefix + "… was rotated and its old secret expired at " + k.GraceUntil.UTC().Format(time.RFC3339) + "."}
	}
	if scope != "" && !HasScope(k.Scopes, scope) {
		return &Denial{403, fmt.Sprintf("The API key %s… lacks the %q scope needed here (it has: %s).", k.Prefix, scope, strings.Join(k.Scopes, ", "))}
	}
	if len(k.AllowList) > 0 {
		addr, err := netip.ParseAddr(ip)
		if err != nil || !allowed(k.AllowList, addr.Unmap()) {
			return &Denial{403, "The API key " + k.Prefix + "… is not allowed from IP " + ip + "."}
		}
	}
	return nil
}

// HasScope reports whether scopes grant scope; admin grants every scope.
func HasScope(scopes []string, scope string) bool {
	return slices.Contains(scopes, scope) || slices.Contains(scopes, ScopeAdmin)
}

func allowed(list []netip.Prefix, addr netip.Addr) bool {
	for _, p := range list {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
