package autoreply

import (
	"errors"
	"testing"
)

func mustSet(t *testing.T, rules ...Rule) *Set {
	t.Helper()
	var cs []*Compiled
	for _, r := range rules {
		r.Enabled = true
		if r.Actions == nil {
			r.Actions = []Action{{Type: ActionReply, Text: "hi"}}
		}
		c, err := Compile(r)
		if err != nil {
			t.Fatalf("compile %s: %v", r.Name, err)
		}
		cs = append(cs, c)
	}
	return NewSet(cs)
}

func TestMatchKindsIgnoreCaseAndAccents(t *testing.T) {
	s := mustSet(t,
		Rule{ID: "kw", Match: Keyword, Pattern: "preço, price"},
		Rule{ID: "has", Match: Contains, Pattern: "HORÁRIO"},
		Rule{ID: "re", Match: Regex, Pattern: `pedido\s*#?\d{4,}`},
	)
	cases := map[string]string{
		"Qual o PRECO?":             "kw",
		"what's the Price today":    "kw",
		"priceless":                 "",
		"qual o horario de funcion": "has",
		"Meu Pédido #12345 chegou?": "re",
		"pedido 12":                 "",
		"olá":                       "",
	}
	for text, want := range cases {
		got := s.Match(text, Contact{})
		if (got == nil && want != "") || (got != nil && got.ID != want) {
			t.Errorf("%q matched %v, want %q", text, got, want)
		}
	}
}

func TestPriorityAndConditions(t *testing.T) {
	s := mustSet(t,
		Rule{ID: "generic", Match: Contains, Pattern: "oi", Priority: 1},
		Rule{ID: "vip", Match: Contains, Pattern: "oi", Priority: 10, Conditions: Conditions{TagsAll: []string{"VIP"}}},
		Rule{ID: "lead", Match: Contains, Pattern: "oi", Priority: 5, Conditions: Conditions{TagsNone: []string{"customer"}, Fields: map[string]any{"Plan": "Básico"}}},
	)
	if r := s.Match("Oi!", Contact{Tags: []string{"vip"}}); r == nil || r.ID != "vip" {
		t.Fatalf("vip: %v", r)
	}
	if r := s.Match("Oi!", Contact{Fields: map[string]any{"plan": "basico"}}); r == nil || r.ID != "lead" {
		t.Fatalf("lead: %v", r)
	}
	if r := s.Match("Oi!", Contact{Tags: []string{"customer"}, Fields: map[string]any{"plan": "basico"}}); r == nil || r.ID != "generic" {
		t.Fatalf("generic: %v", r)
	}
	anySet := mustSet(t, Rule{ID: "a", Match: Keyword, Pattern: "x", Conditions: Conditions{TagsAny: []string{"a", "b"}, Fields: map[string]any{"n": 3.0, "gone": nil}}})
	if anySet.Match("x", Contact{Tags: []string{"b"}, Fields: map[string]any{"n": 3.0}}) == nil {
		t.Fatal("tags_any/number/null condition should hold")
	}
	if anySet.Match("x", Contact{Tags: []string{"b"}, Fields: map[string]any{"n": 3.0, "gone": "set"}}) != nil {
		t.Fatal("null condition must need an empty field")
	}
}

func TestCompileErrors(t *testing.T) {
	reply := []Action{{Type: ActionReply, Text: "x"}}
	for _, tc := range []struct {
		r     Rule
		field string
	}{
		{Rule{Match: Regex, Pattern: "(unclosed", Actions: reply}, "pattern"},
		{Rule{Match: "fuzzy", Pattern: "x", Actions: reply}, "match"},
		{Rule{Match: Keyword, Pattern: " , ", Actions: reply}, "pattern"},
		{Rule{Match: Contains, Pattern: "x"}, "actions"},
		{Rule{Match: Contains, Pattern: "x", Actions: []Action{{Type: ActionReply}}}, "actions"},
		{Rule{Match: Contains, Pattern: "x", Actions: []Action{{Type: "email"}}}, "actions"},
	} {
		_, err := Compile(tc.r)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: got %v, want a %s error", tc.r, err, tc.field)
		}
	}
	if _, err := DecodeConditions([]byte(`{"tags":["x"]}`)); err == nil {
		t.Error("unknown condition key accepted")
	}
}

func TestRender(t *testing.T) {
	got := Render("Oi {first_name}! Seu plano: {field.plan}. {unknown}{ {not closed", map[string]string{"first_name": "Ana", "field.plan": "pro"})
	if got != "Oi Ana! Seu plano: pro. { {not closed" {
		t.Fatalf("%q", got)
	}
}
