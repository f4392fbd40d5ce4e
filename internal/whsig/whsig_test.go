package whsig_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/playgram/playgram/internal/whsig"
)

// Contract §5 vectors.
var (
	vecA = struct {
		secret, id string
		ts         int64
		body, want string
	}{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, `{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
	vecB = struct {
		secret, id string
		ts         int64
		body, want string
	}{"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, `{"email":"test@example.com","username":"test_user"}`, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="}
)

func mustSecret(t testing.TB, s string) whsig.Secret {
	t.Helper()
	sec, err := whsig.ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret(%q): %v", s, err)
	}
	return sec
}

func TestSignVectors(t *testing.T) {
	scenarios := []struct {
		name, secret, id string
		ts               int64
		body, want       string
	}{
		{"vector A", vecA.secret, vecA.id, vecA.ts, vecA.body, vecA.want},
		{"vector A without prefix", strings.TrimPrefix(vecA.secret, "whsec_"), vecA.id, vecA.ts, vecA.body, vecA.want},
		{"vector B", vecB.secret, vecB.id, vecB.ts, vecB.body, vecB.want},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			got := whsig.Sign(mustSecret(t, s.secret), s.id, time.Unix(s.ts, 0), []byte(s.body))
			if got != s.want {
				t.Fatalf("Sign = %q, want %q", got, s.want)
			}
		})
	}
}

func vectorAHeaders(sig string) http.Header {
	return whsig.Headers(vecA.id, time.Unix(vecA.ts, 0), sig)
}

func TestVerify(t *testing.T) {
	now := time.Unix(vecA.ts, 0)
	rustDecoys := "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE="
	del := func(name string) func(http.Header) { return func(h http.Header) { delete(h, name) } }
	scenarios := []struct {
		name       string
		header     http.Header
		body       string
		now        time.Time
		wantErr    error
		wantHeader string
	}{
		{name: "valid", header: vectorAHeaders(vecA.want), body: vecA.body, now: now},
		{name: "wrong signature", header: vectorAHeaders("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), body: vecA.body, now: now, wantErr: whsig.ErrNoMatchingSignature, wantHeader: whsig.HeaderSignature},
		{name: "off by one char", header: vectorAHeaders("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), body: vecA.body, now: now, wantErr: whsig.ErrNoMatchingSignature, wantHeader: whsig.HeaderSignature},
		{name: "empty v1 entry", header: vectorAHeaders("v1,"), body: vecA.body, now: now, wantErr: whsig.ErrNoMatchingSignature, wantHeader: whsig.HeaderSignature},
		{name: "truncated signature", header: vectorAHeaders(vecA.want[:20]), body: vecA.body, now: now, wantErr: whsig.ErrNoMatchingSignature, wantHeader: whsig.HeaderSignature},
		{name: "unknown version", header: vectorAHeaders("v2," + strings.TrimPrefix(vecA.want, "v1,")), body: vecA.body, now: now, wantErr: whsig.ErrNoMatchingSignature, wantHeader: whsig.HeaderSignature},
		{name: "body changed by one space", header: vectorAHeaders(vecA.want), body: `{"test":2432232314}`, now: now, wantErr: whsig.ErrNoMatchingSignature, wantHeader: whsig.HeaderSignature},
		{name: "decoys then valid", header: vectorAHeaders(rustDecoys + " " + vecA.want), body: vecA.body, now: now},
		{name: "valid then unknown version", header: vectorAHeaders(vecA.want + " v1a,AAAA"), body: vecA.body, now: now},
		{name: "exactly 5 min old", header: vectorAHeaders(vecA.want), body: vecA.body, now: now.Add(5 * time.Minute)},
		{name: "5 min 1 s old", header: vectorAHeaders(vecA.want), body: vecA.body, now: now.Add(5*time.Minute + time.Second), wantErr: whsig.ErrTooOld, wantHeader: whsig.HeaderTimestamp},
		{name: "5 min 1 s ahead", header: vectorAHeaders(vecA.want), body: vecA.body, now: now.Add(-5*time.Minute - time.Second), wantErr: whsig.ErrTooNew, wantHeader: whsig.HeaderTimestamp},
		{name: "missing id", header: mod(vectorAHeaders(vecA.want), del(whsig.HeaderID)), body: vecA.body, now: now, wantErr: whsig.ErrMissingHeader, wantHeader: whsig.HeaderID},
		{name: "missing timestamp", header: mod(vectorAHeaders(vecA.want), del(whsig.HeaderTimestamp)), body: vecA.body, now: now, wantErr: whsig.ErrMissingHeader, wantHeader: whsig.HeaderTimestamp},
		{name: "missing signature", header: mod(vectorAHeaders(vecA.want), del(whsig.HeaderSignature)), body: vecA.body, now: now, wantErr: whsig.ErrMissingHeader, wantHeader: whsig.HeaderSignature},
		{name: "timestamp not a number", header: mod(vectorAHeaders(vecA.want), func(h http.Header) { h[whsig.HeaderTimestamp] = []string{"2021-02-25T15:02:10Z"} }), body: vecA.body, now: now, wantErr: whsig.ErrInvalidTimestamp, wantHeader: whsig.HeaderTimestamp},
		{name: "canonical header keys", header: canonical(vectorAHeaders(vecA.want)), body: vecA.body, now: now},
	}
	secret := mustSecret(t, vecA.secret)
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			err := whsig.Verify(secret, s.header, []byte(s.body), s.now, 0)
			if s.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, s.wantErr)
			}
			var he *whsig.HeaderError
			if !errors.As(err, &he) || he.Header != s.wantHeader {
				t.Fatalf("Verify error %v does not name header %q", err, s.wantHeader)
			}
			if !strings.HasPrefix(err.Error(), s.wantHeader+": ") {
				t.Fatalf("message %q does not start with the header name", err.Error())
			}
		})
	}
}

func TestVerifyCustomTolerance(t *testing.T) {
	secret := mustSecret(t, vecA.secret)
	h := vectorAHeaders(vecA.want)
	now := time.Unix(vecA.ts, 0).Add(2 * time.Minute)
	if err := whsig.Verify(secret, h, []byte(vecA.body), now, time.Minute); !errors.Is(err, whsig.ErrTooOld) {
		t.Fatalf("1 min tolerance, 2 min old: err = %v, want ErrTooOld", err)
	}
	if err := whsig.Verify(secret, h, []byte(vecA.body), now, 0); err != nil {
		t.Fatalf("default tolerance, 2 min old: %v", err)
	}
}

func mod(h http.Header, f func(http.Header)) http.Header { f(h); return h }

func canonical(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		for _, v := range vs {
			out.Add(k, v)
		}
	}
	return out
}

func TestParseSecret(t *testing.T) {
	short := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16))
	long := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65))
	scenarios := []struct {
		name, in string
		wantErr  string
	}{
		{"empty", "", "empty"},
		{"bare prefix", "whsec_", "empty"},
		{"not base64", "whsec_not*base64!", "not standard base64"},
		{"url alphabet is not std", "whsec_" + strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimPrefix(vecB.secret, "whsec_")), "not standard base64"},
		{"16-byte key", short, "key is 16 bytes"},
		{"65-byte key", long, "key is 65 bytes"},
		{"24-byte key", vecA.secret, ""},
		{"pasted with newline", vecA.secret + "\n", ""},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			sec, err := whsig.ParseSecret(s.in)
			if s.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseSecret: %v", err)
				}
				if sec.String() != strings.TrimSpace(s.in) {
					t.Fatalf("String() = %q, want %q", sec.String(), strings.TrimSpace(s.in))
				}
				return
			}
			if !errors.Is(err, whsig.ErrInvalidSecret) || !strings.Contains(err.Error(), s.wantErr) {
				t.Fatalf("err = %v, want ErrInvalidSecret mentioning %q", err, s.wantErr)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, b := whsig.NewSecret(), whsig.NewSecret()
	if a == b {
		t.Fatal("two NewSecret calls returned the same secret")
	}
	for _, s := range []string{a, b} {
		if !strings.HasPrefix(s, whsig.SecretPrefix) {
			t.Fatalf("%q lacks the whsec_ prefix", s)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, whsig.SecretPrefix))
		if err != nil || len(key) != 32 {
			t.Fatalf("%q: decoded %d bytes, err %v; want 32 bytes", s, len(key), err)
		}
		if _, err := whsig.ParseSecret(s); err != nil {
			t.Fatalf("ParseSecret(NewSecret()): %v", err)
		}
	}
}

func TestNewMessageID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := whsig.NewMessageID()
		if !strings.HasPrefix(id, "msg_") || len(id) != 4+26 || strings.ContainsAny(id, ". ,") {
			t.Fatalf("bad message id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate message id %q", id)
		}
		seen[id] = true
	}
}

func TestSignAllRotation(t *testing.T) {
	oldS, newS, other := mustSecret(t, whsig.NewSecret()), mustSecret(t, whsig.NewSecret()), mustSecret(t, whsig.NewSecret())
	ts := time.Unix(1700000000, 0)
	body := []byte(`{"type":"booking.created"}`)
	sig := whsig.SignAll([]whsig.Secret{newS, oldS}, "msg_rot", ts, body)
	entries := strings.Split(sig, " ")
	if len(entries) != 2 || entries[0] != whsig.Sign(newS, "msg_rot", ts, body) || entries[1] != whsig.Sign(oldS, "msg_rot", ts, body) {
		t.Fatalf("SignAll = %q, want the new then the old entry, space-separated", sig)
	}
	h := whsig.Headers("msg_rot", ts, sig)
	for name, s := range map[string]whsig.Secret{"new": newS, "old": oldS} {
		if err := whsig.Verify(s, h, body, ts, 0); err != nil {
			t.Errorf("receiver holding the %s secret: %v", name, err)
		}
	}
	if err := whsig.Verify(other, h, body, ts, 0); !errors.Is(err, whsig.ErrNoMatchingSignature) {
		t.Errorf("unrelated secret: err = %v, want ErrNoMatchingSignature", err)
	}
}

func TestSignPanicsOnZeroSecret(t *testing.T) {
	for name, f := range map[string]func(){
		"Sign":          func() { whsig.Sign(whsig.Secret{}, "msg_x", time.Unix(1, 0), nil) },
		"SignAll empty": func() { whsig.SignAll(nil, "msg_x", time.Unix(1, 0), nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
	if err := whsig.Verify(whsig.Secret{}, vectorAHeaders(vecA.want), []byte(vecA.body), time.Unix(vecA.ts, 0), 0); !errors.Is(err, whsig.ErrInvalidSecret) {
		t.Fatalf("Verify with zero secret: err = %v, want ErrInvalidSecret", err)
	}
}

// wire writes h into a raw HTTP/1.1 request and parses it back as a server
// would, returning the raw header bytes and the parsed request.
func wire(t *testing.T, h http.Header, body []byte) (string, *http.Request) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://receiver.example/hook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	parsed, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return raw, parsed
}

func TestHeadersOnTheWireAreLowerCase(t *testing.T) {
	h := whsig.Headers(vecA.id, time.Unix(vecA.ts, 0), vecA.want)
	raw, _ := wire(t, h, []byte(vecA.body))
	for _, line := range []string{
		"\r\nwebhook-id: " + vecA.id + "\r\n",
		"\r\nwebhook-timestamp: 1614265330\r\n",
		"\r\nwebhook-signature: " + vecA.want + "\r\n",
	} {
		if !strings.Contains(raw, line) {
			t.Errorf("request on the wire lacks %q:\n%s", strings.TrimSpace(line), raw)
		}
	}
}

// The official Go verifier must accept what we send, after a wire round trip.
func TestOfficialLibraryAcceptsOurSignatures(t *testing.T) {
	secretText := whsig.NewSecret()
	secret := mustSecret(t, secretText)
	body := []byte(`{"type":"booking.created","timestamp":"2026-11-25T10:00:00Z","data":{"id":"b1","note":"<&>"}}`)
	now := time.Now()
	prev := mustSecret(t, whsig.NewSecret())
	id := whsig.NewMessageID()
	h := whsig.Headers(id, now, whsig.SignAll([]whsig.Secret{prev, secret}, id, now, body))
	_, req := wire(t, h, body)

	wh, err := standardwebhooks.NewWebhook(secretText)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, req.Header); err != nil {
		t.Fatalf("official Verify rejected our signature: %v", err)
	}
	tampered := bytes.Replace(body, []byte("b1"), []byte("b2"), 1)
	if err := wh.Verify(tampered, req.Header); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Fatalf("official Verify on a tampered body: err = %v, want ErrNoMatchingSignature", err)
	}
	// And the reverse: our verifier accepts the official library's signature.
	officialSig, err := wh.Sign("msg_official", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if err := whsig.Verify(secret, whsig.Headers("msg_official", now, officialSig), body, now, 0); err != nil {
		t.Fatalf("our Verify rejected the official signature: %v", err)
	}
}

func BenchmarkSign(b *testing.B) {
	secret := mustSecret(b, whsig.NewSecret())
	body := bytes.Repeat([]byte("x"), 2048)
	ts := time.Unix(1700000000, 0)
	for b.Loop() {
		whsig.Sign(secret, "msg_bench", ts, body)
	}
}
