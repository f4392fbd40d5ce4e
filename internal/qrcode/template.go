// Package qrcode turns a QR tool's configuration into codes and images:
// format templates that produce each code's text, and PNG/SVG/PDF renderings
// of the QR symbol that carries it.
//
// Codes are identifiers that end up in URLs, file names, spreadsheets and on
// printed paper, and staff may read them aloud or type them. So every code a
// Template renders is normalised to a small, case-insensitive alphabet:
// upper-case ASCII letters, digits, '-' and '_' (see ValidCode), at most
// MaxCodeLen bytes, never starting or ending with a separator.
package qrcode

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of templates and of the codes they render.
const (
	// MaxTemplateLen bounds a template in bytes.
	MaxTemplateLen = 200
	// MaxCodeLen bounds a rendered code in bytes. Parse rejects a template
	// whose longest possible output is longer, so Render never has to
	// truncate (truncation could cut off the random part).
	MaxCodeLen = 128
	// MaxValueLen bounds what one value variable ({PREFIX}, {USER_ID}, {IG},
	// {TAG:..}, {FIELD:..}) contributes after sanitising.
	MaxValueLen = 32
	// MinRandomLen is the number of {RANDOM:n} characters (summed over the
	// template) needed for a template without {SEQ:n} to count as unique:
	// 6 characters from a 31-symbol alphabet are about 29.7 bits.
	MinRandomLen = 6
	// MaxArgLen bounds the name given to {TAG:name} and {FIELD:name}.
	MaxArgLen = 64

	maxRandomArg = 32
	maxSeqArg    = 12
	// maxSeqDigits is how long a {SEQ:n} can become: an int64 never has
	// more than 19 decimal digits and the counter is never cut.
	maxSeqDigits = 19
)

// RandomAlphabet is what {RANDOM:n} draws from: digits and upper-case
// letters without the look-alikes 0/O, 1/I/L, so a code read off paper can
// be typed back.
const RandomAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// Parse error codes, stable for API clients.
const (
	ErrCodeEmpty       = "empty"
	ErrCodeTooLong     = "too_long"
	ErrCodeBadChar     = "bad_char"
	ErrCodeUnclosed    = "unclosed_brace"
	ErrCodeUnopened    = "unopened_brace"
	ErrCodeUnknownVar  = "unknown_variable"
	ErrCodeBadArg      = "bad_argument"
	ErrCodeNotUnique   = "not_unique"
	ErrCodeBadBoundary = "bad_boundary"
)

// ParseError reports what is wrong with a template and where, so an editor
// can point at the offending character.
type ParseError struct {
	// Pos is the 1-based byte column the problem starts at. For problems of
	// the template as a whole (missing uniqueness, length) it is the column
	// just past the end, where the missing part would go.
	Pos int
	// Code is one of the ErrCode* constants.
	Code string
	// Message is a human-readable explanation.
	Message string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("template column %d: %s", e.Pos, e.Message)
}

func parseErr(pos int, code, format string, args ...any) *ParseError {
	return &ParseError{Pos: pos, Code: code, Message: fmt.Sprintf(format, args...)}
}

type partKind int

const (
	partLiteral partKind = iota
	partPrefix
	partUserID
	partIG
	partTag
	partField
	partRandom
	partSeq
	partDate
)

// variables maps template names to kinds; an argument is required exactly
// for the kinds listed in argRequired.
var variables = map[string]partKind{
	"PREFIX":  partPrefix,
	"USER_ID": partUserID,
	"IG":      partIG,
	"TAG":     partTag,
	"FIELD":   partField,
	"RANDOM":  partRandom,
	"SEQ":     partSeq,
	"DATE":    partDate,
}

var argRequired = map[partKind]bool{
	partTag: true, partField: true, partRandom: true, partSeq: true, partDate: true,
}

// dateLayouts maps the accepted {DATE:...} layouts to Go time layouts.
var dateLayouts = map[string]string{
	"YYYYMMDD":   "20060102",
	"YYMMDD":     "060102",
	"YYYY-MM-DD": "2006-01-02",
	"YYYYMM":     "200601",
	"YYYY-MM":    "2006-01",
	"YYMM":       "0601",
	"YYYY":       "2006",
}

