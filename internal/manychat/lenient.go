package manychat

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Live Manychat payloads put null (and sometimes numbers) where the spec
// promises strings, so every scalar in a response is decoded through one of
// these forgiving types. They never fail on a type mismatch: a field that
// cannot be read is left empty, because losing one cosmetic attribute is
// better than failing a whole contact sync.

// lstring reads a string, number or boolean as text; null as "".
type lstring string

func (s *lstring) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = lstring(v)
	case b[0] == '{' || b[0] == '[':
		*s = ""
	default:
		*s = lstring(b)
	}
	return nil
}

// lbool reads true/false, "true"/"false"/"1"/"0", 1/0; anything else is false.
type lbool bool

func (v *lbool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	parsed, err := strconv.ParseBool(s)
	*v = lbool(err == nil && parsed)
	return nil
}

// ltime reads Manychat's W3C datetimes (with offset, optionally with
// fractional seconds) and a few looser layouts seen in exports; null, "" and
// unparsable text are the zero time.
type ltime time.Time

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02",
}

func (t *ltime) UnmarshalJSON(b []byte) error {
	var s lstring
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = ltime(parseTime(string(s)))
	return nil
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			return v
		}
	}
	return time.Time{}
}

// lint reads an integer written as a number or a string; anything else is 0.
type lint int64

func (v *lint) UnmarshalJSON(b []byte) error {
	var id ID
	if id.UnmarshalJSON(b) != nil {
		*v = 0
		return nil
	}
	*v = lint(id)
	return nil
}
