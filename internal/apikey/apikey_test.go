package apikey

import (
	"strings"
	"testing"
	"time"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		secret, hash, prefix, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !LooksLikeKey(secret) {
			t.Fatalf("generated key %q is not recognised", secret)
		}
		if hash != Hash(secret) || len(hash) != 64 || strings.Contains(hash, secret[4:]) {
			t.Fatalf("bad hash %q", hash)
		}
		if !strings.HasPrefix(secret, prefix) || len(prefix) != 12 {
			t.Fatalf("prefix %q of %q", prefix, secret)
		}
		if seen[secret] {
			t.Fatal("duplicate secret")
		}
		seen[secret] = true
	}
}

func TestLooksLikeKey(t *testing.T) {
	good, _, _, _ := Generate()
	for token, want := range map[string]bool{
		good:                       true,
		"pgk_short":                false,
		"eyJhbGciOiJIUzI1NiJ9.x.y": false,
		good[:len(good)-1] + "-":   false,
		"xyz_" + good[4:]:          false,
	} {
		if LooksLikeKey(token) != want {
			t.Errorf("LooksLikeKey(%q) = %v", token, !want)
		}
	}
}

func TestValidateScopesAndAllowList(t *testing.T) {
	if err := ValidateScopes([]string{"manychat", "social"}); err != nil {
		t.Fatal(err)
	}
	if err := ValidateScopes(nil); err == nil {
		t.Fatal("empty scopes accepted")
	}
	if err := ValidateScopes([]string{"manychat", "root"}); err == nil || !strings.Contains(err.Error(), `"root"`) {
		t.Fatalf("unknown scope error should name it: %v", err)
	}
	list, err := ParseAllowList([]string{"10.0.0.0/8", "203.0.113.7", " ", "2001:db8::/32"})
	if err != nil || len(list) != 3 || list[1].Bits() != 32 {
		t.Fatalf("allow list: %v %v", list, err)
	}
	if _, err := ParseAllowList([]string{"10.0.0.0/33"}); err == nil || !strings.Contains(err.Error(), "10.0.0.0/33") {
		t.Fatalf("bad CIDR error should name it: %v", err)
	}
	if _, err := ParseAllowList([]string{"not-an-ip"}); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	allow, _ := ParseAllowList([]string{"203.0.113.0/24"})
	base := Key{Prefix: "pgk_abcdefgh", Scopes: []string{"manychat"}}
	cases := []struct {
		name   string
		key    Key
		scope  string
		ip     string
		status int
		says   string
	}{
		{"valid", base, "manychat", "198.51.100.1", 0, ""},
		{"any scope for ping", base, "", "198.51.100.1", 0, ""},
		{"admin grants all", Key{Prefix: "p", Scopes: []string{"admin"}}, "social", "1.2.3.4", 0, ""},
		{"revoked", Key{Prefix: "p", Scopes: []string{"manychat"}, Revoked: true}, "manychat", "1.2.3.4", 401, "revoked"},
		{"expired", Key{Prefix: "p", Scopes: []string{"manychat"}, ExpiresAt: now}, "manychat", "1.2.3.4", 401, "expired"},
		{"not yet expired", Key{Prefix: "p", Scopes: []string{"manychat"}, ExpiresAt: now.Add(time.Second)}, "manychat", "1.2.3.4", 0, ""},
		{"old secret after grace", Key{Prefix: "p", Scopes: []string{"manychat"}, GraceUntil: now.Add(-time.Second)}, "manychat", "1.2.3.4", 401, "rotated"},
		{"old secret in grace", Key{Prefix: "p", Scopes: []string{"manychat"}, GraceUntil: now.Add(time.Hour)}, "manychat", "1.2.3.4", 0, ""},
		{"wrong scope", base, "social", "1.2.3.4", 403, `"social" scope`},
		{"ip allowed", Key{Prefix: "p", Scopes: []string{"manychat"}, AllowList: allow}, "manychat", "203.0.113.9", 0, ""},
		{"ip v4-mapped allowed", Key{Prefix: "p", Scopes: []string{"manychat"}, AllowList: allow}, "manychat", "::ffff:203.0.113.9", 0, ""},
		{"ip refused", Key{Prefix: "p", Scopes: []string{"manychat"}, AllowList: allow}, "manychat", "198.51.100.1", 403, "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Check(c.key, c.scope, c.ip, now)
			if c.status == 0 {
				if d != nil {
					t.Fatalf("denied: %v", d)
				}
				return
			}
			if d == nil || d.Status != c.status || !strings.Contains(d.Message, c.says) {
				t.Fatalf("got %+v, want %d mentioning %q", d, c.status, c.says)
			}
		})
	}
}
