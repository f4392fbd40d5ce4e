package secretbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testBox(t *testing.T) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := testBox(t)
	for _, plain := range []string{"x", "1234567890123456:ABCDEF0123456789ABCDEF0123456789", strings.Repeat("ü", 500)} {
		sealed, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if (len(plain) > 3 && strings.Contains(sealed, plain)) || !strings.HasPrefix(sealed, "v1:") {
			t.Fatalf("sealed value leaks or lacks version: %q", sealed)
		}
		again, _ := b.Seal(plain)
		if again == sealed {
			t.Fatal("two seals of one plaintext must differ (random nonce)")
		}
		got, err := b.Open(sealed)
		if err != nil || got != plain {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
}

func TestOpenRejectsTamperingAndOtherKeys(t *testing.T) {
	b := testBox(t)
	sealed, _ := b.Seal("secret-token")
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := b.Open(tampered); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed); err == nil {
		t.Fatal("ciphertext opened with another key")
	}
	if _, err := b.Open("plain-text"); err != ErrMalformed {
		t.Fatalf("want ErrMalformed, got %v", err)
	}
	if got, err := b.Open(""); got != "" || err != nil {
		t.Fatalf("empty must open to empty, got %q %v", got, err)
	}
}

func TestParseKey(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	if k, err := ParseKey(hexKey); err != nil || len(k) != 32 {
		t.Fatalf("hex key: %v", err)
	}
	if k, err := ParseKey("q83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80="); err != nil || len(k) != 32 {
		t.Fatalf("base64 key: %v", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("ab", 31)} {
		if _, err := ParseKey(bad); err == nil {
			t.Fatalf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestLoadOrCreateKeyPersistsGeneratedKey(t *testing.T) {
	dir := t.TempDir()
	k1, generated, err := LoadOrCreateKey("", dir)
	if err != nil || !generated {
		t.Fatalf("first load: generated=%v err=%v", generated, err)
	}
	info, err := os.Stat(filepath.Join(dir, "playgram_secret.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	k2, generated, err := LoadOrCreateKey("", dir)
	if err != nil || generated || !bytes.Equal(k1, k2) {
		t.Fatal("second load must read the same key without generating")
	}
	k3, generated, err := LoadOrCreateKey(strings.Repeat("cd", 32), dir)
	if err != nil || generated || bytes.Equal(k3, k1) {
		t.Fatal("an environment key wins over the file")
	}
}

func TestMAC(t *testing.T) {
	b := testBox(t)
	m := b.MAC("qr-image", "abc")
	if len(m) != 22 || !b.VerifyMAC("qr-image", "abc", m) {
		t.Fatalf("mac %q does not verify", m)
	}
	if b.VerifyMAC("qr-image", "abd", m) || b.VerifyMAC("other", "abc", m) {
		t.Fatal("a MAC must bind the message and the purpose")
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if other.VerifyMAC("qr-image", "abc", m) {
		t.Fatal("a MAC must bind the key")
	}
}
