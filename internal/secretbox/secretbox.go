// Package secretbox encrypts third-party secrets (Manychat tokens, model API keys, webhook signing secrets)
// before they are stored, so a copied database or backup does not leak them.
//
// Ciphertexts are "v1:" + base64(nonce || AES-256-GCM sealed bytes). The version prefix leaves room for a
// later key rotation without guessing at the format of stored values.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const prefix = "v1:"

// ErrMalformed is returned for a stored value that is not a ciphertext of this package.
var ErrMalformed = errors.New("secretbox: malformed ciphertext")

// Box seals and opens secrets with one 32-byte key.
type Box struct {
	aead   cipher.AEAD
	macKey []byte
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secretbox: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := sha256.Sum256(append([]byte("playgram-mac-v1:"), key...))
	return &Box{aead: aead, macKey: mac[:]}, nil
}

// ParseKey accepts a key as 64 hex characters or as standard/URL base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("PLAYGRAM_SECRET_KEY must be 32 bytes written as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)")
}

// LoadOrCreateKey returns the key from envValue when it is set. Otherwise it reads the key file in dataDir,
// creating it with a fresh random key on first use; generated reports whether that happened so the caller can
// warn that the data directory now holds the only copy of the key.
func LoadOrCreateKey(envValue, dataDir string) (key []byte, generated bool, err error) {
	if strings.TrimSpace(envValue) != "" {
		key, err = ParseKey(envValue)
		return key, false, err
	}
	path := filepath.Join(dataDir, "playgram_secret.key")
	if raw, readErr := os.ReadFile(path); readErr == nil {
		key, err = ParseKey(string(raw))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, false, nil
	} else if !errors.Is(readErr, os.ErrNotExist) {
		return nil, false, readErr
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// Seal encrypts plaintext. An empty plaintext seals to the empty string, so "not set" stays recognisable.
func (b *Box) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return prefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value made by Seal.
func (b *Box) Open(ciphertext string) (string, error) {
	if ciphertext == "" {
		return "", nil
	}
	if !strings.HasPrefix(ciphertext, prefix) {
		return "", ErrMalformed
	}
	raw, err := base64.StdEncoding.DecodeString(ciphertext[len(prefix):])
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", ErrMalformed
	}
	nonce, sealed := raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():]
	plain, err := b.aead.Open(nil, nonce, sealed, nil)
	if err != nil {
		return "", fmt.Errorf("secretbox: cannot decrypt (wrong PLAYGRAM_SECRET_KEY?): %w", err)
	}
	return string(plain), nil
}

// MAC authenticates msg for purpose (e.g. "qr-image") with a key derived from the box's key, as unpadded
// base64url of the first 16 bytes of an HMAC-SHA256: short enough for URLs, long enough not to be guessed.
func (b *Box) MAC(purpose, msg string) string {
	h := hmac.New(sha256.New, b.macKey)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// VerifyMAC checks a MAC made by MAC in constant time.
func (b *Box) VerifyMAC(purpose, msg, mac string) bool {
	return hmac.Equal([]byte(b.MAC(purpose, msg)), []byte(mac))
}

// Hint returns the last four characters of a secret for display ("…WXYZ"), never more.
func Hint(secret string) string {
	if len(secret) < 12 {
		return "…"
	}
	return "…" + secret[len(secret)-4:]
}
