// Package apify is an in-memory fake of the Apify API v2 as shared/contracts/apify.md describes it: both
// /v2/acts and /v2/actors prefixes, actor ids in every accepted form, bearer or ?token= auth, the data
// envelope (bare arrays for dataset items), run-sync-get-dataset-items with 201/408/400, async runs moving
// READY → RUNNING → terminal over successive reads with waitForFinish, usageTotalUsd that is null on the first
// read after a run ends, dataset paging with the X-Apify-Pagination-* headers, abort, 404s, injectable 402 and
// 429, and realistic items for the Instagram, TikTok and Google Maps reviews scrapers. It also serves a small
// CDN (/cdn/img/NAME.jpg, /cdn/video/NAME.mp4 with Range) that the items' media URLs point to.
//
// It is written from the contract, independently of internal/apify.
package apify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/playgram/playgram/internal/ratelimit"
)

// Token is the fake account's API token.
const Token = "apify_api_FAKEtoken0123456789abcdef"

type actor struct {
	id, name string
}

var actors = []actor{
	{"shu8hvrXbJbY3Eb9W", "apify~instagram-scraper"},
	{"GdWCkxBtKWOsKjdch", "clockworks~tiktok-scraper"},
	{"Xb8osYTtOjlsgI6k9", "compass~google-maps-reviews-scraper"},
}

// Server is a running fake.
type Server struct {
	URL string
	srv *httptest.Server

	mu sync.Mutex
	// RunDuration is how long every run takes (default 50 ms).
	RunDuration time.Duration
	// SyncWait is how long run-sync waits before answering 408 (Apify: 300 s).
	SyncWait time.Duration
	// CostPerItem is the usageTotalUsd of a run per item (plus CostPerRun).
	CostPerItem, CostPerRun float64
	// TotalItems is how many posts/videos/reviews a handle has (default 30).
	TotalItems int
	// MediaBase is where item media URLs point (default this server's /cdn).
	MediaBase string
	// DeliverTwice sends every run webhook twice (Apify may duplicate deliveries).
	DeliverTwice bool
	tokens       map[string]bool
	rateLeft     int // answer 429 to this many next requests
	perResource  *ratelimit.KeyedWindow
	deliveries   []Delivery
	payment      bool
	runs         map[string]*run
	datasets     map[string][]json.RawMessage
	order        []string // run ids in start order
	nextID       int
	active       map[string]int // running runs per input key
	maxActive    map[string]int
	runsByKey    map[string]int
	requests     []string
}

type run struct {
	ID, ActID, Dataset, Status, Key string
	Started, Ends                   time.Time
	Fail                            bool
	Aborted                         bool
	Reads, ReadsAfterEnd            int
	Items                           int
	counted                         bool
	webhooks                        []webhook
	delivered                       bool
}

type webhook struct {
	EventTypes []string `json:"eventTypes"`
	RequestURL string   `json:"requestUrl"`
}

// Delivery is one webhook POST the fake made.
type Delivery struct {
	URL       string
	EventType string
	Status    int
	Err       error
}

