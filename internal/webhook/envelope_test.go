package webhook_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/playgram/playgram/internal/webhook"
)

type booking struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Note   string `json:"note"`
}

func TestBuildPayload(t *testing.T) {
	ts := time.Date(2026, 11, 25, 11, 30, 0, 344522000, time.FixedZone("CET", 3600))
	rename, err := webhook.ParseTransform([]byte(`{"fields":[{"to":"event","from":"type"},{"to":"booking.amount","from":"data.amount"},{"to":"at","from":"timestamp"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	scenarios := []struct {
		name string
		typ  string
		data any
		tr   webhook.Transform
		want string
	}{
		{"struct data, UTC timestamp, no HTML escaping", "booking.created", booking{ID: "bk_1", Amount: 9007199254740993, Note: "<b>&</b>"}, webhook.Transform{},
			`{"type":"booking.created","timestamp":"2026-11-25T10:30:00.344522Z","data":{"id":"bk_1","amount":9007199254740993,"note":"<b>&</b>"}}`},
		{"map keys sorted", "contact.updated", map[string]any{"z": 1, "a": map[string]any{"y": true, "b": nil}}, webhook.Transform{},
			`{"type":"contact.updated","timestamp":"2026-11-25T10:30:00.344522Z","data":{"a":{"b":null,"y":true},"z":1}}`},
		{"raw JSON compacted", "ping", json.RawMessage("{ \"ok\" :\n true }"), webhook.Transform{},
			`{"type":"ping","timestamp":"2026-11-25T10:30:00.344522Z","data":{"ok":true}}`},
		{"nil data is an empty object", "ping", nil, webhook.Transform{},
			`{"type":"ping","timestamp":"2026-11-25T10:30:00.344522Z","data":{}}`},
		{"transformed, numbers exact", "booking.created", booking{ID: "bk_1", Amount: 9007199254740993}, rename,
			`{"at":"2026-11-25T10:30:00.344522Z","booking":{"amount":9007199254740993},"event":"booking.created"}`},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			got, err := webhook.BuildPayload(s.typ, ts, s.data, s.tr)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != s.want {
				t.Fatalf("got  %s\nwant %s", got, s.want)
			}
			again, _ := webhook.BuildPayload(s.typ, ts, s.data, s.tr)
			if string(again) != string(got) {
				t.Fatal("the same input gave different bytes")
			}
		})
	}
}

func TestBuildPayloadRefuses(t *testing.T) {
	scenarios := []struct {
		name, typ string
		data      any
		field     string
		code      string
	}{
		{"bad type", "booking created", nil, "type", "invalid_event_type"},
		{"wildcard type", "booking.*", nil, "type", "invalid_event_type"},
		{"array data", "ping", []int{1}, "data", "not_object"},
		{"string data", "ping", "hello", "data", "not_object"},
		{"null raw data", "ping", json.RawMessage("null"), "data", "not_object"},
		{"unmarshalable data", "ping", map[string]any{"f": func() {}}, "data", "invalid_json"},
		{"invalid raw data", "ping", json.RawMessage("{"), "data", "invalid_json"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			_, err := webhook.BuildPayload(s.typ, time.Unix(0, 0), s.data, webhook.Transform{})
			var fe *webhook.FieldError
			if !errors.As(err, &fe) || fe.Field != s.field || fe.Code != s.code {
				t.Fatalf("err = %v, want %s/%s", err, s.field, s.code)
			}
		})
	}
}

func BenchmarkBuildPayload(b *testing.B) {
	data := map[string]any{"id": "bk_1", "customer": map[string]any{"name": "Ana", "ig": "@ana"}, "items": []any{1, 2, 3}}
	tr := webhook.Transform{Fields: []webhook.FieldMap{{To: "event", From: "type"}, {To: "who", From: "data.customer"}}}
	ts := time.Unix(1700000000, 0)
	for b.Loop() {
		if _, err := webhook.BuildPayload("booking.created", ts, data, tr); err != nil {
			b.Fatal(err)
		}
	}
}
