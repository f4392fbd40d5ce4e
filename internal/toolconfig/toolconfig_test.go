package toolconfig

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name     string
		toolType string
		config   string
		want     map[string]string // key -> code; empty = valid
	}{
		{"empty qr config is valid", "qr", `{}`, nil},
		{"full qr config", "qr", `{"prefix":"SHOP","template":"{PREFIX}-{RANDOM:6}","content":"url","url_template":"https://shop.example/r/{CODE}","default_max_uses":0,"fg":"#112233","caption":"10% off","repeat_window_seconds":30}`, nil},
		{"unknown key", "qr", `{"prefx":"X"}`, map[string]string{"prefx": "validation_unknown_key"}},
		{"unknown template variable", "qr", `{"template":"{PREFIX}-{NAME}"}`, map[string]string{"template": "validation_invalid_value"}},
		{"predictable template", "qr", `{"template":"{PREFIX}-{USER_ID}"}`, map[string]string{"template": "validation_invalid_value"}},
		{"wrong type", "qr", `{"default_max_uses":"1"}`, map[string]string{"default_max_uses": "validation_invalid_type"}},
		{"fraction for int", "booking", `{"seats":1.5}`, map[string]string{"seats": "validation_invalid_type"}},
		{"out of range", "booking", `{"duration_minutes":2,"seats":0}`, map[string]string{"duration_minutes": "validation_out_of_range", "seats": "validation_out_of_range"}},
		{"bad enum", "qr", `{"content":"html"}`, map[string]string{"content": "validation_invalid_value"}},
		{"bad colour", "qr", `{"fg":"red"}`, map[string]string{"fg": "validation_invalid_format"}},
		{"url content needs {CODE}", "qr", `{"content":"url","url_template":"https://shop.example/"}`, map[string]string{"url_template": "validation_required"}},
		{"booking lists", "booking", `{"reminder_hours":[24,2]}`, nil},
		{"booking list item range", "booking", `{"reminder_hours":[24,0]}`, map[string]string{"reminder_hours": "validation_out_of_range"}},
		{"booking list repeats", "booking", `{"reminder_hours":[2,2]}`, map[string]string{"reminder_hours": "validation_invalid_value"}},
		{"temperature zero is valid", "ai_chat", `{"temperature":0,"functions":["add_tag"]}`, nil},
		{"unknown function", "ai_chat", `{"functions":["rm_rf"]}`, map[string]string{"functions": "validation_invalid_value"}},
		{"bad base url", "ai_chat", `{"base_url":"ftp://x"}`, map[string]string{"base_url": "validation_invalid_value"}},
		{"bad price", "ai_chat", `{"prices":{"gpt-x":{"input":-1}}}`, map[string]string{"prices": "validation_invalid_value"}},
		{"prices ok", "ai_chat", `{"prices":{"gpt-x":{"input":0.15,"output":0.6}}}`, nil},
		{"verification", "verification", `{"code_length":3}`, map[string]string{"code_length": "validation_out_of_range"}},
		{"social platform", "social", `{"platforms":["instagram","myspace"]}`, map[string]string{"platforms": "validation_invalid_value"}},
		{"unknown type", "fax", `{}`, map[string]string{"type": "validation_invalid_value"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg map[string]any
			if err := json.Unmarshal([]byte(c.config), &cfg); err != nil {
				t.Fatal(err)
			}
			problems := Validate(c.toolType, cfg)
			if len(problems) != len(c.want) {
				t.Fatalf("problems = %v, want keys %v", problems, c.want)
			}
			for key, code := range c.want {
				if problems[key].Code != code || problems[key].Message == "" {
					t.Errorf("%s: got %+v, want code %s", key, problems[key], code)
				}
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	if _, p := ValidateJSON("qr", []byte(`null`)); p != nil {
		t.Fatalf("null config should be valid: %v", p)
	}
	if _, p := ValidateJSON("qr", []byte(`[1,2]`)); p["config"].Code != "validation_invalid_type" {
		t.Fatalf("array config should be refused: %v", p)
	}
}

func TestWithDefaultsAndSetCheck(t *testing.T) {
	cfg := WithDefaults("qr", map[string]any{"prefix": "ABC"})
	if cfg["prefix"] != "ABC" || cfg["template"] != "{PREFIX}-{RANDOM:8}" || cfg["default_max_uses"] != 1 {
		t.Fatalf("defaults not applied: %v", cfg)
	}
	SetCheck("qr", "caption", func(v any) error {
		if strings.Contains(v.(string), "!") {
			return errors.New("no shouting")
		}
		return nil
	})
	defer SetCheck("qr", "caption", nil)
	if p := Validate("qr", map[string]any{"caption": "hi!"}); p["caption"].Message != "no shouting" {
		t.Fatalf("custom check not applied: %v", p)
	}
}

// Every default must pass its own validation, or a fresh tool could never be saved.
func TestDefaultsAreValid(t *testing.T) {
	for _, typ := range Types {
		for name, key := range SchemaOf(typ) {
			if _, bad := checkValue(key, normalise(key.Default)); bad {
				t.Errorf("%s.%s default %v is invalid", typ, name, key.Default)
			}
		}
	}
}

func normalise(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
