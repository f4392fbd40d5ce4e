package openai

import (
	"encoding/json"
)

// defaultReply echoes the last user message, or answers a json_schema request with a value built from the
// schema (first enum value, empty strings, zeros, false, empty lists), so structured output validates.
func defaultReply(req Request) Reply {
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" && rf.JSONSchema != nil {
		var schema map[string]any
		_ = json.Unmarshal(rf.JSONSchema.Schema, &schema)
		b, _ := json.Marshal(valueFor(schema))
		return Reply{Content: string(b)}
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_object" {
		return Reply{Content: "{}"}
	}
	return Reply{Content: "You said: " + req.LastUser()}
}

func valueFor(schema map[string]any) any {
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	switch schema["type"] {
	case "object":
		out := map[string]any{}
		props, _ := schema["properties"].(map[string]any)
		for name, p := range props {
			sub, _ := p.(map[string]any)
			out[name] = valueFor(sub)
		}
		return out
	case "array":
		return []any{}
	case "number", "integer":
		return 0
	case "boolean":
		return false
	case "null":
		return nil
	}
	return ""
}
