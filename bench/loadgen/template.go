package main

import (
	"fmt"
	"strconv"
	"strings"
)

// bodyTemplate is parsed once so each request only concatenates pieces; placeholders are checked up
// front so a typo like {{id}} fails before any load is sent instead of posting it literally.
type bodyTemplate struct {
	parts []templatePart
}

type templatePart struct {
	lit  string
	kind int   // partLit, partIndex, partMod or partRand
	mod  int64 // partMod: {{i%N}} is i modulo N
}

const (
	partLit = iota
	partIndex
	partMod
	partRand
)

func parseBodyTemplate(s string) (*bodyTemplate, error) {
	t := &bodyTemplate{}
	pos := 0
	for {
		open := strings.Index(s[pos:], "{{")
		if open < 0 {
			break
		}
		open += pos
		end := strings.Index(s[open:], "}}")
		if end < 0 {
			return nil, fmt.Errorf("unterminated {{ at byte %d", open)
		}
		end += open
		part := templatePart{}
		switch name := s[open+2 : end]; {
		case name == "i":
			part.kind = partIndex
		case name == "rand":
			part.kind = partRand
		case strings.HasPrefix(name, "i%"):
			n, err := strconv.ParseInt(name[2:], 10, 64)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("placeholder {{%s}} at byte %d: want {{i%%N}} with N a positive integer", name, open)
			}
			part.kind, part.mod = partMod, n
		default:
			return nil, fmt.Errorf("unknown placeholder {{%s}} at byte %d (want {{i}}, {{i%%N}} or {{rand}})", name, open)
		}
		if open > pos {
			t.parts = append(t.parts, templatePart{lit: s[pos:open]})
		}
		t.parts = append(t.parts, part)
		pos = end + 2
	}
	if pos < len(s) {
		t.parts = append(t.parts, templatePart{lit: s[pos:]})
	}
	return t, nil
}

// render fills {{i}} with i and every {{rand}} with the same rnd, so one body can repeat its random
// key (e.g. an idempotency key and a reference) while each request still differs.
func (t *bodyTemplate) render(i int64, rnd string) []byte {
	b := make([]byte, 0, 256)
	for _, p := range t.parts {
		switch p.kind {
		case partLit:
			b = append(b, p.lit...)
		case partIndex:
			b = strconv.AppendInt(b, i, 10)
		case partMod:
			b = strconv.AppendInt(b, i%p.mod, 10)
		case partRand:
			b = append(b, rnd...)
		}
	}
	return b
}
