// Package openai is a fake OpenAI-compatible Chat Completions server that speaks shared/contracts/openai.md:
// POST /v1/chat/completions, streamed (SSE chunks, tool-call deltas, the usage chunk only when
// stream_options.include_usage) or not, optional bearer-key check, scripted replies and tool calls,
// deterministic usage (with cached and reasoning tokens, or without the *_details objects like local servers),
// injectable errors with the contract's bodies (400 context_length_exceeded, 401, 404 model_not_found,
// 429 rate_limit_exceeded with x-ratelimit-* and Retry-After, 429 insufficient_quota, 500, 503, Ollama-style
// {"error":"text"}), mid-stream errors, truncated streams, keep-alive comments and latency.
//
// It is written against the contract, not against go-openai, so a misreading in the client is not mirrored.
package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Server is a running fake. Give clients BaseURL().
type Server struct {
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	apiKey   string
	replies  []Reply
	failures []Failure
	requests []Request
	latency  time.Duration
	usage    UsageMode
	seq      int
	// Default answers a request no scripted reply covers; nil: an echo of the last user message, or
	// content that satisfies a json_schema response format.
	Default func(req Request) Reply
}

// UsageMode shapes the usage objects.
type UsageMode struct {
	CachedTokens    int  // reported in prompt_tokens_details.cached_tokens (capped at prompt_tokens)
	ReasoningTokens int  // reported inside completion_tokens
	OmitDetails     bool // local-server style: no *_details objects
	PromptTokens    int  // >0 overrides the computed prompt token count
}

// ToolCall is a function call the fake's "model" makes.
type ToolCall struct {
	ID        string // empty: call_<n>
	Name      string
	Arguments string // sent verbatim, so tests can send malformed JSON
}

// Reply is one scripted model turn.
type Reply struct {
	Content   string
	ToolCalls []ToolCall
	Refusal   string
	// FinishReason overrides stop / tool_calls (e.g. "length").
	FinishReason string
	// Latency delays this reply (on top of the server latency).
	Latency time.Duration
	// ChunkDelay delays each streamed content chunk.
	ChunkDelay time.Duration
	// Model overrides the model echoed back.
	Model string
}

// Failure is an error answer or a stream fault for the next request.
type Failure struct {
	Status  int    // HTTP status for an error answer
	Type    string // error.type
	Code    string // error.code ("" → null)
	Param   string
	Message string
	// RetryAfter sets the Retry-After header (seconds).
	RetryAfter string
	// RawBody replaces the JSON envelope (e.g. Ollama's {"error":"text"}).
	RawBody string
	// MidStream: a streamed request gets AfterChunks content chunks, then a data: {"error":…} line.
	MidStream bool
	// Truncate: a streamed request gets AfterChunks content chunks and the connection closes without [DONE].
	Truncate    bool
	AfterChunks int
	// Pings: this many ": ping" comment lines before the first chunk.
	Pings int
}

// Canned failures with the contract's bodies.
var (
	RateLimited = Failure{Status: 429, Type: "requests", Code: "rate_limit_exceeded", RetryAfter: "0",
		Message: "Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20ms."}
	InsufficientQuota = Failure{Status: 429, Type: "insufficient_quota", Code: "insufficient_quota",
		Message: "You exceeded your current quota, please check your plan and billing details."}
	InvalidKey = Failure{Status: 401, Type: "invalid_request_error", Code: "invalid_api_key",
		Message: "Incorrect API key provided: sk-bad. You can find your API key at https://platform.openai.com/account/api-keys."}
	ModelNotFound = Failure{Status: 404, Type: "invalid_request_error", Code: "model_not_found",
		Message: "The model `gpt-nope` does not exist or you do not have access to it."}
	ContextTooLong = Failure{Status: 400, Type: "invalid_request_error", Code: "context_length_exceeded", Param: "messages",
		Message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens."}
	ServerError = Failure{Status: 500, Type: "server_error", Message: "The server had an error while processing your request. Sorry about that!"}
	Overloaded  = Failure{Status: 503, Type: "service_unavailable_error", Code: "server_is_overloaded", Message: "The server is overloaded, please try again later."}
	OllamaError = Failure{Status: 404, RawBody: `{"error":"model \"llama9\" not found, try pulling it first"}`}
)

// Message is a request message as received.
type Message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

// Text is the message's content as a string (text parts joined).
func (m Message) Text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(m.Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// Request is one request the fake received.
type Request struct {
	Path          string
	Authorization string // the raw header ("" when absent)
	Raw           []byte
	Fields        map[string]json.RawMessage // top-level JSON fields as sent
	Model         string                     `json:"model"`
	Stream        bool                       `json:"stream"`
	Messages      []Message                  `json:"messages"`
	Tools         []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// Has reports whether the request body had a top-level field (present even when zero).
func (r Request) Has(field string) bool { _, ok := r.Fields[field]; return ok }

// Field returns a top-level field's raw JSON ("" when absent).
func (r Request) Field(field string) string { return string(r.Fields[field]) }

// LastUser is the last user message's text.
func (r Request) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Text()
		}
	}
	return ""
}

