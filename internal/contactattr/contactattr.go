// Package contactattr turns a contact's tags and custom field values into search tokens, so that filters on
// them ride a full-text index: one row per contact holding all of its tokens costs a fraction of one indexed
// row per tag and field.
package contactattr

import (
	"crypto/sha256"
	"encoding/base32"
	"sort"
	"strings"
)

// Kinds of attributes.
const (
	Tag   = "tag"
	Field = "field"
)

var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Token is the search token of one attribute (a normalised tag name with an empty value, or a normalised
// field name and value): the kind's initial and 96 bits of a hash, letters and digits only, so any text
// survives every tokenizer and no two attributes share a token in practice.
func Token(kind, name, value string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + name + "\x00" + value))
	return kind[:1] + enc.EncodeToString(sum[:12])
}

// Attr is one attribute.
type Attr struct{ Kind, Name, Value string }

// Text is the indexed text of a set of attributes: their tokens, sorted, space-separated.
func Text(attrs []Attr) string {
	toks := make([]string, len(attrs))
	for i, a := range attrs {
		toks[i] = Token(a.Kind, a.Name, a.Value)
	}
	sort.Strings(toks)
	return strings.Join(toks, " ")
}

// Match is the FTS5 expression matching contacts that have every one of attrs ("" for none).
func Match(attrs []Attr) string {
	toks := make([]string, len(attrs))
	for i, a := range attrs {
		toks[i] = Token(a.Kind, a.Name, a.Value)
	}
	return strings.Join(toks, " AND ")
}