// New starts a fake; Close it when done.
func New() *Server {
	s := &Server{RunDuration: 50 * time.Millisecond, SyncWait: 300 * time.Second, CostPerItem: 0.0023, CostPerRun: 0.005,
		TotalItems: 30, tokens: map[string]bool{Token: true}, runs: map[string]*run{}, datasets: map[string][]json.RawMessage{},
		active: map[string]int{}, maxActive: map[string]int{}, runsByKey: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Set changes settings under the server's lock: s.Set(func(s *Server){ s.RunDuration = time.Second }).
func (s *Server) Set(f func(*Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// RateLimitNext makes the next n requests answer 429 rate-limit-exceeded.
func (s *Server) RateLimitNext(n int) { s.Set(func(s *Server) { s.rateLeft = n }) }

// LimitPerResource answers 429 once a resource (an actor, a run, a dataset) gets more than n requests within a
// second; 0 turns it off.
func (s *Server) LimitPerResource(n int) {
	s.Set(func(s *Server) {
		s.perResource = nil
		if n > 0 {
			s.perResource = ratelimit.NewKeyedWindow(n, time.Second)
		}
	})
}

// Deliveries lists the webhook POSTs made so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// PaymentRequired makes run starts answer 402 while on.
func (s *Server) PaymentRequired(on bool) { s.Set(func(s *Server) { s.payment = on }) }

// Runs is how many runs were started for an input key ("instagram:natgeo:posts"); "" counts all.
func (s *Server) Runs(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == "" {
		return len(s.runs)
	}
	return s.runsByKey[key]
}

// MaxConcurrent is the most runs of one input key that were running at once, over all keys.
func (s *Server) MaxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := 0
	for _, n := range s.maxActive {
		m = max(m, n)
	}
	return m
}

// Requests lists "METHOD path" of every request, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

type apiErr struct {
	status   int
	typ, msg string
}

func writeErr(w http.ResponseWriter, e apiErr) {
	if e.status == http.StatusTooManyRequests {
		w.Header().Set("X-RateLimit-Limit", "60")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": e.typ, "message": e.msg}})
}

func writeData(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"data": v})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/cdn/") {
		s.serveCDN(w, r)
		return
	}
	method := r.Method
	if m := r.URL.Query().Get("method"); m != "" && r.Method == http.MethodGet {
		method = strings.ToUpper(m)
	}
	s.mu.Lock()
	s.requests = append(s.requests, method+" "+r.URL.Path)
	s.mu.Unlock()

	token := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer"))
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	if token == "" {
		writeErr(w, apiErr{401, "token-not-provided", "Authentication token was not provided"})
		return
	}
	s.mu.Lock()
	known := s.tokens[token]
	limited := s.rateLeft > 0
	if limited {
		s.rateLeft--
	}
	s.mu.Unlock()
	if !known {
		writeErr(w, apiErr{401, "invalid-token", "Authentication token is not valid."})
		return
	}
	if limited {
		writeErr(w, apiErr{429, "rate-limit-exceeded", "You have exceeded the rate limit of 60 requests per second"})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) >= 3 {
		s.mu.Lock()
		pr := s.perResource
		s.mu.Unlock()
		if pr != nil {
			if ok, _ := pr.AllowAt(parts[1]+"/"+parts[2], time.Now()); !ok {
				writeErr(w, apiErr{429, "rate-limit-exceeded", "You have exceeded the rate limit of requests per second for this resource"})
				return
			}
		}
	}
	if len(parts) < 2 || parts[0] != "v2" {
		writeErr(w, apiErr{404, "page-not-found", "This page was not found."})
		return
	}
	switch {
	case (parts[1] == "acts" || parts[1] == "actors") && len(parts) >= 3:
		// "user/name" arrives as two segments.
		id := parts[2]
		rest := parts[3:]
		if a := findActor(id); a == nil && len(parts) >= 4 {
			id, rest = parts[2]+"~"+parts[3], parts[4:]
		}
		a := findActor(id)
		if a == nil {
			writeErr(w, apiErr{404, "actor-not-found", "Actor was not found"})
			return
		}
		s.serveActor(w, r, method, a, rest)
	case parts[1] == "actor-runs" && len(parts) >= 3:
		s.serveRun(w, r, method, parts[2], parts[3:])
	case parts[1] == "datasets" && len(parts) == 4 && parts[3] == "items":
		s.serveItems(w, r, parts[2])
	case parts[1] == "users" && len(parts) == 3 && parts[2] == "me":
		writeData(w, 200, map[string]any{"id": "7sT5jcggjjA9fNcxF", "username": "playgram-fake"})
	default:
		writeErr(w, apiErr{404, "page-not-found", "This page was not found."})
	}
}

func findActor(id string) *actor {
	for i := range actors {
		if actors[i].id == id || actors[i].name == id || (strings.HasPrefix(id, "~") && strings.HasSuffix(actors[i].name, id)) {
			return &actors[i]
		}
	}
	return nil
}

func (s *Server) serveActor(w http.ResponseWriter, r *http.Request, method string, a *actor, rest []string) {
	switch {
	case len(rest) == 1 && rest[0] == "run-sync-get-dataset-items":
		if method != http.MethodPost {
			writeErr(w, apiErr{405, "method-not-allowed", "This API endpoint can only be accessed using the following HTTP methods: POST"})
			return
		}
		rn, e := s.start(r, a)
		if e != nil {
			writeErr(w, *e)
			return
		}
		s.mu.Lock()
		wait := min(time.Until(rn.Ends), s.SyncWait)
		s.mu.Unlock()
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-r.Context().Done():
				return
			}
		}
		s.mu.Lock()
		s.advance(rn, time.Now())
		status, id := rn.Status, rn.ID
		s.mu.Unlock()
		switch status {
		case "SUCCEEDED":
			s.serveItems(w, r, rn.Dataset)
		case "RUNNING", "READY":
			writeErr(w, apiErr{408, "run-timeout-exceeded", fmt.Sprintf("Actor run exceeded the timeout of %d seconds for this API endpoint", int(s.SyncWait.Seconds()))})
		default:
			writeErr(w, apiErr{400, "run-failed", "Actor run did not succeed (run ID: " + id + ", status: " + status + ")"})
		}
	case len(rest) == 1 && rest[0] == "runs":
		if method != http.MethodPost {
			writeErr(w, apiErr{405, "method-not-allowed", "Use POST to start a run"})
			return
		}
		rn, e := s.start(r, a)
		if e != nil {
			writeErr(w, *e)
			return
		}
		w.Header().Set("Location", s.URL+"/v2/actor-runs/"+rn.ID)
		s.mu.Lock()
		obj := s.runObject(rn)
		s.mu.Unlock()
		writeData(w, 201, obj)
	case len(rest) >= 2 && rest[0] == "runs" && rest[1] == "last":
		q := r.URL.Query()
		s.mu.Lock()
		var found *run
		for i := len(s.order) - 1; i >= 0; i-- {
			rn := s.runs[s.order[i]]
			s.advance(rn, time.Now())
			if rn.ActID == a.id && (q.Get("status") == "" || q.Get("status") == rn.Status) {
				found = rn
				break
			}
		}
		s.mu.Unlock()
		if found == nil {
			writeErr(w, apiErr{404, "record-not-found", "Actor run was not found"})
			return
		}
		s.serveRun(w, r, method, found.ID, rest[2:])
	default:
		writeErr(w, apiErr{404, "page-not-found", "This page was not found."})
	}
}

