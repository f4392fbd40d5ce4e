package webhook

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzTransform feeds arbitrary specs and payloads. Whatever the input,
// parsing and applying never panic, Apply leaves its input untouched, the
// output is valid JSON, and for a transform that passed validation every
// rule whose source exists lands, unchanged, at its target.
func FuzzTransform(f *testing.F) {
	f.Add([]byte(`{"fields":[{"to":"a.b","from":"data.x"},{"to":"c","from":"data.items.0"}]}`), []byte(`{"data":{"x":1,"items":[true]}}`), "a", "data")
	f.Add([]byte(`{"fields":[{"to":"a","from":"type"},{"to":"a.b","from":"data"}]}`), []byte(`{"type":"t","data":{}}`), "a.b", "type")
	f.Add([]byte(`{"fields":[{"to":"x","from":"d.0.0"}]}`), []byte(`{"d":[[null]]}`), "x..", ".")
	f.Add([]byte(`{}`), []byte(`{"a":{"a":{"a":[1,2,{"b":9007199254740993}]}}}`), "a.a.a.2.b", "a.a")
	f.Fuzz(func(t *testing.T, spec, payload []byte, rawTo, rawFrom string) {
		var in map[string]any
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		if dec.Decode(&in) != nil || in == nil {
			in = map[string]any{"data": map[string]any{"v": string(payload)}}
		}
		before, err := json.Marshal(in)
		if err != nil {
			t.Skip()
		}

		// An unvalidated transform built from raw strings must not panic either.
		unchecked := Transform{Fields: []FieldMap{{To: rawTo, From: rawFrom}, {To: rawTo + ".x", From: rawFrom}, {To: rawFrom, From: rawTo}}}
		_ = unchecked.Validate()
		if _, err := json.Marshal(unchecked.Apply(in)); err != nil {
			t.Fatalf("unchecked output does not marshal: %v", err)
		}

		tr, err := ParseTransform(spec)
		if err != nil {
			return
		}
		if tr.Validate() != nil {
			t.Fatal("ParseTransform returned a transform that fails Validate")
		}
		out := tr.Apply(in)
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("output does not marshal: %v", err)
		}
		after, _ := json.Marshal(in)
		if !bytes.Equal(before, after) {
			t.Fatal("Apply modified its input")
		}
		if tr.IsZero() {
			return
		}
		for _, fm := range tr.Fields {
			want, ok := lookup(in, fm.From)
			got, landed := lookup(out, fm.To)
			if ok != landed || (ok && !reflect.DeepEqual(want, got)) {
				t.Fatalf("rule %+v: source %v (%v), target %v (%v)", fm, want, ok, got, landed)
			}
		}
	})
}
