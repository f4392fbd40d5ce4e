package pbpublic

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestPickServesTheBuildWhenPresent(t *testing.T) {
	built := fstest.MapFS{
		"index.html":       {Data: []byte("placeholder")},
		"dist/.keep":       {},
		"dist/index.html":  {Data: []byte("dashboard")},
		"dist/assets/a.js": {Data: []byte("js")},
	}
	got, err := fs.ReadFile(pick(built), "index.html")
	if err != nil || string(got) != "dashboard" {
		t.Fatalf("built: index.html = %q, %v; want the dashboard", got, err)
	}
	if _, err := fs.Stat(pick(built), "assets/a.js"); err != nil {
		t.Fatalf("built: assets not served from the root: %v", err)
	}
}

func TestPickFallsBackToThePlaceholder(t *testing.T) {
	bare := fstest.MapFS{"index.html": {Data: []byte("placeholder")}, "dist/.keep": {}}
	got, err := fs.ReadFile(pick(bare), "index.html")
	if err != nil || string(got) != "placeholder" {
		t.Fatalf("unbuilt: index.html = %q, %v; want the placeholder", got, err)
	}
	page, err := fs.ReadFile(Files, "index.html")
	if err != nil || !strings.Contains(string(page), "Playgram") {
		t.Fatalf("embedded index.html missing: %v", err)
	}
}
