package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badFile := filepath.Join(dir, "urls.txt")
	if err := os.WriteFile(badFile, []byte("# QR codes\nhttp://127.0.0.1:8090/q/a\n\nhttps://10.0.0.5/q/b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := "-url=http://127.0.0.1:8090/"
	scenarios := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no url", []string{"-n", "1"}, "-url: at least one"},
		{"remote host", []string{"-url", "http://example.com/", "-n", "1"}, `-url #1: "http://example.com/": host "example.com" is not loopback`},
		{"private address", []string{u, "-url", "http://192.168.1.2:8090/", "-n", "1"}, `-url #2: "http://192.168.1.2:8090/": host "192.168.1.2" is not loopback`},
		{"unspecified address", []string{"-url", "http://0.0.0.0:8090/", "-n", "1"}, "not loopback"},
		{"localhost lookalike", []string{"-url", "http://localhost.evil.example/", "-n", "1"}, "not loopback"},
		{"bad scheme", []string{"-url", "ftp://127.0.0.1/", "-n", "1"}, "scheme must be http or https"},
		{"remote url in file", []string{"-urls-file", badFile, "-n", "1"}, "line 4: \"https://10.0.0.5/q/b\": host \"10.0.0.5\" is not loopback"},
		{"missing urls file", []string{"-urls-file", filepath.Join(dir, "nope"), "-n", "1"}, "-urls-file:"},
		{"neither n nor d", []string{u}, "-n or -d: one of them is required"},
		{"both n and d", []string{u, "-n", "5", "-d", "1s"}, "-n and -d: give one of them"},
		{"duration over limit", []string{u, "-d", "11m"}, "-warmup, -d: warmup 0s plus duration 11m0s exceeds the 10m0s limit"},
		{"warmup plus duration over limit", []string{u, "-d", "6m", "-warmup", "5m"}, "exceeds the 10m0s limit"},
		{"warmup over limit in n mode", []string{u, "-n", "5", "-warmup", "10m1s"}, "exceeds the 10m0s limit"},
		{"zero concurrency", []string{u, "-n", "1", "-c", "0"}, "-c: must be between 1 and 10000, got 0"},
		{"negative n", []string{u, "-n", "-3"}, "-n: must be positive, got -3"},
		{"timeout too long", []string{u, "-n", "1", "-timeout", "2m"}, "-timeout: must be between"},
		{"header without colon", []string{u, "-n", "1", "-H", "Accept: */*", "-H", "Bearer x"}, `-H #2 "Bearer x": want 'Name: value'`},
		{"header with space in name", []string{u, "-n", "1", "-H", "Bad Name: x"}, `-H #1 "Bad Name: x"`},
		{"bad expect", []string{u, "-n", "1", "-expect", "200,abc"}, `-expect item #2 "abc": want a status code`},
		{"expect out of range", []string{u, "-n", "1", "-expect", "42"}, `-expect item #1 "42"`},
		{"two bodies", []string{u, "-n", "1", "-body", "x", "-body-template", "{{i}}"}, "give at most one"},
		{"unknown placeholder", []string{u, "-n", "1", "-body-template", `{"id":{{id}}}`}, "-body-template: unknown placeholder {{id}} at byte 6"},
		{"unterminated placeholder", []string{u, "-n", "1", "-body-template", `{"id":{{i}`}, "-body-template: unterminated {{ at byte 6"},
		{"stray argument", []string{u, "-n", "1", "extra"}, `unexpected argument "extra"`},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(s.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, s.wantErr)
			}
		})
	}
}

