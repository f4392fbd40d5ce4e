package qrcode

import (
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		state  State
		status string
		left   int
	}{
		{"unused single-use", State{MaxUses: 1}, StatusValid, 1},
		{"used single-use", State{Uses: 1, MaxUses: 1}, StatusExhausted, 0},
		{"unlimited", State{Uses: 500}, StatusValid, -1},
		{"expires now", State{ExpiresAt: now}, StatusExpired, -1},
		{"expires later", State{ExpiresAt: now.Add(time.Second), MaxUses: 3, Uses: 2}, StatusValid, 1},
		{"revoked beats expired", State{Revoked: true, ExpiresAt: now.Add(-time.Hour)}, StatusRevoked, -1},
		{"expired beats exhausted", State{ExpiresAt: now.Add(-time.Hour), Uses: 1, MaxUses: 1}, StatusExpired, 0},
	}
	for _, c := range cases {
		v := Judge(c.state, now)
		if v.Status != c.status || v.Valid != (c.status == StatusValid) || v.Reason == "" {
			t.Errorf("%s: %+v, want %s", c.name, v, c.status)
		}
		if got := c.state.Remaining(); got != c.left {
			t.Errorf("%s: remaining %d, want %d", c.name, got, c.left)
		}
	}
}
