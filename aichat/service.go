package aichat

import (
	"sync"
	"time"

	"github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/internal/ratelimit"
	"github.com/playgram/playgram/internal/wscache"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
)

// Defaults of a Service; tests shorten them through the fields.
const (
	DefaultHoldAfter    = 7 * time.Second
	DefaultReplyTimeout = 90 * time.Second
	DefaultChatTimeout  = 120 * time.Second
	// DefaultContactPerMinute and DefaultToolPerMinute bound model calls per contact and per tool.
	DefaultContactPerMinute = 10
	DefaultToolPerMinute    = 120
	// HoldingText answers Manychat when the model takes longer than HoldAfter; the reply follows by sendContent.
	HoldingText = "Give me a moment, I'm looking into this…"
	// RateLimitedText answers a contact who writes faster than the per-contact limit.
	RateLimitedText = "You're sending messages faster than I can answer. Please wait a minute and try again."
)

// Service runs AI chat for one app.
type Service struct {
	app core.App
	svc *platform.Services

	// HoldAfter is how long a Manychat request waits for the model before answering HoldingText.
	HoldAfter time.Duration
	// ReplyTimeout bounds a Manychat reply, held or not; ChatTimeout a dashboard stream.
	ReplyTimeout, ChatTimeout time.Duration
	// MaxAttempts bounds calls per model turn (rate limits and server errors are retried).
	MaxAttempts             int
	BackoffBase, BackoffMax time.Duration
	ContactLimit, ToolLimit *ratelimit.KeyedWindow
	// OnReply, when set, sees every stored reply (benchmarks read ModelTime from it).
	OnReply func(p *Prepared, out *Outcome)
	// Trace, when set, is told how long each step of a reply took (benchmarks break the overhead down).
	Trace func(step string, d time.Duration)

	background sync.WaitGroup
	history    *historyCache
	tools      *toolCache
	knowledge  *wscache.Cache[*aichat.KnowledgeIndex] // by tool
	fnMu       sync.RWMutex
	functions  map[string]Function
}

const storeKey = "playgram.aichat"

// Of returns the app's AI chat service (nil before Register).
func Of(app core.App) *Service {
	s, _ := app.Store().Get(storeKey).(*Service)
	return s
}

// Services are the platform services the AI chat runs on.
func (s *Service) Services() *platform.Services { return s.svc }

// Wait blocks until replies still running in the background (held Manychat replies) are stored.
func (s *Service) Wait() { s.background.Wait() }

// SetRateLimits replaces the per-contact and per-tool limits (calls per minute).
func (s *Service) SetRateLimits(perContact, perTool int) {
	s.ContactLimit = ratelimit.NewKeyedWindow(perContact, time.Minute)
	s.ToolLimit = ratelimit.NewKeyedWindow(perTool, time.Minute)
}

func newService(app core.App, svc *platform.Services) *Service {
	s := &Service{app: app, svc: svc, HoldAfter: DefaultHoldAfter, ReplyTimeout: DefaultReplyTimeout,
		ChatTimeout: DefaultChatTimeout, MaxAttempts: 3, history: newHistoryCache(), tools: newToolCache(), knowledge: wscache.New[*aichat.KnowledgeIndex](), BackoffBase: 500 * time.Millisecond, BackoffMax: 5 * time.Second}
	s.SetRateLimits(DefaultContactPerMinute, DefaultToolPerMinute)
	s.functions = builtinFunctions(s)
	return s
}

// trace reports a step's duration to Trace, when set.
func (s *Service) trace(step string, since time.Time) {
	if s.Trace != nil {
		s.Trace(step, time.Since(since))
	}
}

// allow applies the rate limits: the contact's (or signed-in user's) and the tool's.
func (s *Service) allow(toolID, who string, now time.Time) (bool, time.Duration) {
	if who != "" {
		if ok, wait := s.ContactLimit.AllowAt(toolID+"/"+who, now); !ok {
			return false, wait
		}
	}
	return s.ToolLimit.AllowAt(toolID, now)
}
