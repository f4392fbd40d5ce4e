package contactattr

import (
	"regexp"
	"testing"
)

func TestTokensAreDistinctPlainWords(t *testing.T) {
	seen := map[string]Attr{}
	word := regexp.MustCompile(`^[a-z2-7]{21}$`)
	for _, a := range []Attr{
		{Tag, "vip", ""}, {Tag, "VIP", ""}, {Tag, "vi", "p"}, {Field, "vip", ""}, {Field, "city", "são paulo"},
		{Field, "city", "sao paulo"}, {Field, "city sao", "paulo"}, {Tag, "a\x00b", ""}, {Field, "n", "1"}, {Field, "n", "1.0"},
	} {
		tok := Token(a.Kind, a.Name, a.Value)
		if !word.MatchString(tok) {
			t.Errorf("%v: token %q is not one plain word", a, tok)
		}
		if prev, dup := seen[tok]; dup {
			t.Errorf("%v and %v share token %q", a, prev, tok)
		}
		seen[tok] = a
		if Token(a.Kind, a.Name, a.Value) != tok {
			t.Errorf("%v: token not stable", a)
		}
	}
}

func TestTextAndMatch(t *testing.T) {
	attrs := []Attr{{Tag, "vip", ""}, {Field, "city", "lisbon"}}
	vip, city := Token(Tag, "vip", ""), Token(Field, "city", "lisbon")
	if got := Match(attrs); got != vip+" AND "+city {
		t.Fatalf("Match = %q", got)
	}
	if got := Text(attrs); got != city+" "+vip && got != vip+" "+city {
		t.Fatalf("Text = %q", got)
	}
	if Match(nil) != "" || Text(nil) != "" {
		t.Fatal("empty attributes must give empty text")
	}
}
