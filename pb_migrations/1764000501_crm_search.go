package migrations

import (
	"strings"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Faster CRM lookups and searches: a plain (workspace, subscriber_id) index (the unique one is partial, which
// SQLite cannot use for a bound subscriber id), and the contacts FTS5 table rebuilt with prefix indexes (a
// prefix query such as "jose"* no longer merges one doclist per distinct e-mail or username) and column-level
// detail (the queries never need positions).
func init() {
	m.Register(func(app core.App) error {
		contacts, err := app.FindCollectionByNameOrId(collections.Contacts)
		if err != nil {
			return err
		}
		contacts.AddIndex("idx_contacts_workspace_sid_lookup", false, "workspace, subscriber_id", "")
		if err := app.Save(contacts); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DROP TABLE contacts_fts`,
			`CREATE VIRTUAL TABLE contacts_fts USING fts5(ws, name, ig_username, email, phone, phone_digits,
				tokenize = "unicode61 remove_diacritics 2", prefix = '2 3 4 5', detail = column)`,
		} {
			if _, err := app.DB().NewQuery(stmt).Execute(); err != nil {
				return err
			}
		}
		var rows []struct {
			Rid       int64  `db:"rid"`
			Workspace string `db:"workspace"`
			Name      string `db:"name"`
			IG        string `db:"ig_username"`
			Email     string `db:"email"`
			Phone     string `db:"phone"`
		}
		err = app.DB().NewQuery(`SELECT m.rid AS rid, c.workspace AS workspace, c.name || ' ' || c.first_name || ' ' || c.last_name AS name,
			c.ig_username AS ig_username, c.email AS email, c.phone AS phone
			FROM contacts_fts_map m JOIN contacts c ON c.id = m.contact`).All(&rows)
		if err != nil {
			return err
		}
		for _, r := range rows {
			digits := strings.Map(func(c rune) rune {
				if c >= '0' && c <= '9' {
					return c
				}
				return -1
			}, r.Phone)
			_, err := app.DB().NewQuery(`INSERT INTO contacts_fts (rowid, ws, name, ig_username, email, phone, phone_digits)
				VALUES ({:rid}, {:ws}, {:name}, {:ig}, {:email}, {:phone}, {:digits})`).
				Bind(dbx.Params{"rid": r.Rid, "ws": r.Workspace, "name": r.Name, "ig": r.IG, "email": r.Email, "phone": r.Phone, "digits": digits}).Execute()
			if err != nil {
				return err
			}
		}
		return nil
	}, nil)
}
