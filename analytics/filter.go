package analytics

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
)

// Filter is a condition on one field of an event's data: {"field":"channel","op":"eq","value":"instagram"}.
type Filter struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value any    `json:"value"`
}

// FilterOps are the comparisons a filter may use.
var FilterOps = []string{"eq", "neq", "gt", "gte", "lt", "lte", "in", "exists"}

var fieldPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// ValidField reports whether name is a data field path (letters, digits, underscores, dots).
func ValidField(name string) bool { return len(name) <= 100 && fieldPattern.MatchString(name) }

// Validate checks a filter's shape.
func (f Filter) Validate() error {
	if !ValidField(f.Field) {
		return fmt.Errorf("field must be a data field path such as channel or order.total")
	}
	switch f.Op {
	case "eq", "neq":
	case "gt", "gte", "lt", "lte":
		if _, ok := number(f.Value); !ok {
			return fmt.Errorf("%s needs a number", f.Op)
		}
	case "in":
		if _, ok := f.Value.([]any); !ok {
			return fmt.Errorf("in needs a list")
		}
	case "exists":
	default:
		return fmt.Errorf("op must be one of %s", strings.Join(FilterOps, ", "))
	}
	return nil
}

// Match applies the filter to the field's value as SQLite's json_extract returned it (nil when absent).
func (f Filter) Match(v any) bool {
	switch f.Op {
	case "exists":
		return v != nil
	case "eq":
		return equal(v, f.Value)
	case "neq":
		return !equal(v, f.Value)
	case "in":
		list, _ := f.Value.([]any)
		for _, x := range list {
			if equal(v, x) {
				return true
			}
		}
		return false
	}
	a, ok1 := number(v)
	b, ok2 := number(f.Value)
	if !ok1 || !ok2 {
		return false
	}
	switch f.Op {
	case "gt":
		return a > b
	case "gte":
		return a >= b
	case "lt":
		return a < b
	case "lte":
		return a <= b
	}
	return false
}

func equal(v, want any) bool {
	if v == nil || want == nil {
		return v == nil && want == nil
	}
	if a, ok := number(v); ok {
		if b, ok := number(want); ok {
			return a == b
		}
	}
	if b, ok := want.(bool); ok {
		n, isNum := number(v)
		return isNum && (n == 1) == b
	}
	return text(v) == text(want)
}

// number reads SQLite and JSON numbers (and numeric strings, as shops send "12.50").
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	case []byte:
		f, err := strconv.ParseFloat(strings.TrimSpace(string(x)), 64)
		return f, err == nil
	}
	return 0, false
}

func text(v any) string {
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

// jsonPath is the json_extract path of a field.
func jsonPath(field string) string { return "$." + field }

// sqlCond is a condition SQLite can test on the index's data column that keeps exactly the events Match keeps,
// so rows that fail never reach Go; "" when the filter has no such form (numeric and boolean comparisons, whose
// coercions Match does in Go). Match still runs on the rows that pass.
func (f Filter) sqlCond(params dbx.Params, name string) string {
	col := "json_extract(data, '" + jsonPath(f.Field) + "')"
	switch f.Op {
	case "exists":
		return col + " IS NOT NULL"
	case "eq":
		if s, ok := plainText(f.Value); ok {
			params[name] = s
			return col + " = {:" + name + "}"
		}
	case "in":
		list, _ := f.Value.([]any)
		vals := make([]string, 0, len(list))
		for _, x := range list {
			s, ok := plainText(x)
			if !ok {
				return ""
			}
			vals = append(vals, s)
		}
		if len(vals) == 0 {
			return "0"
		}
		return col + " IN (" + inList(name+"_", vals, params) + ")"
	}
	return ""
}

// plainText is a filter value that equal compares as text only: a string that is not a number. json_extract
// gives such a value back as the same TEXT, and no number, boolean, null or JSON array or object text equals it.
func plainText(v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	if _, isNum := number(s); isNum {
		return "", false
	}
	return s, true
}

// sqlConds joins the pushable conditions of filters as " AND ..." ("" when none is).
func sqlConds(filters []Filter, params dbx.Params, prefix string) string {
	var b strings.Builder
	for i, f := range filters {
		if c := f.sqlCond(params, fmt.Sprintf("%s%d", prefix, i)); c != "" {
			b.WriteString(" AND " + c)
		}
	}
	return b.String()
}