func TestParseConfigValid(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "urls.txt")
	if err := os.WriteFile(file, []byte("# codes\nhttp://localhost:8090/q/a\n  http://[::1]:8090/q/b  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{
		"-url", "http://127.0.0.2:8090/api", "-urls-file", file, "-d", "30s", "-warmup", "5s",
		"-H", "Authorization: Bearer pgk_x", "-H", "Host: shop.example", "-H", "X-Empty:",
		"-body", `{"a":1}`, "-expect", "201, 409,5xx", "-c", "3",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantURLs := []string{"http://127.0.0.2:8090/api", "http://localhost:8090/q/a", "http://[::1]:8090/q/b"}
	if strings.Join(cfg.urls, " ") != strings.Join(wantURLs, " ") {
		t.Errorf("urls = %q, want %q", cfg.urls, wantURLs)
	}
	if cfg.method != "POST" {
		t.Errorf("method = %q, want POST because a body was given", cfg.method)
	}
	if got := cfg.header.Get("Authorization"); got != "Bearer pgk_x" {
		t.Errorf("Authorization = %q", got)
	}
	if _, ok := cfg.header["X-Empty"]; !ok {
		t.Errorf("empty header X-Empty dropped")
	}
	if cfg.host != "shop.example" || cfg.header.Get("Host") != "" {
		t.Errorf("host = %q, Host header = %q; want the Host header moved to the request host", cfg.host, cfg.header.Get("Host"))
	}
	for code, want := range map[int]bool{200: false, 201: true, 409: true, 500: true, 599: true, 404: false} {
		if cfg.expect[code] != want {
			t.Errorf("expect[%d] = %v, want %v", code, cfg.expect[code], want)
		}
	}
	if cfg.duration != 30*time.Second || cfg.warmup != 5*time.Second || cfg.concurrency != 3 {
		t.Errorf("duration %s warmup %s c %d", cfg.duration, cfg.warmup, cfg.concurrency)
	}

	cfg, err = parseConfig([]string{"-url", "http://LOCALHOST/", "-n", "1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.method != "GET" || !cfg.expect[204] || cfg.expect[301] {
		t.Errorf("defaults: method %q, want GET and expect 2xx only", cfg.method)
	}
}

func TestDialGuardRefusesResolvedRemoteAddress(t *testing.T) {
	t.Parallel()
	for addr, wantOK := range map[string]bool{
		"127.0.0.1:80": true, "127.9.9.9:80": true, "[::1]:443": true,
		"10.0.0.1:80": false, "[2001:db8::1]:80": false, "0.0.0.0:80": false,
	} {
		err := dialLoopbackOnly("tcp", addr, nil)
		if (err == nil) != wantOK {
			t.Errorf("dial %s: err = %v, want allowed = %v", addr, err, wantOK)
		}
	}
}

func TestBodyTemplateRender(t *testing.T) {
	t.Parallel()
	tmpl, err := parseBodyTemplate(`{"n":{{i}},"key":"{{rand}}","ref":"{{rand}}","x":"{ }"}`)
	if err != nil {
		t.Fatal(err)
	}
	got := string(tmpl.render(42, "00ff"))
	want := `{"n":42,"key":"00ff","ref":"00ff","x":"{ }"}`
	if got != want {
		t.Fatalf("render = %s, want %s", got, want)
	}
	plain, err := parseBodyTemplate("no placeholders")
	if err != nil || string(plain.render(1, "r")) != "no placeholders" {
		t.Fatalf("plain template: %v %q", err, plain.render(1, "r"))
	}
}

func TestBodyTemplateModulo(t *testing.T) {
	t.Parallel()
	tmpl, err := parseBodyTemplate(`{"subscriber":"7{{i%1000}}","n":{{i}}}`)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int64]string{0: `{"subscriber":"70","n":0}`, 999: `{"subscriber":"7999","n":999}`, 2345: `{"subscriber":"7345","n":2345}`} {
		if got := string(tmpl.render(i, "r")); got != want {
			t.Errorf("render(%d) = %s, want %s", i, got, want)
		}
	}
	for _, bad := range []string{"{{i%0}}", "{{i%}}", "{{i%x}}", "{{i%-3}}"} {
		if _, err := parseBodyTemplate(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
