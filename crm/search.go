package crm

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/autoreply"
	"github.com/playgram/playgram/internal/contactattr"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Query is a contact search: full text, tags (all of them), custom field values, activity and order.
type Query struct {
	Q           string            `json:"q,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	ActiveSince time.Time         `json:"active_since,omitzero"`
	// ActiveBefore keeps contacts inactive since then: last interaction before it, or none at all.
	ActiveBefore time.Time `json:"active_before,omitzero"`
	Sort         string    `json:"sort,omitempty"`
	Page         int       `json:"page,omitempty"`
	PerPage      int       `json:"per_page,omitempty"`
}

// Sorts maps the accepted sort values to their SQL; each has an index on (workspace, column).
var Sorts = map[string]string{
	"last_interaction_at":  "c.last_interaction_at ASC",
	"-last_interaction_at": "c.last_interaction_at DESC",
	"engagement_score":     "c.engagement_score ASC",
	"-engagement_score":    "c.engagement_score DESC",
	"name":                 "c.name ASC",
	"-name":                "c.name DESC",
	"created":              "c.created ASC",
	"-created":             "c.created DESC",
	"relevance":            "contacts_fts.rank",
	// With q alone, -created is the index order (contacts are indexed when created): the fast default.
}

// MaxPerPage bounds a page of search results.
const MaxPerPage = 200

// ParseQuery reads q, tags (comma-separated), field.NAME, active_since and active_before (RFC 3339 or
// YYYY-MM-DD), active_days and inactive_days (relative to now: a saved search keeps meaning "the last N days"),
// sort, page and per_page; problems are keyed by parameter.
func ParseQuery(v url.Values) (Query, map[string]string) {
	q := Query{Q: strings.TrimSpace(v.Get("q")), Sort: v.Get("sort"), Fields: map[string]string{}}
	problems := map[string]string{}
	if len(q.Q) > 200 {
		problems["q"] = "must be at most 200 characters"
	}
	for _, t := range strings.Split(v.Get("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			q.Tags = append(q.Tags, t)
		}
	}
	for k, vals := range v {
		if name, ok := strings.CutPrefix(k, "field."); ok && len(vals) > 0 {
			if name == "" {
				problems[k] = "names no field"
				continue
			}
			q.Fields[name] = vals[0]
		}
	}
	for name, dst := range map[string]*time.Time{"active_since": &q.ActiveSince, "active_before": &q.ActiveBefore} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t, err = time.Parse("2006-01-02", s)
			}
			if err != nil {
				problems[name] = "must be a date (YYYY-MM-DD) or an RFC 3339 time"
			}
			*dst = t
		}
	}
	for name, dst := range map[string]*time.Time{"active_days": &q.ActiveSince, "inactive_days": &q.ActiveBefore} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 3650 {
				problems[name] = "must be a whole number of days from 1 to 3650"
				continue
			}
			*dst = time.Now().AddDate(0, 0, -n)
		}
	}
	if q.Sort != "" {
		if _, ok := Sorts[q.Sort]; !ok {
			problems["sort"] = "must be one of relevance, [-]last_interaction_at, [-]engagement_score, [-]name, [-]created"
		} else if q.Sort == "relevance" && q.Q == "" {
			problems["sort"] = "relevance needs q"
		}
	}
	for name, dst := range map[string]*int{"page": &q.Page, "per_page": &q.PerPage} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || (name == "per_page" && n > MaxPerPage) {
				problems[name] = fmt.Sprintf("must be a whole number from 1%s", map[bool]string{true: fmt.Sprintf(" to %d", MaxPerPage), false: ""}[name == "per_page"])
			}
			*dst = n
		}
	}
	return q, problems
}

// Values is the query as URL parameters (what a saved search stores).
func (q Query) Values() url.Values {
	v := url.Values{}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if len(q.Tags) > 0 {
		v.Set("tags", strings.Join(q.Tags, ","))
	}
	for k, val := range q.Fields {
		v.Set("field."+k, val)
	}
	if !q.ActiveSince.IsZero() {
		v.Set("active_since", q.ActiveSince.UTC().Format(time.RFC3339))
	}
	if !q.ActiveBefore.IsZero() {
		v.Set("active_before", q.ActiveBefore.UTC().Format(time.RFC3339))
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	return v
}

// matchExpr turns free text into an FTS5 query: every word as a prefix, all required. Tenancy is the rowid
// range of the workspace (ftsRange), which FTS5 seeks within each doclist.
func matchExpr(text string) string {
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return ""
	}
	if len(words) > 8 {
		words = words[:8]
	}
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = `"` + w + `"*`
	}
	return `{name ig_username email phone phone_digits}: (` + strings.Join(parts, " ") + ")"
}

// where builds the FROM/WHERE of a search; ok is false when nothing can match.
func (q Query) where(app core.App, ws string) (from string, where []string, params dbx.Params, ok bool, err error) {
	params = dbx.Params{"ws": ws}
	from = "contacts c"
	where = []string{"c.workspace = {:ws}"}
	if q.Q != "" {
		expr := matchExpr(q.Q)
		if expr == "" {
			return "", nil, nil, false, nil
		}
		lo, hi, indexed, err := ftsRange(app, ws, false)
		if err != nil || !indexed {
			return "", nil, nil, false, err
		}
		params["q"], params["lo"], params["hi"] = expr, lo, hi
		from = `contacts_fts JOIN contacts_fts_map m ON m.rid = contacts_fts.rowid JOIN contacts c ON c.id = m.contact`
		where = append(where, "contacts_fts MATCH {:q} AND contacts_fts.rowid >= {:lo} AND contacts_fts.rowid < {:hi}")
	}
	var attrs []contactattr.Attr
	for _, t := range q.Tags {
		attrs = append(attrs, contactattr.Attr{Kind: contactattr.Tag, Name: autoreply.Normalize(t)})
	}
	for name, val := range q.Fields {
		attrs = append(attrs, contactattr.Attr{Kind: contactattr.Field, Name: autoreply.Normalize(name), Value: autoreply.Normalize(val)})
	}
	if len(attrs) > 0 {
		lo, hi, indexed, err := ftsRange(app, ws, false)
		if err != nil || !indexed {
			return "", nil, nil, false, err
		}
		params["attrs"], params["alo"], params["ahi"] = contactattr.Match(attrs), lo, hi
		where = append(where, `c.id IN (SELECT am.contact FROM contacts_attrs_fts a JOIN contacts_fts_map am ON am.rid = a.rowid
			WHERE contacts_attrs_fts MATCH {:attrs} AND a.rowid >= {:alo} AND a.rowid < {:ahi})`)
	}
	if !q.ActiveSince.IsZero() {
		params["since"] = dt(q.ActiveSince)
		where = append(where, "c.last_interaction_at >= {:since}")
	}
	if !q.ActiveBefore.IsZero() {
		params["before"] = dt(q.ActiveBefore)
		where = append(where, "(c.last_interaction_at < {:before} OR c.last_interaction_at IS NULL)")
	}
	return from, where, params, true, nil
}

// SearchResult is one page.
type SearchResult struct {
	Page    int             `json:"page"`
	PerPage int             `json:"per_page"`
	Total   int             `json:"total"`
	Items   []ContactFields `json:"-"`
}

// Search runs q in workspace.
func Search(app core.App, ws string, q Query) (*SearchResult, error) {
	res := &SearchResult{Page: max(q.Page, 1), PerPage: q.PerPage}
	if res.PerPage <= 0 {
		res.PerPage = 50
	}
	from, where, params, ok, err := q.where(app, ws)
	if err != nil || !ok {
		return res, err
	}
	cond := strings.Join(where, " AND ")
	sort := q.Sort
	if sort == "" {
		sort = "-last_interaction_at"
		if q.Q != "" {
			sort = "-created"
		}
	}
	if q.Q != "" && len(q.Tags) == 0 && len(q.Fields) == 0 && q.ActiveSince.IsZero() && q.ActiveBefore.IsZero() && (sort == "-created" || sort == "relevance") {
		return searchText(app, res, params, sort)
	}
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM " + from + " WHERE " + cond).Bind(params).Row(&res.Total); err != nil {
		return nil, err
	}
	if res.Total == 0 {
		return res, nil
	}
	params["limit"], params["offset"] = res.PerPage, (res.Page-1)*res.PerPage
	var ids []string
	err = app.DB().NewQuery("SELECT c.id FROM " + from + " WHERE " + cond + " ORDER BY " + Sorts[sort] + ", c.id LIMIT {:limit} OFFSET {:offset}").
		Bind(params).Column(&ids)
	if err != nil {
		return nil, err
	}
	return loadPage(app, res, ids)
}

// searchText answers a text-only search from the FTS index alone: the count and the page come from the match
// (newest contacts first, or by bm25 relevance), and only the page's contacts are read.
func searchText(app core.App, res *SearchResult, params dbx.Params, sort string) (*SearchResult, error) {
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM contacts_fts WHERE contacts_fts MATCH {:q} AND rowid >= {:lo} AND rowid < {:hi}").Bind(params).Row(&res.Total); err != nil {
		return nil, err
	}
	if res.Total == 0 {
		return res, nil
	}
	order := "rowid DESC"
	if sort == "relevance" {
		order = "rank"
	}
	params["limit"], params["offset"] = res.PerPage, (res.Page-1)*res.PerPage
	var rids []int64
	err := app.DB().NewQuery("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH {:q} AND rowid >= {:lo} AND rowid < {:hi} ORDER BY " + order + " LIMIT {:limit} OFFSET {:offset}").
		Bind(params).Column(&rids)
	if err != nil || len(rids) == 0 {
		return res, err
	}
	in := make([]any, len(rids))
	for i, r := range rids {
		in[i] = r
	}
	var rows []struct {
		Rid     int64  `db:"rid"`
		Contact string `db:"contact"`
	}
	if err := app.DB().Select("rid", "contact").From("contacts_fts_map").Where(dbx.In("rid", in...)).All(&rows); err != nil {
		return nil, err
	}
	byRid := make(map[int64]string, len(rows))
	for _, r := range rows {
		byRid[r.Rid] = r.Contact
	}
	ids := make([]string, 0, len(rids))
	for _, r := range rids {
		if id, ok := byRid[r]; ok {
			ids = append(ids, id)
		}
	}
	return loadPage(app, res, ids)
}

// contactRow is the part of a stored contact that ContactJSON shows, read without building a record.
type contactRow struct {
	ID              string  `db:"id"`
	SubscriberID    string  `db:"subscriber_id"`
	IGUsername      string  `db:"ig_username"`
	Name            string  `db:"name"`
	FirstName       string  `db:"first_name"`
	LastName        string  `db:"last_name"`
	Email           string  `db:"email"`
	Phone           string  `db:"phone"`
	Timezone        string  `db:"timezone"`
	Notes           string  `db:"notes"`
	Source          string  `db:"source"`
	Tags            string  `db:"tags"`
	LocalTags       string  `db:"local_tags"`
	CustomFields    string  `db:"custom_fields"`
	EngagementScore float64 `db:"engagement_score"`
	LastInteraction string  `db:"last_interaction_at"`
	Created         string  `db:"created"`
	Updated         string  `db:"updated"`
}

// GetString and GetFloat read a field like core.Record's getters (for ContactJSON).
func (c *contactRow) GetString(key string) string {
	switch key {
	case "id":
		return c.ID
	case "subscriber_id":
		return c.SubscriberID
	case "ig_username":
		return c.IGUsername
	case "name":
		return c.Name
	case "first_name":
		return c.FirstName
	case "last_name":
		return c.LastName
	case "email":
		return c.Email
	case "phone":
		return c.Phone
	case "timezone":
		return c.Timezone
	case "notes":
		return c.Notes
	case "source":
		return c.Source
	case "tags":
		return c.Tags
	case "local_tags":
		return c.LocalTags
	case "custom_fields":
		return c.CustomFields
	case "last_interaction_at":
		return c.LastInteraction
	case "created":
		return c.Created
	case "updated":
		return c.Updated
	}
	return ""
}

func (c *contactRow) GetFloat(key string) float64 {
	if key == "engagement_score" {
		return c.EngagementScore
	}
	return 0
}

// loadPage reads the page's contacts in the order of ids, as plain rows: a search page shows 50 to 200
// contacts, and building PocketBase records for them cost as much as the search itself.
func loadPage(app core.App, res *SearchResult, ids []string) (*SearchResult, error) {
	if len(ids) == 0 {
		return res, nil
	}
	in := make([]any, len(ids))
	for i, id := range ids {
		in[i] = id
	}
	var rows []*contactRow
	err := app.DB().Select("id", "subscriber_id", "ig_username", "name", "first_name", "last_name", "email", "phone", "timezone", "notes", "source",
		"COALESCE(tags, 'null') AS tags", "COALESCE(local_tags, 'null') AS local_tags", "COALESCE(custom_fields, 'null') AS custom_fields",
		"engagement_score", "last_interaction_at", "created", "updated").
		From(collections.Contacts).Where(dbx.In("id", in...)).All(&rows)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*contactRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			res.Items = append(res.Items, r)
		}
	}
	return res, nil
}

// MatchingIDs lists the ids of every contact matching q (at most limit), for actions on a filtered set.
func MatchingIDs(app core.App, ws string, q Query, limit int) ([]string, error) {
	from, where, params, ok, err := q.where(app, ws)
	if err != nil || !ok {
		return nil, err
	}
	params["limit"] = limit
	var ids []string
	err = app.DB().NewQuery("SELECT c.id FROM " + from + " WHERE " + strings.Join(where, " AND ") + " ORDER BY c.id LIMIT {:limit}").Bind(params).Column(&ids)
	return ids, err
}

// ContactFields is a contact as ContactJSON reads it: a *core.Record, or a row of a search page.
type ContactFields interface {
	GetString(key string) string
	GetFloat(key string) float64
}

// ContactJSON is the API shape of a contact.
func ContactJSON(r ContactFields) map[string]any {
	out := map[string]any{"id": r.GetString("id")}
	for _, f := range []string{"subscriber_id", "ig_username", "name", "first_name", "last_name", "email", "phone", "timezone", "notes", "source"} {
		out[f] = r.GetString(f)
	}
	tags, local := tagList(r.GetString("tags")), tagList(r.GetString("local_tags"))
	if tags == nil {
		tags = []string{}
	}
	if local == nil {
		local = []string{}
	}
	out["tags"], out["local_tags"], out["custom_fields"] = tags, local, fieldMap(r.GetString("custom_fields"))
	out["engagement_score"] = r.GetFloat("engagement_score")
	for _, f := range []string{"last_interaction_at", "created", "updated"} {
		if t, _ := types.ParseDateTime(r.GetString(f)); !t.IsZero() {
			out[f] = t.Time().UTC().Format(time.RFC3339)
		} else {
			out[f] = nil
		}
	}
	return out
}
