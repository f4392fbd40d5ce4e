package aichat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	openai "github.com/sashabaranov/go-openai"
)

// apiKey is the tool's own key, else the workspace's openai_api_key; "" is fine for local servers.
func (s *Service) apiKey(app core.App, t *Tool) (string, error) {
	key, err := platform.Secret(s.svc.Box, t.Record, "api_key")
	if err != nil || key != "" {
		return key, err
	}
	ws, err := app.FindRecordById(collections.Workspaces, t.Workspace())
	if err != nil {
		return "", err
	}
	return platform.Secret(s.svc.Box, ws, "openai_api_key")
}

// client returns the tool's go-openai client, kept with a cached tool.
func (s *Service) client(app core.App, t *Tool) (*openai.Client, error) {
	return s.tools.client(t, func() (*openai.Client, error) { return s.newClient(app, t) })
}

// newClient builds a go-openai client that sends through the SSRF-guarded outbound client. Its whole-request
// timeout is lifted (streams may run long); each call carries its own deadline instead.
func (s *Service) newClient(app core.App, t *Tool) (*openai.Client, error) {
	key, err := s.apiKey(app, t)
	if err != nil {
		return nil, err
	}
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = t.Config.BaseURL
	hc := *s.svc.Outbound
	hc.Timeout = 0
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = callTransport{base: base}
	cfg.HTTPClient = &hc
	return openai.NewClientWithConfig(cfg), nil
}

type zeroTemperatureKey struct{}

type hintKey struct{}

// retryHint receives the provider's suggested wait (Retry-After, x-ratelimit-reset-requests) of the last
// 429 answer: go-openai's errors do not carry response headers.
type retryHint struct{ wait time.Duration }

// callTransport sends "temperature": 0 when a call asked for it (go-openai drops a zero float, omitempty,
// which would leave the server's default of 1; the body is rewritten on its way out) and notes the wait a
// 429 answer suggests.
type callTransport struct{ base http.RoundTripper }

func (z callTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Context().Value(zeroTemperatureKey{}) != nil && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil {
			if _, ok := fields["temperature"]; !ok {
				body = append([]byte(`{"temperature":0,`), bytes.TrimSpace(body)[1:]...)
			}
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := z.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if h, ok := r.Context().Value(hintKey{}).(*retryHint); ok {
			h.wait = aichat.RetryAfterFrom(resp.Header.Get)
		}
	}
	return resp, err
}

// reasoningModel reports names go-openai's validator checks: they take max_completion_tokens and no
// temperature.
func reasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

// request builds the chat request for the tool's settings.
func request(ctx context.Context, t *Tool, msgs []openai.ChatCompletionMessage, tools []openai.Tool) (context.Context, openai.ChatCompletionRequest) {
	req := openai.ChatCompletionRequest{Model: t.Config.Model, Messages: msgs, Tools: tools}
	if reasoningModel(t.Config.Model) {
		req.MaxCompletionTokens = t.Config.MaxTokens
	} else {
		req.MaxTokens = t.Config.MaxTokens
		req.Temperature = float32(t.Config.Temperature)
		if t.Config.Temperature == 0 {
			ctx = context.WithValue(ctx, zeroTemperatureKey{}, true)
		}
	}
	return ctx, req
}

// completion is one model turn read from a stream.
type completion struct {
	Content      string
	ToolCalls    []openai.ToolCall
	FinishReason string
	Usage        *aichat.Usage // nil: the stream never delivered usage
	Model        string
}

func usageOf(u *openai.Usage) *aichat.Usage {
	if u == nil {
		return nil
	}
	out := &aichat.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		out.CachedTokens = u.PromptTokensDetails.CachedTokens
	}
	return out
}

// streamOnce makes one streamed call and reads it to the end, passing content deltas to onDelta.
func streamOnce(ctx context.Context, c *openai.Client, req openai.ChatCompletionRequest, onDelta func(string)) (*completion, error) {
	req.Stream = true
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	st, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := &completion{Model: req.Model}
	var content strings.Builder
	calls := map[int]*openai.ToolCall{}
	order := []int{}
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if chunk.Model != "" {
			out.Model = chunk.Model
		}
		if chunk.Usage != nil {
			out.Usage = usageOf(chunk.Usage)
		}
		for _, ch := range chunk.Choices {
			if ch.Delta.Content != "" {
				content.WriteString(ch.Delta.Content)
				if onDelta != nil {
					onDelta(ch.Delta.Content)
				}
			}
			for i, tc := range ch.Delta.ToolCalls {
				idx := i
				if tc.Index != nil {
					idx = *tc.Index
				}
				acc, ok := calls[idx]
				if !ok {
					acc = &openai.ToolCall{Type: openai.ToolTypeFunction}
					calls[idx] = acc
					order = append(order, idx)
				}
				if tc.ID != "" {
					acc.ID = tc.ID
				}
				if tc.Function.Name != "" {
					acc.Function.Name = tc.Function.Name
				}
				acc.Function.Arguments += tc.Function.Arguments
			}
			if ch.FinishReason != "" {
				out.FinishReason = string(ch.FinishReason)
			}
		}
	}
	out.Content = content.String()
	for _, idx := range order {
		out.ToolCalls = append(out.ToolCalls, *calls[idx])
	}
	return out, nil
}

// withRetry runs call, retrying rate limits and server errors with backoff while the context allows; it
// never retries insufficient_quota or a stream that already produced output.
func (s *Service) withRetry(ctx context.Context, produced func() bool, call func() (*completion, error)) (*completion, int, error) {
	for attempt := 1; ; attempt++ {
		res, err := call()
		if err == nil {
			return res, attempt, nil
		}
		f := aichat.Classify(err)
		if !f.Retry || attempt >= s.MaxAttempts || (produced != nil && produced()) {
			return nil, attempt, f
		}
		var wait time.Duration
		if h, ok := ctx.Value(hintKey{}).(*retryHint); ok && f.Status == 429 {
			wait = h.wait
		}
		wait = aichat.Backoff(attempt, wait, s.BackoffBase, s.BackoffMax)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, attempt, f
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, attempt, aichat.Classify(ctx.Err())
		case <-t.C:
		}
	}
}
