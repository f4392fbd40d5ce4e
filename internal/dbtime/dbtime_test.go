package dbtime

import (
	"testing"
	"time"
)

func TestRoundTripAndOrder(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	a := time.Date(2026, 3, 29, 3, 30, 0, 123e6, berlin)
	if s := Format(a); s != "2026-03-29 01:30:00.123Z" || !Parse(s).Equal(a) {
		t.Fatalf("%s", s)
	}
	if !(Format(a) < Format(a.Add(time.Millisecond))) || !Parse("").IsZero() {
		t.Fatal("text order must follow time order")
	}
}
