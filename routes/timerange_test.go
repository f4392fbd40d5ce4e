package routes

import (
	"testing"
	"time"
)

// A report asked for without "to" includes what was stored in this very millisecond: stored times have
// millisecond precision and the range's end is exclusive.
func TestDefaultRangeEndsAfterThisMillisecond(t *testing.T) {
	for range 100 {
		stored := dt(time.Now())
		_, to, err := timeRange(nil, "", "", time.Hour, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !(stored < dt(to)) {
			t.Fatalf("a row stored at %s falls outside [from, %s)", stored, dt(to))
		}
	}
}