// DateLayouts lists the layouts {DATE:layout} accepts, for help texts.
func DateLayouts() []string {
	out := make([]string, 0, len(dateLayouts))
	for k := range dateLayouts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type part struct {
	kind partKind
	text string // literal text (upper-cased), tag/field name, or Go date layout
	n    int    // RANDOM/SEQ width
}

// Template is a parsed, validated code format. It is immutable and safe for
// concurrent use.
type Template struct {
	src   string
	parts []part
	seq   bool
}

// Vars are the per-code inputs of Render.
type Vars struct {
	Prefix string            // the tool's configured prefix
	UserID string            // Manychat subscriber id
	IG     string            // Instagram username
	Tags   []string          // the contact's tag names
	Fields map[string]string // the contact's custom fields by name
	// Seq is the tool's counter value for this code; only read when
	// UsesSeq reports true. It must not be negative.
	Seq int64
	// Now is the issue time, required when the template has {DATE:..}.
	Now time.Time
	// Location is the time zone {DATE:..} is printed in; nil means UTC.
	Location *time.Location
}

// Parse validates a template and compiles it.
//
// Literal text may use ASCII letters, digits, '-' and '_' (letters are
// upper-cased on output) and must not start or end with a separator.
// Variables are written in braces with upper-case names: {PREFIX},
// {USER_ID}, {IG}, {TAG:name}, {FIELD:name}, {RANDOM:n} (1..32),
// {SEQ:n} (1..12) and {DATE:layout} (see DateLayouts).
//
// Uniqueness rule: codes must stay unique per tool without relying on the
// luck of the contact's data, so a template must contain {SEQ:n}, or
// {RANDOM:n} parts totalling at least MinRandomLen characters.
func Parse(src string) (*Template, error) {
	if strings.TrimSpace(src) == "" {
		return nil, parseErr(1, ErrCodeEmpty, "template is empty")
	}
	if len(src) > MaxTemplateLen {
		return nil, parseErr(MaxTemplateLen+1, ErrCodeTooLong, "template is longer than %d bytes", MaxTemplateLen)
	}

	t := &Template{src: src}
	var lit strings.Builder
	flushLiteral := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{kind: partLiteral, text: lit.String()})
			lit.Reset()
		}
	}

	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '{':
			end := strings.IndexAny(src[i+1:], "{}")
			if end < 0 || src[i+1+end] == '{' {
				return nil, parseErr(i+1, ErrCodeUnclosed, "'{' is never closed")
			}
			p, err := parseVariable(src[i+1:i+1+end], i+2)
			if err != nil {
				return nil, err
			}
			flushLiteral()
			t.parts = append(t.parts, p)
			i += end + 2
		case c == '}':
			return nil, parseErr(i+1, ErrCodeUnopened, "'}' has no matching '{'")
		case isLiteralByte(c):
			lit.WriteByte(upper(c))
			i++
		default:
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, parseErr(i+1, ErrCodeBadChar, "character %q is not allowed; use letters, digits, '-', '_' or a {VARIABLE}", r)
		}
	}
	flushLiteral()

	if err := t.checkBoundaries(); err != nil {
		return nil, err
	}
	if err := t.checkUniqueness(); err != nil {
		return nil, err
	}
	if n := t.maxLen(); n > MaxCodeLen {
		return nil, parseErr(len(src)+1, ErrCodeTooLong,
			"codes from this template can reach %d characters, more than the %d allowed; use fewer or shorter variables", n, MaxCodeLen)
	}
	return t, nil
}

// parseVariable parses the text between braces; col is the 1-based column
// of its first byte.
func parseVariable(body string, col int) (part, error) {
	name, arg, hasArg := strings.Cut(body, ":")
	kind, ok := variables[name]
	if !ok {
		if _, okUpper := variables[strings.ToUpper(name)]; okUpper && name != "" {
			return part{}, parseErr(col, ErrCodeUnknownVar, "unknown variable {%s}; names are upper-case: {%s}", name, strings.ToUpper(name))
		}
		return part{}, parseErr(col, ErrCodeUnknownVar, "unknown variable {%s}; known: PREFIX, USER_ID, IG, TAG, FIELD, RANDOM, SEQ, DATE", name)
	}
	argCol := col + len(name) + 1
	if !argRequired[kind] {
		if hasArg {
			return part{}, parseErr(col+len(name), ErrCodeBadArg, "{%s} takes no argument", name)
		}
		return part{kind: kind}, nil
	}
	if !hasArg || arg == "" {
		return part{}, parseErr(col, ErrCodeBadArg, "{%s} needs an argument, e.g. %s", name, argExample(kind))
	}

	switch kind {
	case partTag, partField:
		if len(arg) > MaxArgLen {
			return part{}, parseErr(argCol, ErrCodeBadArg, "{%s} name is longer than %d bytes", name, MaxArgLen)
		}
		if !utf8.ValidString(arg) || strings.TrimSpace(arg) != arg {
			return part{}, parseErr(argCol, ErrCodeBadArg, "{%s} name must be valid UTF-8 without leading or trailing spaces", name)
		}
		for i, r := range arg {
			if r < 0x20 || r == 0x7f {
				return part{}, parseErr(argCol+i, ErrCodeBadArg, "{%s} name contains a control character", name)
			}
		}
		return part{kind: kind, text: arg}, nil
	case partRandom, partSeq:
		limit := maxRandomArg
		if kind == partSeq {
			limit = maxSeqArg
		}
		n, ok := smallUint(arg)
		if !ok || n < 1 || n > limit {
			return part{}, parseErr(argCol, ErrCodeBadArg, "{%s:n} needs a whole number n from 1 to %d, got %q", name, limit, arg)
		}
		return part{kind: kind, n: n}, nil
	default: // partDate
		layout, ok := dateLayouts[arg]
		if !ok {
			return part{}, parseErr(argCol, ErrCodeBadArg, "unknown date layout %q; use one of %s", arg, strings.Join(DateLayouts(), ", "))
		}
		return part{kind: kind, text: layout}, nil
	}
}

