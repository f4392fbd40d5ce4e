package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/secretbox"
)

func TestBookingConfigDefaults(t *testing.T) {
	c, err := ParseBookingConfig(`{"duration_minutes":45,"seats":3,"reminder_hours":[48,2]}`)
	if err != nil {
		t.Fatal(err)
	}
	if c.DurationMinutes != 45 || c.SlotIntervalMinutes != 30 || c.Seats != 3 || c.CutoffHours != 24 || c.HoldMinutes != 15 || len(c.ReminderHours) != 2 || c.MinNoticeMinutes != 60 {
		t.Fatalf("config = %+v", c)
	}
	if s := c.Slots(); s.DurationMinutes != 45 || s.Seats != 3 || s.MaxAdvanceDays != 60 {
		t.Fatalf("slots config = %+v", s)
	}
	if c, err := ParseBookingConfig(""); err != nil || c.DurationMinutes != 30 || c.ReminderHours[0] != 24 {
		t.Fatalf("empty config = %+v %v", c, err)
	}
	if _, err := ParseBookingConfig(`{"seats":`); err == nil {
		t.Fatal("broken JSON accepted")
	}
}

func TestSlotOffersAreSealed(t *testing.T) {
	box, err := secretbox.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	o := SlotOffer{Workspace: "ws", Tool: "t", Helper: "h", Start: now.Add(time.Hour).Unix(), Subscriber: "123", Name: "Ada", Expires: now.Add(time.Hour).Unix()}
	token, err := SealOffer(box, o)
	if err != nil || strings.ContainsAny(token, "+/=:") || strings.Contains(token, "Ada") {
		t.Fatalf("token %q %v", token, err)
	}
	got, err := OpenOffer(box, token, now)
	if err != nil || got != o {
		t.Fatalf("opened %+v %v", got, err)
	}
	if _, err := OpenOffer(box, token, now.Add(2*time.Hour)); err != ErrBadOffer {
		t.Fatalf("expired offer: %v", err)
	}
	tampered := []byte(token)
	tampered[10] ^= 1
	if _, err := OpenOffer(box, string(tampered), now); err != ErrBadOffer {
		t.Fatalf("tampered offer: %v", err)
	}
	other, _ := secretbox.New([]byte(strings.Repeat("x", 32)))
	if _, err := OpenOffer(other, token, now); err != ErrBadOffer {
		t.Fatalf("another server's key: %v", err)
	}
}

func TestSlotKeys(t *testing.T) {
	start := time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC)
	if k := SlotKey("h1", start, 2); k != "h1/1806195600/2" {
		t.Fatalf("key %q", k)
	}
}
