package exports

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/analytics"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Ref is a field through which a collection's records belong to a contact: a relation to contacts, a text
// field named "contact" holding a contact id, or a "subscriber_id" text field holding the Manychat id.
type Ref struct {
	Collection *core.Collection
	Field      string
	Subscriber bool // the field holds the subscriber id, not the contact id
	Multiple   bool
}

// References finds every field that points at contacts, by scanning the schema, so collections added by
// later domains are included without a change here.
func References(app core.App) ([]Ref, error) {
	contacts, err := app.FindCachedCollectionByNameOrId(collections.Contacts)
	if err != nil {
		return nil, err
	}
	all, err := app.FindAllCollections()
	if err != nil {
		return nil, err
	}
	var refs []Ref
	for _, c := range all {
		if c.IsView() || c.System || c.Id == contacts.Id {
			continue
		}
		for _, f := range c.Fields {
			switch x := f.(type) {
			case *core.RelationField:
				if x.CollectionId == contacts.Id {
					refs = append(refs, Ref{Collection: c, Field: x.Name, Multiple: x.IsMultiple()})
				}
			case *core.TextField:
				switch x.Name {
				case "contact":
					refs = append(refs, Ref{Collection: c, Field: x.Name})
				case "subscriber_id":
					refs = append(refs, Ref{Collection: c, Field: x.Name, Subscriber: true})
				}
			}
		}
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Collection.Name < refs[j].Collection.Name })
	return refs, nil
}

// Subject is one person's records across every collection, keyed by collection name.
type Subject struct {
	Contact *core.Record
	Records map[string][]*core.Record
}

// CollectSubject loads the contact of workspace and every record that references it.
func CollectSubject(app core.App, workspace, contactID string) (*Subject, error) {
	contact, err := app.FindRecordById(collections.Contacts, contactID)
	if err != nil || contact.GetString("workspace") != workspace {
		return nil, ErrNoContact
	}
	refs, err := References(app)
	if err != nil {
		return nil, err
	}
	s := &Subject{Contact: contact, Records: map[string][]*core.Record{}}
	seen := map[string]bool{}
	for _, ref := range refs {
		value := contact.Id
		if ref.Subscriber {
			value = contact.GetString("subscriber_id")
			if value == "" {
				continue
			}
		}
		op := "="
		if ref.Multiple {
			op = "?="
		}
		filter := ref.Field + " " + op + " {:v}"
		if ref.Collection.Fields.GetByName("workspace") != nil {
			filter += " && workspace = {:ws}"
		}
		recs, err := app.FindRecordsByFilter(ref.Collection, filter, "", 0, 0, dbx.Params{"v": value, "ws": workspace})
		if err != nil {
			return nil, fmt.Errorf("reading %s.%s: %w", ref.Collection.Name, ref.Field, err)
		}
		for _, r := range recs {
			key := ref.Collection.Name + "/" + r.Id
			if !seen[key] {
				seen[key] = true
				s.Records[ref.Collection.Name] = append(s.Records[ref.Collection.Name], r)
			}
		}
	}
	return s, nil
}

// ErrNoContact is a contact id that is not in the workspace.
var ErrNoContact = errors.New("no such contact in this workspace")

// ErrHeld refuses erasure of a contact under a legal hold.
var ErrHeld = errors.New("the contact is under a legal hold; release the hold before erasing")

// WriteSubjectZIP writes the data-subject export: contact.json, one <collection>.json per collection that
// holds records about the person, and manifest.json listing them.
func WriteSubjectZIP(w io.Writer, s *Subject, now time.Time) error {
	z := zip.NewWriter(w)
	put := func(name string, v any) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if err := put("contact.json", s.Contact.PublicExport()); err != nil {
		return err
	}
	counts := map[string]int{"contacts": 1}
	names := make([]string, 0, len(s.Records))
	for n := range s.Records {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		items := make([]map[string]any, 0, len(s.Records[n]))
		for _, r := range s.Records[n] {
			items = append(items, r.PublicExport())
		}
		counts[n] = len(items)
		if err := put(n+".json", items); err != nil {
			return err
		}
	}
	if err := put("manifest.json", map[string]any{"contact": s.Contact.Id, "generated": now.UTC().Format(time.RFC3339), "records": counts}); err != nil {
		return err
	}
	return z.Close()
}

