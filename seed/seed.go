// Package seed creates the demo workspace: on a first start with an empty data dir, and on `playgram seed`.
// It is idempotent: records that exist are left alone, and passwords are generated, printed once, never fixed.
package seed

import (
	"fmt"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// DemoSlug is the demo workspace's slug.
const DemoSlug = "demo"

// Credentials are the logins created by this run; empty fields were not created now.
type Credentials struct {
	SuperuserEmail, SuperuserPassword string
	OwnerEmail, OwnerPassword         string
}

// demoTools gives one tool of each type, with a config that shows what the type does.
var demoTools = []struct {
	typ, name string
	config    map[string]any
}{
	{toolconfig.TypeQR, "Loyalty QR", map[string]any{"prefix": "DEMO", "caption": "Show this at the counter"}},
	{toolconfig.TypeBooking, "Appointments", map[string]any{"duration_minutes": 45.0, "slot_interval_minutes": 15.0}},
	{toolconfig.TypeAIChat, "Shop assistant", map[string]any{"system_prompt": "You answer questions about our shop's opening hours and products."}},
	{toolconfig.TypeVerification, "Instagram login", map[string]any{"instagram_username": "demo_shop"}},
	{toolconfig.TypeSocial, "Website feed", map[string]any{"platforms": []any{"instagram", "google"}}},
}

// Demo makes sure the demo workspace, its owner and its tools exist, and a superuser when there is none.
func Demo(app core.App) (Credentials, error) {
	var creds Credentials
	actor := platform.SystemActor("seed")
	err := app.RunInTransaction(func(tx core.App) error {
		superusers, err := tx.CountRecords(core.CollectionNameSuperusers)
		if err != nil {
			return err
		}
		if superusers == 0 {
			coll, err := tx.FindCollectionByNameOrId(core.CollectionNameSuperusers)
			if err != nil {
				return err
			}
			su := core.NewRecord(coll)
			creds.SuperuserEmail, creds.SuperuserPassword = "admin@playgram.local", security.RandomString(20)
			su.SetEmail(creds.SuperuserEmail)
			su.SetPassword(creds.SuperuserPassword)
			if err := tx.Save(su); err != nil {
				return fmt.Errorf("superuser: %w", err)
			}
		}

		ws, err := tx.FindFirstRecordByData(collections.Workspaces, "slug", DemoSlug)
		if err != nil {
			coll, err := tx.FindCollectionByNameOrId(collections.Workspaces)
			if err != nil {
				return err
			}
			ws = core.NewRecord(coll)
			ws.Set("name", "Demo Shop")
			ws.Set("slug", DemoSlug)
			ws.Set("timezone", "Europe/Berlin")
			ws.Set("branding", map[string]any{"primary": "#C13584"})
			platform.WithActor(ws, actor)
			if err := tx.Save(ws); err != nil {
				return fmt.Errorf("workspace: %w", err)
			}
		}

		owners, err := tx.CountRecords(collections.Users, dbx.HashExp{"workspace": ws.Id, "role": collections.RoleOwner})
		if err != nil {
			return err
		}
		if owners == 0 {
			coll, err := tx.FindCollectionByNameOrId(collections.Users)
			if err != nil {
				return err
			}
			owner := core.NewRecord(coll)
			creds.OwnerEmail, creds.OwnerPassword = "owner@demo.playgram.local", security.RandomString(16)
			owner.SetEmail(creds.OwnerEmail)
			owner.SetPassword(creds.OwnerPassword)
			owner.SetVerified(true)
			owner.Set("name", "Demo Owner")
			owner.Set("workspace", ws.Id)
			owner.Set("role", collections.RoleOwner)
			platform.WithActor(owner, actor)
			if err := tx.Save(owner); err != nil {
				return fmt.Errorf("owner: %w", err)
			}
		}

		toolsColl, err := tx.FindCollectionByNameOrId(collections.Tools)
		if err != nil {
			return err
		}
		for _, t := range demoTools {
			n, err := tx.CountRecords(collections.Tools, dbx.HashExp{"workspace": ws.Id, "type": t.typ})
			if err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			tool := core.NewRecord(toolsColl)
			tool.Set("workspace", ws.Id)
			tool.Set("type", t.typ)
			tool.Set("name", t.name)
			tool.Set("enabled", true)
			tool.Set("config", t.config)
			platform.WithActor(tool, actor)
			if err := tx.Save(tool); err != nil {
				return fmt.Errorf("tool %s: %w", t.name, err)
			}
		}
		return demoHelper(tx, ws, actor)
	})
	return creds, err
}

// demoHelper gives the demo's booking tool someone to book: weekdays 09:00–17:00 with a lunch break.
func demoHelper(tx core.App, ws *core.Record, actor platform.Actor) error {
	if n, err := tx.CountRecords(collections.Helpers, dbx.HashExp{"workspace": ws.Id}); err != nil || n > 0 {
		return err
	}
	tool, err := tx.FindFirstRecordByFilter(collections.Tools, "workspace = {:ws} && type = 'booking'", dbx.Params{"ws": ws.Id})
	if err != nil {
		return err
	}
	helpers, err := tx.FindCollectionByNameOrId(collections.Helpers)
	if err != nil {
		return err
	}
	h := core.NewRecord(helpers)
	h.Set("workspace", ws.Id)
	h.Set("name", "Alex (demo)")
	h.Set("email", "alex@demo.playgram.local")
	h.Set("timezone", ws.GetString("timezone"))
	h.Set("active", true)
	h.Set("tools", []string{tool.Id})
	platform.WithActor(h, actor)
	if err := tx.Save(h); err != nil {
		return fmt.Errorf("helper: %w", err)
	}
	availability, err := tx.FindCollectionByNameOrId(collections.Availability)
	if err != nil {
		return err
	}
	for weekday := 1; weekday <= 5; weekday++ {
		a := core.NewRecord(availability)
		a.Set("workspace", ws.Id)
		a.Set("helper", h.Id)
		a.Set("weekday", weekday)
		a.Set("start", "09:00")
		a.Set("end", "17:00")
		a.Set("breaks", []map[string]string{{"start": "12:00", "end": "13:00"}})
		platform.WithActor(a, actor)
		if err := tx.Save(a); err != nil {
			return fmt.Errorf("availability: %w", err)
		}
	}
	return nil
}

// IsEmpty reports whether the data dir holds no workspace yet: a first start.
func IsEmpty(app core.App) bool {
	n, err := app.CountRecords(collections.Workspaces)
	return err == nil && n == 0
}

// Banner is the one-time message with the generated logins.
func (c Credentials) Banner(publicURL string) string {
	if c.SuperuserEmail == "" && c.OwnerEmail == "" {
		return ""
	}
	s := "\n┌─ Playgram is ready ───────────────────────────────────────────\n"
	if c.SuperuserEmail != "" {
		s += fmt.Sprintf("│ Admin UI  %s/_/\n│   superuser %s  password %s\n", publicURL, c.SuperuserEmail, c.SuperuserPassword)
	}
	if c.OwnerEmail != "" {
		s += fmt.Sprintf("│ Dashboard %s/\n│   demo owner %s  password %s\n", publicURL, c.OwnerEmail, c.OwnerPassword)
	}
	s += "│ These passwords are shown once. Change them after signing in.\n└───────────────────────────────────────────────────────────────\n"
	return s
}
