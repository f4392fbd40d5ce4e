package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// runner holds the shared counters; everything a worker touches per request is atomic so the
// generator scales with -c instead of serialising on a lock.
type runner struct {
	cfg          *config
	client       *http.Client
	start        time.Time
	measureStart time.Time
	stopAt       time.Time // no new request starts at or after this instant

	counter atomic.Int64 // {{i}} and URL rotation; spans warmup so every body of a run is unique
	budget  atomic.Int64 // measured requests still to start in -n mode
	warmup  atomic.Int64
	hist    histogram
	status  [1000]atomic.Int64
	bytes   atomic.Int64

	mu          sync.Mutex
	errs        map[string]int64
	errExamples map[string]string
}

func newClient(cfg *config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.timeout, KeepAlive: 30 * time.Second, Control: dialLoopbackOnly}
	transport := &http.Transport{
		Proxy:               nil, // never route through an HTTP_PROXY from the environment
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: cfg.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // measure the bytes the server sends; ask for gzip with -H if wanted
	}
	return &http.Client{
		Transport: transport,
		Timeout:   cfg.timeout,
		// One request is one measured round trip; following redirects would also leave loopback.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// run sends the load described by cfg and returns the summary. Cancelling ctx stops the run early;
// requests cut off by the cancellation are left out of the stats rather than counted as failures.
func run(ctx context.Context, cfg *config) *summary {
	r := &runner{cfg: cfg, client: newClient(cfg), errs: map[string]int64{}, errExamples: map[string]string{}}
	defer r.client.CloseIdleConnections()
	start := time.Now()
	r.start = start
	r.measureStart = start.Add(cfg.warmup)
	r.stopAt = start.Add(maxRun)
	if cfg.duration > 0 {
		r.stopAt = r.measureStart.Add(cfg.duration)
	}
	r.budget.Store(cfg.n)

	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Go(func() { r.work(ctx) })
	}
	wg.Wait()

	s := r.summarize(time.Since(r.measureStart))
	switch {
	case ctx.Err() != nil:
		s.StoppedEarly = "interrupted"
	case cfg.n > 0 && r.budget.Load() > 0:
		s.StoppedEarly = fmt.Sprintf("reached the %s limit before -n %d requests", maxRun, cfg.n)
	}
	return s
}

// work sends requests until the run ends. In closed loop (no -rate) each request starts when the worker's
// last one is answered. In open loop request i is due at start + i/rate whoever sends it; a worker waits for
// its request's due time, and the latency runs from that time, so requests that wait for a free worker (the
// server fell behind) count their wait as the client would see it instead of hiding it.
func (r *runner) work(ctx context.Context) {
	var every time.Duration
	if r.cfg.rate > 0 {
		every = time.Duration(float64(time.Second) / r.cfg.rate)
	}
	for ctx.Err() == nil {
		var i int64
		var due time.Time
		if every > 0 {
			i = r.counter.Add(1) - 1
			due = r.start.Add(time.Duration(i) * every)
			if wait := time.Until(due); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		now := due
		if every == 0 {
			now = time.Now()
		}
		if !now.Before(r.stopAt) {
			return
		}
		measured := !now.Before(r.measureStart)
		if measured && r.cfg.n > 0 && r.budget.Add(-1) < 0 {
			return
		}
		if every == 0 {
			i = r.counter.Add(1) - 1
		}
		status, n, latency, err := r.do(ctx, i, due)
		if ctx.Err() != nil {
			return
		}
		if !measured {
			r.warmup.Add(1)
			continue
		}
		r.bytes.Add(n)
		if err != nil {
			r.recordError(err)
			continue
		}
		r.hist.record(latency)
		r.status[status].Add(1)
	}
}

// do sends request i and reads the whole body; latency runs from due (or from now when due is zero) until the
// last body byte arrives.
func (r *runner) do(ctx context.Context, i int64, due time.Time) (status int, n int64, latency time.Duration, err error) {
	cfg := r.cfg
	body := cfg.body
	if cfg.tmpl != nil {
		body = cfg.tmpl.render(i, fmt.Sprintf("%016x", rand.Uint64()))
	}
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cfg.method, cfg.urls[i%int64(len(cfg.urls))], reader)
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header = cfg.header.Clone()
	if cfg.host != "" {
		req.Host = cfg.host
	}
	start := due
	if start.IsZero() {
		start = time.Now()
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	n, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	latency = time.Since(start)
	if resp.StatusCode < 0 || resp.StatusCode >= len(r.status) {
		return 0, n, 0, fmt.Errorf("status code %d out of range", resp.StatusCode)
	}
	return resp.StatusCode, n, latency, err
}

func (r *runner) recordError(err error) {
	kind := errorKind(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[kind]++
	if _, ok := r.errExamples[kind]; !ok {
		r.errExamples[kind] = err.Error()
	}
}

// errorKind groups transport errors into the few causes a benchmark reader acts on differently.
func errorKind(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, errNonLoopbackDial):
		return "non_loopback"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE):
		return "local_resources"
	}
	return "other"
}

