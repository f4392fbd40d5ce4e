package routes_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

func readBody(t testing.TB, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonField(t testing.TB, body []byte, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("response is not JSON: %s", body)
	}
	s, _ := m[field].(string)
	return s
}
