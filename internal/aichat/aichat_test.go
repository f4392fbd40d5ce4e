package aichat

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func TestEstimateTokens(t *testing.T) {
	// Reference counts from OpenAI's cl100k_base tokenizer; the estimate may err high by a little, never low by much.
	cases := []struct {
		text string
		real int
	}{
		{"Hello, world!", 4},
		{"The quick brown fox jumps over the lazy dog.", 10},
		{"What are your opening hours on Saturday?", 8},
		{"Can I book an appointment for 3pm tomorrow?", 10},
		{"internationalization", 3},
		{"1234567890", 4},
		{"", 0},
	}
	for _, c := range cases {
		got := EstimateTokens(c.text)
		if got < c.real-1 || float64(got) > math.Max(float64(c.real)*1.5, float64(c.real+2)) {
			t.Errorf("%q: estimate %d, real %d", c.text, got, c.real)
		}
	}
	if got := EstimateTokens("こんにちは世界"); got != 7 {
		t.Errorf("CJK: %d", got)
	}
	long := strings.Repeat("We open at nine and close at six on weekdays. ", 100)
	if got := EstimateTokens(long); got < 1000 || got > 1300 {
		t.Errorf("long English: %d for ~1100 real", got)
	}
	if MessageTokens("Hello, world!") != 4+MessageOverhead {
		t.Error("message overhead")
	}
}

func TestPackDropsOldestFirst(t *testing.T) {
	var history []Msg
	for i := 0; i < 50; i++ {
		history = append(history, Msg{Role: "user", Content: fmt.Sprintf("message %d with some words in it", i)})
	}
	p := Pack("Be nice.", nil, history, "new question", 120)
	if p.Tokens > 120 || len(p.History) == 0 || len(p.History) == 50 {
		t.Fatalf("packed %d messages in %d tokens", len(p.History), p.Tokens)
	}
	if p.History[len(p.History)-1].Content != "message 49 with some words in it" || p.DroppedMessages != 50-len(p.History) {
		t.Fatalf("kept %q…, dropped %d", p.History[0].Content, p.DroppedMessages)
	}
	if p.History[0].Content != history[p.DroppedMessages].Content {
		t.Fatal("history not contiguous")
	}
	// The system prompt and the new message always go in, even over budget.
	p = Pack("Be nice.", nil, history, "new question", 5)
	if len(p.History) != 0 || p.System != "Be nice." {
		t.Fatalf("tiny budget %+v", p)
	}
	// Stored token counts are used as given.
	p = Pack("s", nil, []Msg{{Content: "a", Tokens: 1000}, {Content: "b", Tokens: 5}}, "q", 100)
	if len(p.History) != 1 || p.History[0].Content != "b" {
		t.Fatalf("stored tokens ignored: %+v", p.History)
	}
}

func TestPackKnowledgeShare(t *testing.T) {
	kb := []Entry{{Title: "Hours", Content: "Mon–Fri 9–18."}, {Title: "Big", Content: strings.Repeat("lorem ipsum ", 400)}, {Title: "Parking", Content: "Behind the shop."}}
	p := Pack("Sys.", kb, []Msg{{Role: "user", Content: "earlier"}}, "q", 400)
	if !strings.Contains(p.System, "Hours: Mon–Fri 9–18.") || strings.Contains(p.System, "lorem") || len(p.Knowledge) != 1 || p.DroppedKnowledge != 2 {
		t.Fatalf("system %q, kept %d dropped %d", p.System, len(p.Knowledge), p.DroppedKnowledge)
	}
	if len(p.History) != 1 || p.Tokens > 400 {
		t.Fatalf("history %d tokens %d", len(p.History), p.Tokens)
	}
}

func TestCostAndPrices(t *testing.T) {
	p, ok := LookupPrice("gpt-4.1-mini-2025-04-14", nil)
	if !ok || p != DefaultPrices["gpt-4.1-mini"] {
		t.Fatalf("dated snapshot: %v %v", p, ok)
	}
	if p, _ := LookupPrice("gpt-4o-mini", nil); p.Input != 0.15 {
		t.Fatal("exact name lost to a prefix")
	}
	// The contract's formula: 1,000 prompt tokens of which 400 cached, 200 completion, on gpt-4o.
	got := Cost(Usage{PromptTokens: 1000, CachedTokens: 400, CompletionTokens: 200}, DefaultPrices["gpt-4o"])
	want := (600*2.50 + 400*1.25 + 200*10.00) / 1e6
	if math.Abs(got-want) > 1e-15 {
		t.Fatalf("cost %v want %v", got, want)
	}
	// No cached price: cached tokens cost the input price.
	if got := Cost(Usage{PromptTokens: 100, CachedTokens: 100}, DefaultPrices["gpt-5.4-nano"]); math.Abs(got-100*0.20/1e6) > 1e-15 {
		t.Fatalf("nano cached %v", got)
	}
	over := map[string]Price{"gpt-4o": {Input: 1, Output: 2}}
	if p, _ := LookupPrice("gpt-4o", over); p.Input != 1 {
		t.Fatal("override ignored")
	}
	if _, ok := PriceFor("https://api.openai.com/v1", "gpt-6-turbo", nil); ok {
		t.Fatal("an unknown OpenAI model must cost 'unknown'")
	}
	if p, ok := PriceFor("http://127.0.0.1:11434/v1", "llama3.1:8b", nil); !ok || p != (Price{}) {
		t.Fatal("a local model costs 0")
	}
}

