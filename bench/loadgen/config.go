package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxRun bounds every run (warmup included) so a forgotten benchmark cannot hammer a machine for hours.
const (
	maxRun         = 10 * time.Minute
	maxTimeout     = time.Minute
	maxConcurrency = 10000
)

type config struct {
	urls        []string
	method      string
	header      http.Header
	host        string // from -H 'Host: ...', which net/http takes from Request.Host only
	body        []byte
	tmpl        *bodyTemplate
	concurrency int
	rate        float64 // requests per second in total (open loop); 0 = closed loop
	n           int64   // total measured requests; 0 in duration mode
	duration    time.Duration
	warmup      time.Duration
	timeout     time.Duration
	expect      [1000]bool // indexed by status code
	expectText  string
	json        bool
	label       string
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var urls, headers multiFlag
	var urlsFile, body, bodyFile, bodyTemplate string
	cfg := &config{}
	fs.Var(&urls, "url", "target URL, loopback only (repeatable; requests rotate through all URLs)")
	fs.StringVar(&urlsFile, "urls-file", "", "file with one target URL per line (blank lines and # comments skipped)")
	fs.StringVar(&cfg.method, "method", "", "HTTP method (default GET, or POST when a body is given)")
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	fs.StringVar(&body, "body", "", "request body")
	fs.StringVar(&bodyFile, "body-file", "", "file whose content is the request body")
	fs.StringVar(&bodyTemplate, "body-template", "", "request body where {{i}} becomes the request counter, {{i%N}} the counter modulo N and {{rand}} a random hex string")
	fs.IntVar(&cfg.concurrency, "c", 10, "concurrent workers (connections)")
	fs.Float64Var(&cfg.rate, "rate", 0, "open loop: start requests at this many per second in total, latency counted from each one's scheduled start (0: closed loop, each worker sends as soon as its last answer arrives)")
	fs.Int64Var(&cfg.n, "n", 0, "total measured requests (exclusive with -d)")
	fs.DurationVar(&cfg.duration, "d", 0, "measured duration, at most 10m including warmup (exclusive with -n)")
	fs.DurationVar(&cfg.warmup, "warmup", 0, "duration of load before measuring; excluded from the stats")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-request timeout including reading the body (at most 1m)")
	fs.StringVar(&cfg.expectText, "expect", "2xx", "status codes counted as success, e.g. 200,201,409 or 2xx")
	fs.BoolVar(&cfg.json, "json", false, "print the summary as JSON")
	fs.StringVar(&cfg.label, "label", "", "name of this run, echoed in the summary")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}

	for i, u := range urls {
		if err := checkLoopbackURL(u); err != nil {
			return nil, fmt.Errorf("-url #%d: %w", i+1, err)
		}
	}
	cfg.urls = urls
	if urlsFile != "" {
		fileURLs, err := readURLsFile(urlsFile)
		if err != nil {
			return nil, err
		}
		cfg.urls = append(cfg.urls, fileURLs...)
	}
	if len(cfg.urls) == 0 {
		return nil, errors.New("-url: at least one target URL is required (-url or -urls-file)")
	}

	if err := cfg.parseHeaders(headers); err != nil {
		return nil, err
	}
	if err := cfg.parseBody(body, bodyFile, bodyTemplate); err != nil {
		return nil, err
	}
	if err := cfg.parseExpect(); err != nil {
		return nil, err
	}
	return cfg, cfg.checkLimits()
}

