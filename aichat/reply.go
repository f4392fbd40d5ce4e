package aichat

import (
	"context"

	"github.com/playgram/playgram/jobs"
	"sync"
	"time"
)

// ManychatReply is what the Manychat route answers: the reply text (or the holding text), and whether the
// real reply follows later through sendContent.
type ManychatReply struct {
	Text    string
	Held    bool
	Outcome *Outcome // nil when held
}

// ReplyForManychat answers a prepared message within Manychat's time limit: it waits up to HoldAfter for
// the model; a slower reply keeps running in the background and, once stored, is delivered by a KindDeliver
// job while Manychat gets HoldingText now.
func (s *Service) ReplyForManychat(p *Prepared) (ManychatReply, error) {
	if p.Skip != "" {
		out := s.Run(context.Background(), p, Hooks{})
		if err := s.Finish(p, out, DeliveryInline, time.Now()); err != nil {
			return ManychatReply{}, err
		}
		return ManychatReply{Text: out.Text, Outcome: out}, nil
	}
	type result struct {
		out *Outcome
		err error
	}
	var mu sync.Mutex
	held := false
	done := make(chan result, 1)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.ReplyTimeout)
		defer cancel()
		out := s.Run(ctx, p, Hooks{})
		// The decision "inline or held" and the store happen under mu, so the handler either gets this
		// reply or the job delivers it, never both and never neither.
		mu.Lock()
		defer mu.Unlock()
		delivery := DeliveryInline
		if held {
			delivery = DeliveryHeld
		}
		err := s.Finish(p, out, delivery, time.Now())
		if err != nil {
			s.app.Logger().Error("storing an AI reply failed", "conversation", p.Conversation.Id, "error", err)
		}
		done <- result{out, err}
	}()
	answer := func(r result) (ManychatReply, error) {
		if r.err != nil {
			return ManychatReply{}, r.err
		}
		return ManychatReply{Text: r.out.Text, Outcome: r.out}, nil
	}
	timer := time.NewTimer(s.HoldAfter)
	defer timer.Stop()
	select {
	case r := <-done:
		return answer(r)
	case <-timer.C:
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case r := <-done: // finished while the timer fired
		return answer(r)
	default:
		held = true
		// Should this process stop before the reply is stored, a job answers the message later.
		if _, err := jobs.Enqueue(s.app, jobs.New{Kind: KindResume, Workspace: p.Tool.Workspace(), MaxAttempts: 3,
			Payload: map[string]any{"message": p.UserMessage.Id}, RunAt: time.Now().Add(s.ReplyTimeout + time.Minute)}); err != nil {
			s.app.Logger().Error("queueing the AI reply safety job failed", "message", p.UserMessage.Id, "error", err)
		}
		return ManychatReply{Text: HoldingText, Held: true}, nil
	}
}
