package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustConfig(t *testing.T, args ...string) *config {
	t.Helper()
	cfg, err := parseConfig(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type seenRequest struct {
	method, path, host, auth string
	i                        int
	rand                     string
}

// bookingServer answers with a status chosen by the request counter in the body (i%3: 201, 409,
// 500) and echoes the counter, so the test knows every status and every byte the client must see.
type bookingServer struct {
	mu        sync.Mutex
	seen      []seenRequest
	bodyBytes int64
}

var bodyRe = regexp.MustCompile(`^\{"i":(\d+),"r":"([0-9a-f]{16})"\}$`)

func (b *bookingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	m := bodyRe.FindStringSubmatch(string(raw))
	if m == nil {
		http.Error(w, "bad body "+string(raw), http.StatusBadRequest)
		return
	}
	i, _ := strconv.Atoi(m[1])
	resp := strings.Repeat("x", i)
	b.mu.Lock()
	b.seen = append(b.seen, seenRequest{r.Method, r.URL.Path, r.Host, r.Header.Get("Authorization"), i, m[2]})
	b.bodyBytes += int64(len(resp))
	b.mu.Unlock()
	w.WriteHeader([]int{201, 409, 500}[i%3])
	io.WriteString(w, resp)
}

func TestRunCountsRequestsStatusesAndTemplates(t *testing.T) {
	t.Parallel()
	srv := &bookingServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	cfg := mustConfig(t, "-url", ts.URL+"/a", "-url", ts.URL+"/b", "-n", "30", "-c", "4",
		"-body-template", `{"i":{{i}},"r":"{{rand}}"}`, "-expect", "201,409",
		"-H", "Authorization: Bearer pgk_test", "-H", "Host: shop.example", "-label", "bookings")
	s := run(context.Background(), cfg)

	if s.Requests != 30 || s.Successes != 20 || s.Failures != 10 || s.WarmupRequests != 0 {
		t.Fatalf("requests %d successes %d failures %d warmup %d, want 30/20/10/0",
			s.Requests, s.Successes, s.Failures, s.WarmupRequests)
	}
	wantStatus := map[int]int64{201: 10, 409: 10, 500: 10}
	for code, n := range wantStatus {
		if s.StatusCodes[code] != n {
			t.Errorf("status %d: %d, want %d (all: %v)", code, s.StatusCodes[code], n, s.StatusCodes)
		}
	}
	if len(s.StatusCodes) != 3 || len(s.FailedByStatus) != 1 || s.FailedByStatus[500] != 10 || len(s.FailedByError) != 0 {
		t.Errorf("status codes %v, failures by status %v, by error %v", s.StatusCodes, s.FailedByStatus, s.FailedByError)
	}
	if s.BytesRead != srv.bodyBytes || s.BytesRead != 29*30/2 {
		t.Errorf("bytes read %d, server wrote %d, want %d", s.BytesRead, srv.bodyBytes, 29*30/2)
	}
	if s.Method != "POST" || s.Label != "bookings" || s.URLCount != 2 {
		t.Errorf("method %q label %q url count %d", s.Method, s.Label, s.URLCount)
	}
	if s.Latency.P50 <= 0 || s.Latency.P50 > s.Latency.P90 || s.Latency.P90 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max {
		t.Errorf("latency percentiles out of order: %+v", s.Latency)
	}

	if len(srv.seen) != 30 {
		t.Fatalf("server saw %d requests, want 30", len(srv.seen))
	}
	counters, rands := map[int]bool{}, map[string]bool{}
	for _, r := range srv.seen {
		counters[r.i], rands[r.rand] = true, true
		wantPath := []string{"/a", "/b"}[r.i%2]
		if r.path != wantPath || r.method != "POST" || r.host != "shop.example" || r.auth != "Bearer pgk_test" {
			t.Errorf("request %d: %+v, want path %s, POST, host shop.example, auth header", r.i, r, wantPath)
		}
	}
	for i := range 30 {
		if !counters[i] {
			t.Errorf("counter %d never sent", i)
		}
	}
	if len(rands) != 30 {
		t.Errorf("%d distinct {{rand}} values in 30 requests", len(rands))
	}
}

func TestRunWarmupIsExcludedButCountersStayUnique(t *testing.T) {
	t.Parallel()
	srv := &bookingServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// -n keeps the measured count exact; 300ms of warmup leaves room for scheduler stalls on a busy
	// machine while still guaranteeing warmup traffic.
	cfg := mustConfig(t, "-url", ts.URL, "-n", "20", "-warmup", "300ms", "-c", "2",
		"-body-template", `{"i":{{i}},"r":"{{rand}}"}`, "-expect", "2xx,4xx,5xx")
	s := run(context.Background(), cfg)

	if s.WarmupRequests == 0 || s.Requests != 20 {
		t.Fatalf("warmup %d, measured %d: want warmup traffic and exactly 20 measured", s.WarmupRequests, s.Requests)
	}
	if got := int64(len(srv.seen)); got != s.Requests+s.WarmupRequests {
		t.Fatalf("server saw %d requests, summary has %d measured + %d warmup", got, s.Requests, s.WarmupRequests)
	}
	if s.Successes != s.Requests {
		t.Errorf("successes %d of %d with every status expected", s.Successes, s.Requests)
	}
	counters := map[int]bool{}
	for _, r := range srv.seen {
		if counters[r.i] {
			t.Fatalf("counter %d sent twice", r.i)
		}
		counters[r.i] = true
	}
}

func TestRunNeverExceedsN(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer ts.Close()
	s := run(context.Background(), mustConfig(t, "-url", ts.URL, "-n", "5", "-c", "8"))
	if hits != 5 || s.Requests != 5 || s.Successes != 5 {
		t.Fatalf("server hits %d, summary requests %d successes %d, want 5", hits, s.Requests, s.Successes)
	}
}

func TestRunDurationModeStopsAfterDuration(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := int64(0)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer ts.Close()
	s := run(context.Background(), mustConfig(t, "-url", ts.URL, "-d", "300ms", "-warmup", "50ms", "-c", "3"))
	// Workers only stop once the duration is over, so elapsed can never be shorter than -d.
	if s.ElapsedSeconds < 0.3 || s.StoppedEarly != "" {
		t.Errorf("elapsed %.3fs, stopped early %q; want at least 0.3s and a complete run", s.ElapsedSeconds, s.StoppedEarly)
	}
	if hits != s.Requests+s.WarmupRequests || s.Successes != s.Requests {
		t.Errorf("server hits %d, summary %d measured + %d warmup, %d successes", hits, s.Requests, s.WarmupRequests, s.Successes)
	}
}

func TestRunClassifiesErrors(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(hangup.Close)
	redirect := httptest.NewServer(http.RedirectHandler("http://example.com/", http.StatusFound))
	t.Cleanup(redirect.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String() + "/"
	ln.Close()

	scenarios := []struct {
		name       string
		args       []string
		wantErrors map[string]int64
		wantStatus map[int]int64
	}{
		{"timeout", []string{"-url", slow.URL, "-n", "3", "-c", "3", "-timeout", "100ms"}, map[string]int64{"timeout": 3}, nil},
		{"connection refused", []string{"-url", closedURL, "-n", "2", "-c", "1"}, map[string]int64{"connection_refused": 2}, nil},
		{"server hangs up", []string{"-url", hangup.URL, "-n", "2", "-c", "1"}, map[string]int64{"eof": 2}, nil},
		{"redirect is not followed", []string{"-url", redirect.URL, "-n", "2", "-c", "1"}, nil, map[int]int64{302: 2}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			sum := run(context.Background(), mustConfig(t, s.args...))
			if sum.Successes != 0 || sum.Failures != sum.Requests || sum.Requests == 0 {
				t.Errorf("requests %d successes %d failures %d, want all failed", sum.Requests, sum.Successes, sum.Failures)
			}
			if !mapsEqual(sum.FailedByError, s.wantErrors) || !mapsEqual(sum.StatusCodes, s.wantStatus) {
				t.Fatalf("errors %v (e.g. %v), statuses %v; want %v and %v",
					sum.FailedByError, sum.ErrorExamples, sum.StatusCodes, s.wantErrors, s.wantStatus)
			}
		})
	}
}

func mapsEqual[K comparable](got, want map[K]int64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestRunInterruptedLeavesInFlightRequestsOut(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 10)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	s := run(ctx, mustConfig(t, "-url", ts.URL, "-n", "100", "-c", "2"))
	if s.StoppedEarly != "interrupted" || s.Requests != 0 || s.Failures != 0 {
		t.Fatalf("stopped %q, requests %d failures %d %v; want interrupted with nothing counted",
			s.StoppedEarly, s.Requests, s.Failures, s.FailedByError)
	}
}

func TestRunMainOutput(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer ts.Close()

	var out, errOut bytes.Buffer
	code := runMain(context.Background(), []string{"-url", ts.URL + "/", "-url", ts.URL + "/missing", "-n", "4", "-json", "-label", "qr"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	var decoded struct {
		Label            string             `json:"label"`
		Requests         int64              `json:"requests"`
		Successes        int64              `json:"successes"`
		FailuresByStatus map[string]int64   `json:"failures_by_status"`
		BytesRead        int64              `json:"bytes_read"`
		LatencyMS        map[string]float64 `json:"latency_ms"`
	}
	if err := json.Unmarshal(out.Bytes(), &decoded); err != nil {
		t.Fatalf("JSON summary does not decode: %v\n%s", err, out.String())
	}
	if decoded.Label != "qr" || decoded.Requests != 4 || decoded.Successes != 2 || decoded.FailuresByStatus["404"] != 2 {
		t.Errorf("decoded summary %+v", decoded)
	}
	if decoded.BytesRead != 2*int64(len("ok"))+2*int64(len("404 page not found\n")) {
		t.Errorf("bytes read %d", decoded.BytesRead)
	}
	if _, ok := decoded.LatencyMS["p99"]; !ok {
		t.Errorf("latency_ms.p99 missing: %s", out.String())
	}

	out.Reset()
	if code := runMain(context.Background(), []string{"-url", ts.URL + "/missing", "-n", "3"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"requests:     3 in", "failures:     3", "  status 404: 3", "status codes: 404×3", "latency:      p50 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text summary lacks %q:\n%s", want, out.String())
		}
	}

	errOut.Reset()
	if code := runMain(context.Background(), []string{"-url", "http://10.1.2.3:8090/", "-n", "1"}, &out, &errOut); code != 2 {
		t.Fatalf("non-loopback target: exit %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "is not loopback") {
		t.Errorf("stderr %q does not explain the refusal", errOut.String())
	}
}

// In open loop the requests are sent on schedule whatever the server does, and a slow server's backlog shows
// in the latency instead of lowering the request rate (closed loop would send one request per answer).
func TestRunOpenLoopKeepsTheScheduleAndCountsQueueing(t *testing.T) {
	var mu sync.Mutex
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock() // one request at a time, 20 ms each: at most 50/s
		defer mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}))
	defer slow.Close()
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fast.Close()

	s := run(context.Background(), mustConfig(t, "-url", fast.URL, "-rate", "200", "-d", "500ms", "-c", "4"))
	if s.Requests < 95 || s.Requests > 101 {
		t.Fatalf("fast server, 200/s for 0.5 s: %d requests, want 100", s.Requests)
	}
	if s.Latency.P99 > 50 {
		t.Fatalf("fast server: p99 %.1f ms", s.Latency.P99)
	}

	s = run(context.Background(), mustConfig(t, "-url", slow.URL, "-rate", "200", "-d", "500ms", "-c", "50"))
	if s.Requests < 95 || s.Requests > 101 {
		t.Fatalf("slow server, 200/s for 0.5 s: %d requests, want all 100 scheduled", s.Requests)
	}
	// The last request was due at 0.5 s and served after the 99 before it (20 ms each): ~1.5 s late.
	if s.Latency.Max < 1000 {
		t.Fatalf("slow server: max latency %.0f ms, want the backlog (>1 s)", s.Latency.Max)
	}
}
