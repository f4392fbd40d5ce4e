// Package verification holds the pure rules of Instagram identity verification: codes, usernames, DM texts
// and links, and the decision on a code sent by DM.
package verification

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/playgram/playgram/internal/qrcode"
)

// Statuses of a verification.
const (
	Pending  = "pending"
	Verified = "verified"
	Failed   = "failed"
	Expired  = "expired"
)

// Reasons a DM'd code is refused; each has a sentence the website and the DM reply can show.
const (
	ReasonUnknownCode      = "unknown_code"
	ReasonExpired          = "expired"
	ReasonUsed             = "already_used"
	ReasonUsernameMismatch = "username_mismatch"
	ReasonTooManyAttempts  = "too_many_attempts"
)

// Messages are what the person who sent the DM reads back.
var Messages = map[string]string{
	"":                     "You're verified! You can go back to the website now.",
	ReasonUnknownCode:      "That code is not valid. Check it on the website and send it again.",
	ReasonExpired:          "That code has expired. Ask the website for a new one.",
	ReasonUsed:             "That code was already used. Ask the website for a new one.",
	ReasonUsernameMismatch: "That code belongs to another Instagram account.",
	ReasonTooManyAttempts:  "Too many attempts. Please wait a few minutes and ask the website for a new code.",
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9._]{1,30}$`)

// NormalizeUsername lowercases an Instagram username and strips a leading @ and spaces.
func NormalizeUsername(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
}

// ValidUsername reports whether s (normalized) can be an Instagram username.
func ValidUsername(s string) bool { return usernamePattern.MatchString(s) }

// NewCode draws a code of n characters.
func NewCode(n int) (string, error) { return qrcode.RandomCode(n) }

// codeWord is a whole word that could be a code: 4–10 characters of the code alphabet, any case.
var codeWord = regexp.MustCompile(`^[2-9A-HJKMNP-Za-hjkmnp-z]{4,10}$`)

// MaxCandidates bounds how many words of one DM are tried as codes.
const MaxCandidates = 5

// Candidates reads the possible codes out of what was typed or DM'd ("My verification code is 7kq2mx!"):
// upper-cased whole words that could be codes, last first, since people put the code at the end.
func Candidates(s string) []string {
	words := strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	})
	var out []string
	for i := len(words) - 1; i >= 0 && len(out) < MaxCandidates; i-- {
		if codeWord.MatchString(words[i]) {
			out = append(out, strings.ToUpper(words[i]))
		}
	}
	return out
}

// DMText fills {CODE} in the tool's text.
func DMText(template, code string) string {
	if !strings.Contains(template, "{CODE}") {
		return strings.TrimSpace(template + " " + code)
	}
	return strings.ReplaceAll(template, "{CODE}", code)
}

// DMLink opens a DM to the business account in Instagram.
func DMLink(businessUsername string) string {
	if businessUsername == "" {
		return ""
	}
	return "https://ig.me/m/" + url.PathEscape(businessUsername)
}

// Pending is the state of a stored verification a DM is judged against.
type State struct {
	Status    string
	ExpiresAt time.Time
	Username  string // expected Instagram username, "" if any
	Attempts  int
}

// Judge decides a DM'd code against a stored verification (nil: no such pending code). It returns the reason
// for refusal, "" when the code verifies.
func Judge(s *State, sender string, maxAttempts int, now time.Time) string {
	switch {
	case s == nil:
		return ReasonUnknownCode
	case s.Status == Verified:
		return ReasonUsed
	case s.Status == Expired || (s.Status == Pending && !now.Before(s.ExpiresAt)):
		return ReasonExpired
	case s.Status == Failed || s.Attempts >= maxAttempts:
		return ReasonTooManyAttempts
	case s.Username != "" && NormalizeUsername(sender) != s.Username:
		return ReasonUsernameMismatch
	}
	return ""
}