func (cfg *config) checkLimits() error {
	switch {
	case cfg.concurrency < 1 || cfg.concurrency > maxConcurrency:
		return fmt.Errorf("-c: must be between 1 and %d, got %d", maxConcurrency, cfg.concurrency)
	case cfg.rate < 0:
		return fmt.Errorf("-rate: must not be negative, got %g", cfg.rate)
	case cfg.n < 0:
		return fmt.Errorf("-n: must be positive, got %d", cfg.n)
	case cfg.duration < 0:
		return fmt.Errorf("-d: must be positive, got %s", cfg.duration)
	case cfg.n > 0 && cfg.duration > 0:
		return errors.New("-n and -d: give one of them, not both")
	case cfg.n == 0 && cfg.duration == 0:
		return errors.New("-n or -d: one of them is required")
	case cfg.warmup < 0:
		return fmt.Errorf("-warmup: must not be negative, got %s", cfg.warmup)
	case cfg.warmup+cfg.duration > maxRun:
		return fmt.Errorf("-warmup, -d: warmup %s plus duration %s exceeds the %s limit", cfg.warmup, cfg.duration, maxRun)
	case cfg.timeout <= 0 || cfg.timeout > maxTimeout:
		return fmt.Errorf("-timeout: must be between 1ns and %s, got %s", maxTimeout, cfg.timeout)
	}
	return nil
}

func (cfg *config) parseHeaders(headers []string) error {
	cfg.header = http.Header{}
	for i, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("-H #%d %q: want 'Name: value'", i+1, h)
		}
		value = strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			cfg.host = value
			continue
		}
		cfg.header.Add(name, value)
	}
	return nil
}

func (cfg *config) parseBody(body, bodyFile, bodyTemplate string) error {
	given := 0
	for _, s := range []string{body, bodyFile, bodyTemplate} {
		if s != "" {
			given++
		}
	}
	if given > 1 {
		return errors.New("-body, -body-file, -body-template: give at most one")
	}
	switch {
	case body != "":
		cfg.body = []byte(body)
	case bodyFile != "":
		b, err := os.ReadFile(bodyFile)
		if err != nil {
			return fmt.Errorf("-body-file: %w", err)
		}
		cfg.body = b
	case bodyTemplate != "":
		t, err := parseBodyTemplate(bodyTemplate)
		if err != nil {
			return fmt.Errorf("-body-template: %w", err)
		}
		cfg.tmpl = t
	}
	if cfg.method == "" {
		cfg.method = http.MethodGet
		if given > 0 {
			cfg.method = http.MethodPost
		}
	}
	cfg.method = strings.ToUpper(cfg.method)
	return nil
}

// parseExpect accepts exact codes (409) and classes (2xx), comma separated.
func (cfg *config) parseExpect() error {
	for i, tok := range strings.Split(cfg.expectText, ",") {
		tok = strings.TrimSpace(strings.ToLower(tok))
		if len(tok) == 3 && tok[1:] == "xx" && tok[0] >= '1' && tok[0] <= '9' {
			base := int(tok[0]-'0') * 100
			for c := base; c < base+100; c++ {
				cfg.expect[c] = true
			}
			continue
		}
		code, err := strconv.Atoi(tok)
		if err != nil || code < 100 || code > 999 {
			return fmt.Errorf("-expect item #%d %q: want a status code 100-999 or a class like 2xx", i+1, tok)
		}
		cfg.expect[code] = true
	}
	return nil
}

func readURLsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-urls-file: %w", err)
	}
	defer f.Close()
	var urls []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		u := strings.TrimSpace(sc.Text())
		if u == "" || strings.HasPrefix(u, "#") {
			continue
		}
		if err := checkLoopbackURL(u); err != nil {
			return nil, fmt.Errorf("-urls-file %s line %d: %w", path, line, err)
		}
		urls = append(urls, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("-urls-file %s: %w", path, err)
	}
	return urls, nil
}

// checkLoopbackURL enforces the workplace rule that load is only ever sent to this machine.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("%q: host %q is not loopback; only localhost, 127.0.0.0/8 and ::1 may be targeted", raw, u.Hostname())
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var errNonLoopbackDial = errors.New("refused to connect to a non-loopback address")

// dialLoopbackOnly runs after name resolution, so it also catches a "localhost" that resolves elsewhere.
func dialLoopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %s", errNonLoopbackDial, address)
	}
	return nil
}
