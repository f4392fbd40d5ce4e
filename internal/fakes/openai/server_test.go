package openai_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	fake "github.com/playgram/playgram/internal/fakes/openai"
	openai "github.com/sashabaranov/go-openai"
)

func client(f *fake.Server, key string) *openai.Client {
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = f.BaseURL()
	return openai.NewClientWithConfig(cfg)
}

func user(text string) []openai.ChatCompletionMessage {
	return []openai.ChatCompletionMessage{{Role: "user", Content: text}}
}

func readAll(t *testing.T, st *openai.ChatCompletionStream) (string, []openai.ChatCompletionStreamResponse, error) {
	t.Helper()
	var b strings.Builder
	var chunks []openai.ChatCompletionStreamResponse
	for {
		c, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), chunks, nil
		}
		if err != nil {
			return b.String(), chunks, err
		}
		chunks = append(chunks, c)
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
	}
}

func TestNonStreamAndToolCalls(t *testing.T) {
	f := fake.New()
	defer f.Close()
	f.SetUsage(fake.UsageMode{CachedTokens: 3, ReasoningTokens: 2})
	f.Script(fake.Reply{ToolCalls: []fake.ToolCall{{ID: "call_9x", Name: "get_weather", Arguments: `{"city":"Berlin"}`}}})
	resp, err := client(f, "").CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "gpt-4.1-mini", Messages: user("weather?")})
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if ch.FinishReason != "tool_calls" || ch.Message.ToolCalls[0].ID != "call_9x" || ch.Message.ToolCalls[0].Function.Arguments != `{"city":"Berlin"}` {
		t.Fatalf("%+v", ch)
	}
	if resp.Usage.PromptTokensDetails.CachedTokens != 3 || resp.Usage.CompletionTokensDetails.ReasoningTokens != 2 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Fatalf("usage %+v", resp.Usage)
	}
	req := f.Requests()[0]
	if !req.Has("stream") || req.Field("stream") != "false" || req.Has("temperature") || req.Authorization != "" {
		t.Fatalf("request as sent: %s (auth %q)", req.Raw, req.Authorization)
	}
	// Local-server style: no *_details objects.
	f.SetUsage(fake.UsageMode{OmitDetails: true})
	resp, _ = client(f, "").CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "llama3.1:8b", Messages: user("hi")})
	if resp.Usage.PromptTokensDetails != nil || resp.Choices[0].Message.Content != "You said: hi" {
		t.Fatalf("%+v", resp)
	}
}

