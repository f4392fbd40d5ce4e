package webhook_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/playgram/playgram/internal/webhook"
)

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const samplePayload = `{"type":"booking.created","timestamp":"2026-11-25T10:00:00Z","data":{"id":"bk_1","amount":9007199254740993,"customer":{"name":"Ana","ig":"@ana"},"items":[{"sku":"A1"},{"sku":"B2"}],"note":null}}`

func TestTransformApply(t *testing.T) {
	scenarios := []struct {
		name, spec, want string
	}{
		{"no fields sends the envelope as is", `{"fields":[]}`, samplePayload},
		{"choose and rename",
			`{"fields":[{"to":"event","from":"type"},{"to":"booking","from":"data.id"}]}`,
			`{"booking":"bk_1","event":"booking.created"}`},
		{"nest",
			`{"fields":[{"to":"out.customer.handle","from":"data.customer.ig"},{"to":"out.id","from":"data.id"}]}`,
			`{"out":{"customer":{"handle":"@ana"},"id":"bk_1"}}`},
		{"copy an object whole",
			`{"fields":[{"to":"who","from":"data.customer"}]}`,
			`{"who":{"ig":"@ana","name":"Ana"}}`},
		{"array index",
			`{"fields":[{"to":"first","from":"data.items.0.sku"},{"to":"second","from":"data.items.1"}]}`,
			`{"first":"A1","second":{"sku":"B2"}}`},
		{"out of range, negative and padded indexes are absent",
			`{"fields":[{"to":"a","from":"data.items.2"},{"to":"b","from":"data.items.-1"},{"to":"c","from":"data.items.01"},{"to":"d","from":"data.items.x"}]}`,
			`{}`},
		{"missing source omitted, null copied",
			`{"fields":[{"to":"gone","from":"data.nope"},{"to":"note","from":"data.note"},{"to":"deeper","from":"data.id.x"}]}`,
			`{"note":null}`},
		{"large integers keep every digit",
			`{"fields":[{"to":"amount","from":"data.amount"}]}`,
			`{"amount":9007199254740993}`},
		{"digits in to are object keys",
			`{"fields":[{"to":"list.0","from":"data.id"}]}`,
			`{"list":{"0":"bk_1"}}`},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			tr, err := webhook.ParseTransform([]byte(s.spec))
			if err != nil {
				t.Fatal(err)
			}
			in := decode(t, samplePayload)
			got := encode(t, tr.Apply(in))
			if got != encode(t, decode(t, s.want)) {
				t.Fatalf("Apply = %s, want %s", got, s.want)
			}
			if encode(t, in) != encode(t, decode(t, samplePayload)) {
				t.Fatal("Apply modified its input")
			}
		})
	}
}

func TestTransformOutputIsIndependent(t *testing.T) {
	tr := webhook.Transform{Fields: []webhook.FieldMap{{To: "c", From: "data.customer"}, {To: "i", From: "data.items"}}}
	in := decode(t, samplePayload)
	out := tr.Apply(in)
	out["c"].(map[string]any)["name"] = "changed"
	out["i"].([]any)[0] = "changed"
	if encode(t, in) != encode(t, decode(t, samplePayload)) {
		t.Fatal("changing the output changed the input")
	}
}

func TestParseTransform(t *testing.T) {
	deep := strings.Repeat("a.", webhook.MaxPathDepth) + "a"
	many := `{"fields":[` + strings.Repeat(`{"to":"x","from":"y"},`, webhook.MaxTransformFields) + `{"to":"x","from":"y"}]}`
	scenarios := []struct {
		name, spec string
		want       []string
		mention    string
	}{
		{"empty input", ``, nil, ""},
		{"whitespace input", " \n", nil, ""},
		{"valid", `{"fields":[{"to":"a.b","from":"data.x"},{"to":"a.c","from":"data.y"}]}`, nil, ""},
		{"not JSON", `{"fields":`, []string{"transform=invalid_json"}, ""},
		{"typo in a key", `{"fields":[{"to":"a","form":"data.x"}]}`, []string{"transform=invalid_json"}, `"form"`},
		{"unknown top-level key", `{"fields":[],"mode":"js"}`, []string{"transform=invalid_json"}, `"mode"`},
		{"trailing data", `{"fields":[]} {}`, []string{"transform=invalid_json"}, "after"},
		{"wrong type", `{"fields":{"a":"b"}}`, []string{"transform=invalid_json"}, ""},
		{"missing to and from", `{"fields":[{}]}`, []string{"transform.fields[0].from=invalid_path", "transform.fields[0].to=invalid_path"}, "required"},
		{"empty segment", `{"fields":[{"to":"a..b","from":"data.x"}]}`, []string{"transform.fields[0].to=invalid_path"}, "segment 2 is empty"},
		{"leading dot", `{"fields":[{"to":"a","from":".data"}]}`, []string{"transform.fields[0].from=invalid_path"}, "segment 1 is empty"},
		{"control character", `{"fields":[{"to":"a\u0000b","from":"data"}]}`, []string{"transform.fields[0].to=invalid_path"}, "control"},
		{"too deep", `{"fields":[{"to":"` + deep + `","from":"data"}]}`, []string{"transform.fields[0].to=invalid_path"}, "16"},
		{"too long", `{"fields":[{"to":"a","from":"` + strings.Repeat("b", 257) + `"}]}`, []string{"transform.fields[0].from=invalid_path"}, "256"},
		{"duplicate target", `{"fields":[{"to":"a","from":"type"},{"to":"b","from":"type"},{"to":"a","from":"data"}]}`, []string{"transform.fields[2].to=duplicate"}, "transform.fields[0].to"},
		{"child after parent", `{"fields":[{"to":"a","from":"type"},{"to":"a.b","from":"data"}]}`, []string{"transform.fields[1].to=conflict"}, `"a"`},
		{"parent after child", `{"fields":[{"to":"a.b.c","from":"type"},{"to":"a.b","from":"data"}]}`, []string{"transform.fields[1].to=conflict"}, `"a.b.c"`},
		{"shared prefix is fine", `{"fields":[{"to":"ab","from":"type"},{"to":"a.b","from":"data"}]}`, nil, ""},
		{"too many", many, []string{"transform.fields=too_many"}, "64"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			tr, err := webhook.ParseTransform([]byte(s.spec))
			got := fieldCodes(t, err)
			if strings.Join(got, " ") != strings.Join(s.want, " ") {
				t.Fatalf("errors %q, want %q (%v)", got, s.want, err)
			}
			if s.mention != "" && !strings.Contains(err.Error(), s.mention) {
				t.Fatalf("message %q does not mention %q", err, s.mention)
			}
			if err != nil && !tr.IsZero() {
				t.Fatal("a refused transform must not be returned")
			}
		})
	}
}
