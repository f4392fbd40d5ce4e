package qrcode

import "time"

// Scan statuses, as a scan answers them.
const (
	StatusValid     = "valid"
	StatusExpired   = "expired"
	StatusExhausted = "exhausted"
	StatusRevoked   = "revoked"
	StatusNotFound  = "not_found"
)

// State is what a scan needs to know about a stored code.
type State struct {
	Revoked   bool
	Uses      int
	MaxUses   int // 0 = unlimited
	ExpiresAt time.Time
}

// Verdict is the answer to one scan: the status, a sentence for the person at the counter, and whether this
// scan may count as a use.
type Verdict struct {
	Status string
	Reason string
	Valid  bool
}

// Judge decides a scan at now. Revocation wins over expiry, expiry over exhaustion, so the reason given is the
// one that cannot be fixed by waiting or by raising the limit.
func Judge(s State, now time.Time) Verdict {
	switch {
	case s.Revoked:
		return Verdict{StatusRevoked, "This code was revoked.", false}
	case !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt):
		return Verdict{StatusExpired, "This code expired on " + s.ExpiresAt.UTC().Format("2006-01-02 15:04 MST") + ".", false}
	case s.MaxUses > 0 && s.Uses >= s.MaxUses:
		if s.MaxUses == 1 {
			return Verdict{StatusExhausted, "This code was already used.", false}
		}
		return Verdict{StatusExhausted, "This code was used the maximum number of times.", false}
	}
	return Verdict{StatusValid, "Valid code.", true}
}

// Remaining is how many uses are left; -1 means unlimited.
func (s State) Remaining() int {
	if s.MaxUses == 0 {
		return -1
	}
	return max(s.MaxUses-s.Uses, 0)
}
