// Package whsig signs and verifies webhooks with the Standard Webhooks v1
// (HMAC-SHA256) scheme, so receivers can check Playgram's requests with the
// official libraries unchanged.
//
// The signed content is "{webhook-id}.{webhook-timestamp}.{body}" where body
// is the exact bytes sent on the wire: marshal once, sign those bytes, send
// those bytes. Every retry gets a fresh timestamp and therefore a fresh
// signature; the message id stays the same so receivers can deduplicate.
package whsig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names exactly as the contract puts them on the wire (lower-case).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

const (
	// SecretPrefix marks a symmetric signing secret shown to users.
	SecretPrefix = "whsec_"

	// MinSecretBytes and MaxSecretBytes bound the decoded key length
	// (contract §3: 24–64 random bytes). Shorter keys are refused because they
	// weaken HMAC; longer ones because no reference library expects them.
	MinSecretBytes = 24
	MaxSecretBytes = 64

	// DefaultTolerance is the ±window every reference verifier applies to
	// webhook-timestamp (contract §4).
	DefaultTolerance = 5 * time.Minute

	newSecretBytes = 32
	versionV1      = "v1"
)

var (
	// ErrInvalidSecret is returned when a secret is empty, a bare prefix,
	// not standard base64, or outside the allowed key length.
	ErrInvalidSecret = errors.New("invalid webhook secret")
	// ErrMissingHeader means one of the three webhook-* headers is absent or empty.
	ErrMissingHeader = errors.New("missing header")
	// ErrInvalidTimestamp means webhook-timestamp is not an integer of Unix seconds.
	ErrInvalidTimestamp = errors.New("timestamp is not integer Unix seconds")
	// ErrTooOld means the timestamp is further in the past than the tolerance.
	ErrTooOld = errors.New("message timestamp too old")
	// ErrTooNew means the timestamp is further in the future than the tolerance.
	ErrTooNew = errors.New("message timestamp too new")
	// ErrNoMatchingSignature means no v1 entry of webhook-signature matched.
	ErrNoMatchingSignature = errors.New("no matching signature")
)

// HeaderError tells which webhook-* header made verification fail, so a
// playground or receiver can show "webhook-timestamp: message timestamp too
// old" instead of a bare "invalid". Err is one of the package's sentinels.
type HeaderError struct {
	Header string
	Err    error
	Detail string
}

func (e *HeaderError) Error() string {
	if e.Detail == "" {
		return e.Header + ": " + e.Err.Error()
	}
	return e.Header + ": " + e.Err.Error() + " (" + e.Detail + ")"
}

func (e *HeaderError) Unwrap() error { return e.Err }

// Secret is a parsed HMAC key. It is a distinct type so that signing cannot
// fail at send time: a stored secret is parsed (and rejected) once, when it is
// loaded, not on every delivery.
type Secret struct {
	key []byte
}