// keepAnonymised are collections whose records keep business value (a booking happened, a code was
// issued, a verification ran): erasure blanks their personal fields instead of deleting them.
var keepAnonymised = map[string]bool{collections.Bookings: true, collections.QRCodes: true, collections.Verifications: true,
	collections.Events: true}

// Erase deletes or anonymises everything about a contact in one transaction: records that reference it are
// deleted (or, for keepAnonymised collections, stripped of personal fields), the contact is deleted with
// its search rows, and every remaining text of the workspace (events, audit entries, job payloads, notes
// of other records) has the person's identifiers replaced by "[erased]". The only trace left is an audit
// entry with the contact id and counts.
func Erase(app core.App, workspace, contactID string, actor platform.Actor, now time.Time) (map[string]int, error) {
	counts := map[string]int{}
	err := platform.WriteTx(app, func(tx core.App) error {
		s, err := CollectSubject(tx, workspace, contactID)
		if err != nil {
			return err
		}
		held, err := tx.CountRecords(collections.LegalHolds, dbx.NewExp("workspace = {:ws} AND contact = {:c} AND (until = '' OR until > {:now})",
			dbx.Params{"ws": workspace, "c": contactID, "now": now.UTC().Format("2006-01-02 15:04:05.000Z")}))
		if err != nil {
			return err
		}
		if held > 0 {
			return ErrHeld
		}
		// Analytics tables that name contacts (event segments, the rollup) drop this one before its events
		// lose their contact below, so no answer keeps counting it.
		if err := analytics.ForgetContact(tx, workspace, contactID); err != nil {
			return err
		}
		idents := identifiers(s.Contact)
		for name, recs := range s.Records {
			for _, r := range recs {
				if keepAnonymised[name] {
					if err := anonymise(tx, r, s.Contact.Collection().Id); err != nil {
						return fmt.Errorf("anonymising %s %s: %w", name, r.Id, err)
					}
					counts[name+".anonymised"]++
					continue
				}
				if err := tx.Delete(r); err != nil {
					// A cascade earlier in the erasure may have removed it already.
					if _, ferr := tx.FindRecordById(r.Collection(), r.Id); ferr == nil {
						return fmt.Errorf("deleting %s %s: %w", name, r.Id, err)
					}
				}
				counts[name+".deleted"]++
			}
		}
		if err := tx.Delete(s.Contact); err != nil {
			return fmt.Errorf("deleting the contact: %w", err)
		}
		counts["contacts.deleted"] = 1
		// Audit entries about the contact lose their before/after.
		if _, err := tx.NonconcurrentDB().NewQuery("UPDATE audit_log SET before = 'null', after = '{\"erased\":true}' WHERE workspace = {:ws} AND target_id = {:c}").
			Bind(dbx.Params{"ws": workspace, "c": contactID}).Execute(); err != nil {
			return err
		}
		n, err := sweep(tx, workspace, idents)
		if err != nil {
			return err
		}
		counts["texts.redacted"] = n
		return platform.Audit(tx, actor, workspace, "contact.erased", collections.Contacts, contactID, nil, map[string]any{"counts": counts})
	})
	return counts, err
}

