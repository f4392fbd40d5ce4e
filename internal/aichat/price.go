package aichat

import (
	"net/url"
	"sort"
	"strings"
)

// Price is USD per one million tokens. CachedInput 0 means "no cached price": cached tokens cost Input.
type Price struct {
	Input       float64 `json:"input"`
	CachedInput float64 `json:"cached_input,omitempty"`
	Output      float64 `json:"output"`
}

// PricesAsOf dates DefaultPrices: the contract's Standard-tier table (secondary copies of OpenAI's pricing
// page). Operators override per tool with the "prices" config key.
const PricesAsOf = "2026-05"

// DefaultPrices seeds every tool's price table.
var DefaultPrices = map[string]Price{
	"gpt-4o":       {Input: 2.50, CachedInput: 1.25, Output: 10.00},
	"gpt-4o-mini":  {Input: 0.15, CachedInput: 0.075, Output: 0.60},
	"gpt-4.1":      {Input: 2.00, CachedInput: 0.50, Output: 8.00},
	"gpt-4.1-mini": {Input: 0.40, CachedInput: 0.10, Output: 1.60},
	"gpt-4.1-nano": {Input: 0.10, CachedInput: 0.025, Output: 0.40},
	"gpt-5":        {Input: 1.25, CachedInput: 0.125, Output: 10.00},
	"gpt-5-mini":   {Input: 0.25, CachedInput: 0.025, Output: 2.00},
	"gpt-5-nano":   {Input: 0.05, CachedInput: 0.005, Output: 0.40},
	"gpt-5.4":      {Input: 2.50, CachedInput: 0.25, Output: 15.00},
	"gpt-5.4-mini": {Input: 0.75, CachedInput: 0.075, Output: 4.50},
	"gpt-5.4-nano": {Input: 0.20, Output: 1.25},
}

// Usage is what a model call consumed. CachedTokens are part of PromptTokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CachedTokens     int `json:"cached_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Add sums two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.PromptTokens + o.PromptTokens, u.CachedTokens + o.CachedTokens, u.CompletionTokens + o.CompletionTokens}
}

// Cost is the contract's formula: uncached input at the input price, cached input at the cached price (the
// input price when there is none), completion (reasoning included) at the output price.
func Cost(u Usage, p Price) float64 {
	cached := min(max(u.CachedTokens, 0), u.PromptTokens)
	cachedPrice := p.CachedInput
	if cachedPrice == 0 {
		cachedPrice = p.Input
	}
	return (float64(u.PromptTokens-cached)*p.Input + float64(cached)*cachedPrice + float64(u.CompletionTokens)*p.Output) / 1_000_000
}

// LookupPrice finds model's price: the tool's own table first, then the defaults; an exact name wins,
// otherwise the longest known name that model starts with followed by "-" (dated snapshots such as
// gpt-4.1-mini-2025-04-14). ok is false for an unknown model: its cost is unknown, not 0.
func LookupPrice(model string, overrides map[string]Price) (Price, bool) {
	for _, table := range []map[string]Price{overrides, DefaultPrices} {
		if p, ok := table[model]; ok {
			return p, true
		}
	}
	for _, table := range []map[string]Price{overrides, DefaultPrices} {
		names := make([]string, 0, len(table))
		for n := range table {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
		for _, n := range names {
			if strings.HasPrefix(model, n+"-") {
				return table[n], true
			}
		}
	}
	return Price{}, false
}

// IsOpenAI reports whether baseURL is OpenAI's own API (which bills); other servers (Ollama, vLLM, …) are
// taken as local and cost nothing unless the tool prices the model.
func IsOpenAI(baseURL string) bool {
	u, err := url.Parse(baseURL)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}

// PriceFor decides a call's price: a priced model, a free local model, or unknown (ok false).
func PriceFor(baseURL, model string, overrides map[string]Price) (Price, bool) {
	if p, ok := LookupPrice(model, overrides); ok {
		return p, true
	}
	if !IsOpenAI(baseURL) {
		return Price{}, true
	}
	return Price{}, false
}
