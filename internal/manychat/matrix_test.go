package manychat_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/internal/manychat/dynblock"
)

// seeded is the state every endpoint in the matrix can succeed against.
type seeded struct {
	sub, tag, field, bot manychat.ID
}

func seed(srv *fake.Server) seeded {
	srv.AddFlow(welcomeNS, "Welcome", 0)
	return seeded{
		tag:   manychat.ID(srv.AddTag("vip")),
		field: manychat.ID(srv.AddCustomField("plan", "text", "")),
		bot:   manychat.ID(srv.AddBotField("seats", "number", 1)),
		sub: manychat.ID(srv.AddSubscriber(fake.Subscriber{FirstName: "Ada", LastName: "L", Email: "ada@example.com",
			Phone: "+15400000000", Tags: []string{"vip"}, Fields: map[string]any{"plan": "pro"}, UserRefs: []string{"ref-1"}})),
	}
}

type endpointCase struct {
	path string
	send bool // creates and sends: never retried on 5xx
	call func(ctx context.Context, c *manychat.Client, s seeded) error
}

func ignore[T any](_ T, err error) error { return err }

var allEndpoints = []endpointCase{
	{"/fb/page/getInfo", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return ignore(c.GetPageInfo(ctx)) }},
	{"/fb/page/getTags", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return ignore(c.GetTags(ctx)) }},
	{"/fb/page/createTag", true, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.CreateTag(ctx, "fresh"))
	}},
	{"/fb/page/removeTag", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return c.DeleteTag(ctx, s.tag) }},
	{"/fb/page/removeTagByName", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return c.DeleteTagByName(ctx, "vip") }},
	{"/fb/page/getCustomFields", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return ignore(c.GetCustomFields(ctx)) }},
	{"/fb/page/createCustomField", true, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.CreateCustomField(ctx, manychat.NewField{Name: "fresh", Type: manychat.FieldText}))
	}},
	{"/fb/page/getBotFields", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return ignore(c.GetBotFields(ctx)) }},
	{"/fb/page/createBotField", true, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.CreateBotField(ctx, manychat.NewField{Name: "fresh", Type: manychat.FieldNumber, Value: 1}))
	}},
	{"/fb/page/setBotField", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return c.SetBotField(ctx, s.bot, 2) }},
	{"/fb/page/setBotFieldByName", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.SetBotFieldByName(ctx, "seats", 2)
	}},
	{"/fb/page/setBotFields", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.SetBotFields(ctx, []manychat.FieldUpdate{{FieldID: s.bot, Value: 3}})
	}},
	{"/fb/page/getFlows", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return ignore(c.GetFlows(ctx)) }},
	{"/fb/page/getGrowthTools", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return ignore(c.GetGrowthTools(ctx)) }},
	{"/fb/page/getOtnTopics", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return ignore(c.GetOTNTopics(ctx)) }},
	{"/fb/page/getWidgets", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.GetWidgets(ctx)) //nolint:staticcheck // deprecated but served
	}},
	{"/fb/subscriber/getInfo", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.GetSubscriber(ctx, s.sub))
	}},
	{"/fb/subscriber/findByName", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.FindSubscribersByName(ctx, "Ada L"))
	}},
	{"/fb/subscriber/findByCustomField", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.FindSubscribersByCustomField(ctx, s.field, "pro"))
	}},
	{"/fb/subscriber/findBySystemField", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.FindSubscriberByEmail(ctx, "ada@example.com"))
	}},
	{"/fb/subscriber/getInfoByUserRef", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.GetSubscriberByUserRef(ctx, "ref-1"))
	}},
	{"/fb/subscriber/addTag", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return c.AddTag(ctx, s.sub, s.tag) }},
	{"/fb/subscriber/addTagByName", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.AddTagByName(ctx, s.sub, "vip")
	}},
	{"/fb/subscriber/removeTag", false, func(ctx context.Context, c *manychat.Client, s seeded) error { return c.RemoveTag(ctx, s.sub, s.tag) }},
	{"/fb/subscriber/removeTagByName", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.RemoveTagByName(ctx, s.sub, "vip")
	}},
	{"/fb/subscriber/setCustomField", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.SetCustomField(ctx, s.sub, s.field, "max")
	}},
	{"/fb/subscriber/setCustomFieldByName", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.SetCustomFieldByName(ctx, s.sub, "plan", "max")
	}},
	{"/fb/subscriber/setCustomFields", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.SetCustomFields(ctx, s.sub, []manychat.FieldUpdate{{FieldName: "plan", Value: "max"}})
	}},
	{"/fb/subscriber/createSubscriber", true, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return ignore(c.CreateSubscriber(ctx, manychat.NewSubscriber{Email: "new@example.com", HasOptInEmail: true}))
	}},
	{"/fb/subscriber/updateSubscriber", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		name := "Ada"
		return ignore(c.UpdateSubscriber(ctx, manychat.SubscriberUpdate{SubscriberID: s.sub, FirstName: &name}))
	}},
	{"/fb/subscriber/verifyBySignedRequest", false, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.VerifyBySignedRequest(ctx, s.sub, "sig.payload")
	}},
	{"/fb/sending/sendContent", true, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.SendContent(ctx, s.sub, dynblock.New(dynblock.Instagram).Text("hi"), manychat.SendOptions{})
	}},
	{"/fb/sending/sendFlow", true, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.SendFlow(ctx, s.sub, welcomeNS)
	}},
	{"/fb/sending/sendContentByUserRef", true, func(ctx context.Context, c *manychat.Client, s seeded) error {
		return c.SendContentByUserRef(ctx, "ref-1", dynblock.New(dynblock.Messenger).Text("hi"))
	}},
}

