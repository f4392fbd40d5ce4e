package manychat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/internal/manychat/dynblock"
	"github.com/playgram/playgram/internal/ratelimit"
)

func TestNewValidatesConfig(t *testing.T) {
	c, err := manychat.New("", "1:abc")
	if err != nil || c == nil {
		t.Fatalf("empty base URL should mean the default: %v", err)
	}
	var fe *manychat.FieldError
	for _, base := range []string{"ftp://x", "not a url", "https://"} {
		if _, err := manychat.New(base, "1:abc"); !errors.As(err, &fe) || fe.Field != "base_url" {
			t.Errorf("%q: %v", base, err)
		}
	}
	if _, err := manychat.New(manychat.DefaultBaseURL, "1:abc def"); !errors.As(err, &fe) || fe.Field != "token" {
		t.Errorf("token with a space: %v", err)
	}
}

func TestAuthErrors(t *testing.T) {
	srv, _, clock := setup(t)
	for _, tc := range []struct{ token, message string }{
		{"", "Token is required"},
		{"100000000000001:ffffffffffffffffffffffffffffffff", "Wrong token"},
	} {
		c, _ := manychat.New(srv.URL, tc.token, manychat.WithClock(clock))
		_, err := c.GetPageInfo(context.Background())
		e := apiError(t, err)
		if e.HTTPStatus != 401 || e.Message != tc.message || !manychat.IsAuth(err) || manychat.IsTemporary(err) {
			t.Errorf("token %q: %+v", tc.token, e)
		}
	}
	if n := srv.CallCount("/fb/page/getInfo"); n != 2 {
		t.Fatalf("auth errors must not be retried: %d calls", n)
	}
}

func TestAccountsAreIsolated(t *testing.T) {
	srv, c, clock := setup(t)
	other := srv.AddAccount("200000000000002:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", fake.Page{ID: 200000000000002, Name: "Second"})
	other.AddTag("only-here")
	c2, _ := manychat.New(srv.URL, "200000000000002:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", manychat.WithClock(clock))
	ctx := context.Background()
	t1, _ := c.GetTags(ctx)
	t2, _ := c2.GetTags(ctx)
	p2, _ := c2.GetPageInfo(ctx)
	if len(t1) != 0 || len(t2) != 1 || p2.Name != "Second" {
		t.Fatalf("tags %v / %v, page %+v", t1, t2, p2)
	}
}

func TestUnknownPathIsHTML404(t *testing.T) {
	srv, _, clock := setup(t)
	c, _ := manychat.New(srv.URL+"/v2", srv.Token, manychat.WithClock(clock))
	_, err := c.GetTags(context.Background())
	e := apiError(t, err)
	if e.HTTPStatus != 404 || !manychat.IsNotFound(err) || !strings.Contains(e.Body, "<html") || manychat.IsTemporary(err) {
		t.Fatalf("%+v", e)
	}
}

func TestRetries(t *testing.T) {
	const getTags = "/fb/page/getTags"
	const sendContent = "/fb/sending/sendContent"
	cases := []struct {
		name      string
		path      string
		failure   fake.Failure
		failures  int
		call      func(*manychat.Client, int64) error
		wantCalls int
		wantErr   func(error) bool
	}{
		{
			name: "429 then success", path: getTags, failure: fake.Failure{Status: 429}, failures: 2,
			wantCalls: 3, wantErr: func(err error) bool { return err == nil },
		},
		{
			name: "5xx retries exhausted", path: getTags, failure: fake.Failure{Status: 503}, failures: 10,
			wantCalls: manychat.DefaultMaxAttempts,
			wantErr: func(err error) bool {
				e, ok := err.(*manychat.APIError)
				return ok && e.HTTPStatus == 503 && manychat.IsTemporary(err)
			},
		},
		{
			name: "HTML 502 from a proxy is retried", path: getTags, failure: fake.Failure{Status: 502, HTML: true}, failures: 1,
			wantCalls: 2, wantErr: func(err error) bool { return err == nil },
		},
		{
			name: "logical error on 200 is final", path: getTags, failure: fake.Failure{Status: 200, Message: "Page is disabled"}, failures: 1,
			wantCalls: 1,
			wantErr: func(err error) bool {
				return manychat.IsLogical(err) && strings.Contains(err.Error(), "Page is disabled")
			},
		},
		{
			name: "400 is final", path: getTags, failure: fake.Failure{Status: 400, Message: "Bad"}, failures: 1,
			wantCalls: 1, wantErr: func(err error) bool { return err != nil && !manychat.IsTemporary(err) },
		},
		{
			name: "a send is not retried on 5xx (it may have been delivered)", path: sendContent,
			failure: fake.Failure{Status: 500}, failures: 1, wantCalls: 1,
			call: func(c *manychat.Client, id int64) error {
				return c.SendContent(context.Background(), manychat.ID(id), dynblock.New(dynblock.Instagram).Text("hi"), manychat.SendOptions{})
			},
			wantErr: func(err error) bool { return manychat.IsTemporary(err) },
		},
		{
			name: "a send is retried on 429 (it was not processed)", path: sendContent,
			failure: fake.Failure{Status: 429}, failures: 1, wantCalls: 2,
			call: func(c *manychat.Client, id int64) error {
				return c.SendContent(context.Background(), manychat.ID(id), dynblock.New(dynblock.Instagram).Text("hi"), manychat.SendOptions{})
			},
			wantErr: func(err error) bool { return err == nil },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, c, clock := setup(t)
			id := srv.AddSubscriber(fake.Subscriber{FirstName: "Ada"})
			srv.InjectFailure(tc.path, tc.failure, tc.failures)
			start := clock.Now()
			call := tc.call
			if call == nil {
				call = func(c *manychat.Client, _ int64) error { _, err := c.GetTags(context.Background()); return err }
			}
			err := call(c, id)
			if !tc.wantErr(err) {
				t.Fatalf("unexpected error: %v", err)
			}
			if n := srv.CallCount(tc.path); n != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", n, tc.wantCalls)
			}
			if waited := clock.Now().Sub(start); tc.wantCalls > 1 && waited < manychat.DefaultBackoffBase/2 {
				t.Fatalf("retries did not back off: %s", waited)
			}
		})
	}
}