func TestStreamUsageChunkOnlyWhenAsked(t *testing.T) {
	f := fake.New()
	defer f.Close()
	c := client(f, "")
	for _, include := range []bool{false, true} {
		f.Script(fake.Reply{Content: "Hello there friend"})
		req := openai.ChatCompletionRequest{Model: "gpt-4o-mini", Messages: user("x")}
		if include {
			req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
		}
		st, err := c.CreateChatCompletionStream(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		text, chunks, err := readAll(t, st)
		st.Close()
		if err != nil || text != "Hello there friend" {
			t.Fatalf("text %q err %v", text, err)
		}
		last := chunks[len(chunks)-1]
		if include != (last.Usage != nil) || (include && (len(last.Choices) != 0 || last.Usage.CompletionTokens != 3)) {
			t.Fatalf("include=%v last chunk %+v", include, last)
		}
		for _, ch := range chunks[:len(chunks)-1] {
			if ch.Usage != nil || ch.ID != chunks[0].ID {
				t.Fatal("usage on a content chunk or changing id")
			}
		}
		if chunks[0].Choices[0].Delta.Role != "assistant" {
			t.Fatal("first delta has no role")
		}
	}
}

func TestStreamToolCallDeltas(t *testing.T) {
	f := fake.New()
	defer f.Close()
	f.Script(fake.Reply{ToolCalls: []fake.ToolCall{{Name: "a", Arguments: `{"x":1}`}, {Name: "b", Arguments: `{"y":"two"}`}}})
	st, err := client(f, "").CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{Model: "m", Messages: user("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, chunks, err := readAll(t, st)
	if err != nil {
		t.Fatal(err)
	}
	args := map[int]string{}
	names := map[int]string{}
	finish := ""
	for _, c := range chunks {
		for _, ch := range c.Choices {
			for _, tc := range ch.Delta.ToolCalls {
				args[*tc.Index] += tc.Function.Arguments
				names[*tc.Index] += tc.Function.Name
			}
			if ch.FinishReason != "" {
				finish = string(ch.FinishReason)
			}
		}
	}
	if args[0] != `{"x":1}` || args[1] != `{"y":"two"}` || names[0] != "a" || names[1] != "b" || finish != "tool_calls" {
		t.Fatalf("args %v names %v finish %q", args, names, finish)
	}
}

func TestErrorsAndFaults(t *testing.T) {
	f := fake.New()
	defer f.Close()
	c := client(f, "")
	ctx := context.Background()
	req := openai.ChatCompletionRequest{Model: "gpt-4o-mini", Messages: user("x")}
	for _, fl := range []fake.Failure{fake.RateLimited, fake.InsufficientQuota, fake.ModelNotFound, fake.ContextTooLong, fake.ServerError, fake.Overloaded} {
		f.Fail(fl)
		_, err := c.CreateChatCompletion(ctx, req)
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != fl.Status || apiErr.Type != fl.Type || (fl.Code != "" && apiErr.Code != fl.Code) {
			t.Fatalf("%+v: %v", fl, err)
		}
	}
	f.Fail(fake.OllamaError)
	_, err := c.CreateChatCompletion(ctx, req)
	var reqErr *openai.RequestError
	if !errors.As(err, &reqErr) || reqErr.HTTPStatusCode != 404 {
		t.Fatalf("ollama body: %v", err)
	}
	// An error before streaming comes from CreateChatCompletionStream itself.
	f.Fail(fake.RateLimited)
	if _, err := c.CreateChatCompletionStream(ctx, req); err == nil {
		t.Fatal("no error")
	}
	// Mid-stream error: some text, then *APIError from Recv.
	// (Keep-alive comments before it would be accumulated into go-openai's error buffer and spoil the parse,
	// so they are tested apart, below.)
	f.Fail(fake.Failure{MidStream: true, AfterChunks: 1})
	f.Script(fake.Reply{Content: "one two three"})
	st, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := readAll(t, st)
	st.Close()
	var apiErr *openai.APIError
	if text != "one " || !errors.As(err, &apiErr) || apiErr.Type != "server_error" {
		t.Fatalf("mid-stream: %q %v", text, err)
	}
	// Keep-alive comments are skipped.
	f.Fail(fake.Failure{Pings: 3})
	f.Script(fake.Reply{Content: "pinged"})
	st, _ = c.CreateChatCompletionStream(ctx, req)
	if text, _, err := readAll(t, st); err != nil || text != "pinged" {
		t.Fatalf("pings: %q %v", text, err)
	}
	st.Close()
	// Truncation is silent: plain EOF, no usage.
	f.Fail(fake.Failure{Truncate: true, AfterChunks: 2})
	f.Script(fake.Reply{Content: "one two three"})
	st, _ = c.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{Model: "m", Messages: user("x"), StreamOptions: &openai.StreamOptions{IncludeUsage: true}})
	text, chunks, err := readAll(t, st)
	st.Close()
	if err != nil || text != "one two " || chunks[len(chunks)-1].Usage != nil {
		t.Fatalf("truncated: %q %v", text, err)
	}
	// The key is checked when configured.
	f.RequireKey("sk-good")
	if _, err := client(f, "sk-bad").CreateChatCompletion(ctx, req); !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := client(f, "sk-good").CreateChatCompletion(ctx, req); err != nil {
		t.Fatal(err)
	}
	if got := f.Requests(); got[len(got)-1].Authorization != "Bearer sk-good" {
		t.Fatal("authorization not recorded")
	}
}

func TestStructuredOutputDefault(t *testing.T) {
	f := fake.New()
	defer f.Close()
	schema := []byte(`{"type":"object","properties":{"sentiment":{"type":"string","enum":["positive","neutral","negative"]},"score":{"type":"number"},"toxic":{"type":"boolean"},"topics":{"type":"array"}}}`)
	resp, err := client(f, "").CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "m", Messages: user("x"),
		ResponseFormat: &openai.ChatCompletionResponseFormat{Type: "json_schema", JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "s", Strict: true, Schema: rawSchema(schema)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; !strings.Contains(got, `"sentiment":"positive"`) || !strings.Contains(got, `"toxic":false`) {
		t.Fatal(got)
	}
}

type rawSchema []byte

func (r rawSchema) MarshalJSON() ([]byte, error) { return r, nil }