func (s *Server) start(r *http.Request, a *actor) (*run, *apiErr) {
	var input map[string]any
	if err := json.NewDecoder(r.Body).Decode(&input); err != nil {
		return nil, &apiErr{400, "invalid-input", "POST data must be a JSON object"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.payment {
		return nil, &apiErr{402, "not-enough-usage-to-run-paid-actor", "You have reached your usage limit"}
	}
	items, key, fail := s.generate(a, input)
	maxItems, _ := strconv.Atoi(r.URL.Query().Get("maxItems"))
	if maxItems > 0 && len(items) > maxItems {
		items = items[:maxItems]
	}
	s.nextID++
	now := time.Now()
	rn := &run{ID: fmt.Sprintf("run%014d", s.nextID), ActID: a.id, Dataset: fmt.Sprintf("ds%015d", s.nextID), Status: "READY",
		Key: key, Started: now, Ends: now.Add(s.RunDuration), Fail: fail, Items: len(items)}
	if enc := r.URL.Query().Get("webhooks"); enc != "" {
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			raw, err = base64.URLEncoding.DecodeString(enc)
		}
		if err != nil || json.Unmarshal(raw, &rn.webhooks) != nil {
			return nil, &apiErr{400, "invalid-parameter", "webhooks must be a base64-encoded JSON array"}
		}
	}
	s.runs[rn.ID] = rn
	s.order = append(s.order, rn.ID)
	time.AfterFunc(s.RunDuration, func() {
		s.mu.Lock()
		s.advance(rn, time.Now())
		s.mu.Unlock()
	})
	s.datasets[rn.Dataset] = items
	s.runsByKey[key]++
	s.active[key]++
	s.maxActive[key] = max(s.maxActive[key], s.active[key])
	return rn, nil
}

// advance moves a run to its terminal status once its time is up. Callers hold s.mu.
func (s *Server) advance(rn *run, now time.Time) {
	if rn.Status == "SUCCEEDED" || rn.Status == "FAILED" || rn.Status == "ABORTED" {
		return
	}
	if rn.Aborted {
		rn.Status = "ABORTED"
	} else if !now.Before(rn.Ends) {
		rn.Status = "SUCCEEDED"
		if rn.Fail {
			rn.Status = "FAILED"
			s.datasets[rn.Dataset] = nil
		}
	} else if rn.Reads > 0 || now.Sub(rn.Started) > time.Millisecond {
		rn.Status = "RUNNING"
	}
	if (rn.Status != "READY" && rn.Status != "RUNNING") && !rn.counted {
		rn.counted = true
		s.active[rn.Key]--
	}
	if (rn.Status != "READY" && rn.Status != "RUNNING") && !rn.delivered && len(rn.webhooks) > 0 {
		rn.delivered = true
		s.deliver(rn)
	}
}

// deliver POSTs the default webhook body for the run's terminal event to each matching ad-hoc webhook.
// Callers hold s.mu.
func (s *Server) deliver(rn *run) {
	event := "ACTOR.RUN." + strings.ReplaceAll(rn.Status, "-", "_")
	body, _ := json.Marshal(map[string]any{
		"userId": "7sT5jcggjjA9fNcxF", "createdAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "eventType": event,
		"eventData": map[string]any{"actorId": rn.ActID, "actorRunId": rn.ID}, "resource": s.runObjectAs(rn, false),
	})
	times := 1
	if s.DeliverTwice {
		times = 2
	}
	for i, wh := range rn.webhooks {
		if !slices.Contains(wh.EventTypes, event) {
			continue
		}
		for n := 0; n < times; n++ {
			dispatch := fmt.Sprintf("dsp%s%d", rn.ID[3:], i)
			go func(url string) {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				d := Delivery{URL: url, EventType: event}
				if err == nil {
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Apify-Webhook", fmt.Sprintf("whk%s%d", rn.ID[3:], i))
					req.Header.Set("X-Apify-Webhook-Dispatch-Id", dispatch)
					req.Header.Set("X-Apify-Request-Origin", "WEBHOOK")
					var resp *http.Response
					if resp, err = http.DefaultClient.Do(req); err == nil {
						d.Status = resp.StatusCode
						resp.Body.Close()
					}
				}
				d.Err = err
				s.mu.Lock()
				s.deliveries = append(s.deliveries, d)
				s.mu.Unlock()
			}(wh.RequestURL)
		}
	}
}

func (s *Server) runObject(rn *run) map[string]any { return s.runObjectAs(rn, true) }

// runObjectAs renders a run; read says whether this counts as an API read (webhook bodies do not).
func (s *Server) runObjectAs(rn *run, read bool) map[string]any {
	var finished, usage any
	if rn.Status != "READY" && rn.Status != "RUNNING" {
		finished = rn.Ends.UTC().Format("2006-01-02T15:04:05.000Z")
		// Costs settle a moment after a run ends: the first read after the end shows null.
		if rn.ReadsAfterEnd > 0 {
			usage = s.CostPerRun + s.CostPerItem*float64(rn.Items)
		}
		if read {
			rn.ReadsAfterEnd++
		}
	}
	if read {
		rn.Reads++
	}
	return map[string]any{
		"id": rn.ID, "actId": rn.ActID, "userId": "7sT5jcggjjA9fNcxF", "actorTaskId": nil,
		"startedAt": rn.Started.UTC().Format("2006-01-02T15:04:05.000Z"), "finishedAt": finished, "status": rn.Status,
		"statusMessage": strings.ToLower(rn.Status), "meta": map[string]any{"origin": "API"},
		"stats":   map[string]any{"restartCount": 0, "resurrectCount": 0, "computeUnits": 0.0042},
		"options": map[string]any{"build": "latest", "timeoutSecs": 3600, "memoryMbytes": 1024, "diskMbytes": 2048},
		"buildId": "7sT5jcggjjA9fNcxF", "generalAccess": "FOLLOW_USER_SETTING",
		"defaultKeyValueStoreId": "kv" + rn.ID[3:], "defaultDatasetId": rn.Dataset, "defaultRequestQueueId": "rq" + rn.ID[3:],
		"usageTotalUsd": usage, "chargedEventCounts": map[string]int{"actor-start": 1, "result": rn.Items},
	}
}

func (s *Server) serveRun(w http.ResponseWriter, r *http.Request, method, id string, rest []string) {
	s.mu.Lock()
	rn := s.runs[id]
	s.mu.Unlock()
	if rn == nil {
		writeErr(w, apiErr{404, "record-not-found", "Actor run was not found"})
		return
	}
	switch {
	case len(rest) == 0:
		wait, _ := strconv.Atoi(r.URL.Query().Get("waitForFinish"))
		wait = min(max(wait, 0), 60)
		deadline := time.Now().Add(time.Duration(wait) * time.Second)
		for {
			s.mu.Lock()
			s.advance(rn, time.Now())
			done := rn.Status != "READY" && rn.Status != "RUNNING"
			ends := rn.Ends
			s.mu.Unlock()
			if done || !time.Now().Before(deadline) {
				break
			}
			select {
			case <-time.After(min(time.Until(deadline), max(time.Until(ends), time.Millisecond))):
			case <-r.Context().Done():
				return
			}
		}
		s.mu.Lock()
		obj := s.runObject(rn)
		s.mu.Unlock()
		writeData(w, 200, obj)
	case len(rest) == 1 && rest[0] == "abort" && method == http.MethodPost:
		s.mu.Lock()
		rn.Aborted = true
		s.advance(rn, time.Now())
		obj := s.runObject(rn)
		s.mu.Unlock()
		writeData(w, 200, obj)
	case len(rest) == 2 && rest[0] == "dataset" && rest[1] == "items":
		s.serveItems(w, r, rn.Dataset)
	default:
		writeErr(w, apiErr{404, "page-not-found", "This page was not found."})
	}
}

func (s *Server) serveItems(w http.ResponseWriter, r *http.Request, dataset string) {
	s.mu.Lock()
	items, ok := s.datasets[dataset]
	s.mu.Unlock()
	if !ok {
		writeErr(w, apiErr{404, "record-not-found", "Dataset was not found"})
		return
	}
	q := r.URL.Query()
	total := len(items)
	list := append([]json.RawMessage(nil), items...)
	if b := q.Get("desc"); b == "1" || b == "true" {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = min(max(offset, 0), len(list))
	list = list[offset:]
	limit, err := strconv.Atoi(q.Get("limit"))
	if err == nil && limit >= 0 && limit < len(list) {
		list = list[:limit]
	}
	count := len(list)
	clean := q.Get("clean") == "1" || q.Get("clean") == "true"
	fields, omit := splitList(q.Get("fields")), splitList(q.Get("omit"))
	out := make([]json.RawMessage, 0, len(list))
	for _, raw := range list {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			out = append(out, raw)
			continue
		}
		if clean {
			for k := range m {
				if strings.HasPrefix(k, "#") {
					delete(m, k)
				}
			}
			if len(m) == 0 {
				continue
			}
		}
		if len(fields) > 0 {
			keep := map[string]json.RawMessage{}
			for _, f := range fields {
				if v, ok := m[f]; ok {
					keep[f] = v
				}
			}
			m = keep
		}
		for _, f := range omit {
			delete(m, f)
		}
		b, _ := json.Marshal(m)
		out = append(out, b)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Apify-Pagination-Offset", strconv.Itoa(offset))
	h.Set("X-Apify-Pagination-Limit", strconv.Itoa(max(limit, count)))
	h.Set("X-Apify-Pagination-Count", strconv.Itoa(count))
	h.Set("X-Apify-Pagination-Total", strconv.Itoa(total))
	status := 200
	if strings.HasSuffix(r.URL.Path, "run-sync-get-dataset-items") {
		status = 201
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// serveCDN answers /cdn/img/NAME.jpg (a generated JPEG) and /cdn/video/NAME.mp4 (bytes, Range supported).
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path[len("/cdn/"):]
	switch {
	case strings.HasPrefix(name, "img/"):
		w.Header().Set("Server", "fake-cdn")
		http.ServeContent(w, r, "x.jpg", time.Unix(1_700_000_000, 0), bytes.NewReader(Image(name)))
	case strings.HasPrefix(name, "video/"):
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "x.mp4", time.Unix(1_700_000_000, 0), bytes.NewReader(Video(name)))
	default:
		http.NotFound(w, r)
	}
}

// Image is the JPEG the fake CDN serves for name: 640×480, colours derived from the name.
func Image(name string) []byte {
	h := hash(name)
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{uint8(h + uint32(x)), uint8(h>>8 + uint32(y)), uint8(h >> 16), 255})
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
}

// Video is the content the fake CDN serves for a video name: 256 KiB of a repeating pattern.
func Video(name string) []byte {
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(i % 251)
	}
	copy(b, "\x00\x00\x00\x18ftypmp42")
	return b
}

func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// sortedKeys is for stable key naming of multi-handle inputs.
func sortedKeys(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

func handleFromURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) == 0 {
		return raw
	}
	return strings.TrimPrefix(segs[len(segs)-1], "@")
}
