package aichat

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Sentiment labels.
const (
	Positive = "positive"
	Neutral  = "neutral"
	Negative = "negative"
)

// SentimentPrompt is the classification call's system message.
const SentimentPrompt = "Classify the sentiment of the customer's message to a business. Answer only via the schema: sentiment is positive, neutral or negative; score runs from -1 (very negative) to 1 (very positive)."

// SentimentSchema is the strict json_schema of the classification answer (contract §9).
var SentimentSchema = json.RawMessage(`{"type":"object","additionalProperties":false,"required":["sentiment","score","toxic","topics"],` +
	`"properties":{"sentiment":{"type":"string","enum":["positive","neutral","negative"]},"score":{"type":"number"},` +
	`"toxic":{"type":"boolean"},"topics":{"type":"array","items":{"type":"string"}}}}`)

// Sentiment is a validated classification.
type Sentiment struct {
	Label  string   `json:"sentiment"`
	Score  float64  `json:"score"`
	Toxic  bool     `json:"toxic"`
	Topics []string `json:"topics"`
}

// ParseSentiment validates a model's answer: JSON, a known label, a score within [-1, 1] (a 0–1 or 0–100
// scale is not guessed at: it is an error) agreeing in sign with the label.
func ParseSentiment(content string) (Sentiment, error) {
	var s Sentiment
	content = strings.TrimSpace(content)
	content = strings.TrimPrefix(strings.TrimSuffix(content, "```"), "```json")
	if err := json.Unmarshal([]byte(strings.TrimSpace(content)), &s); err != nil {
		return s, fmt.Errorf("the classification is not the JSON the schema asks for: %v", err)
	}
	switch s.Label {
	case Positive, Neutral, Negative:
	default:
		return s, fmt.Errorf("the classification's sentiment %q is not positive, neutral or negative", s.Label)
	}
	if math.IsNaN(s.Score) || s.Score < -1 || s.Score > 1 {
		return s, fmt.Errorf("the classification's score %v is outside -1..1", s.Score)
	}
	if (s.Label == Positive && s.Score < 0) || (s.Label == Negative && s.Score > 0) {
		return s, fmt.Errorf("the classification's score %v contradicts its sentiment %s", s.Score, s.Label)
	}
	if len(s.Topics) > 10 {
		s.Topics = s.Topics[:10]
	}
	return s, nil
}