type summary struct {
	Label            string            `json:"label,omitempty"`
	Method           string            `json:"method"`
	URL              string            `json:"url"`
	URLCount         int               `json:"url_count"`
	Concurrency      int               `json:"concurrency"`
	Rate             float64           `json:"rate,omitempty"`
	Requests         int64             `json:"requests"`
	Successes        int64             `json:"successes"`
	Failures         int64             `json:"failures"`
	WarmupRequests   int64             `json:"warmup_requests"`
	StatusCodes      map[int]int64     `json:"status_codes"`
	FailedByStatus   map[int]int64     `json:"failures_by_status"`
	FailedByError    map[string]int64  `json:"failures_by_error"`
	ErrorExamples    map[string]string `json:"error_examples,omitempty"`
	ElapsedSeconds   float64           `json:"elapsed_seconds"`
	RequestsPerSec   float64           `json:"requests_per_second"`
	SuccessesPerSec  float64           `json:"successes_per_second"`
	Latency          latencySummary    `json:"latency_ms"`
	BytesRead        int64             `json:"bytes_read"`
	Expect           string            `json:"expect"`
	StoppedEarly     string            `json:"stopped_early,omitempty"`
	latencyDurations [5]time.Duration  // p50, p90, p99, max, mean for the text report
}

// latencySummary covers requests that got a complete response, whatever its status.
type latencySummary struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func (r *runner) summarize(elapsed time.Duration) *summary {
	cfg := r.cfg
	s := &summary{
		Label: cfg.label, Method: cfg.method, URL: cfg.urls[0], URLCount: len(cfg.urls),
		Concurrency: cfg.concurrency, Rate: cfg.rate, WarmupRequests: r.warmup.Load(), BytesRead: r.bytes.Load(),
		StatusCodes: map[int]int64{}, FailedByStatus: map[int]int64{}, FailedByError: r.errs,
		ErrorExamples: r.errExamples, ElapsedSeconds: elapsed.Seconds(), Expect: cfg.expectText,
	}
	for code := range r.status {
		c := r.status[code].Load()
		if c == 0 {
			continue
		}
		s.StatusCodes[code] = c
		if cfg.expect[code] {
			s.Successes += c
		} else {
			s.FailedByStatus[code] = c
			s.Failures += c
		}
	}
	for _, c := range r.errs {
		s.Failures += c
	}
	s.Requests = s.Successes + s.Failures
	if elapsed > 0 {
		s.RequestsPerSec = float64(s.Requests) / elapsed.Seconds()
		s.SuccessesPerSec = float64(s.Successes) / elapsed.Seconds()
	}
	s.latencyDurations = [5]time.Duration{r.hist.percentile(50), r.hist.percentile(90),
		r.hist.percentile(99), time.Duration(r.hist.max.Load()), r.hist.mean()}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	d := s.latencyDurations
	s.Latency = latencySummary{P50: ms(d[0]), P90: ms(d[1]), P99: ms(d[2]), Max: ms(d[3]), Mean: ms(d[4])}
	return s
}

func (s *summary) writeText(w io.Writer) {
	if s.Label != "" {
		fmt.Fprintf(w, "label:        %s\n", s.Label)
	}
	target := s.URL
	if s.URLCount > 1 {
		target += fmt.Sprintf(" (+%d more URLs)", s.URLCount-1)
	}
	fmt.Fprintf(w, "target:       %s %s\n", s.Method, target)
	fmt.Fprintf(w, "requests:     %d in %.3fs with %d workers (%d warmup requests excluded)\n",
		s.Requests, s.ElapsedSeconds, s.Concurrency, s.WarmupRequests)
	if s.Rate > 0 {
		fmt.Fprintf(w, "open loop:    %.1f req/s scheduled; latency counts from each request's scheduled start\n", s.Rate)
	}
	fmt.Fprintf(w, "throughput:   %.1f req/s, %.1f successes/s\n", s.RequestsPerSec, s.SuccessesPerSec)
	fmt.Fprintf(w, "successes:    %d (expect %s)\n", s.Successes, s.Expect)
	fmt.Fprintf(w, "failures:     %d\n", s.Failures)
	for _, code := range slices.Sorted(maps.Keys(s.FailedByStatus)) {
		fmt.Fprintf(w, "  status %d: %d\n", code, s.FailedByStatus[code])
	}
	for _, kind := range slices.Sorted(maps.Keys(s.FailedByError)) {
		fmt.Fprintf(w, "  %s: %d (e.g. %s)\n", kind, s.FailedByError[kind], s.ErrorExamples[kind])
	}
	fmt.Fprintf(w, "status codes:")
	for _, code := range slices.Sorted(maps.Keys(s.StatusCodes)) {
		fmt.Fprintf(w, " %d×%d", code, s.StatusCodes[code])
	}
	d := s.latencyDurations
	r := func(x time.Duration) time.Duration { return x.Round(time.Microsecond) }
	fmt.Fprintf(w, "\nlatency:      p50 %s  p90 %s  p99 %s  max %s  mean %s\n", r(d[0]), r(d[1]), r(d[2]), r(d[3]), r(d[4]))
	fmt.Fprintf(w, "bytes read:   %d (response bodies)\n", s.BytesRead)
	if s.StoppedEarly != "" {
		fmt.Fprintf(w, "stopped early: %s\n", s.StoppedEarly)
	}
}