func argExample(k partKind) string {
	switch k {
	case partTag:
		return "{TAG:vip}"
	case partField:
		return "{FIELD:city}"
	case partRandom:
		return "{RANDOM:6}"
	case partSeq:
		return "{SEQ:5}"
	default:
		return "{DATE:YYYYMMDD}"
	}
}

// smallUint parses up to three ASCII digits; anything else (signs, spaces,
// huge numbers) is rejected.
func smallUint(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func (t *Template) checkBoundaries() error {
	first, last := t.parts[0], t.parts[len(t.parts)-1]
	if first.kind == partLiteral && isSep(first.text[0]) {
		return parseErr(1, ErrCodeBadBoundary, "a code must not start with %q", first.text[0])
	}
	if last.kind == partLiteral && isSep(last.text[len(last.text)-1]) {
		return parseErr(len(t.src), ErrCodeBadBoundary, "a code must not end with %q", last.text[len(last.text)-1])
	}
	return nil
}

func (t *Template) checkUniqueness() error {
	random := 0
	for _, p := range t.parts {
		switch p.kind {
		case partSeq:
			t.seq = true
		case partRandom:
			random += p.n
		}
	}
	if !t.seq && random < MinRandomLen {
		return parseErr(len(t.src)+1, ErrCodeNotUnique,
			"codes would not be unique: add {SEQ:n} or at least %d random characters, e.g. {RANDOM:%d}", MinRandomLen, MinRandomLen)
	}
	return nil
}

// maxLen is the longest output the template can produce.
func (t *Template) maxLen() int {
	n := 0
	for _, p := range t.parts {
		switch p.kind {
		case partLiteral:
			n += len(p.text)
		case partRandom:
			n += p.n
		case partSeq:
			n += max(p.n, maxSeqDigits)
		case partDate:
			n += len(p.text)
		default:
			n += MaxValueLen
		}
	}
	return n
}

// String returns the template as written.
func (t *Template) String() string { return t.src }

// UsesSeq reports whether Render reads Vars.Seq, so the caller knows to
// take the next value of the tool's counter (inside the same transaction
// that stores the code).
func (t *Template) UsesSeq() bool { return t.seq }

// Render produces one code. Value variables are sanitised (see
// SanitizeValue); a value variable that renders empty takes one adjacent
// separator with it, so "{PREFIX}-{TAG:vip}-{RANDOM:6}" gives "P-ABC234",
// not "P--ABC234", for a contact without the tag.
func (t *Template) Render(v Vars) (string, error) {
	return t.render(v, rand.Reader)
}

func (t *Template) render(v Vars, random io.Reader) (string, error) {
	out := make([]byte, 0, 64)
	var joints []int // output offsets where a value variable rendered empty
	for _, p := range t.parts {
		var val string
		switch p.kind {
		case partLiteral:
			out = append(out, p.text...)
			continue
		case partRandom:
			s, err := randomString(random, p.n)
			if err != nil {
				return "", err
			}
			out = append(out, s...)
			continue
		case partSeq:
			if v.Seq < 0 {
				return "", fmt.Errorf("qrcode: sequence value %d is negative", v.Seq)
			}
			s := strconv.FormatInt(v.Seq, 10)
			for i := len(s); i < p.n; i++ {
				out = append(out, '0')
			}
			out = append(out, s...)
			continue
		case partDate:
			if v.Now.IsZero() {
				return "", errors.New("qrcode: the template has {DATE:...} but no time was given")
			}
			loc := v.Location
			if loc == nil {
				loc = time.UTC
			}
			out = append(out, v.Now.In(loc).Format(p.text)...)
			continue
		case partPrefix:
			val = v.Prefix
		case partUserID:
			val = v.UserID
		case partIG:
			val = v.IG
		case partTag:
			if hasTag(v.Tags, p.text) {
				val = p.text
			}
		case partField:
			val = lookupField(v.Fields, p.text)
		}
		if s := SanitizeValue(val); s != "" {
			out = append(out, s...)
		} else {
			joints = append(joints, len(out))
		}
	}
	out = collapseJoints(out, joints)
	code := string(out)
	if !ValidCode(code) {
		// Parse guarantees this cannot happen; failing loudly beats
		// storing a code that breaks URLs.
		return "", fmt.Errorf("qrcode: template %q rendered an invalid code %q", t.src, code)
	}
	return code, nil
}

// collapseJoints removes, at each place where a value variable rendered
// empty, the separator that would otherwise be doubled, and any separators
// left dangling at either end of the code. It walks right to left so
// earlier offsets stay valid.
func collapseJoints(out []byte, joints []int) []byte {
	for i := len(joints) - 1; i >= 0; i-- {
		j := joints[i]
		switch {
		case j >= len(out):
			for len(out) > 0 && isSep(out[len(out)-1]) {
				out = out[:len(out)-1]
			}
		case j == 0:
			for len(out) > 0 && isSep(out[0]) {
				out = out[1:]
			}
		case isSep(out[j-1]) && isSep(out[j]):
			out = append(out[:j], out[j+1:]...)
		}
	}
	return out
}

func hasTag(tags []string, name string) bool {
	for _, t := range tags {
		if strings.EqualFold(strings.TrimSpace(t), name) {
			return true
		}
	}
	return false
}

// lookupField prefers an exact key and falls back to a case-insensitive
// match (Manychat field names are edited by hand); among several
// case-insensitive matches the smallest key wins so output is stable.
func lookupField(fields map[string]string, name string) string {
	if v, ok := fields[name]; ok {
		return v
	}
	best, found := "", false
	for k := range fields {
		if strings.EqualFold(k, name) && (!found || k < best) {
			best, found = k, true
		}
	}
	if !found {
		return ""
	}
	return fields[best]
}

// SanitizeValue maps contact data to the code alphabet: ASCII letters are
// upper-cased, digits kept, any run of other characters (spaces, dots,
// '-', '_', accents, emoji) becomes a single '-' ('_' when the run holds
// only underscores), separators are trimmed from both ends and the result
// is cut to MaxValueLen. "john.doe" becomes "JOHN-DOE", "Café 42" "CAF-42".
func SanitizeValue(s string) string {
	out := make([]byte, 0, min(len(s), MaxValueLen))
	pendingSep := byte(0)
	for i := 0; i < len(s) && len(out) < MaxValueLen; i++ {
		c := s[i]
		if isAlnum(c) {
			if pendingSep != 0 && len(out) > 0 {
				out = append(out, pendingSep)
				if len(out) == MaxValueLen {
					break
				}
			}
			pendingSep = 0
			out = append(out, upper(c))
			continue
		}
		if c == '_' && (pendingSep == 0 || pendingSep == '_') {
			pendingSep = '_'
		} else if c < utf8.RuneSelf || utf8.RuneStart(c) {
			pendingSep = '-'
		}
	}
	for len(out) > 0 && isSep(out[len(out)-1]) {
		out = out[:len(out)-1]
	}
	return string(out)
}

// ValidCode reports whether s is a well-formed code: 1..MaxCodeLen bytes of
// A-Z, 0-9, '-' and '_', starting and ending with a letter or digit. The
// HTTP layer can use it to reject a malformed code before a lookup.
func ValidCode(s string) bool {
	if len(s) == 0 || len(s) > MaxCodeLen || isSep(s[0]) || isSep(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || isSep(c)) {
			return false
		}
	}
	return true
}

// NormalizeCode turns what a person typed or a scanner read into the form
// codes are stored in (trimmed, upper-case), so lookups are
// case-insensitive.
func NormalizeCode(s string) string {
	return strings.ToUpper(strings.TrimSpace(s))
}

// randomString draws n symbols of RandomAlphabet without modulo bias.
func randomString(r io.Reader, n int) ([]byte, error) {
	const alpha = len(RandomAlphabet)
	const limit = 256 - 256%alpha // reject bytes that would bias the result
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("qrcode: reading randomness: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, RandomAlphabet[int(b)%alpha])
			if len(out) == n {
				break
			}
		}
	}
	return out, nil
}

func isLiteralByte(c byte) bool { return isAlnum(c) || isSep(c) }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isSep(c byte) bool { return c == '-' || c == '_' }

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
