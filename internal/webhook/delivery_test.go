package webhook_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/webhook"
	"github.com/playgram/playgram/internal/whsig"
)

// One message through the whole pure pipeline: build the bytes, sign them,
// send them with the guarded client to a receiver that verifies with the
// official library and answers 503 + Retry-After, then 200; classify each
// answer and schedule the retry.
func TestDeliveryRoundTrip(t *testing.T) {
	secretText := whsig.NewSecret()
	verifier, err := standardwebhooks.NewWebhook(secretText)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		id, ts string
		body   []byte
		err    error
	}
	var mu sync.Mutex
	var got []seen
	replies := []func(http.ResponseWriter){
		func(w http.ResponseWriter) { w.Header().Set("Retry-After", "8"); w.WriteHeader(503) },
		func(w http.ResponseWriter) { w.WriteHeader(204) },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		n := len(got)
		got = append(got, seen{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body, verifier.Verify(body, r.Header)})
		mu.Unlock()
		replies[min(n, len(replies)-1)](w)
	}))
	defer srv.Close()

	client := outbound.New(outbound.Options{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	secret, err := whsig.ParseSecret(secretText)
	if err != nil {
		t.Fatal(err)
	}
	body, err := webhook.BuildPayload("booking.created", time.Now(), map[string]any{"id": "bk_1"}, webhook.Transform{})
	if err != nil {
		t.Fatal(err)
	}
	msgID := whsig.NewMessageID()
	send := func(at time.Time) webhook.Outcome {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header = whsig.Headers(msgID, at, whsig.Sign(secret, msgID, at, body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			outbound.ReadCapped(resp, 50<<10)
		}
		return webhook.ClassifyResponse(resp, err, at)
	}

	first := time.Now()
	o := send(first)
	if o.Action != webhook.ActionRetry || o.RetryAfter != 8*time.Second {
		t.Fatalf("first attempt: %+v, want retry with Retry-After 8s", o)
	}
	next, ok := webhook.NextAttempt(1, first, o, fixed(0.5))
	if !ok || next.Sub(first) != 8*time.Second {
		t.Fatalf("retry scheduled %s later (ok=%v), want 8s (Retry-After within [5s, 10s])", next.Sub(first), ok)
	}
	// Re-sign with the retry's own timestamp; 8 s ahead is within tolerance.
	if o := send(next); o.Action != webhook.ActionDelivered {
		t.Fatalf("second attempt: %+v, want delivered", o)
	}

	if len(got) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(got))
	}
	for i, g := range got {
		if g.err != nil {
			t.Errorf("attempt %d: official verifier: %v", i+1, g.err)
		}
		if g.id != msgID || !bytes.Equal(g.body, body) {
			t.Errorf("attempt %d: id %q body %s, want the same id and bytes on every attempt", i+1, g.id, g.body)
		}
	}
	if got[0].ts == got[1].ts {
		t.Error("a retry must carry its own timestamp")
	}
}
