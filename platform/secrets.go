package platform

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/playgram/playgram/internal/secretbox"
	"github.com/pocketbase/pocketbase/core"
)

// WorkspaceSecretNames are the integration secrets a workspace can store. Each is sealed with the server key and
// only ever shown back as "set" with its last four characters.
var WorkspaceSecretNames = []string{"manychat_token", "apify_token", "openai_api_key", "twilio_auth_token", "smtp_password"}

// ToolSecretNames are the per-tool secrets (a model API key that overrides the workspace's).
var ToolSecretNames = []string{"api_key"}

// SecretStatus is what the API shows of a stored secret.
type SecretStatus struct {
	Set  bool   `json:"set"`
	Hint string `json:"hint,omitempty"`
}

// sealed is the stored form: name → ciphertext.
type sealed map[string]string

func readSealed(r *core.Record) sealed {
	s := sealed{}
	if raw := r.GetString("secrets"); raw != "" {
		_ = json.Unmarshal([]byte(raw), &s)
	}
	return s
}

// SetSecrets seals the given values into r's secrets field (an empty value removes the secret). It does not save r.
func SetSecrets(box *secretbox.Box, r *core.Record, allowed []string, values map[string]string) error {
	s := readSealed(r)
	for name, v := range values {
		if !slices.Contains(allowed, name) {
			return fmt.Errorf("unknown secret %q (allowed: %s)", name, strings.Join(allowed, ", "))
		}
		if v == "" {
			delete(s, name)
			continue
		}
		c, err := box.Seal(v)
		if err != nil {
			return err
		}
		s[name] = c
	}
	raw, _ := json.Marshal(s)
	r.Set("secrets", string(raw))
	return nil
}

// Secret opens one secret of r; "" when not set.
func Secret(box *secretbox.Box, r *core.Record, name string) (string, error) {
	return box.Open(readSealed(r)[name])
}

// SecretStatuses describes every allowed secret of r without revealing any.
func SecretStatuses(box *secretbox.Box, r *core.Record, allowed []string) map[string]SecretStatus {
	s := readSealed(r)
	out := make(map[string]SecretStatus, len(allowed))
	for _, name := range allowed {
		st := SecretStatus{}
		if c, ok := s[name]; ok {
			st.Set = true
			if plain, err := box.Open(c); err == nil {
				st.Hint = secretbox.Hint(plain)
			}
		}
		out[name] = st
	}
	return out
}
