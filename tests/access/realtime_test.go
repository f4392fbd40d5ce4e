package access_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/subscriptions"
)

// How long a realtime message may take to arrive, and how long silence must last to count as "nothing".
const (
	arrival = 2 * time.Second
	silence = 300 * time.Millisecond
)

// rtMessage is the payload PocketBase sends for a record change.
type rtMessage struct {
	Topic  string
	Action string          `json:"action"`
	Record json.RawMessage `json:"record"`
	ID     string
}

func decode(t *testing.T, m subscriptions.Message) rtMessage {
	t.Helper()
	var out rtMessage
	if err := json.Unmarshal(m.Data, &out); err != nil {
		t.Fatalf("realtime message %s is not JSON: %s", m.Name, m.Data)
	}
	var rec struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(out.Record, &rec)
	out.Topic, out.ID = m.Name, rec.ID
	return out
}

// subscriber is a realtime client registered with the broker exactly as GET /api/realtime would register it.
type subscriber struct {
	name   string
	client *subscriptions.DefaultClient
}

func subscribe(t *testing.T, e *env, name, userID string, topics ...string) subscriber {
	t.Helper()
	c := subscriptions.NewDefaultClient()
	if userID != "" {
		c.Set(apis.RealtimeClientAuthKey, e.record(t, collections.Users, userID))
	}
	c.Subscribe(topics...)
	e.app.SubscriptionsBroker().Register(c)
	t.Cleanup(func() { e.app.SubscriptionsBroker().Unregister(c.Id()) })
	return subscriber{name, c}
}

// await reads s's messages until one is about record id, failing after arrival.
func (s subscriber) await(t *testing.T, id string) rtMessage {
	t.Helper()
	deadline := time.After(arrival)
	for {
		select {
		case m := <-s.client.Channel():
			if msg := decode(t, m); msg.ID == id {
				return msg
			}
		case <-deadline:
			t.Fatalf("%s got no realtime message about %s within %s", s.name, id, arrival)
			return rtMessage{}
		}
	}
}

// quiet returns what s received during the silence window.
func (s subscriber) quiet() []subscriptions.Message {
	var got []subscriptions.Message
	deadline := time.After(silence)
	for {
		select {
		case m := <-s.client.Channel():
			got = append(got, m)
		case <-deadline:
			return got
		}
	}
}

