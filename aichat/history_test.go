package aichat_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/collections"
	ai "github.com/playgram/playgram/internal/aichat"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestMain(m *testing.M) { os.Exit(testutil.Run(m)) }

type historyEnv struct {
	t       *testing.T
	app     core.App
	svc     *aichat.Service
	tool    *aichat.Tool
	contact *core.Record
}

func newHistoryEnv(t *testing.T) *historyEnv {
	app := testutil.NewWorldApp(t)
	t.Cleanup(app.Cleanup)
	w := testutil.TheWorld(t)
	acme, _ := app.FindRecordById(collections.Workspaces, w.Acme)
	rec := testutil.Tool(t, app, acme, "ai_chat", "History AI", map[string]any{"model": "gpt-4o-mini", "context_tokens": 100000.0})
	tool, err := aichat.ToolFromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	contact, err := platform.ResolveContact(app, w.Acme, platform.ContactRef{SubscriberID: "4242"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := aichat.Of(app)
	svc.SetRateLimits(1<<20, 1<<20)
	return &historyEnv{t: t, app: app, svc: svc, tool: tool, contact: contact}
}

// turn stores a customer message and a reply with status, and returns the history packed for the message.
func (env *historyEnv) turn(text, status string) []ai.Msg {
	env.t.Helper()
	p, err := env.svc.Prepare(aichat.Inbound{Tool: env.tool, Contact: env.contact, Channel: aichat.ChannelManychat, Text: text}, time.Now())
	if err != nil {
		env.t.Fatal(err)
	}
	out := &aichat.Outcome{Text: "re: " + text, Status: status, CostKnown: true, Model: "gpt-4o-mini"}
	if err := env.svc.Finish(p, out, aichat.DeliveryInline, time.Now()); err != nil {
		env.t.Fatal(err)
	}
	return p.Packed.History
}

// want is the history of a new message as SQLite has it: the conversation's newest 200 messages that may go
// into a context, oldest first.
func (env *historyEnv) want() []string {
	env.t.Helper()
	var ids []string
	err := env.app.DB().NewQuery(`SELECT id FROM (SELECT id, created, rowid FROM ai_messages WHERE contact = {:c} AND content != ''
		AND (role = 'user' OR status = 'ok') ORDER BY created DESC, rowid DESC LIMIT 200) ORDER BY created, rowid`).Bind(dbx.Params{"c": env.contact.Id}).Column(&ids)
	if err != nil {
		env.t.Fatal(err)
	}
	return ids
}

func ids(h []ai.Msg) []string {
	out := make([]string, len(h))
	for i, m := range h {
		out[i] = m.ID
	}
	return out
}

func (env *historyEnv) check(step string, got []ai.Msg, want []string) {
	env.t.Helper()
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		env.t.Fatalf("%s: history\n%v\nwant\n%v", step, ids(got), want)
	}
	for _, m := range got {
		r, err := env.app.FindRecordById(collections.AIMessages, m.ID)
		if err != nil || r.GetString("content") != m.Content || r.GetString("role") != m.Role || r.GetInt("tokens") != m.Tokens {
			env.t.Fatalf("%s: history message %s is %+v, stored %v", step, m.ID, m, r)
		}
	}
}

// TestHistoryFollowsEveryWrite: the history a turn packs is what SQLite holds, whichever way messages were
// written, and the cap of 200 newest messages holds.
func TestHistoryFollowsEveryWrite(t *testing.T) {
	env := newHistoryEnv(t)
	var want []string
	for i := 0; i < 3; i++ {
		want = env.want()
		env.check(fmt.Sprintf("turn %d", i), env.turn(fmt.Sprintf("question %d", i), collections.AIStatusOK), want)
	}
	// a failed reply is not history
	env.turn("this one fails", collections.AIStatusFallback)
	want = env.want()
	env.check("after a fallback", env.turn("next", collections.AIStatusOK), want)

	msgs, _ := env.app.FindRecordsByFilter(collections.AIMessages, "contact = {:c}", "created", 0, 0, dbx.Params{"c": env.contact.Id})
	// edited through the record pipeline (the admin UI): the new text is used
	msgs[2].Set("content", "an edited question")
	if err := env.app.Save(msgs[2]); err != nil {
		t.Fatal(err)
	}
	want = env.want()
	env.check("after an edit", env.turn("after edit", collections.AIStatusOK), want)
	// a reply that becomes a fallback leaves; one emptied leaves too
	msgs[1].Set("status", collections.AIStatusFallback)
	if err := env.app.Save(msgs[1]); err != nil {
		t.Fatal(err)
	}
	msgs[3].Set("content", "")
	if err := env.app.Save(msgs[3]); err != nil {
		t.Fatal(err)
	}
	want = env.want()
	env.check("after status and content changes", env.turn("after changes", collections.AIStatusOK), want)
	// deleted
	if err := env.app.Delete(msgs[0]); err != nil {
		t.Fatal(err)
	}
	want = env.want()
	env.check("after a delete", env.turn("after delete", collections.AIStatusOK), want)
	// created by someone else (the collection API as a superuser)
	coll, _ := env.app.FindCollectionByNameOrId(collections.AIMessages)
	r := core.NewRecord(coll)
	for _, k := range []string{"workspace", "tool", "conversation", "contact"} {
		r.Set(k, msgs[0].Get(k))
	}
	r.Set("role", "user")
	r.Set("content", "inserted by an admin")
	if err := env.app.Save(r); err != nil {
		t.Fatal(err)
	}
	want = env.want()
	env.check("after an outside create", env.turn("after insert", collections.AIStatusOK), want)

	// past the cap: the oldest drop out
	for i := 0; i < 110; i++ {
		env.turn(fmt.Sprintf("filler %d", i), collections.AIStatusOK)
	}
	want = env.want()
	if len(want) != 200 {
		t.Fatalf("want %d", len(want))
	}
	env.check("past the cap", env.turn("last", collections.AIStatusOK), want)
}

// TestHistoryUnderConcurrentTurns: turns of one conversation racing each other leave the history exact.
func TestHistoryUnderConcurrentTurns(t *testing.T) {
	env := newHistoryEnv(t)
	env.turn("first", collections.AIStatusOK)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				p, err := env.svc.Prepare(aichat.Inbound{Tool: env.tool, Contact: env.contact, Channel: aichat.ChannelManychat, Text: fmt.Sprintf("g%d m%d", g, i)}, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if err := env.svc.Finish(p, &aichat.Outcome{Text: "ok", Status: collections.AIStatusOK, CostKnown: true}, aichat.DeliveryInline, time.Now()); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	want := env.want()
	env.check("after concurrent turns", env.turn("last", collections.AIStatusOK), want)
}
