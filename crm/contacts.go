package crm

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/autoreply"
	"github.com/playgram/playgram/internal/contactattr"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ManychatFields are the contact fields Manychat owns: a push or a refresh with a newer last_interaction
// overwrites them. Local fields (notes, local_tags, source) are never touched by Manychat data.
var ManychatFields = []string{"name", "first_name", "last_name", "ig_username", "email", "phone", "timezone", "tags", "custom_fields"}

// TrackedFields are the fields whose changes are events and snapshots.
var TrackedFields = append(slices.Clone(ManychatFields), "local_tags", "notes", "source")

// Incoming is Manychat's view of one subscriber: a Full Contact Data push or a getInfo answer.
type Incoming struct {
	Sub manychat.Subscriber
	// Present names the top-level keys the data carried; nil means all (getInfo answers every key).
	Present map[string]bool
	// Unresolved lists values that were Manychat placeholders (they count as empty).
	Unresolved []string
}

func (in Incoming) has(key string) bool { return in.Present == nil || in.Present[key] }

// ParseIncoming reads an External Request body (Full Contact Data, bare or under "contact").
func ParseIncoming(body []byte) (Incoming, error) {
	c, err := manychat.ParseContact(body)
	if err != nil {
		return Incoming{}, err
	}
	in := Incoming{Sub: c.Subscriber, Unresolved: c.Unresolved, Present: map[string]bool{}}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(quotePlaceholders(body), &top)
	if raw, ok := top["contact"]; ok && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		top = nil
		_ = json.Unmarshal(raw, &top)
	}
	for k := range top {
		in.Present[k] = true
	}
	return in, nil
}

// quotePlaceholders makes a body with bare {{…}} number pills parse, for the key presence check only.
func quotePlaceholders(b []byte) []byte {
	if !bytes.Contains(b, []byte("{{")) {
		return b
	}
	// ParseContact already validated the body; replacing every bare token by null is enough to list keys.
	var out bytes.Buffer
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if inStr {
			out.WriteByte(ch)
			switch {
			case esc:
				esc = false
			case ch == '\\':
				esc = true
			case ch == '"':
				inStr = false
			}
			continue
		}
		if ch == '"' {
			inStr = true
		}
		if ch == '{' && i+1 < len(b) && b[i+1] == '{' {
			if end := bytes.Index(b[i:], []byte("}}")); end > 0 {
				out.WriteString("null")
				i += end + 1
				continue
			}
		}
		out.WriteByte(ch)
	}
	return out.Bytes()
}

// lastInteraction is the newest of Manychat's interaction times of the subscriber.
func (in Incoming) lastInteraction() time.Time {
	t := in.Sub.LastInteraction
	if in.Sub.IGLastInteraction.After(t) {
		t = in.Sub.IGLastInteraction
	}
	return t
}

// values maps the incoming data onto contact fields (only those the data carried).
func (in Incoming) values() map[string]any {
	s := in.Sub
	out := map[string]any{}
	set := func(key, field string, v any) {
		if in.has(key) {
			out[field] = v
		}
	}
	name := strings.TrimSpace(s.Name)
	if name == "" {
		name = strings.TrimSpace(strings.TrimSpace(s.FirstName) + " " + strings.TrimSpace(s.LastName))
	}
	if in.has("name") || in.has("first_name") || in.has("last_name") {
		out["name"] = name
	}
	set("first_name", "first_name", strings.TrimSpace(s.FirstName))
	set("last_name", "last_name", strings.TrimSpace(s.LastName))
	set("ig_username", "ig_username", strings.TrimPrefix(strings.TrimSpace(s.IGUsername), "@"))
	set("email", "email", strings.TrimSpace(s.Email))
	set("phone", "phone", strings.TrimSpace(s.Phone))
	set("timezone", "timezone", strings.TrimSpace(s.Timezone))
	if in.has("tags") {
		tags := []string{}
		for _, t := range s.Tags {
			if n := strings.TrimSpace(t.Name); n != "" && !slices.Contains(tags, n) {
				tags = append(tags, n)
			}
		}
		slices.Sort(tags)
		out["tags"] = tags
	}
	if in.has("custom_fields") {
		fields := map[string]any{}
		for _, f := range s.CustomFields {
			if f.Value.IsNull() || strings.TrimSpace(f.Name) == "" {
				continue // empty in Manychat (null, or a {{cuf_N}} placeholder)
			}
			var v any
			if err := json.Unmarshal(f.Value.Raw(), &v); err == nil {
				fields[f.Name] = v
			}
		}
		out["custom_fields"] = fields
	}
	return out
}

