package migrations

import (
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Contact search scoped by rowid range instead of a workspace term. Every workspace gets a number n
// (contacts_fts_ws) and its contacts' full-text rows get rowids in [n<<32, (n+1)<<32), so a search reads only
// its workspace's part of each doclist (FTS5 seeks rowid ranges) instead of intersecting every match with the
// workspace term, whose doclist lists every contact of the workspace. The ws column (and its prefix entries)
// leaves the index.
func init() {
	m.Register(func(app core.App) error {
		for _, stmt := range []string{
			`CREATE TABLE contacts_fts_ws (n INTEGER PRIMARY KEY AUTOINCREMENT, workspace TEXT NOT NULL UNIQUE)`,
			`INSERT INTO contacts_fts_ws (workspace)
				SELECT DISTINCT c.workspace FROM contacts_fts_map m JOIN contacts c ON c.id = m.contact ORDER BY 1`,
			`CREATE TABLE contacts_fts_map_ranged (rid INTEGER PRIMARY KEY, contact TEXT NOT NULL UNIQUE)`,
			`INSERT INTO contacts_fts_map_ranged (rid, contact)
				SELECT (w.n << 32) + ROW_NUMBER() OVER (PARTITION BY w.n ORDER BY m.rid), m.contact
				FROM contacts_fts_map m JOIN contacts c ON c.id = m.contact JOIN contacts_fts_ws w ON w.workspace = c.workspace`,
			`DROP TABLE contacts_fts_map`,
			`ALTER TABLE contacts_fts_map_ranged RENAME TO contacts_fts_map`,
			`DROP TABLE contacts_fts`,
			`CREATE VIRTUAL TABLE contacts_fts USING fts5(name, ig_username, email, phone, phone_digits,
				tokenize = "unicode61 remove_diacritics 2", prefix = '2 3 4 5', detail = column)`,
		} {
			if _, err := app.DB().NewQuery(stmt).Execute(); err != nil {
				return err
			}
		}
		var rows []struct {
			Rid   int64  `db:"rid"`
			Name  string `db:"name"`
			IG    string `db:"ig_username"`
			Email string `db:"email"`
			Phone string `db:"phone"`
		}
		err := app.DB().NewQuery(`SELECT m.rid AS rid, c.name || ' ' || c.first_name || ' ' || c.last_name AS name,
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
			_, err := app.DB().NewQuery(`INSERT INTO contacts_fts (rowid, name, ig_username, email, phone, phone_digits)
				VALUES ({:rid}, {:name}, {:ig}, {:email}, {:phone}, {:digits})`).
				Bind(dbx.Params{"rid": r.Rid, "name": r.Name, "ig": r.IG, "email": r.Email, "phone": r.Phone, "digits": digits}).Execute()
			if err != nil {
				return err
			}
		}
		return nil
	}, nil)
}