func TestSplitForInstagram(t *testing.T) {
	if got := SplitForInstagram("short"); len(got) != 1 || got[0] != "short" {
		t.Fatal(got)
	}
	para := strings.Repeat("Ünïcode words and emoji 👩‍👩‍👧 here. ", 30)
	parts := SplitForInstagram(para + "\n\n" + para)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, p := range parts {
		if len(p) > 1000 || strings.ContainsRune(p, '\uFFFD') {
			t.Fatalf("part of %d bytes", len(p))
		}
	}
	huge := SplitForInstagram(strings.Repeat("word ", 5000))
	if len(huge) != 10 || !strings.HasSuffix(huge[9], Ellipsis) || len(huge[9]) > 1000 {
		t.Fatalf("huge: %d parts, last %q", len(huge), huge[len(huge)-1][max(0, len(huge[len(huge)-1])-10):])
	}
	if err := InstagramReply(strings.Repeat("word ", 5000)).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err   error
		kind  string
		retry bool
	}{
		{&openai.APIError{HTTPStatusCode: 429, Code: "rate_limit_exceeded", Type: "requests", Message: "slow down"}, KindRateLimited, true},
		{&openai.APIError{HTTPStatusCode: 429, Code: "insufficient_quota", Type: "insufficient_quota"}, KindQuota, false},
		{&openai.APIError{HTTPStatusCode: 401, Code: "invalid_api_key"}, KindAuth, false},
		{&openai.APIError{HTTPStatusCode: 404, Code: "model_not_found"}, KindModelNotFound, false},
		{&openai.APIError{HTTPStatusCode: 400, Code: "context_length_exceeded"}, KindContextLength, false},
		{&openai.APIError{HTTPStatusCode: 503, Code: "server_is_overloaded"}, KindServer, true},
		{&openai.RequestError{HTTPStatusCode: 502, Body: []byte("<html>bad gateway</html>"), Err: errors.New("x")}, KindServer, true},
		{fmt.Errorf("wrapped: %w", errors.New("context deadline exceeded")), KindOther, false},
	}
	for _, c := range cases {
		f := Classify(c.err)
		if f.Kind != c.kind || f.Retry != c.retry || f.Words == "" {
			t.Errorf("%v: %+v", c.err, f)
		}
	}
	if f := Classify(fmt.Errorf("call: %w", errTimeout{})); f.Kind != KindTimeout {
		t.Errorf("timeout: %+v", f)
	}
}

type errTimeout struct{}

func (errTimeout) Error() string   { return "i/o timeout" }
func (errTimeout) Timeout() bool   { return true }
func (errTimeout) Temporary() bool { return true }

func TestBackoff(t *testing.T) {
	if d := Backoff(1, 3*time.Second, time.Second, 2*time.Second); d != 2*time.Second {
		t.Fatalf("hint capped: %v", d)
	}
	for attempt := 1; attempt <= 6; attempt++ {
		d := Backoff(attempt, 0, 100*time.Millisecond, time.Second)
		base := min(100*time.Millisecond<<(attempt-1), time.Second)
		if d < base*8/10 || d > time.Second {
			t.Fatalf("attempt %d: %v", attempt, d)
		}
	}
	h := map[string]string{"Retry-After": "2", "x-ratelimit-reset-requests": "20ms"}
	if d := RetryAfterFrom(func(k string) string { return h[k] }); d != 2*time.Second {
		t.Fatal(d)
	}
	delete(h, "Retry-After")
	if d := RetryAfterFrom(func(k string) string { return h[k] }); d != 20*time.Millisecond {
		t.Fatal(d)
	}
}

func TestParseArgs(t *testing.T) {
	f := Functions[FnAddTag]
	if args, err := f.ParseArgs(`{"tag":"vip"}`); err != nil || args["tag"] != "vip" {
		t.Fatal(args, err)
	}
	for _, bad := range []string{`{`, `[1]`, `{"tag":5}`, `{}`, `{"tag":"x","extra":1}`, `null`} {
		if _, err := f.ParseArgs(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := Functions[FnLookupContact].ParseArgs(""); err != nil {
		t.Fatal(err)
	}
	s := Functions[FnCreateBooking].Schema()
	if s["additionalProperties"] != false || len(s["required"].([]string)) != 1 {
		t.Fatal(s)
	}
}

func TestFTSQuery(t *testing.T) {
	if q := FTSQuery(`What are your opening "hours" on Saturday? hours* NEAR(x)`); q != `"opening"* OR "hours"* OR "saturday"* OR "near"*` {
		t.Fatal(q)
	}
	if FTSQuery("a ? !") != "" {
		t.Fatal("no terms")
	}
}

func TestParseSentiment(t *testing.T) {
	s, err := ParseSentiment("```json\n{\"sentiment\":\"negative\",\"score\":-0.6,\"toxic\":false,\"topics\":[\"staff\"]}\n```")
	if err != nil || s.Label != Negative || s.Score != -0.6 || s.Topics[0] != "staff" {
		t.Fatal(s, err)
	}
	for _, bad := range []string{`not json`, `{"sentiment":"happy","score":0.5}`, `{"sentiment":"positive","score":7}`, `{"sentiment":"positive","score":-0.5}`} {
		if _, err := ParseSentiment(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestTextTranscript(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 4, 0, 0, time.UTC)
	got := TextTranscript("Conversation c1", []Line{
		{At: at, Role: "user", Text: "Hi", Sentiment: "positive"},
		{At: at, Role: "assistant", Text: "Hello!", Functions: []string{"lookup_contact"}},
	})
	want := "Conversation c1\n\n2026-11-26 10:04 UTC · Customer (positive)\nHi\n\n2026-11-26 10:04 UTC · Assistant [called lookup_contact]\nHello!\n"
	if got != want {
		t.Fatalf("%q", got)
	}
}