// UpsertResult says what an upsert did.
type UpsertResult struct {
	Contact *core.Record
	Created bool
	// Applied is false when the data was older than what is stored (by Manychat's last_interaction).
	Applied bool
	Changed bool
}

// Upsert applies Manychat's view of a subscriber to the workspace's contact, creating it when new. Run it in a
// transaction: PocketBase's single writer serialises transactions, so concurrent upserts of one subscriber
// make one contact. Manychat-owned fields change only when the data's last_interaction is not older than the
// last applied one; local fields are never changed here. Events come from the contacts hooks.
func Upsert(tx core.App, workspace string, in Incoming, actor platform.Actor) (*UpsertResult, error) {
	sid := in.Sub.ID.String()
	if in.Sub.ID <= 0 {
		return nil, errors.New("crm: the subscriber has no id")
	}
	res := &UpsertResult{}
	c, err := FindBySubscriber(tx, workspace, sid)
	if err != nil {
		coll, cerr := tx.FindCachedCollectionByNameOrId(collections.Contacts)
		if cerr != nil {
			return nil, cerr
		}
		c = core.NewRecord(coll)
		c.Set("workspace", workspace)
		c.Set("subscriber_id", sid)
		c.Set("source", "manychat")
		c.Set("tags", []string{})
		c.Set("custom_fields", map[string]any{})
		c.Set("local_tags", []string{})
		res.Created = true
	}
	res.Contact = c
	incomingAt := in.lastInteraction()
	storedAt := c.GetDateTime("mc_last_interaction_at").Time()
	if !incomingAt.IsZero() && !storedAt.IsZero() && incomingAt.Before(storedAt) {
		return res, nil // stale: a newer state of this subscriber was applied already
	}
	res.Applied = true
	fieldsChanged := false
	for field, v := range in.values() {
		if res.Created || !equalJSON(c.Get(field), v) { // a new contact takes every value as it comes
			c.Set(field, v)
			fieldsChanged = true
		}
	}
	res.Changed = fieldsChanged
	if !incomingAt.IsZero() {
		if !incomingAt.Equal(storedAt) {
			c.Set("mc_last_interaction_at", incomingAt.UTC())
			res.Changed = true
		}
		if cur := c.GetDateTime("last_interaction_at").Time(); incomingAt.After(cur) {
			c.Set("last_interaction_at", incomingAt.UTC())
			res.Changed = true
		}
	}
	if !res.Changed && !res.Created {
		return res, nil
	}
	if !fieldsChanged && !res.Created {
		// Only Manychat's clock moved (the usual repeated push): no tracked field, event or index changes, so a
		// plain UPDATE skips the record pipeline.
		_, err := tx.NonconcurrentDB().NewQuery("UPDATE contacts SET mc_last_interaction_at = {:mc}, last_interaction_at = {:li} WHERE id = {:id}").
			Bind(dbx.Params{"mc": dt(incomingAt), "li": c.GetDateTime("last_interaction_at").String(), "id": c.Id}).Execute()
		return res, err
	}
	platform.WithActor(c, actor)
	if err := tx.Save(c); err != nil {
		return nil, err
	}
	return res, nil
}

