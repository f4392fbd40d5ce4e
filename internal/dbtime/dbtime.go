// Package dbtime formats times the way PocketBase stores date fields, so raw SQL can compare them as text.
package dbtime

import "time"

// Layout is PocketBase's stored date layout (types.DefaultDateLayout); it sorts as text in time order.
const Layout = "2006-01-02 15:04:05.000Z"

// Format renders t in UTC in Layout.
func Format(t time.Time) string { return t.UTC().Format(Layout) }

// Parse reads a stored date; the zero time for "".
func Parse(s string) time.Time {
	t, _ := time.Parse(Layout, s)
	return t
}
