package exports

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ganigeorgiev/fexpr"
	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/export"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/search"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Dataset is an exportable collection with its default columns and the fields retention anonymises.
type Dataset struct {
	Name       string
	Collection string
	Title      string
	Default    []string
	// Personal fields blanked when retention anonymises instead of deleting.
	Personal []string
}

// Datasets are the exportable datasets by name. A new domain adds its own entry.
var Datasets = map[string]Dataset{
	"contacts": {Name: "contacts", Collection: collections.Contacts, Title: "Contacts",
		Default: []string{"id", "subscriber_id", "ig_username", "name", "first_name", "last_name", "email", "phone", "timezone",
			"tags", "local_tags", "custom_fields", "engagement_score", "last_interaction_at", "source", "created", "updated"},
		Personal: []string{"ig_username", "name", "first_name", "last_name", "email", "phone", "notes", "custom_fields", "subscriber_id"}},
	"qr_codes": {Name: "qr_codes", Collection: collections.QRCodes, Title: "QR codes",
		Default:  []string{"id", "code", "status", "label", "tool", "contact", "uses", "max_uses", "expires_at", "revoked_at", "last_scan_at", "created"},
		Personal: []string{"contact", "vars"}},
	"qr_scans": {Name: "qr_scans", Collection: collections.QRScans, Title: "QR scans",
		Default:  []string{"id", "qr", "code", "contact", "status", "valid", "consumed", "device_type", "os", "browser", "located", "lat", "lng", "flags", "created"},
		Personal: []string{"contact", "ip", "user_agent", "device_id", "lat", "lng", "accuracy"}},
	"bookings": {Name: "bookings", Collection: collections.Bookings, Title: "Bookings",
		Default: []string{"id", "tool", "helper", "contact", "start", "end", "status", "seats", "name", "email", "phone", "notes", "tz", "source",
			"confirmed_at", "cancelled_at", "cancel_reason", "created"},
		Personal: []string{"contact", "name", "email", "phone", "notes"}},
	"interactions": {Name: "interactions", Collection: collections.Interactions, Title: "Interactions",
		Default: []string{"id", "contact", "day", "message", "comment", "story_reply", "story_mention", "click", "qr_scan", "booking", "total"}},
	"verifications": {Name: "verifications", Collection: collections.Verifications, Title: "Instagram verifications",
		Default:  []string{"id", "status", "ig_username", "verified_username", "subscriber_id", "contact", "expires_at", "completed_at", "attempts", "failure_reason", "created"},
		Personal: []string{"ig_username", "verified_username", "subscriber_id", "contact", "ip", "metadata"}},
	"webhook_deliveries": {Name: "webhook_deliveries", Collection: collections.WebhookDeliveries, Title: "Webhook deliveries",
		Default: []string{"id", "endpoint", "event", "event_type", "status", "attempts", "last_code", "last_error", "created"}},
}