// NewSecret returns a fresh "whsec_" secret with 32 random bytes, one per
// endpoint (reusing keys across endpoints lets one receiver forge another's
// webhooks).
func NewSecret() string {
	b := make([]byte, newSecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error.
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseSecret decodes "whsec_<base64>" (the prefix is optional, as in the
// official libraries). Surrounding whitespace is ignored because secrets are
// often pasted.
func ParseSecret(s string) (Secret, error) {
	raw := strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix)
	if raw == "" {
		return Secret{}, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: not standard base64 after %q", ErrInvalidSecret, SecretPrefix)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return Secret{}, fmt.Errorf("%w: key is %d bytes, want %d to %d", ErrInvalidSecret, len(key), MinSecretBytes, MaxSecretBytes)
	}
	return Secret{key: key}, nil
}

// String renders the secret in its "whsec_" form, for showing it once to the
// user after creation.
func (s Secret) String() string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(s.key)
}

// IsZero reports whether s was never parsed.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// NewMessageID returns a random "msg_" id for webhook-id: unguessable, never
// user-controlled and free of '.', which separates the signed fields.
func NewMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Sign returns the header entry "v1,<base64 HMAC-SHA256>" for one secret.
// It panics on a zero Secret: that is a programming error (a secret that was
// never parsed), and signing with an empty key would send forgeable webhooks.
func Sign(secret Secret, msgID string, ts time.Time, body []byte) string {
	return versionV1 + "," + base64.StdEncoding.EncodeToString(mac(secret, msgID, ts.Unix(), body))
}

// SignAll returns the webhook-signature value for a key rotation: one "v1,"
// entry per secret, space-separated, so receivers holding either the new or
// the old secret accept the message during the grace period.
func SignAll(secrets []Secret, msgID string, ts time.Time, body []byte) string {
	if len(secrets) == 0 {
		panic("whsig: SignAll with no secrets")
	}
	entries := make([]string, len(secrets))
	for i, s := range secrets {
		entries[i] = Sign(s, msgID, ts, body)
	}
	return strings.Join(entries, " ")
}

// Headers builds the three webhook-* headers. Keys are stored lower-case, as
// the contract writes them and as they go on the wire (net/http writes map
// keys verbatim). Because they are not in Go's canonical form, read them back
// with Verify or by the exact key, not with http.Header.Get.
func Headers(msgID string, ts time.Time, signature string) http.Header {
	return http.Header{
		HeaderID:        {msgID},
		HeaderTimestamp: {strconv.FormatInt(ts.Unix(), 10)},
		HeaderSignature: {signature},
	}
}

// Verify checks a received webhook the way the official libraries do: all
// three headers present, timestamp within ±tolerance of now (tolerance <= 0
// means DefaultTolerance), and at least one "v1," entry equal, in constant
// time, to the HMAC of id.timestamp.body. Unknown versions are skipped.
// Header names are matched case-insensitively, so both a Go server's
// canonical keys and Headers' lower-case keys work.
func Verify(secret Secret, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if secret.IsZero() {
		return fmt.Errorf("%w: zero secret", ErrInvalidSecret)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, err := required(h, HeaderID)
	if err != nil {
		return err
	}
	tsRaw, err := required(h, HeaderTimestamp)
	if err != nil {
		return err
	}
	sigs, err := required(h, HeaderSignature)
	if err != nil {
		return err
	}
	unix, perr := strconv.ParseInt(tsRaw, 10, 64)
	if perr != nil {
		return &HeaderError{Header: HeaderTimestamp, Err: ErrInvalidTimestamp, Detail: fmt.Sprintf("%q", tsRaw)}
	}
	ts := time.Unix(unix, 0)
	if age := now.Sub(ts); age > tolerance {
		return &HeaderError{Header: HeaderTimestamp, Err: ErrTooOld, Detail: fmt.Sprintf("%s old, tolerance %s", age.Truncate(time.Second), tolerance)}
	} else if -age > tolerance {
		return &HeaderError{Header: HeaderTimestamp, Err: ErrTooNew, Detail: fmt.Sprintf("%s ahead, tolerance %s", (-age).Truncate(time.Second), tolerance)}
	}
	want := mac(secret, id, unix, body)
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != versionV1 {
			continue
		}
		got, derr := base64.StdEncoding.DecodeString(sig)
		if derr != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return &HeaderError{Header: HeaderSignature, Err: ErrNoMatchingSignature}
}

func mac(secret Secret, msgID string, unix int64, body []byte) []byte {
	if secret.IsZero() {
		panic("whsig: signing with a zero Secret")
	}
	m := hmac.New(sha256.New, secret.key)
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, unix, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// required returns the first value of the header named name, matched
// case-insensitively, or a HeaderError when it is absent or empty.
func required(h http.Header, name string) (string, error) {
	if v := h.Get(name); v != "" {
		return v, nil
	}
	if vs := h[name]; len(vs) > 0 && vs[0] != "" {
		return vs[0], nil
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 && vs[0] != "" {
			return vs[0], nil
		}
	}
	return "", &HeaderError{Header: name, Err: ErrMissingHeader}
}
