package webhooks

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/search"
)

// An endpoint's filter is a PocketBase filter over the payload {"type","timestamp","data"}: it may name
// `type` and `data.<path>` (object keys and array indexes separated by dots, e.g. data.items.0.sku), with
// PocketBase's operators (=, !=, >, >=, <, <=, ~, !~, && and ||, parentheses). As with PocketBase's own JSON
// fields, an array or object compares as its JSON text, so `data.tags ~ '"vip"'` tests membership. Fan-out
// evaluates the filter in SQLite against the events log itself, one query per endpoint and batch of events.

// payloadResolver resolves filter fields to columns of the events table.
type payloadResolver struct{}

func (payloadResolver) UpdateQuery(*dbx.SelectQuery) error { return nil }

func (payloadResolver) Resolve(field string) (*search.ResolverResult, error) {
	if field == "type" {
		return &search.ResolverResult{Identifier: "[[" + collections.Events + ".type]]"}, nil
	}
	path, ok := strings.CutPrefix(field, "data.")
	if !ok || path == "" {
		return nil, fmt.Errorf("unknown field %q: a filter can use type and data.<path>", field)
	}
	var jp strings.Builder
	jp.WriteString("$")
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			return nil, fmt.Errorf("%q has an empty segment", field)
		}
		if n, err := strconv.Atoi(seg); err == nil && n >= 0 && strconv.Itoa(n) == seg {
			jp.WriteString("[" + seg + "]")
			continue
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return nil, fmt.Errorf("%q: data paths use letters, digits and _ separated by dots", field)
			}
		}
		jp.WriteString("." + seg)
	}
	return &search.ResolverResult{
		Identifier: "JSON_EXTRACT([[" + collections.Events + ".data]], '" + jp.String() + "')",
	}, nil
}

func filterExpr(filter string) (dbx.Expression, error) {
	return search.FilterData(filter).BuildExpr(payloadResolver{})
}

// CheckFilter parses a filter and has SQLite compile it, so a saved filter cannot fail at fan-out.
func CheckFilter(app core.App, filter string) error {
	expr, err := filterExpr(filter)
	if err != nil {
		return cleanFilterError(err)
	}
	var one int64
	err = app.DB().Select("rowid").From(collections.Events).Where(dbx.NewExp("0")).AndWhere(expr).Limit(1).Row(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("the filter does not compile: %v", err)
	}
	return nil
}

func cleanFilterError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "unknown field"); i >= 0 {
		msg = msg[i:]
	}
	return errors.New(msg)
}

// filterMatches returns which events of ws in the rowid range (lo, hi] the filter selects.
func filterMatches(app core.App, filter, ws string, lo, hi int64) (map[int64]bool, error) {
	expr, err := filterExpr(filter)
	if err != nil {
		return nil, err
	}
	var ids []int64
	err = app.NonconcurrentDB().Select("rowid").From(collections.Events).
		Where(dbx.NewExp("rowid > {:lo} AND rowid <= {:hi} AND workspace = {:ws}", dbx.Params{"lo": lo, "hi": hi, "ws": ws})).
		AndWhere(expr).Column(&ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