func TestRetryStopsAtContextDeadline(t *testing.T) {
	srv, c, _ := setupAt(t, time.Now(), manychat.WithRetry(10, time.Second, time.Minute))
	srv.FailNext("/fb/page/getTags", 503, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.GetTags(ctx)
	var e *manychat.APIError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &e) || e.HTTPStatus != 503 {
		t.Fatalf("want deadline error keeping the 503, got %v", err)
	}
	if n := srv.CallCount("/fb/page/getTags"); n < 2 || n >= 10 {
		t.Fatalf("want a few retries that stop before the deadline, got %d calls", n)
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("per-attempt timeout", func(t *testing.T) {
		srv, c, _ := setup(t, manychat.WithTimeout(30*time.Millisecond))
		srv.SetLatency(2 * time.Second)
		_, err := c.GetTags(context.Background())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want DeadlineExceeded, got %v", err)
		}
		if n := srv.CallCount("/fb/page/getTags"); n != 1 {
			t.Fatalf("a timed-out attempt is not retried: %d calls", n)
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		srv, c, _ := setup(t)
		srv.SetLatency(2 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if _, err := c.GetPageInfo(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want DeadlineExceeded, got %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		_, c, _ := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.GetPageInfo(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("want Canceled, got %v", err)
		}
	})
}

func TestKeyedDetailsVariant(t *testing.T) {
	srv, c, _ := setup(t)
	srv.SetKeyedDetails(true)
	id := srv.AddSubscriber(fake.Subscriber{FirstName: "Ada"})
	err := c.SetCustomFieldByName(context.Background(), manychat.ID(id), "nope", "x")
	e := apiError(t, err)
	if e.HTTPStatus != 400 || len(e.Details) != 1 || e.Details[0].Field != "field_id" || e.Message != e.Details[0].Message {
		t.Fatalf("keyed details: %+v", e)
	}
}

func TestInjectedHTTPClient(t *testing.T) {
	srv, _, clock := setup(t)
	var seen []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.Header.Get("Authorization")+" "+r.Header.Get("User-Agent"))
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, _ := manychat.New(srv.URL, srv.Token, manychat.WithHTTPClient(hc), manychat.WithClock(clock), manychat.WithUserAgent("playgram-test"))
	if _, err := c.GetTags(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "Bearer "+srv.Token+" playgram-test" {
		t.Fatalf("requests through the injected client: %q", seen)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRateLimitSpacing proves the client's limiter by the fake's own
// accounting in shared virtual time: Manychat never sees a 429, and after
// the initial burst calls of a family are spaced at 1/qps.
func TestRateLimitSpacing(t *testing.T) {
	srv, c, clock := setup(t)
	ctx := context.Background()
	id := manychat.ID(srv.AddSubscriber(fake.Subscriber{FirstName: "Ada"}))
	srv.AddTag("vip")
	start := clock.Now()

	const n = 35 // writes: 10 qps, burst 10
	for i := 0; i < n; i++ {
		if err := c.AddTagByName(ctx, id, "vip"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	var at []time.Time
	for _, call := range srv.Calls() {
		if call.Status != 200 {
			t.Fatalf("the fake answered %d to %s", call.Status, call.Path)
		}
		at = append(at, call.At)
	}
	for i := 10; i < n; i++ {
		if gap := at[i].Sub(at[i-1]); gap < 100*time.Millisecond-time.Microsecond {
			t.Fatalf("calls %d and %d only %s apart", i-1, i, gap)
		}
	}
	// in any one-second window: at most burst + qps calls
	for i := range at {
		inWindow := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			inWindow++
		}
		if inWindow > 20 {
			t.Fatalf("%d calls within one second from call %d", inWindow, i)
		}
	}
	if elapsed := clock.Now().Sub(start); elapsed < 2500*time.Millisecond-time.Millisecond {
		t.Fatalf("virtual time only advanced %s for %d calls", elapsed, n)
	}

	// families have separate budgets: a burst of reads does not wait behind the writes
	before := clock.Now()
	for i := 0; i < 100; i++ {
		if _, err := c.GetTags(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if clock.Now() != before {
		t.Fatalf("100 page reads (100 qps family) should fit one burst; waited %s", clock.Now().Sub(before))
	}
}

// Without the client's limiter the fake's limit shows: the 11th write in
// the same instant is a 429.
func TestFakeEnforcesLimitWithoutClientLimiter(t *testing.T) {
	srv, c, _ := setup(t, manychat.WithRateLimit(manychat.FamilyDefault, 0, 0), manychat.WithRetry(1, 0, 0))
	id := manychat.ID(srv.AddSubscriber(fake.Subscriber{FirstName: "Ada"}))
	srv.AddTag("vip")
	var err error
	calls := 0
	for calls < 20 && err == nil {
		err = c.AddTagByName(context.Background(), id, "vip")
		calls++
	}
	if !manychat.IsRateLimited(err) || calls != 11 {
		t.Fatalf("after %d calls: %v", calls, err)
	}
}

func TestRateLimitWaitRespectsDeadline(t *testing.T) {
	srv, c, _ := setupAt(t, time.Now(), manychat.WithRateLimit(manychat.FamilyPageRead, 1, 1))
	if _, err := c.GetTags(context.Background()); err != nil {
		t.Fatal(err)
	}
	// the next token comes in 1 s; the caller only has 500 ms
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := c.GetTags(ctx); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ratelimit.ErrWouldExceedDeadline) {
		t.Fatalf("want the limiter to refuse at once, got %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the limiter waited for the deadline instead of failing fast")
	}
	if n := srv.CallCount("/fb/page/getTags"); n != 1 {
		t.Fatalf("calls = %d", n)
	}
}

// Network failures are retried for reads and idempotent writes. A send is
// retried only when the connection could not even be opened; once the
// request may have reached Manychat it is never repeated.
func TestNetworkErrorRetries(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	// hangs up after reading the request, before any answer
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer hangup.Close()

	read := func(c *manychat.Client) error { _, err := c.GetTags(context.Background()); return err }
	write := func(c *manychat.Client) error { return c.AddTagByName(context.Background(), 1, "vip") }
	send := func(c *manychat.Client) error { return c.SendFlow(context.Background(), 1, "ns") }
	for _, tc := range []struct {
		name  string
		url   string
		call  func(*manychat.Client) error
		tries int
	}{
		{"read, refused", deadURL, read, manychat.DefaultMaxAttempts},
		{"send, refused", deadURL, send, manychat.DefaultMaxAttempts},
		{"read, hung up", hangup.URL, read, manychat.DefaultMaxAttempts},
		{"idempotent write, hung up", hangup.URL, write, manychat.DefaultMaxAttempts},
		{"send, hung up", hangup.URL, send, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tries := 0
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				tries++
				// a fresh transport per attempt: no connection reuse, no transport-level retry
				return (&http.Transport{DisableKeepAlives: true}).RoundTrip(r)
			})}
			c, _ := manychat.New(tc.url, "1:x", manychat.WithHTTPClient(hc), manychat.WithClock(ratelimit.NewManualClock(epoch)))
			err := tc.call(c)
			var apiErr *manychat.APIError
			if err == nil || errors.As(err, &apiErr) || manychat.IsTemporary(err) {
				t.Fatalf("want a transport error, got %v", err)
			}
			if tries != tc.tries {
				t.Fatalf("%d attempts, want %d (%v)", tries, tc.tries, err)
			}
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	srv, c, _ := setup(t)
	srv.AddTag("vip")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				tags, err := c.GetTags(context.Background())
				if err == nil && len(tags) != 1 {
					err = errors.New("wrong tags")
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.CallCount("/fb/page/getTags"); n != 40 {
		t.Fatalf("%d calls", n)
	}
}
