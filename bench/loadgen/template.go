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
	kind int // partLit, partIndex or partRand
}

const (
	partLit = iota
	partIndex
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
		var kind int
		switch name := s[open+2 : end]; name {
		case "i":
			kind = partIndex
		case "rand":
			kind = partRand
		default:
			return nil, fmt.Errorf("unknown placeholder {{%s}} at byte %d (want {{i}} or {{rand}})", name, open)
		}
		if open > pos {
			t.parts = append(t.parts, templatePart{lit: s[pos:open]})
		}
		t.parts = append(t.parts, templatePart{kind: kind})
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
		case partRand:
			b = append(b, rnd...)
		}
	}
	return b
}
