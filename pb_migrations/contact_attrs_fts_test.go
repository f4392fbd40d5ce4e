package migrations_test

import (
	"os"
	"strings"
	"testing"

	"github.com/playgram/playgram/internal/contactattr"
	"github.com/playgram/playgram/internal/testutil"
	_ "github.com/playgram/playgram/pb_migrations"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestMain(t *testing.M) { os.Exit(testutil.Run(t)) }

func migration(t *testing.T, file string) *core.Migration {
	for _, mig := range core.AppMigrations.Items() {
		if strings.HasSuffix(mig.File, file) {
			return mig
		}
	}
	t.Fatalf("no migration %s", file)
	return nil
}

// An install from before the attribute search table keeps its tag and field filters: the rows of
// contact_attrs become the contact's tokens.
func TestContactAttrsMoveIntoTheirFullTextTable(t *testing.T) {
	app, _ := testutil.NewApp(t)
	defer app.Cleanup()
	ws := testutil.Workspace(t, app, "Attrs")
	c, err := platform.ResolveContact(app, ws.Id, platform.ContactRef{SubscriberID: "777"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mig := migration(t, "1764000503_contact_attrs_fts.go")
	if err := mig.Down(app); err != nil {
		t.Fatal(err)
	}
	for _, a := range []contactattr.Attr{{Kind: "tag", Name: "vip"}, {Kind: "field", Name: "plan", Value: "pro"}} {
		if _, err := app.DB().NewQuery("INSERT INTO contact_attrs (contact, workspace, kind, name, value) VALUES ({:c}, {:ws}, {:k}, {:n}, {:v})").
			Bind(dbx.Params{"c": c.Id, "ws": ws.Id, "k": a.Kind, "n": a.Name, "v": a.Value}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	if err := mig.Up(app); err != nil {
		t.Fatal(err)
	}
	for match, want := range map[string]string{
		contactattr.Token("tag", "vip", ""):                                               c.Id,
		contactattr.Token("field", "plan", "pro"):                                         c.Id,
		contactattr.Token("tag", "vip", "") + " AND " + contactattr.Token("tag", "x", ""): "",
	} {
		var got string
		_ = app.DB().NewQuery(`SELECT m.contact FROM contacts_attrs_fts a JOIN contacts_fts_map m ON m.rid = a.rowid
			WHERE contacts_attrs_fts MATCH {:q}`).Bind(dbx.Params{"q": match}).Row(&got)
		if got != want {
			t.Errorf("%s: got contact %q, want %q", match, got, want)
		}
	}
	var tables int
	_ = app.DB().NewQuery("SELECT count(*) FROM sqlite_master WHERE name = 'contact_attrs'").Row(&tables)
	if tables != 0 {
		t.Fatal("contact_attrs is still there")
	}
}
