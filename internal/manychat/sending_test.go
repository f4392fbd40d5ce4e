package manychat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/internal/manychat/dynblock"
)

const welcomeNS = "content20180221085508_278589"

func TestSendContent(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()
	srv.AddTag("clicked_tracking")
	srv.AddTag("awaiting_shipment")
	srv.AddCustomField("last_order_id", "number", "")
	ig := srv.AddSubscriber(fake.Subscriber{FirstName: "Ada", Tags: []string{"awaiting_shipment"}})
	stale := srv.AddSubscriber(fake.Subscriber{FirstName: "Old", LastInteraction: epoch.Add(-25 * time.Hour)})
	email := srv.AddSubscriber(fake.Subscriber{FirstName: "Mail", Channel: fake.ChannelEmail, Email: "m@example.com"})

	reply := dynblock.New(dynblock.Instagram).
		Text("Thanks Ada! Your order #1042 has shipped.", dynblock.URLButton("Track parcel", "https://example.com/t/1042", dynblock.AddTag("clicked_tracking"))).
		Action(dynblock.SetField("last_order_id", 1042), dynblock.RemoveTag("awaiting_shipment"))
	if err := c.SendContent(ctx, manychat.ID(ig), reply, manychat.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	sent := srv.SentContent()
	if len(sent) != 1 || sent[0].SubscriberID != ig {
		t.Fatalf("sent = %+v", sent)
	}
	got, err := dynblock.Parse(sent[0].Data)
	if err != nil {
		t.Fatalf("what Manychat received is not a valid v2 body: %v", err)
	}
	if got.Content.Type != dynblock.Instagram || got.Content.Messages[0].Buttons[0].Actions[0].TagName != "clicked_tracking" {
		t.Fatalf("received %+v", got)
	}
	state, _ := srv.SubscriberState(ig)
	if jsonString(state.Values["last_order_id"]) != "1042" || len(state.TagNames) != 0 {
		t.Fatalf("content actions not applied: %+v", state)
	}

	// outside the 24 h window: 3011 unless a message tag is given
	err = c.SendContent(ctx, manychat.ID(stale), dynblock.New(dynblock.Instagram).Text("Back in stock"), manychat.SendOptions{})
	if !manychat.IsOutsideWindow(err) || !manychat.HasCode(err, manychat.CodeOutsideWindow) || apiError(t, err).HTTPStatus != 400 {
		t.Fatalf("stale contact: %v", err)
	}
	if err := c.SendContent(ctx, manychat.ID(stale), dynblock.New(dynblock.Instagram).Text("Your booking changed"),
		manychat.SendOptions{MessageTag: "ACCOUNT_UPDATE"}); err != nil {
		t.Fatalf("tagged send: %v", err)
	}
	if sent := srv.SentContent(); sent[len(sent)-1].MessageTag != "ACCOUNT_UPDATE" {
		t.Fatalf("message_tag not sent: %+v", sent[len(sent)-1])
	}

	// an Instagram contact needs content.type "instagram"
	err = c.SendContent(ctx, manychat.ID(ig), dynblock.New(dynblock.Messenger).Text("hi"), manychat.SendOptions{})
	if e := apiError(t, err); e.HTTPStatus != 400 {
		t.Fatalf("Messenger content to an Instagram contact: %v", err)
	}
	if err := c.SendContent(ctx, manychat.ID(email), dynblock.New(dynblock.Instagram).Text("hi"), manychat.SendOptions{}); !manychat.IsChannelUnsupported(err) {
		t.Fatalf("email contact: %v", err)
	}

	// node buttons and over-limit replies never leave the process
	before := srv.CallCount("/fb/sending/sendContent")
	bad := dynblock.New(dynblock.Instagram).Text("Pick one", dynblock.NodeButton("Next", "step 2"))
	var errs dynblock.Errors
	if err := c.SendContent(ctx, manychat.ID(ig), bad, manychat.SendOptions{}); !errors.As(err, &errs) || errs[0].Field != "data.content.messages[0].buttons[0].type" {
		t.Fatalf("node button: %v", err)
	}
	if err := c.SendContent(ctx, manychat.ID(ig), nil, manychat.SendOptions{}); err == nil {
		t.Fatal("nil content accepted")
	}
	if srv.CallCount("/fb/sending/sendContent") != before {
		t.Fatal("invalid content was sent")
	}
}

func TestSendContentByUserRef(t *testing.T) {
	srv, c, _ := setup(t)
	srv.AddSubscriber(fake.Subscriber{Channel: fake.ChannelMessenger, UserRefs: []string{"ref-9"}})
	ctx := context.Background()
	if err := c.SendContentByUserRef(ctx, "ref-9", dynblock.New(dynblock.Messenger).Text("Welcome")); err != nil {
		t.Fatal(err)
	}
	if sent := srv.SentContent(); len(sent) != 1 || sent[0].UserRef != "ref-9" || sent[0].SubscriberID != 0 {
		t.Fatalf("sent %+v", sent)
	}
	if err := c.SendContentByUserRef(ctx, "ref-x", dynblock.New(dynblock.Messenger).Text("Welcome")); !manychat.HasCode(err, manychat.CodeUserRefNotRegistered) {
		t.Fatalf("unknown ref: %v", err)
	}
}

func TestSendFlow(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()
	srv.AddFlow(welcomeNS, "Welcome", 0)
	id := srv.AddSubscriber(fake.Subscriber{FirstName: "Ada"})

	if err := c.SendFlow(ctx, manychat.ID(id), welcomeNS); err != nil {
		t.Fatal(err)
	}
	if f := srv.SentFlows(); len(f) != 1 || f[0].FlowNS != welcomeNS || f[0].SubscriberID != id {
		t.Fatalf("sent flows %+v", f)
	}

	// an unknown flow is a logical error on HTTP 200, and is not retried
	err := c.SendFlow(ctx, manychat.ID(id), "content_missing")
	e := apiError(t, err)
	if e.HTTPStatus != 200 || !manychat.IsLogical(err) || e.Message != "Flow not found" {
		t.Fatalf("unknown flow: %+v", e)
	}
	if n := srv.CallCount("/fb/sending/sendFlow"); n != 2 {
		t.Fatalf("sendFlow calls = %d, want 2 (no retry of a logical error)", n)
	}
}

func TestSendFlowPerSubscriberQuota(t *testing.T) {
	srv, c, clock := setup(t)
	ctx := context.Background()
	srv.AddFlow(welcomeNS, "Welcome", 0)
	a := manychat.ID(srv.AddSubscriber(fake.Subscriber{FirstName: "A"}))
	b := manychat.ID(srv.AddSubscriber(fake.Subscriber{FirstName: "B"}))

	for i := 0; i < manychat.SendFlowPerSubscriberPerHour; i++ {
		if err := c.SendFlow(ctx, a, welcomeNS); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	err := c.SendFlow(ctx, a, welcomeNS)
	var q *manychat.QuotaError
	if !errors.As(err, &q) || !manychat.IsRateLimited(err) || q.RetryAfter <= 0 || q.RetryAfter > time.Hour {
		t.Fatalf("101st send: %v", err)
	}
	if n := srv.CallCount("/fb/sending/sendFlow"); n != 100 {
		t.Fatalf("the quota must stop the call locally: %d calls", n)
	}
	if err := c.SendFlow(ctx, b, welcomeNS); err != nil {
		t.Fatalf("another subscriber is not affected: %v", err)
	}
	clock.Advance(time.Hour)
	if err := c.SendFlow(ctx, a, welcomeNS); err != nil {
		t.Fatalf("after an hour: %v", err)
	}

	// A second process with its own count meets the fake's quota as a 429,
	// which is retried (the flow was not started) and finally reported.
	clock.Advance(time.Second) // let the account's 20 qps budget refill; the two clients share it
	other, _ := manychat.New(srv.URL, srv.Token, manychat.WithClock(clock), manychat.WithRetry(2, time.Millisecond, time.Millisecond))
	for i := 0; i < 99; i++ {
		if err := other.SendFlow(ctx, a, welcomeNS); err != nil {
			t.Fatalf("other send %d: %v", i+1, err)
		}
	}
	err = other.SendFlow(ctx, a, welcomeNS)
	if e := apiError(t, err); e.HTTPStatus != 429 || !manychat.IsRateLimited(err) || !manychat.IsTemporary(err) {
		t.Fatalf("server-side quota: %v", err)
	}
}