// DatasetNames lists the datasets in order, for messages.
func DatasetNames() []string {
	names := make([]string, 0, len(Datasets))
	for n := range Datasets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Columns resolves the requested fields (or the defaults) against the collection's schema; hidden and
// unknown fields are refused.
func (d Dataset) Columns(coll *core.Collection, fields []string) ([]export.Column, error) {
	if len(fields) == 0 {
		fields = d.Default
	}
	seen := map[string]bool{}
	cols := make([]export.Column, 0, len(fields))
	for _, name := range fields {
		f := coll.Fields.GetByName(name)
		if f == nil || f.GetHidden() || name == "workspace" {
			return nil, fmt.Errorf("%q is not a field of %s", name, d.Name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%q is listed twice", name)
		}
		seen[name] = true
		cols = append(cols, export.Column{Key: name, Title: name, Kind: kindOf(f)})
	}
	return cols, nil
}

func kindOf(f core.Field) export.Kind {
	switch x := f.(type) {
	case *core.NumberField:
		if x.OnlyInt {
			return export.Int
		}
		return export.Float
	case *core.BoolField:
		return export.Bool
	case *core.DateField, *core.AutodateField:
		return export.Time
	case *core.JSONField:
		return export.JSON
	case *core.SelectField:
		if x.IsMultiple() {
			return export.JSON
		}
	case *core.RelationField:
		if x.IsMultiple() {
			return export.JSON
		}
	case *core.FileField:
		if x.IsMultiple() {
			return export.JSON
		}
	}
	return export.Text
}

// Query is a validated export query: the dataset's rows of one workspace matching a filter.
type Query struct {
	Dataset   Dataset
	Coll      *core.Collection
	Workspace string
	Filter    string
	Consent   string // "", marketing or data_processing: only contacts whose latest consent of that kind is granted
	Columns   []export.Column
}

// PageSize rows are read per query; pages continue after the last (created, id), so each page is an index
// seek and memory stays flat however many rows there are.
const PageSize = 2000

// NewQuery validates a request for dataset rows. Errors name the problem in words a person can act on.
func NewQuery(app core.App, dataset, workspace, filter string, fields []string, consent string) (*Query, error) {
	d, ok := Datasets[dataset]
	if !ok {
		return nil, &FieldError{"dataset", "Must be one of " + strings.Join(DatasetNames(), ", ") + "."}
	}
	coll, err := app.FindCachedCollectionByNameOrId(d.Collection)
	if err != nil {
		return nil, err
	}
	cols, err := d.Columns(coll, fields)
	if err != nil {
		return nil, &FieldError{"fields", err.Error()}
	}
	if consent != "" {
		if dataset != "contacts" {
			return nil, &FieldError{"consent", "Only contacts can be limited to consented records."}
		}
		if consent != collections.ConsentMarketing && consent != collections.ConsentDataProcessing {
			return nil, &FieldError{"consent", "Must be marketing or data_processing."}
		}
	}
	q := &Query{Dataset: d, Coll: coll, Workspace: workspace, Filter: strings.TrimSpace(filter), Consent: consent, Columns: cols}
	// Build once to validate the filter.
	if _, err := q.page(app, "", ""); err != nil {
		return nil, &FieldError{"filter", err.Error()}
	}
	return q, nil
}

// FieldError is a validation problem with one request field.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// page builds the query for the rows after (created, id). The filter is PocketBase filter syntax compiled by
// PocketBase's own resolver (bound parameters, never concatenated), ANDed with the workspace condition.
// Filters may name the dataset's fields (and fields of related records) but not @request or @collection,
// which could probe other workspaces.
func (q *Query) page(app core.App, afterCreated, afterID string) (*dbx.SelectQuery, error) {
	t := q.Coll.Name
	selects := make([]string, 0, len(q.Columns)+2)
	for _, c := range q.Columns {
		selects = append(selects, "[["+t+"."+c.Key+"]]")
	}
	selects = append(selects, "[["+t+".created]]", "[["+t+".id]]")
	sq := app.DB().Select(selects...).From(t).AndWhere(dbx.HashExp{t + ".workspace": q.Workspace})
	if q.Filter != "" {
		if err := ownFieldsOnly(q.Filter); err != nil {
			return nil, err
		}
		resolver := core.NewRecordFieldResolver(app, q.Coll, &core.RequestInfo{}, false)
		expr, err := search.FilterData(q.Filter).BuildExpr(resolver)
		if err != nil {
			return nil, fmt.Errorf("is not a valid filter: %w", err)
		}
		sq.AndWhere(expr)
		if err := resolver.UpdateQuery(sq); err != nil {
			return nil, err
		}
	}
	if q.Consent != "" {
		sq.AndWhere(dbx.NewExp("(SELECT [[c.granted]] FROM "+collections.Consents+" c WHERE [[c.contact]] = [["+t+".id]] AND [[c.kind]] = {:consent_kind} ORDER BY [[c.time]] DESC, [[c.created]] DESC LIMIT 1) = 1",
			dbx.Params{"consent_kind": q.Consent}))
	}
	if afterID != "" {
		// A row value seeks the (workspace, created, id) index straight to the next row, ties on created included.
		sq.AndWhere(dbx.NewExp("([["+t+".created]], [["+t+".id]]) > ({:after_c}, {:after_id})",
			dbx.Params{"after_c": afterCreated, "after_id": afterID}))
	}
	sq.OrderBy(t+".created ASC", t+".id ASC").Limit(PageSize)
	return sq, nil
}

// Each streams the rows, page by page, as values typed for export.Writer. It returns the row count.
func (q *Query) Each(app core.App, fn func(values []any) error) (int, error) {
	n := len(q.Columns)
	raw := make([]any, n+2)
	ptrs := make([]any, n+2)
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	values := make([]any, n)
	total := 0
	afterC, afterID := "", ""
	for {
		sq, err := q.page(app, afterC, afterID)
		if err != nil {
			return total, err
		}
		rows, err := sq.Rows()
		if err != nil {
			return total, err
		}
		got := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return total, err
			}
			for i, c := range q.Columns {
				values[i] = convert(c.Kind, raw[i])
			}
			afterC, afterID = asString(raw[n]), asString(raw[n+1])
			if err := fn(values); err != nil {
				rows.Close()
				return total, err
			}
			got++
			total++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return total, err
		}
		if got < PageSize {
			return total, nil
		}
	}
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func convert(k export.Kind, v any) any {
	if v == nil {
		return nil
	}
	switch k {
	case export.Int:
		switch x := v.(type) {
		case int64:
			return x
		case float64:
			return int64(x)
		}
		return nil
	case export.Float:
		switch x := v.(type) {
		case int64:
			return float64(x)
		case float64:
			return x
		}
		return nil
	case export.Bool:
		switch x := v.(type) {
		case int64:
			return x != 0
		case bool:
			return x
		case string:
			return x == "1" || x == "true"
		}
		return false
	case export.Time:
		s := asString(v)
		if s == "" {
			return time.Time{}
		}
		dt, err := types.ParseDateTime(s)
		if err != nil {
			return s
		}
		return dt.Time()
	case export.JSON:
		s := asString(v)
		if s == "null" {
			return ""
		}
		return s
	}
	return asString(v)
}

// ownFieldsOnly refuses identifiers starting with @ (@request, @collection, ...); "@" inside quoted text, as
// in email ~ '@gmail.com', is fine.
func ownFieldsOnly(filter string) error {
	groups, err := fexpr.Parse(filter)
	if err != nil {
		return fmt.Errorf("is not a valid filter: %w", err)
	}
	var check func(t fexpr.Token) error
	check = func(t fexpr.Token) error {
		if t.Type == fexpr.TokenIdentifier && strings.HasPrefix(t.Literal, "@") {
			return fmt.Errorf("filters may use the dataset's fields only (%s is not allowed)", t.Literal)
		}
		if args, ok := t.Meta.([]fexpr.Token); ok {
			for _, a := range args {
				if err := check(a); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var walk func(gs []fexpr.ExprGroup) error
	walk = func(gs []fexpr.ExprGroup) error {
		for _, g := range gs {
			switch x := g.Item.(type) {
			case fexpr.Expr:
				if err := check(x.Left); err != nil {
					return err
				}
				if err := check(x.Right); err != nil {
					return err
				}
			case []fexpr.ExprGroup:
				if err := walk(x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(groups)
}
