package crm

import (
	"reflect"
	"testing"
)

func TestParseIncomingKnowsWhichKeysCame(t *testing.T) {
	in, err := ParseIncoming([]byte(`{"event":"x","contact":{"id":"77","first_name":"Ana","email":"{{email}}","custom_fields":{"plan":"pro","age":{{cuf_5}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	v := in.values()
	if v["first_name"] != "Ana" || v["email"] != "" || v["name"] != "Ana" {
		t.Fatalf("values: %v", v)
	}
	if _, ok := v["phone"]; ok {
		t.Fatal("a key that did not come must not be changed")
	}
	if _, ok := v["tags"]; ok {
		t.Fatal("tags did not come")
	}
	if f := v["custom_fields"].(map[string]any); len(f) != 1 || f["plan"] != "pro" {
		t.Fatalf("fields: %v", f)
	}
	if !reflect.DeepEqual(in.Unresolved, []string{"custom_fields.age", "email"}) {
		t.Fatalf("unresolved: %v", in.Unresolved)
	}
}

func TestDiffRoundTrip(t *testing.T) {
	a := map[string]any{"name": "Ana", "tags": []any{"vip"}, "custom_fields.plan": "pro"}
	b := map[string]any{"name": "Ana B", "tags": []any{"vip"}, "notes": "x"}
	d := DiffStates(a, b)
	if len(d.Set) != 2 || !reflect.DeepEqual(d.Unset, []string{"custom_fields.plan"}) {
		t.Fatalf("diff: %+v", d)
	}
	if got := d.Apply(a); !reflect.DeepEqual(got, b) {
		t.Fatalf("apply: %v", got)
	}
	if !DiffStates(b, b).Empty() {
		t.Fatal("no change must be an empty diff")
	}
	u := Unflatten(map[string]any{"name": "Ana", "custom_fields.plan": "pro"})
	if u["custom_fields"].(map[string]any)["plan"] != "pro" || u["email"] != "" {
		t.Fatalf("unflatten: %v", u)
	}
}

func TestParseQuery(t *testing.T) {
	q, problems := ParseQuery(map[string][]string{"q": {"ana"}, "tags": {"vip, lead"}, "field.plan": {"pro"}, "active_since": {"2026-01-02"}, "sort": {"-name"}})
	if len(problems) > 0 || len(q.Tags) != 2 || q.Fields["plan"] != "pro" || q.ActiveSince.IsZero() {
		t.Fatalf("%+v %v", q, problems)
	}
	_, problems = ParseQuery(map[string][]string{"sort": {"relevance"}, "page": {"0"}, "active_since": {"soon"}})
	for _, k := range []string{"sort", "page", "active_since"} {
		if problems[k] == "" {
			t.Errorf("no problem reported for %s: %v", k, problems)
		}
	}
	// Tenancy is the workspace's rowid range, not part of the expression (see TestCRMStaysInsideTheWorkspace).
	if got := matchExpr(`José "x" (y)*`); got != `{name ig_username email phone phone_digits}: ("José"* "x"* "y"*)` {
		t.Fatalf("match: %s", got)
	}
}
