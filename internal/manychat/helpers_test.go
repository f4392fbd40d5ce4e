package manychat_test

import (
	"encoding/json"
	"testing"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/internal/ratelimit"
)

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// setup starts a fake and a client sharing a virtual clock, so rate-limit
// waits and backoff sleeps cost no wall time and are visible on the clock.
func setup(t *testing.T, opts ...manychat.Option) (*fake.Server, *manychat.Client, *ratelimit.ManualClock) {
	t.Helper()
	return setupAt(t, epoch, opts...)
}

// setupAt is setup with the virtual clock starting at start. Tests that
// compare virtual waits with context deadlines (real time) start at
// time.Now().
func setupAt(t *testing.T, start time.Time, opts ...manychat.Option) (*fake.Server, *manychat.Client, *ratelimit.ManualClock) {
	t.Helper()
	clock := ratelimit.NewManualClock(start)
	srv := fake.New()
	srv.SetClock(clock)
	t.Cleanup(srv.Close)
	c, err := manychat.New(srv.URL, srv.Token, append([]manychat.Option{manychat.WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, clock
}

func apiError(t *testing.T, err error) *manychat.APIError {
	t.Helper()
	e, ok := err.(*manychat.APIError)
	if !ok {
		t.Fatalf("want *APIError, got %T: %v", err, err)
	}
	return e
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