// TestEveryEndpoint runs each endpoint through success, a refused token,
// a logical error on 200, a 429 followed by success, and a 5xx that never
// recovers, checking both the error types and how often Manychat was called.
func TestEveryEndpoint(t *testing.T) {
	modes := []struct {
		name  string
		token string
		fail  *fake.Failure
		n     int
		check func(t *testing.T, ep endpointCase, err error, calls int)
	}{
		{name: "success", check: func(t *testing.T, ep endpointCase, err error, calls int) {
			if err != nil || calls != 1 {
				t.Fatalf("err %v after %d calls", err, calls)
			}
		}},
		{name: "wrong token", token: "1:wrong", check: func(t *testing.T, ep endpointCase, err error, calls int) {
			if !manychat.IsAuth(err) || !strings.Contains(err.Error(), "Wrong token") || calls != 1 {
				t.Fatalf("err %v after %d calls", err, calls)
			}
		}},
		{name: "logical error on 200", fail: &fake.Failure{Status: 200, Message: "Account is suspended"}, n: 1,
			check: func(t *testing.T, ep endpointCase, err error, calls int) {
				if !manychat.IsLogical(err) || calls != 1 {
					t.Fatalf("err %v after %d calls", err, calls)
				}
			}},
		{name: "429 then success", fail: &fake.Failure{Status: 429}, n: 1,
			check: func(t *testing.T, ep endpointCase, err error, calls int) {
				if err != nil || calls != 2 {
					t.Fatalf("err %v after %d calls", err, calls)
				}
			}},
		{name: "5xx until the end", fail: &fake.Failure{Status: 502}, n: 100,
			check: func(t *testing.T, ep endpointCase, err error, calls int) {
				want := manychat.DefaultMaxAttempts
				if ep.send {
					want = 1
				}
				var e *manychat.APIError
				if !errors.As(err, &e) || e.HTTPStatus != 502 || !manychat.IsTemporary(err) || calls != want {
					t.Fatalf("err %v after %d calls, want %d", err, calls, want)
				}
			}},
	}
	for _, ep := range allEndpoints {
		for _, m := range modes {
			t.Run(strings.TrimPrefix(ep.path, "/fb/")+"/"+m.name, func(t *testing.T) {
				srv, c, clock := setup(t)
				s := seed(srv)
				if m.token != "" {
					c, _ = manychat.New(srv.URL, m.token, manychat.WithClock(clock))
				}
				if m.fail != nil {
					srv.InjectFailure(ep.path, *m.fail, m.n)
				}
				err := ep.call(context.Background(), c, s)
				m.check(t, ep, err, srv.CallCount(ep.path))
			})
		}
	}
}

// TestEveryEndpointHonoursTimeout checks that no endpoint waits past the
// per-attempt timeout or retries a timed-out attempt.
func TestEveryEndpointHonoursTimeout(t *testing.T) {
	srv, c, _ := setup(t, manychat.WithTimeout(15*time.Millisecond))
	s := seed(srv)
	srv.SetLatency(time.Second)
	for _, ep := range allEndpoints {
		if err := ep.call(context.Background(), c, s); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v", ep.path, err)
		}
		if n := srv.CallCount(ep.path); n != 1 {
			t.Errorf("%s: %d calls", ep.path, n)
		}
	}
}