// New starts a fake on a loopback port.
func New() *Server {
	s := &Server{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.CloseClientConnections(); s.srv.Close() }

// BaseURL is what a client's base URL should be (the API lives under /v1).
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// RequireKey makes the fake answer 401 unless "Authorization: Bearer key" is sent ("" disables the check).
func (s *Server) RequireKey(key string) { s.mu.Lock(); s.apiKey = key; s.mu.Unlock() }

// SetLatency delays every answer by d (before the status line).
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// SetUsage shapes the usage the fake reports.
func (s *Server) SetUsage(u UsageMode) { s.mu.Lock(); s.usage = u; s.mu.Unlock() }

// Script queues replies for the next requests, in order.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	s.replies = append(s.replies, replies...)
	s.mu.Unlock()
}

// Fail queues failures; each is used by one request before any scripted reply.
func (s *Server) Fail(fs ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, fs...)
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset forgets requests, scripts and failures.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.replies, s.failures = nil, nil, nil
	s.mu.Unlock()
}

func writeError(w http.ResponseWriter, f Failure) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Status == 429 {
		h := w.Header()
		h.Set("x-ratelimit-limit-requests", "3")
		h.Set("x-ratelimit-limit-tokens", "40000")
		h.Set("x-ratelimit-remaining-requests", "0")
		h.Set("x-ratelimit-remaining-tokens", "39000")
		h.Set("x-ratelimit-reset-requests", "20ms")
		h.Set("x-ratelimit-reset-tokens", "1s")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	if f.RawBody != "" {
		io.WriteString(w, f.RawBody)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": errorObject(f)})
}

func errorObject(f Failure) map[string]any {
	obj := map[string]any{"message": f.Message, "type": f.Type, "param": nil, "code": nil}
	if f.Param != "" {
		obj["param"] = f.Param
	}
	if f.Code != "" {
		obj["code"] = f.Code
	}
	return obj
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeError(w, Failure{Status: 404, Type: "invalid_request_error", Message: "Unknown request URL: " + r.Method + " " + r.URL.Path + "."})
		return
	}
	raw, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Raw: raw}
	if err := json.Unmarshal(raw, &req.Fields); err != nil {
		writeError(w, Failure{Status: 400, Type: "invalid_request_error", Message: "We could not parse the JSON body of your request."})
		return
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, Failure{Status: 400, Type: "invalid_request_error", Message: "Invalid body: " + err.Error()})
		return
	}

	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.seq++
	id := s.seq
	latency, key, usageMode := s.latency, s.apiKey, s.usage
	var fail *Failure
	var reply Reply
	scripted := false
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		fail = &f
	}
	if fail == nil || fail.MidStream || fail.Truncate || fail.Pings > 0 {
		if len(s.replies) > 0 {
			reply, s.replies, scripted = s.replies[0], s.replies[1:], true
		}
	}
	def := s.Default
	s.mu.Unlock()

	if !sleep(r, latency+reply.Latency) {
		return
	}
	if key != "" && req.Authorization != "Bearer "+key {
		writeError(w, InvalidKey)
		return
	}
	if req.Model == "" {
		writeError(w, Failure{Status: 400, Type: "invalid_request_error", Param: "model", Message: "you must provide a model parameter"})
		return
	}
	if fail != nil && fail.Status != 0 && !fail.MidStream && !fail.Truncate {
		writeError(w, *fail)
		return
	}
	if !scripted {
		if def != nil {
			reply = def(req)
		} else {
			reply = defaultReply(req)
		}
	}
	model := req.Model
	if reply.Model != "" {
		model = reply.Model
	}
	usage := computeUsage(req, reply, usageMode)
	cid := fmt.Sprintf("chatcmpl-fake%d", id)
	if req.Stream {
		s.stream(w, r, req, reply, fail, id, cid, model, usage)
		return
	}
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	if reply.Content != "" {
		msg["content"] = reply.Content
	}
	if reply.Refusal != "" {
		msg["refusal"] = reply.Refusal
	}
	if len(reply.ToolCalls) > 0 {
		var calls []map[string]any
		for i, tc := range reply.ToolCalls {
			calls = append(calls, map[string]any{"id": callID(tc, id, i), "type": "function",
				"function": map[string]any{"name": tc.Name, "arguments": tc.Arguments}})
		}
		msg["tool_calls"] = calls
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": cid, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"system_fingerprint": "fp_fake", "service_tier": "default",
		"choices": []any{map[string]any{"index": 0, "finish_reason": finishReason(reply), "logprobs": nil, "message": msg}},
		"usage":   usage,
	})
}