// anonymise blanks a kept record's personal fields (its dataset's list, plus the reference fields) with SQL,
// so no hook re-emits the data it is removing.
func anonymise(tx core.App, r *core.Record, contactsID string) error {
	coll := r.Collection()
	blank := map[string]bool{}
	if d, ok := datasetOf(coll.Name); ok {
		for _, f := range d.Personal {
			blank[f] = true
		}
	}
	for _, f := range coll.Fields {
		name := f.GetName()
		if (name == "contact" || name == "subscriber_id") || (coll.Name == collections.Events && name == "data") {
			blank[name] = true
		}
		if rf, ok := f.(*core.RelationField); ok && rf.CollectionId == contactsID {
			blank[name] = true
		}
	}
	set := dbx.Params{}
	for name := range blank {
		f := coll.Fields.GetByName(name)
		if f == nil {
			continue
		}
		set[name] = zeroValue(f)
	}
	if coll.Name == collections.Events {
		set["data"] = `{"erased":true}`
	}
	if len(set) == 0 {
		return nil
	}
	_, err := tx.NonconcurrentDB().Update(coll.Name, set, dbx.HashExp{"id": r.Id}).Execute()
	return err
}

func datasetOf(collection string) (Dataset, bool) {
	for _, d := range Datasets {
		if d.Collection == collection {
			return d, true
		}
	}
	return Dataset{}, false
}

func zeroValue(f core.Field) any {
	switch x := f.(type) {
	case *core.NumberField, *core.BoolField:
		return 0
	case *core.JSONField:
		return "null"
	case *core.SelectField:
		if x.IsMultiple() {
			return "[]"
		}
	case *core.RelationField:
		if x.IsMultiple() {
			return "[]"
		}
	}
	return ""
}

// identifiers are the strings that identify the person; short ones are left out so the sweep cannot
// damage unrelated text.
func identifiers(c *core.Record) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) >= 5 {
			out = append(out, s)
		}
	}
	add(c.GetString("name"))
	add(c.GetString("email"))
	add(c.GetString("phone"))
	add(c.GetString("subscriber_id"))
	if ig := strings.TrimPrefix(c.GetString("ig_username"), "@"); ig != "" {
		add(ig)
	}
	if first, last := c.GetString("first_name"), c.GetString("last_name"); first != "" && last != "" {
		add(first + " " + last)
	}
	// Longest first, so "Ana Lima" is replaced before a shorter identifier inside it.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// sweep replaces the identifiers in every text column of every table that has a workspace column (the
// collections of every domain and side tables), within the workspace only.
func sweep(tx core.App, workspace string, idents []string) (int, error) {
	if len(idents) == 0 {
		return 0, nil
	}
	var tables []string
	if err := tx.NonconcurrentDB().NewQuery("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'").Column(&tables); err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tables {
		var cols []struct {
			Name string `db:"name"`
			Type string `db:"type"`
		}
		if err := tx.NonconcurrentDB().NewQuery("SELECT name, type FROM pragma_table_info({:t})").Bind(dbx.Params{"t": t}).All(&cols); err != nil {
			return total, err
		}
		hasWS := false
		var text []string
		for _, c := range cols {
			if c.Name == "workspace" {
				hasWS = true
			}
			ty := strings.ToUpper(c.Type)
			if c.Name != "id" && c.Name != "workspace" && (ty == "" || strings.Contains(ty, "TEXT") || strings.Contains(ty, "JSON") || strings.Contains(ty, "CHAR")) {
				text = append(text, c.Name)
			}
		}
		if !hasWS {
			continue
		}
		// One statement per column: nested REPLACEs, longest identifier first, over the rows holding any.
		params := dbx.Params{"ws": workspace}
		for i, id := range idents {
			params["id"+strconv.Itoa(i)] = id
		}
		for _, col := range text {
			c := quoteIdent(col)
			set, any := c, make([]string, len(idents))
			for i := range idents {
				set = "REPLACE(" + set + ", {:id" + strconv.Itoa(i) + "}, '[erased]')"
				any[i] = "instr(" + c + ", {:id" + strconv.Itoa(i) + "}) > 0"
			}
			q := "UPDATE " + quoteIdent(t) + " SET " + c + " = " + set + " WHERE workspace = {:ws} AND (" + strings.Join(any, " OR ") + ")"
			res, err := tx.NonconcurrentDB().NewQuery(q).Bind(params).Execute()
			if err != nil {
				return total, fmt.Errorf("redacting %s.%s: %w", t, col, err)
			}
			n, _ := res.RowsAffected()
			total += int(n)
		}
	}
	return total, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
