// Package apify is a thin net/http client for the parts of the Apify API v2 Playgram uses
// (shared/contracts/apify.md): run-sync-get-dataset-items with a fallback to an asynchronous run and polling
// when the synchronous wait times out (408), dataset paging, the run's cost (usageTotalUsd, re-read when it is
// still null right after the run) and exponential backoff on 429.
package apify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/internal/ratelimit"
)

// DefaultBaseURL is APIFY_BASE_URL's default.
const DefaultBaseURL = "https://api.apify.com"

// Terminal run statuses.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED-OUT"
	StatusAborted   = "ABORTED"
)

// Error is an Apify error answer. Type is an open string; branch on Status where the contract is unsure.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("apify: HTTP %d %s: %s", e.Status, e.Type, e.Message)
}

// ErrRunFailed is wrapped by errors for runs that finished without succeeding.
var ErrRunFailed = errors.New("apify: the actor run did not succeed")

// IsRunFailed reports whether err is a run that finished but did not succeed (400 run-failed from a sync call,
// or a terminal status other than SUCCEEDED while polling).
func IsRunFailed(err error) bool {
	var ae *Error
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && ae.Type == "run-failed" {
		return true
	}
	return errors.Is(err, ErrRunFailed)
}

// Run is the part of a run object Playgram reads.
type Run struct {
	ID                 string         `json:"id"`
	ActID              string         `json:"actId"`
	Status             string         `json:"status"`
	StartedAt          *time.Time     `json:"startedAt"`
	FinishedAt         *time.Time     `json:"finishedAt"`
	DefaultDatasetID   string         `json:"defaultDatasetId"`
	UsageTotalUSD      *float64       `json:"usageTotalUsd"`
	ChargedEventCounts map[string]int `json:"chargedEventCounts"`
}

// Terminal reports whether the run has finished one way or another.
func (r *Run) Terminal() bool {
	switch r.Status {
	case StatusSucceeded, StatusFailed, StatusTimedOut, StatusAborted:
		return true
	}
	return false
}

// Client calls Apify. The zero values of the tuning fields pick the defaults below.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
	// PollWaitSecs is waitForFinish on run polls (at most 60).
	PollWaitSecs int
	// PageSize is the dataset page size when reading items after an async run.
	PageSize int
	// MaxRetries bounds retries of 429 (and of 5xx and transport errors on reads).
	MaxRetries int
	// BackoffBase is the first backoff; each retry waits a random time in [d, 2d], doubling d.
	BackoffBase time.Duration
	// CostDelay is how long to wait before re-reading a run whose usageTotalUsd is still null.
	CostDelay time.Duration
	// Sleep waits; tests replace it to count backoffs without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// New returns a client with Apify's defaults: 360 s per request (runs may wait 300 s), 8 retries from 500 ms.
func New(baseURL, token string) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 360 * time.Second}}
}

func (c *Client) pollWait() int {
	if c.PollWaitSecs <= 0 || c.PollWaitSecs > 60 {
		return 60
	}
	return c.PollWaitSecs
}

func (c *Client) pageSize() int {
	if c.PageSize <= 0 {
		return 1000
	}
	return c.PageSize
}

func (c *Client) maxRetries() int {
	if c.MaxRetries <= 0 {
		return 8
	}
	return c.MaxRetries
}

func (c *Client) backoffBase() time.Duration {
	if c.BackoffBase <= 0 {
		return 500 * time.Millisecond
	}
	return c.BackoffBase
}

func (c *Client) costDelay() time.Duration {
	if c.CostDelay < 0 {
		return 0
	}
	if c.CostDelay == 0 {
		return 10 * time.Second
	}
	return c.CostDelay
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return ratelimit.System().Sleep(ctx, d)
}

// ActorPath turns "user/name" into the "user~name" form used in paths; ids and "user~name" pass unchanged.
func ActorPath(actor string) string { return strings.ReplaceAll(actor, "/", "~") }