func callID(tc ToolCall, req, i int) string {
	if tc.ID != "" {
		return tc.ID
	}
	return fmt.Sprintf("call_%d_%d", req, i)
}

func finishReason(r Reply) string {
	switch {
	case r.FinishReason != "":
		return r.FinishReason
	case len(r.ToolCalls) > 0:
		return "tool_calls"
	}
	return "stop"
}

func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// Chunks is how the fake streams content: word by word, each chunk keeping its following space.
func Chunks(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// PromptTokens is the fake's deterministic prompt count: 3 per message plus one per 4 bytes of content
// (rounded up), plus 3 for the reply priming.
func PromptTokens(req Request) int {
	n := 3
	for _, m := range req.Messages {
		n += 3 + (len(m.Text())+3)/4
	}
	return n
}

func computeUsage(req Request, reply Reply, mode UsageMode) map[string]any {
	prompt := PromptTokens(req)
	if mode.PromptTokens > 0 {
		prompt = mode.PromptTokens
	}
	completion := len(Chunks(reply.Content)) + mode.ReasoningTokens
	for _, tc := range reply.ToolCalls {
		completion += 5 + (len(tc.Arguments)+3)/4
	}
	u := map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
	if !mode.OmitDetails {
		u["prompt_tokens_details"] = map[string]any{"cached_tokens": min(mode.CachedTokens, prompt), "audio_tokens": 0}
		u["completion_tokens_details"] = map[string]any{"reasoning_tokens": mode.ReasoningTokens, "audio_tokens": 0,
			"accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
	}
	return u
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, req Request, reply Reply, fail *Failure, id int, cid, model string, usage map[string]any) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	created := time.Now().Unix()
	send := func(v any) {
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(v) // compact, ends with \n
		fmt.Fprintf(w, "data: %s\n\n", bytes.TrimSpace(b.Bytes()))
		if fl != nil {
			fl.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_fake",
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}},
			"usage":              nil}
	}
	if fail != nil {
		for i := 0; i < fail.Pings; i++ {
			io.WriteString(w, ": ping\n\n")
		}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	sent := 0
	faultAt := func() bool {
		if fail == nil || !(fail.MidStream || fail.Truncate) || sent < fail.AfterChunks {
			return false
		}
		if fail.MidStream {
			f := *fail
			if f.Message == "" {
				f.Message, f.Type = "The server had an error while processing your request.", "server_error"
			}
			b, _ := json.Marshal(map[string]any{"error": errorObject(f)})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	for _, c := range Chunks(reply.Content) {
		if faultAt() {
			return
		}
		if !sleep(r, reply.ChunkDelay) {
			return
		}
		send(chunk(map[string]any{"content": c}, nil))
		sent++
	}
	if reply.Refusal != "" {
		send(chunk(map[string]any{"refusal": reply.Refusal}, nil))
	}
	for i, tc := range reply.ToolCalls {
		if faultAt() {
			return
		}
		send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": callID(tc, id, i), "type": "function",
			"function": map[string]any{"name": tc.Name, "arguments": ""}}}}, nil))
		half := len(tc.Arguments) / 2
		for _, part := range []string{tc.Arguments[:half], tc.Arguments[half:]} {
			if part != "" {
				send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": part}}}}, nil))
			}
		}
		sent++
	}
	if faultAt() {
		return
	}
	send(chunk(map[string]any{}, finishReason(reply)))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(map[string]any{"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_fake", "choices": []any{}, "usage": usage})
	}
	io.WriteString(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}