// FindBySubscriber loads the workspace's contact of a Manychat subscriber id with one indexed query (no filter
// parsing: this is on every hot Manychat route).
func FindBySubscriber(app core.App, workspace, subscriberID string) (*core.Record, error) {
	c := &core.Record{}
	err := app.RecordQuery(collections.Contacts).
		AndWhere(dbx.HashExp{"workspace": workspace, "subscriber_id": subscriberID}).Limit(1).One(c)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// resolveSubscriber is platform.ResolveContact with the fast lookup first.
func resolveSubscriber(tx core.App, workspace, subscriberID string) (*core.Record, error) {
	if c, err := FindBySubscriber(tx, workspace, subscriberID); err == nil {
		return c, nil
	}
	return platform.ResolveContact(tx, workspace, platform.ContactRef{SubscriberID: subscriberID}, nil)
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(normalizeJSON(a))
	jb, _ := json.Marshal(normalizeJSON(b))
	return bytes.Equal(ja, jb)
}

// normalizeJSON decodes PocketBase's JSONRaw so values compare by content.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case types.JSONRaw:
		if len(x) == 0 {
			return nil
		}
		var out any
		_ = json.Unmarshal(x, &out)
		return out
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// StringList reads a tag list field: names, or {"name": …} objects (Manychat's tag shape), as names.
func StringList(r *core.Record, field string) []string {
	return tagList(r.GetString(field))
}

// tagList reads a stored tag list (JSON text) as names.
func tagList(stored string) []string {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(stored), &raw); err != nil {
		return nil
	}
	out := make([]string, 0, len(raw))
	for _, item := range raw {
		if name, ok := tagName(item); ok {
			out = append(out, name)
		}
	}
	return out
}

// tagName reads one tag list item; ok is false for anything but a non-empty name or {"name": …}.
func tagName(item json.RawMessage) (string, bool) {
	var name string
	if json.Unmarshal(item, &name) != nil {
		var obj struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(item, &obj) != nil {
			return "", false
		}
		name = obj.Name
	}
	name = strings.TrimSpace(name)
	return name, name != "" && len(name) <= 200
}

// ValidTagList reports whether raw is null or a list of tag names / {"name": …} objects.
func ValidTagList(raw []byte) bool {
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return true
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return false
	}
	for _, it := range items {
		if _, ok := tagName(it); !ok {
			return false
		}
	}
	return true
}

// FieldMap reads the custom_fields JSON object.
func FieldMap(r *core.Record) map[string]any {
	return fieldMap(r.GetString("custom_fields"))
}

// fieldMap reads a stored custom_fields object (JSON text).
func fieldMap(stored string) map[string]any {
	out := map[string]any{}
	if json.Unmarshal([]byte(stored), &out) != nil || out == nil {
		return map[string]any{} // not an object, or null
	}
	return out
}

// AllTags is the contact's Manychat tags and local tags together.
func AllTags(r *core.Record) []string {
	return append(StringList(r, "tags"), StringList(r, "local_tags")...)
}

// State is the tracked part of a contact flattened for snapshots and diffs: custom fields become
// "custom_fields.NAME" keys; empty values are left out.
func State(r *core.Record) map[string]any {
	out := map[string]any{}
	for _, f := range TrackedFields {
		switch f {
		case "custom_fields":
			for k, v := range FieldMap(r) {
				out["custom_fields."+k] = v
			}
		case "tags", "local_tags":
			if l := StringList(r, f); len(l) > 0 {
				slices.Sort(l)
				out[f] = l
			}
		default:
			if s := r.GetString(f); s != "" {
				out[f] = s
			}
		}
	}
	return out
}

// Unflatten turns a State back into the API shape.
func Unflatten(state map[string]any) map[string]any {
	out := map[string]any{"custom_fields": map[string]any{}, "tags": []any{}, "local_tags": []any{}}
	for _, f := range TrackedFields {
		if f != "custom_fields" && f != "tags" && f != "local_tags" {
			out[f] = ""
		}
	}
	for k, v := range state {
		if name, ok := strings.CutPrefix(k, "custom_fields."); ok {
			out["custom_fields"].(map[string]any)[name] = v
			continue
		}
		out[k] = v
	}
	return out
}

// Diff is what changed from one state to the next.
type Diff struct {
	Set   map[string]any `json:"set,omitempty"`
	Unset []string       `json:"unset,omitempty"`
}

// Empty reports a diff without changes.
func (d Diff) Empty() bool { return len(d.Set) == 0 && len(d.Unset) == 0 }