// CallOptions cap what a run may cost.
type CallOptions struct {
	MaxItems          int
	MaxTotalChargeUSD float64
	// TimeoutSecs is the run's own timeout (0: the actor's default).
	TimeoutSecs int
}

// Result is what a run produced.
type Result struct {
	Items []json.RawMessage
	Run   *Run
	// CostUSD is usageTotalUsd; CostKnown is false when Apify never reported it (pay-per-result actors the
	// account does not own).
	CostUSD   float64
	CostKnown bool
	// Async is true when the synchronous wait timed out and the run was followed by polling.
	Async bool
	// Retries counts 429 backoffs taken.
	Retries int
}

// Call runs actor with input and returns its dataset items: synchronously when the run finishes within
// Apify's wait, otherwise by following the still-running run until it ends and paging its dataset.
func (c *Client) Call(ctx context.Context, actor string, input any, opts CallOptions) (*Result, error) {
	body, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	q := url.Values{"clean": {"true"}, "format": {"json"}}
	if opts.MaxItems > 0 {
		q.Set("maxItems", strconv.Itoa(opts.MaxItems))
	}
	if opts.MaxTotalChargeUSD > 0 {
		q.Set("maxTotalChargeUsd", strconv.FormatFloat(opts.MaxTotalChargeUSD, 'f', -1, 64))
	}
	if opts.TimeoutSecs > 0 {
		q.Set("timeout", strconv.Itoa(opts.TimeoutSecs))
	}
	res := &Result{}
	started := time.Now().Add(-2 * time.Second)
	path := "/v2/acts/" + ActorPath(actor)
	// A run start is retried on 429 only: a 429 means nothing started, while a 5xx or a dropped connection
	// may have started a run that a retry would duplicate.
	resp, err := c.do(ctx, http.MethodPost, path+"/run-sync-get-dataset-items?"+q.Encode(), body, false, res)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) || ae.Status != http.StatusRequestTimeout {
			return nil, err
		}
		// 408: the run keeps going; find it and follow it.
		res.Async = true
		run, err := c.lastRun(ctx, path, "", res)
		if err != nil {
			return nil, err
		}
		if run, err = c.WaitForRun(ctx, run.ID, res); err != nil {
			return nil, err
		}
		if run.Status != StatusSucceeded {
			return nil, fmt.Errorf("%w: run %s ended %s", ErrRunFailed, run.ID, run.Status)
		}
		if res.Items, err = c.DatasetItems(ctx, run.DefaultDatasetID, res); err != nil {
			return nil, err
		}
		res.Run = run
	} else {
		if err := json.Unmarshal(resp, &res.Items); err != nil {
			return nil, fmt.Errorf("apify: dataset items are not a JSON array: %w", err)
		}
		// The sync answer carries no run id; the account's last succeeded API run of this actor is ours when it
		// started after the call did (a concurrent run of the same actor could be mistaken for it).
		run, err := c.lastRun(ctx, path, StatusSucceeded, res)
		if err == nil && run.StartedAt != nil && run.StartedAt.After(started) {
			res.Run = run
		}
	}
	if res.Run != nil {
		c.readCost(ctx, res)
	}
	return res, nil
}

// readCost fills the cost from the run, re-reading it once after CostDelay when Apify has not settled it yet.
func (c *Client) readCost(ctx context.Context, res *Result) {
	run := res.Run
	if run.UsageTotalUSD == nil {
		if err := c.sleep(ctx, c.costDelay()); err == nil {
			if again, err := c.GetRun(ctx, run.ID, 0, res); err == nil {
				run = again
				res.Run = again
			}
		}
	}
	if run.UsageTotalUSD != nil {
		res.CostUSD, res.CostKnown = *run.UsageTotalUSD, true
	}
}

func (c *Client) lastRun(ctx context.Context, actorPath, status string, res *Result) (*Run, error) {
	q := url.Values{"origin": {"API"}}
	if status != "" {
		q.Set("status", status)
	}
	return c.runFrom(c.do(ctx, http.MethodGet, actorPath+"/runs/last?"+q.Encode(), nil, true, res))
}

