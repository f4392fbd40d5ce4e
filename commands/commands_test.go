package commands_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/commands"
	fakemc "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/spf13/cobra"
)

func TestMain(m *testing.M) { os.Exit(testutil.Run(m)) }

func run(t *testing.T, root func() *cobra.Command, args ...string) (string, error) {
	t.Helper()
	cmd := root()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestSeedAndAPIKeyCommands(t *testing.T) {
	app, svc := testutil.NewApp(t)
	root := func() *cobra.Command {
		r := &cobra.Command{Use: "playgram", SilenceUsage: true}
		commands.Register(app, r, svc)
		return r
	}

	out, err := run(t, root, "seed")
	if err != nil || !strings.Contains(out, "superuser admin@playgram.local  password ") || !strings.Contains(out, "owner@demo.playgram.local") {
		t.Fatalf("first seed: %v\n%s", err, out)
	}
	out, err = run(t, root, "seed")
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second seed: %v\n%s", err, out)
	}

	out, err = run(t, root, "apikey", "create", "--workspace", "demo", "--scopes", "manychat,social", "--name", "Flows")
	if err != nil {
		t.Fatalf("apikey create: %v\n%s", err, out)
	}
	secret := regexp.MustCompile(`pgk_[0-9A-Za-z]{43}`).FindString(out)
	if secret == "" {
		t.Fatalf("no secret printed:\n%s", out)
	}
	key, err := svc.Keys.Lookup(app, secret, time.Now())
	if err != nil || key == nil || strings.Join(key.Scopes, ",") != "manychat,social" {
		t.Fatalf("printed secret does not authenticate: %+v %v", key, err)
	}

	out, err = run(t, root, "apikey", "list", "--workspace", "demo")
	if err != nil || !strings.Contains(out, secret[:12]+"…") || !strings.Contains(out, "Flows") || strings.Contains(out, secret) {
		t.Fatalf("apikey list: %v\n%s", err, out)
	}

	for _, bad := range [][]string{
		{"apikey", "create", "--workspace", "nope", "--scopes", "manychat"},
		{"apikey", "create", "--workspace", "demo", "--scopes", "root"},
		{"apikey", "create", "--workspace", "demo", "--scopes", "manychat", "--allow-ip", "10.0.0.0/99"},
		{"apikey", "create", "--workspace", "demo", "--scopes", "manychat", "--expires", "soon"},
	} {
		if out, err := run(t, root, bad...); err == nil {
			t.Errorf("%v was accepted:\n%s", bad, out)
		}
	}
}

func TestSeedWiresTheDemoWorkspaceToAFakeManychat(t *testing.T) {
	app, svc := testutil.NewApp(t)
	fake := fakemc.New()
	defer fake.Close()
	commands.SeedFakeManychat(fake.Account)
	root := func() *cobra.Command {
		r := &cobra.Command{Use: "playgram", SilenceUsage: true}
		commands.Register(app, r, svc)
		return r
	}
	out, err := run(t, root, "seed", "--fake-manychat", fake.URL)
	if err != nil || !strings.Contains(out, `"Playgram Demo"`) || !strings.Contains(out, "5 contacts") || !strings.Contains(out, "MANYCHAT_BASE_URL="+fake.URL) {
		t.Fatalf("seed --fake-manychat: %v\n%s", err, out)
	}
	ws, _ := app.FindFirstRecordByData(collections.Workspaces, "slug", "demo")
	if tok, _ := platform.Secret(svc.Box, ws, "manychat_token"); tok != fake.Token {
		t.Fatal("the fake's token is not stored")
	}
	ana, err := app.FindFirstRecordByFilter(collections.Contacts, "workspace = {:ws} && ig_username = 'ana.souza'", dbx.Params{"ws": ws.Id})
	if err != nil || ana.GetString("name") != "Ana Souza" || !strings.Contains(ana.GetString("tags"), "vip") {
		t.Fatalf("imported contact: %v %v", ana, err)
	}
	if _, err := run(t, root, "seed", "--fake-manychat", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "fake-manychat") {
		t.Fatalf("unreachable fake: %v", err)
	}
}