// DiffStates computes next - prev.
func DiffStates(prev, next map[string]any) Diff {
	d := Diff{Set: map[string]any{}}
	for k, v := range next {
		if old, ok := prev[k]; !ok || !equalJSON(old, v) {
			d.Set[k] = v
		}
	}
	for k := range prev {
		if _, ok := next[k]; !ok {
			d.Unset = append(d.Unset, k)
		}
	}
	slices.Sort(d.Unset)
	return d
}

// Apply returns state with d applied.
func (d Diff) Apply(state map[string]any) map[string]any {
	out := maps.Clone(state)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, d.Set)
	for _, k := range d.Unset {
		delete(out, k)
	}
	return out
}

// IndexContact writes the contact's search rows: its full-text row (contacts_fts) and its attribute row
// (contacts_attrs_fts, a token per tag and field value), both under the rowid its contacts_fts_map row gives it
// in its workspace's range. The contacts hooks call it in the transaction of every save; text and attrs say
// which of the two changed.
func IndexContact(tx core.App, r *core.Record, isNew, text, attrs bool) error {
	if !text && !attrs {
		return nil
	}
	db := tx.NonconcurrentDB()
	rid, fresh, err := searchRow(tx, r, isNew)
	if err != nil {
		return fmt.Errorf("indexing contact: %w", err)
	}
	if fresh { // a new row needs both parts
		text, attrs = true, true
	}
	if text {
		if !fresh {
			if _, err := db.NewQuery("DELETE FROM contacts_fts WHERE rowid = {:rid}").Bind(dbx.Params{"rid": rid}).Execute(); err != nil {
				return fmt.Errorf("indexing contact: %w", err)
			}
		}
		if err := insertFTS(db, rid, r); err != nil {
			return err
		}
	}
	if attrs {
		if !fresh {
			if _, err := db.NewQuery("DELETE FROM contacts_attrs_fts WHERE rowid = {:rid}").Bind(dbx.Params{"rid": rid}).Execute(); err != nil {
				return fmt.Errorf("indexing contact attributes: %w", err)
			}
		}
		_, err := db.NewQuery("INSERT INTO contacts_attrs_fts (rowid, attrs) VALUES ({:rid}, {:attrs})").
			Bind(dbx.Params{"rid": rid, "attrs": contactattr.Text(attrsOf(r))}).Execute()
		if err != nil {
			return fmt.Errorf("indexing contact attributes: %w", err)
		}
	}
	return nil
}

// searchRow returns the contact's rowid in the search tables; fresh means it was claimed just now, so no
// search rows exist under it yet. A new contact claims one (unless its id was used before by a contact deleted
// without the hooks); a stored one reads its own, or claims one if it never had any.
func searchRow(tx core.App, r *core.Record, isNew bool) (rid int64, fresh bool, err error) {
	if isNew {
		if rid, fresh, err = claimFTSRow(tx, r); err != nil || fresh {
			return rid, fresh, err
		}
	}
	err = tx.NonconcurrentDB().NewQuery("SELECT rid FROM contacts_fts_map WHERE contact = {:c}").Bind(dbx.Params{"c": r.Id}).Row(&rid)
	if !errors.Is(err, sql.ErrNoRows) {
		return rid, false, err
	}
	if rid, fresh, err = claimFTSRow(tx, r); err == nil && !fresh {
		err = errors.New("the contact's search row appeared meanwhile")
	}
	return rid, fresh, err
}

// ftsSpan is the width of a workspace's rowid range in contacts_fts.
const ftsSpan = int64(1) << 32

type ftsNumbers struct{ m sync.Map } // workspace id → its committed number

