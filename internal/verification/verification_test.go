package verification

import (
	"strings"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Minute)
	cases := []struct {
		name   string
		state  *State
		sender string
		want   string
	}{
		{"no such code", nil, "ana", ReasonUnknownCode},
		{"pending, any user", &State{Status: Pending, ExpiresAt: later}, "ana", ""},
		{"pending, expected user", &State{Status: Pending, ExpiresAt: later, Username: "ana.b"}, "@Ana.B", ""},
		{"other user", &State{Status: Pending, ExpiresAt: later, Username: "ana.b"}, "bob", ReasonUsernameMismatch},
		{"expires now", &State{Status: Pending, ExpiresAt: now}, "ana", ReasonExpired},
		{"used", &State{Status: Verified, ExpiresAt: later}, "ana", ReasonUsed},
		{"attempts used up", &State{Status: Pending, ExpiresAt: later, Attempts: 5}, "ana", ReasonTooManyAttempts},
	}
	for _, c := range cases {
		if got := Judge(c.state, c.sender, 5, now); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		if Messages[c.want] == "" {
			t.Errorf("%s: no message for %q", c.name, c.want)
		}
	}
}

func TestCodesTextsAndUsernames(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c, err := NewCode(6)
		if err != nil || len(c) != 6 || strings.ContainsAny(c, "01OIL") || seen[c] {
			t.Fatalf("code %q %v", c, err)
		}
		seen[c] = true
	}
	for in, want := range map[string]string{
		" 7kq2mx ":                         "7KQ2MX",
		"My verification code is KQXMWZ":   "KQXMWZ",
		"my verification code is 7kq2mx 🙂": "7KQ2MX",
		"here: ABCD23, thanks!":            "THANKS,ABCD23,HERE",
		"no code here":                     "HERE",
	} {
		if got := strings.Join(Candidates(in), ","); got != want {
			t.Errorf("Candidates(%q) = %q, want %q", in, got, want)
		}
	}
	if DMText("My code is {CODE}", "ABC234") != "My code is ABC234" || DMText("Code:", "ABC234") != "Code: ABC234" {
		t.Fatal("DMText")
	}
	if DMLink("demo_shop") != "https://ig.me/m/demo_shop" || DMLink("") != "" {
		t.Fatal("DMLink")
	}
	if !ValidUsername(NormalizeUsername("@Ana.B_1")) || ValidUsername("ana b") || ValidUsername(strings.Repeat("a", 31)) {
		t.Fatal("usernames")
	}
}
