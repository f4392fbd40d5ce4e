package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/twilio"
	"github.com/playgram/playgram/internal/twilio"
)

const from = "+15005550006"

func setup(t *testing.T) (*fake.Fake, *twilio.Client) {
	t.Helper()
	acct := fake.NewAccount(from)
	f := fake.New(acct)
	t.Cleanup(f.Close)
	return f, &twilio.Client{AccountSID: acct.SID, AuthToken: acct.AuthToken, BaseURL: f.URL, Backoff: time.Millisecond}
}

func TestSendCreatesAMessage(t *testing.T) {
	f, c := setup(t)
	res, err := c.Send(context.Background(), twilio.Message{To: "+4915112345678", From: from, Body: "Booked: Haircut, Tue 10:00 — see you! 💇"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.SID, "SM") || len(res.SID) != 34 || res.Status != "queued" || res.To != "+4915112345678" || res.AccountSID != c.AccountSID {
		t.Fatalf("resource = %+v", res)
	}
	if res.ErrorCode != nil || res.APIVersion != "2010-04-01" || res.Direction != "outbound-api" {
		t.Fatalf("resource = %+v", res)
	}
	sent := f.Sent()
	if len(sent) != 1 || sent[0].Body != "Booked: Haircut, Tue 10:00 — see you! 💇" || sent[0].From != from || sent[0].SID != res.SID {
		t.Fatalf("fake recorded %+v", sent)
	}
}

func TestRefusalsAreTypedAndNotRetried(t *testing.T) {
	f, c := setup(t)
	cases := []struct {
		msg  twilio.Message
		code int
	}{
		{twilio.Message{To: "0151 1234", From: from, Body: "x"}, twilio.CodeInvalidTo},
		{twilio.Message{To: "+4915112345678", From: "+15005550001", Body: "x"}, twilio.CodeFromNotOwned},
	}
	for _, cs := range cases {
		before := f.Requests()
		_, err := c.Send(context.Background(), cs.msg)
		var te *twilio.Error
		if !errors.As(err, &te) || te.Code != cs.code || te.Status != 400 || !strings.Contains(te.MoreInfo, "/errors/") || te.Message == "" {
			t.Fatalf("%+v: %v", cs.msg, err)
		}
		if twilio.Retryable(err) {
			t.Fatalf("a refused message is not retryable: %v", err)
		}
		if n := f.Requests() - before; n != 1 {
			t.Fatalf("a 400 was sent %d times", n)
		}
	}
	f.Unsubscribe("+4915100000000")
	_, err := c.Send(context.Background(), twilio.Message{To: "+4915100000000", From: from, Body: "x"})
	var te *twilio.Error
	if !errors.As(err, &te) || te.Code != twilio.CodeUnsubscribed {
		t.Fatalf("unsubscribed: %v", err)
	}

	wrong := *c
	wrong.AuthToken = strings.Repeat("0", 32)
	_, err = wrong.Send(context.Background(), twilio.Message{To: "+4915112345678", From: from, Body: "x"})
	if !errors.As(err, &te) || te.Status != http.StatusUnauthorized || te.Code != twilio.CodeAuthenticate || twilio.Retryable(err) {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestLocalChecksNeverReachTwilio(t *testing.T) {
	f, c := setup(t)
	for _, m := range []twilio.Message{
		{To: "+4915112345678", From: from},
		{To: "", From: from, Body: "x"},
		{To: "+4915112345678", Body: "x"},
		{To: "+4915112345678", From: from, Body: strings.Repeat("a", 1601)},
	} {
		if _, err := c.Send(context.Background(), m); !errors.Is(err, twilio.ErrConfig) || twilio.Retryable(err) {
			t.Fatalf("%+v: %v", m, err)
		}
	}
	bad := *c
	bad.AccountSID = "AC123"
	if _, err := bad.Send(context.Background(), twilio.Message{To: "+4915112345678", From: from, Body: "x"}); !errors.Is(err, twilio.ErrConfig) {
		t.Fatalf("bad sid: %v", err)
	}
	if f.Requests() != 0 {
		t.Fatalf("%d requests reached the fake", f.Requests())
	}
}

func TestRateLimitsAndServerErrorsAreRetried(t *testing.T) {
	f, c := setup(t)
	f.FailNext(
		fake.Fault{Status: 429, Code: twilio.CodeTooManyRequests, Message: "Too Many Requests", RetryAfter: "0"},
		fake.Fault{Status: 503, Code: 20503, Message: "Service unavailable"},
	)
	res, err := c.Send(context.Background(), twilio.Message{To: "+4915112345678", From: from, Body: "third time lucky"})
	if err != nil || res.SID == "" {
		t.Fatalf("after two transient failures: %v", err)
	}
	if f.Requests() != 3 || len(f.Sent()) != 1 {
		t.Fatalf("requests %d, sent %d", f.Requests(), len(f.Sent()))
	}

	f.FailNext(fake.Fault{Status: 500, Code: 20500, Message: "Internal"}, fake.Fault{Status: 500, Code: 20500, Message: "Internal"}, fake.Fault{Status: 500, Code: 20500, Message: "Internal"})
	_, err = c.Send(context.Background(), twilio.Message{To: "+4915112345678", From: from, Body: "x"})
	var te *twilio.Error
	if !errors.As(err, &te) || te.Status != 500 || !twilio.Retryable(err) {
		t.Fatalf("after the attempt budget: %v", err)
	}
}

func TestTransportErrorsAreRetryable(t *testing.T) {
	f, c := setup(t)
	f.Close()
	_, err := c.Send(context.Background(), twilio.Message{To: "+4915112345678", From: from, Body: "x"})
	if err == nil || !twilio.Retryable(err) {
		t.Fatalf("closed server: %v", err)
	}
}

func TestMessagingServiceAndSegments(t *testing.T) {
	acct := fake.NewAccount(from)
	acct.Services = []string{"MG" + strings.Repeat("ab", 16)}
	f := fake.New(acct)
	defer f.Close()
	c := &twilio.Client{AccountSID: acct.SID, AuthToken: acct.AuthToken, BaseURL: f.URL}
	res, err := c.Send(context.Background(), twilio.Message{To: "+14155550100", MessagingServiceSID: acct.Services[0], Body: strings.Repeat("x", 200)})
	if err != nil || res.Status != "accepted" || res.MessagingServiceSID == nil || res.NumSegments != "2" {
		t.Fatalf("service send: %+v %v", res, err)
	}
	_, err = c.Send(context.Background(), twilio.Message{To: "+14155550100", MessagingServiceSID: "MG" + strings.Repeat("cd", 16), Body: "x"})
	var te *twilio.Error
	if !errors.As(err, &te) || te.Code != twilio.CodeServiceNotExists {
		t.Fatalf("unknown service: %v", err)
	}
	if fake.Segments(strings.Repeat("ü", 71)) != 2 || fake.Segments(strings.Repeat("a", 160)) != 1 {
		t.Fatal("segment counting")
	}
}

func TestFakeSpeaksTwilioWire(t *testing.T) {
	f, c := setup(t)
	// Unknown path: 404 with an error body.
	resp, err := http.Get(f.URL + "/2010-04-01/Nope.json")
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown path: %v %v", resp, err)
	}
	resp.Body.Close()
	// No credentials: 401 with a challenge.
	resp, err = http.Post(f.URL+"/2010-04-01/Accounts/"+c.AccountSID+"/Messages.json", "application/x-www-form-urlencoded", strings.NewReader("To=%2B14155550100&From=%2B15005550006&Body=x"))
	if err != nil || resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no auth: %v %v", resp, err)
	}
	resp.Body.Close()
	// Credentials of one account cannot post into another.
	other := fake.NewAccount(from)
	f2 := fake.New(fake.NewAccount(from), other)
	defer f2.Close()
	req, _ := http.NewRequest("POST", f2.URL+"/2010-04-01/Accounts/"+c.AccountSID+"/Messages.json", strings.NewReader("To=%2B14155550100&From=%2B15005550006&Body=x"))
	req.SetBasicAuth(other.SID, other.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("cross-account: %v %v", resp, err)
	}
	resp.Body.Close()
}
