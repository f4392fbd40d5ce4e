package migrations

import (
	"github.com/playgram/playgram/internal/contactattr"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Tag and field filters move from contact_attrs (one row per tag and field of every contact, each written to
// the table and two indexes) to contacts_attrs_fts: one full-text row per contact, under its contacts_fts rowid,
// holding a token per attribute (internal/contactattr). A new contact with 10 tags and 20 fields used to write
// 30 rows into three B-trees; it now writes one row of 30 words.
func init() {
	m.Register(func(app core.App) error {
		if err := execAll(app, `CREATE VIRTUAL TABLE contacts_attrs_fts USING fts5(attrs, tokenize = 'ascii', detail = none)`); err != nil {
			return err
		}
		var rows []struct {
			Rid   int64  `db:"rid"`
			Kind  string `db:"kind"`
			Name  string `db:"name"`
			Value string `db:"value"`
		}
		err := app.DB().NewQuery(`SELECT m.rid, a.kind, a.name, a.value FROM contact_attrs a
			JOIN contacts_fts_map m ON m.contact = a.contact ORDER BY m.rid`).All(&rows)
		if err != nil {
			return err
		}
		for i := 0; i < len(rows); {
			j := i
			var attrs []contactattr.Attr
			for ; j < len(rows) && rows[j].Rid == rows[i].Rid; j++ {
				attrs = append(attrs, contactattr.Attr{Kind: rows[j].Kind, Name: rows[j].Name, Value: rows[j].Value})
			}
			if _, err := app.DB().NewQuery("INSERT INTO contacts_attrs_fts (rowid, attrs) VALUES ({:rid}, {:attrs})").
				Bind(dbx.Params{"rid": rows[i].Rid, "attrs": contactattr.Text(attrs)}).Execute(); err != nil {
				return err
			}
			i = j
		}
		return execAll(app, `DROP TABLE contact_attrs`)
	}, func(app core.App) error {
		// The tokens cannot be read back: contacts get their attribute rows again when next saved.
		return execAll(app,
			`DROP TABLE contacts_attrs_fts`,
			`CREATE TABLE contact_attrs (contact TEXT NOT NULL, workspace TEXT NOT NULL, kind TEXT NOT NULL,
				name TEXT NOT NULL, value TEXT NOT NULL DEFAULT '')`,
			`CREATE INDEX idx_contact_attrs_lookup ON contact_attrs (workspace, kind, name, value, contact)`,
			`CREATE INDEX idx_contact_attrs_contact ON contact_attrs (contact)`,
		)
	})
}