// ftsRange is the rowid range [lo, hi) of the workspace's full-text rows (see migration 1764000502). With
// create, a workspace without a number gets one in tx; ok is false when it has none. Numbers never change
// once committed, so they are cached after their transaction commits.
func ftsRange(tx core.App, ws string, create bool) (lo, hi int64, ok bool, err error) {
	cache := tx.Store().GetOrSet(storeFTS, func() any { return &ftsNumbers{} }).(*ftsNumbers)
	if n, found := cache.m.Load(ws); found {
		return n.(int64) * ftsSpan, (n.(int64) + 1) * ftsSpan, true, nil
	}
	db := tx.NonconcurrentDB()
	if create {
		if _, err := db.NewQuery("INSERT OR IGNORE INTO contacts_fts_ws (workspace) VALUES ({:ws})").Bind(dbx.Params{"ws": ws}).Execute(); err != nil {
			return 0, 0, false, err
		}
	} else {
		db = tx.DB()
	}
	var n int64
	err = db.NewQuery("SELECT n FROM contacts_fts_ws WHERE workspace = {:ws}").Bind(dbx.Params{"ws": ws}).Row(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	if info := tx.TxInfo(); info != nil {
		info.OnComplete(func(txErr error) error {
			if txErr == nil {
				cache.m.Store(ws, n)
			}
			return nil
		})
	} else {
		cache.m.Store(ws, n)
	}
	return n * ftsSpan, (n + 1) * ftsSpan, true, nil
}

// claimFTSRow gives the contact a map row with the next rowid of its workspace's range; claimed is false when
// the contact had one already.
func claimFTSRow(tx core.App, r *core.Record) (rid int64, claimed bool, err error) {
	lo, hi, _, err := ftsRange(tx, r.GetString("workspace"), true)
	if err != nil {
		return 0, false, err
	}
	res, err := tx.NonconcurrentDB().NewQuery(`INSERT OR IGNORE INTO contacts_fts_map (rid, contact)
		VALUES ((SELECT COALESCE(MAX(rid), {:lo}) FROM contacts_fts_map WHERE rid >= {:lo} AND rid < {:hi}) + 1, {:c})`).
		Bind(dbx.Params{"lo": lo, "hi": hi, "c": r.Id}).Execute()
	if err != nil {
		return 0, false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, false, nil
	}
	if rid, err = res.LastInsertId(); err == nil && rid >= hi {
		err = errors.New("the workspace's search range is full")
	}
	return rid, err == nil, err
}

// insertFTS writes the contact's full-text row under rid.
func insertFTS(db dbx.Builder, rid int64, r *core.Record) error {
	phone := r.GetString("phone")
	_, err := db.NewQuery(`INSERT INTO contacts_fts (rowid, name, ig_username, email, phone, phone_digits)
		VALUES ({:rid}, {:name}, {:ig}, {:email}, {:phone}, {:digits})`).Bind(dbx.Params{
		"rid": rid, "name": r.GetString("name") + " " + r.GetString("first_name") + " " + r.GetString("last_name"),
		"ig": r.GetString("ig_username"), "email": r.GetString("email"), "phone": phone, "digits": digitsOnly(phone),
	}).Execute()
	if err != nil {
		return fmt.Errorf("indexing contact: %w", err)
	}
	return nil
}

// attrsOf lists the contact's attributes for the search: its tags (Manychat's and local ones, normalised) and
// its custom fields (normalised name and value).
func attrsOf(r *core.Record) []contactattr.Attr {
	seen := map[contactattr.Attr]bool{}
	var out []contactattr.Attr
	add := func(a contactattr.Attr) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, t := range AllTags(r) {
		if k := autoreply.Normalize(t); k != "" {
			add(contactattr.Attr{Kind: contactattr.Tag, Name: k})
		}
	}
	for k, v := range FieldMap(r) {
		add(contactattr.Attr{Kind: contactattr.Field, Name: autoreply.Normalize(k), Value: autoreply.Normalize(autoreply.ValueText(v))})
	}
	return out
}

// UnindexContact removes a deleted contact's search rows.
func UnindexContact(tx core.App, id string) error {
	db := tx.NonconcurrentDB()
	p := dbx.Params{"c": id}
	for _, q := range []string{
		"DELETE FROM contacts_fts WHERE rowid IN (SELECT rid FROM contacts_fts_map WHERE contact = {:c})",
		"DELETE FROM contacts_attrs_fts WHERE rowid IN (SELECT rid FROM contacts_fts_map WHERE contact = {:c})",
		"DELETE FROM contacts_fts_map WHERE contact = {:c}",
	} {
		if _, err := db.NewQuery(q).Bind(p).Execute(); err != nil {
			return err
		}
	}
	return nil
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