// GetRun reads a run, long-polling up to waitSecs for it to finish.
func (c *Client) GetRun(ctx context.Context, id string, waitSecs int, res *Result) (*Run, error) {
	p := "/v2/actor-runs/" + url.PathEscape(id)
	if waitSecs > 0 {
		p += "?waitForFinish=" + strconv.Itoa(waitSecs)
	}
	return c.runFrom(c.do(ctx, http.MethodGet, p, nil, true, res))
}

// WaitForRun polls a run until its status is terminal or ctx ends.
func (c *Client) WaitForRun(ctx context.Context, id string, res *Result) (*Run, error) {
	for {
		run, err := c.GetRun(ctx, id, c.pollWait(), res)
		if err != nil {
			return nil, err
		}
		if run.Terminal() {
			return run, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (c *Client) runFrom(body []byte, err error) (*Run, error) {
	if err != nil {
		return nil, err
	}
	var env struct {
		Data *Run `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Data == nil || env.Data.ID == "" {
		return nil, fmt.Errorf("apify: unexpected run answer: %.200s", body)
	}
	return env.Data, nil
}

// DatasetItems reads every clean item of a dataset, PageSize at a time.
func (c *Client) DatasetItems(ctx context.Context, datasetID string, res *Result) ([]json.RawMessage, error) {
	var all []json.RawMessage
	offset := 0
	for {
		q := url.Values{"clean": {"true"}, "format": {"json"}, "offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(c.pageSize())}}
		var hdr http.Header
		body, err := c.doHeader(ctx, http.MethodGet, "/v2/datasets/"+url.PathEscape(datasetID)+"/items?"+q.Encode(), nil, true, res, &hdr)
		if err != nil {
			return nil, err
		}
		var page []json.RawMessage
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("apify: dataset items are not a JSON array: %w", err)
		}
		all = append(all, page...)
		// clean=true may shorten a page, so progress is measured by the offset Apify reports, not by items seen.
		count, _ := strconv.Atoi(hdr.Get("X-Apify-Pagination-Count"))
		total, errT := strconv.Atoi(hdr.Get("X-Apify-Pagination-Total"))
		if count == 0 {
			count = len(page)
		}
		offset += max(count, c.pageSize())
		if len(page) == 0 || errT != nil || offset >= total {
			return all, nil
		}
	}
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, retryServer bool, res *Result) ([]byte, error) {
	return c.doHeader(ctx, method, path, body, retryServer, res, nil)
}

// doHeader sends one request, retrying 429 (always) and 5xx and transport errors (when retryServer) with
// exponential backoff: a random wait in [d, 2d], d doubling from BackoffBase.
func (c *Client) doHeader(ctx context.Context, method, path string, body []byte, retryServer bool, res *Result, hdr *http.Header) ([]byte, error) {
	d := c.backoffBase()
	for attempt := 0; ; attempt++ {
		b, status, h, err := c.once(ctx, method, path, body)
		retry := false
		switch {
		case err != nil:
			retry = retryServer && ctx.Err() == nil
		case status == http.StatusTooManyRequests:
			retry = true
		case status >= 500:
			retry = retryServer
		}
		if !retry || attempt >= c.maxRetries() {
			if err != nil {
				return nil, err
			}
			if status < 200 || status > 299 {
				return nil, decodeError(status, b)
			}
			if hdr != nil {
				*hdr = h
			}
			return b, nil
		}
		if status == http.StatusTooManyRequests && res != nil {
			res.Retries++
		}
		wait := d + time.Duration(rand.Int64N(int64(d)+1))
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
		d *= 2
	}
}

func (c *Client) once(ctx context.Context, method, path string, body []byte) ([]byte, int, http.Header, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, r)
	if err != nil {
		return nil, 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, nil, err
	}
	return b, resp.StatusCode, resp.Header, nil
}

func decodeError(status int, body []byte) error {
	var env struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	e := &Error{Status: status, Type: env.Error.Type, Message: env.Error.Message}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}
