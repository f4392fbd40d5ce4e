package testutil

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/playgram/playgram/boot"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// World is a fixed set of fixtures shared by every test of a binary: two workspaces with a member of each role,
// a tool of each, API keys and a superuser. Ids, tokens and secrets are the same in every app made from it, so
// ApiScenario tables can name them up front.
type World struct {
	Acme, Globex                     string // workspace ids
	AcmeSlug                         string
	Owner, Admin, Manager, Viewer    Person // members of Acme
	GlobexOwner, GlobexAdmin         Person
	Superuser                        Person
	AcmeQRTool, GlobexQRTool         string // tool ids
	AcmeBookingTool                  string
	ManychatKey, AdminKey, SocialKey string // secrets of Acme keys with those scopes
	ManychatKeyID                    string
	RevokedKey, ExpiredKey           string
	GlobexManychatKey                string
}

// Person is a fixture account with its ready Authorization header.
type Person struct {
	ID, Email string
	Headers   map[string]string
}

var (
	worldOnce sync.Once
	worldDir  string
	world     World
	worldErr  error
)

// TheWorld returns the fixtures' ids and credentials.
func TheWorld(t testing.TB) World {
	t.Helper()
	if _, err := worldTemplate(t); err != nil {
		t.Fatal(err)
	}
	return world
}

// NewWorldApp is a test app holding the World fixtures; for ApiScenario.TestAppFactory.
func NewWorldApp(t testing.TB) *tests.TestApp {
	t.Helper()
	return NewWorldAppWith(t, Config())
}

// NewWorldAppWith is NewWorldApp with another configuration.
func NewWorldAppWith(t testing.TB, cfg platform.Config) *tests.TestApp {
	t.Helper()
	dir, err := worldTemplate(t)
	if err != nil {
		t.Fatal(err)
	}
	app, err := newTestApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boot.Register(app, cfg); err != nil {
		t.Fatal(err)
	}
	return app
}

// worldTemplate builds the fixtures once, failing t (the first test to ask) if they cannot be built.
func worldTemplate(t testing.TB) (string, error) {
	worldOnce.Do(func() {
		worldErr = errors.New("building the test world failed in an earlier test")
		app, _, err := NewAppE()
		if err != nil {
			worldErr = err
			return
		}
		buildWorld(t, app)
		worldDir = app.DataDir()
		worldErr = app.ClearBootstrap()
	})
	return worldDir, worldErr
}

func buildWorld(t testing.TB, app core.App) {
	acme := Workspace(t, app, "Acme")
	globex := Workspace(t, app, "Globex")
	person := func(r *core.Record) Person { return Person{ID: r.Id, Email: r.Email(), Headers: Auth(t, r)} }
	world.Acme, world.Globex, world.AcmeSlug = acme.Id, globex.Id, acme.GetString("slug")
	world.Owner = person(Member(t, app, acme, collections.RoleOwner))
	world.Admin = person(Member(t, app, acme, collections.RoleAdmin))
	world.Manager = person(Member(t, app, acme, collections.RoleManager))
	world.Viewer = person(Member(t, app, acme, collections.RoleViewer))
	world.GlobexOwner = person(Member(t, app, globex, collections.RoleOwner))
	world.GlobexAdmin = person(Member(t, app, globex, collections.RoleAdmin))
	world.Superuser = person(Superuser(t, app))
	world.AcmeQRTool = Tool(t, app, acme, "qr", "Acme QR", nil).Id
	world.AcmeBookingTool = Tool(t, app, acme, "booking", "Acme Booking", nil).Id
	world.GlobexQRTool = Tool(t, app, globex, "qr", "Globex QR", nil).Id
	var rec *core.Record
	world.ManychatKey, rec = APIKey(t, app, acme, "manychat")
	world.ManychatKeyID = rec.Id
	world.AdminKey, _ = APIKey(t, app, acme, "admin")
	world.SocialKey, _ = APIKey(t, app, acme, "social")
	world.GlobexManychatKey, _ = APIKey(t, app, globex, "manychat")
	world.RevokedKey, rec = APIKey(t, app, acme, "manychat")
	rec.Set("revoked", true)
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	world.ExpiredKey, rec = APIKey(t, app, acme, "manychat")
	rec.Set("expires_at", time.Now().Add(-time.Hour))
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
}

// Tool creates a tool of a type with config (nil: defaults).
func Tool(t testing.TB, app core.App, ws *core.Record, typ, name string, config map[string]any) *core.Record {
	t.Helper()
	coll, err := app.FindCollectionByNameOrId(collections.Tools)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(coll)
	r.Set("workspace", ws.Id)
	r.Set("type", typ)
	r.Set("name", name)
	r.Set("enabled", true)
	if config != nil {
		r.Set("config", config)
	}
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
	return r
}

// CleanupWorld removes the world template; Run calls it.
func cleanupWorld() {
	if worldDir != "" {
		os.RemoveAll(worldDir)
	}
}
