package manychat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ID is a Manychat numeric identifier (subscriber, page, tag, field, Instagram
// id). Manychat sends subscriber ids as strings and most others as numbers,
// and some exceed 2^53, so decoding through float64 would corrupt them. ID
// accepts both spellings and null, and always encodes as a JSON number,
// which is what request bodies (subscriber_id, tag_id, field_id) expect.
type ID int64

// ParseID parses a decimal id as Manychat writes it ("713072115").
func ParseID(s string) (ID, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("manychat: %q is not a Manychat id", s)
	}
	return ID(n), nil
}

// String returns the decimal form, as Manychat prints subscriber ids.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// MarshalJSON encodes the id as a JSON number without going through float64.
func (id ID) MarshalJSON() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalJSON accepts 123, "123" and null (zero). An empty string is zero
// too: Manychat leaves ids of unlinked objects blank.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*id = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if strings.TrimSpace(s) == "" {
			*id = 0
			return nil
		}
	}
	v, err := ParseID(s)
	if err != nil {
		return err
	}
	*id = v
	return nil
}