// TestRealtimeStaysInWorkspace subscribes members of both workspaces and a guest to the same topics and makes
// changes in one workspace at a time: only that workspace's members, and only roles that may read the
// collection, hear about it; nobody sees hidden fields.
func TestRealtimeStaysInWorkspace(t *testing.T) {
	e := newEnv(t) // building the router binds PocketBase's realtime broadcast hooks
	w := e.w
	everything := []string{"tools/*", "events/*", "api_keys/*"}
	acmeViewer := subscribe(t, e, "Acme's viewer", w.Viewer.ID, append(everything, "tools/"+w.GlobexQRTool)...)
	acmeAdmin := subscribe(t, e, "Acme's admin", w.Admin.ID, everything...)
	globexAdmin := subscribe(t, e, "Globex's admin", w.GlobexAdmin.ID, everything...)
	guestClient := subscribe(t, e, "a guest", "", append(everything, "tools/"+w.AcmeQRTool, "events")...)
	all := []subscriber{acmeViewer, acmeAdmin, globexAdmin, guestClient}

	acme := e.record(t, collections.Workspaces, w.Acme)
	globex := e.record(t, collections.Workspaces, w.Globex)
	steps := []struct {
		name   string
		change func(t *testing.T) (id string)
		topic  string
		hear   []subscriber
	}{
		{"Acme creates a tool", func(t *testing.T) string {
			return testutil.Tool(t, e.app, acme, "qr", "Realtime tool", nil).Id
		}, "tools/*", []subscriber{acmeViewer, acmeAdmin}},
		{"Acme changes a tool that has secrets", func(t *testing.T) string {
			res := e.do(owner, "POST", "/api/v1/tools/"+w.AcmeQRTool+"/secret", map[string]string{"api_key": "sk-realtime-secret"})
			if res.Status != 200 {
				t.Fatalf("setting the tool secret: %d %s", res.Status, res.Body)
			}
			return w.AcmeQRTool
		}, "tools/*", []subscriber{acmeViewer, acmeAdmin}},
		{"Acme emits an event", func(t *testing.T) string {
			ev, err := platform.Emit(e.app, platform.Event{Workspace: w.Acme, Type: "qr.scanned", Data: map[string]any{"code": "PG-1"}})
			if err != nil {
				t.Fatal(err)
			}
			return ev.Id
		}, "events/*", []subscriber{acmeViewer, acmeAdmin}},
		{"Acme creates an API key", func(t *testing.T) string {
			_, key, err := platform.CreateKey(e.app, w.Acme, platform.NewKeyParams{Name: "realtime", Scopes: []string{"manychat"}}, platform.SystemActor("test"))
			if err != nil {
				t.Fatal(err)
			}
			return key.Id
		}, "api_keys/*", []subscriber{acmeAdmin}},
		{"Globex renames its tool", func(t *testing.T) string {
			tool := e.record(t, collections.Tools, w.GlobexQRTool)
			tool.Set("name", "Globex QR renamed")
			e.save(t, tool)
			return tool.Id
		}, "tools/*", []subscriber{globexAdmin}},
		{"Globex emits an event", func(t *testing.T) string {
			ev, err := platform.Emit(e.app, platform.Event{Workspace: globex.Id, Type: "qr.scanned"})
			if err != nil {
				t.Fatal(err)
			}
			return ev.Id
		}, "events/*", []subscriber{globexAdmin}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			id := s.change(t)
			for _, sub := range s.hear {
				msg := sub.await(t, id)
				if msg.Topic != s.topic {
					t.Errorf("%s heard %s on %q, want %q", sub.name, id, msg.Topic, s.topic)
				}
				if keys := hiddenKeys(string(msg.Record)); len(keys) > 0 {
					t.Errorf("%s's message shows hidden fields %v: %s", sub.name, keys, msg.Record)
				}
				if strings.Contains(string(msg.Record), "sk-realtime-secret") {
					t.Errorf("%s's message shows the tool secret: %s", sub.name, msg.Record)
				}
			}
			// Everyone else must stay silent; the windows overlap so the step costs one silence, not four.
			var wg sync.WaitGroup
			var mu sync.Mutex
			var leaks []string
			for _, sub := range all {
				if hears(s.hear, sub) {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, m := range sub.quiet() {
						mu.Lock()
						leaks = append(leaks, fmt.Sprintf("%s heard %s: %s", sub.name, m.Name, m.Data))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			for _, l := range leaks {
				t.Error(l)
			}
		})
	}
}

func hears(list []subscriber, s subscriber) bool {
	for _, x := range list {
		if x.client == s.client {
			return true
		}
	}
	return false
}

// TestRealtimeFollowsRoleChanges: a member who loses access stops hearing, at once, because PocketBase checks
// the rule against the client's current auth record on every broadcast.
func TestRealtimeFollowsRoleChanges(t *testing.T) {
	e := newEnv(t)
	w := e.w
	admin := subscribe(t, e, "Acme's admin", w.Admin.ID, "api_keys/*")
	_, first, err := platform.CreateKey(e.app, w.Acme, platform.NewKeyParams{Name: "before", Scopes: []string{"manychat"}}, platform.SystemActor("test"))
	if err != nil {
		t.Fatal(err)
	}
	admin.await(t, first.Id)

	if res := e.do(owner, "PATCH", recordsURL(collections.Users)+"/"+w.Admin.ID, map[string]any{"role": "viewer"}); res.Status != 200 {
		t.Fatalf("demoting: %d %s", res.Status, res.Body)
	}
	if got, _ := admin.client.Get(apis.RealtimeClientAuthKey).(*core.Record); got == nil || got.GetString("role") != collections.RoleViewer {
		t.Fatalf("the realtime client still carries the old auth record")
	}
	if _, _, err := platform.CreateKey(e.app, w.Acme, platform.NewKeyParams{Name: "after", Scopes: []string{"manychat"}}, platform.SystemActor("test")); err != nil {
		t.Fatal(err)
	}
	if got := admin.quiet(); len(got) > 0 {
		t.Fatalf("a demoted admin still hears about keys: %s", got[0].Data)
	}
}
