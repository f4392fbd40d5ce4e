// Package testutil builds real Playgram test apps (the same boot.Register as main.go) on a migrated data dir
// made once per test binary, plus fixtures built in code: workspaces, members, tokens and API keys.
package testutil

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/playgram/playgram/boot"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/stmtcache"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// SecretKey is the fixed PLAYGRAM_SECRET_KEY of test apps.
var SecretKey = strings.Repeat("5e", 32)

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
)

// Run is TestMain for packages that use NewApp: it removes the template data dir afterwards.
func Run(m *testing.M) int {
	code := m.Run()
	if templateDir != "" {
		os.RemoveAll(templateDir)
	}
	cleanupWorld()
	return code
}

func template() (string, error) {
	templateOnce.Do(func() {
		empty, err := os.MkdirTemp("", "playgram_empty_")
		if err != nil {
			templateErr = err
			return
		}
		defer os.RemoveAll(empty)
		app, err := newTestApp(empty) // runs PocketBase's and Playgram's migrations
		if err != nil {
			templateErr = err
			return
		}
		templateDir = app.DataDir()
		templateErr = app.ClearBootstrap() // closes the DB so the copy is complete
	})
	return templateDir, templateErr
}

// Config is the configuration of test apps: fixed key, no pollers.
func Config() platform.Config {
	cfg := platform.DefaultConfig()
	cfg.SecretKey = SecretKey
	cfg.PublicURL = "http://playgram.test"
	cfg.NoDemo = true
	cfg.Background = false
	cfg.OutboundAllow = "127.0.0.0/8" // test receivers listen on loopback
	return cfg
}

// NewApp returns a migrated, fully registered test app; it is cleaned up with the test.
func NewApp(t testing.TB) (*tests.TestApp, *platform.Services) {
	t.Helper()
	app, svc, err := NewAppE()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	return app, svc
}

// NewAppWith is NewApp with another configuration.
func NewAppWith(t testing.TB, cfg platform.Config) *tests.TestApp {
	t.Helper()
	dir, err := template()
	if err != nil {
		t.Fatal(err)
	}
	app, err := newTestApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	if _, err := boot.Register(app, cfg); err != nil {
		t.Fatal(err)
	}
	return app
}

// NewAppE is NewApp for ApiScenario.TestAppFactory, where the scenario cleans up.
func NewAppE() (*tests.TestApp, *platform.Services, error) {
	dir, err := template()
	if err != nil {
		return nil, nil, err
	}
	app, err := newTestApp(dir)
	if err != nil {
		return nil, nil, err
	}
	svc, err := boot.Register(app, Config())
	if err != nil {
		app.Cleanup()
		return nil, nil, err
	}
	return app, svc, nil
}

// Workspace creates a workspace named name (slug from the name).
func Workspace(t testing.TB, app core.App, name string) *core.Record {
	t.Helper()
	coll, err := app.FindCollectionByNameOrId(collections.Workspaces)
	if err != nil {
		t.Fatal(err)
	}
	ws := core.NewRecord(coll)
	ws.Set("name", name)
	ws.Set("timezone", "Europe/Berlin")
	if err := app.Save(ws); err != nil {
		t.Fatal(err)
	}
	return ws
}

// Password is every fixture member's password.
const Password = "correct-horse-9"

// Member creates a member of ws with role; the email is role@slug.test.
func Member(t testing.TB, app core.App, ws *core.Record, role string) *core.Record {
	t.Helper()
	coll, err := app.FindCollectionByNameOrId(collections.Users)
	if err != nil {
		t.Fatal(err)
	}
	u := core.NewRecord(coll)
	u.SetEmail(role + "@" + ws.GetString("slug") + ".test")
	u.SetPassword(Password)
	u.SetVerified(true)
	u.Set("name", role+" of "+ws.GetString("name"))
	u.Set("workspace", ws.Id)
	u.Set("role", role)
	if err := app.Save(u); err != nil {
		t.Fatal(err)
	}
	return u
}

// Auth returns an Authorization header map for a user or superuser record.
func Auth(t testing.TB, r *core.Record) map[string]string {
	t.Helper()
	token, err := r.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"Authorization": token}
}

// Superuser creates a superuser.
func Superuser(t testing.TB, app core.App) *core.Record {
	t.Helper()
	coll, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
	if err != nil {
		t.Fatal(err)
	}
	su := core.NewRecord(coll)
	su.SetEmail("root@playgram.test")
	su.SetPassword(Password)
	if err := app.Save(su); err != nil {
		t.Fatal(err)
	}
	return su
}

// APIKey creates a key of ws with scopes and returns its secret and record.
func APIKey(t testing.TB, app core.App, ws *core.Record, scopes ...string) (string, *core.Record) {
	t.Helper()
	secret, rec, err := platform.CreateKey(app, ws.Id, platform.NewKeyParams{Name: "test key", Scopes: scopes}, platform.SystemActor("test"))
	if err != nil {
		t.Fatal(err)
	}
	return secret, rec
}

// Bearer is the Authorization header of an API key.
func Bearer(secret string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + secret}
}

// QueryPlan is SQLite's plan for sql with params, its steps joined by "; " (e.g. "SEARCH bookings USING
// COVERING INDEX …"), for tests that pin a hot query to its index.
func QueryPlan(t testing.TB, app core.App, sql string, params dbx.Params) string {
	t.Helper()
	var plan []struct {
		Detail string `db:"detail"`
	}
	if err := app.DB().NewQuery("EXPLAIN QUERY PLAN " + sql).Bind(params).All(&plan); err != nil {
		t.Fatal(err)
	}
	details := make([]string, len(plan))
	for i, p := range plan {
		details[i] = p.Detail
	}
	return strings.Join(details, "; ")
}

// newTestApp is tests.NewTestApp on the server's database driver (internal/stmtcache).
func newTestApp(dir string) (*tests.TestApp, error) {
	return tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: dir, EncryptionEnv: "pb_test_env", DBConnect: stmtcache.Connect})
}
