// Package csvsafe writes CSV exports that are safe to open in Excel,
// LibreOffice and Google Sheets. Contact names, Instagram bios and custom
// fields come from the public; a value such as =HYPERLINK(...) or
// +cmd|'/C calc'!A0 would run as a formula on the business owner's
// machine. Following OWASP's CSV-injection advice, such cells get a
// leading single quote, which spreadsheets read as "this is text".
package csvsafe

import (
	"encoding/csv"
	"io"
	"strings"
	"unicode/utf8"
)

// triggers are the first characters that make a spreadsheet evaluate a
// cell (OWASP: = + - @ tab CR), plus their full-width forms, which some
// East Asian spreadsheet locales also accept.
const triggers = "=+-@\t\r＝＋－＠"

// Cell returns s with a leading ' if a spreadsheet would treat it as a
// formula. The first character after any leading spaces and line feeds is
// checked as well, since some importers trim those. Plain numbers such as
// "-12" or "+3.5" are left alone: they cannot call anything and exports
// keep their numeric columns.
func Cell(s string) string {
	if !dangerous(s) {
		return s
	}
	return "'" + s
}

func dangerous(s string) bool {
	if s == "" {
		return false
	}
	if first, _ := utf8.DecodeRuneInString(s); strings.ContainsRune(triggers, first) && !plainNumber(s) {
		return true
	}
	trimmed := strings.TrimLeft(s, " \n")
	if trimmed == s || trimmed == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(trimmed)
	return strings.ContainsRune(triggers, first) && !plainNumber(trimmed)
}

// plainNumber matches [+-]?digits([.,]digits)?: a signed decimal, nothing
// a spreadsheet could evaluate as an expression.
func plainNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	return allDigits(intPart) && (!hasFrac || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Options configure a Writer.
type Options struct {
	// Comma is the field delimiter; 0 means ','. Excel in many European
	// locales expects ';'.
	Comma rune
	// UseCRLF ends lines with \r\n, as RFC 4180 and Excel prefer.
	UseCRLF bool
	// BOM starts the output with a UTF-8 byte order mark, without which
	// Excel reads UTF-8 as the local code page and mangles accents and
	// emoji.
	BOM bool
}

// Writer is a streaming CSV writer that passes every cell through Cell.
type Writer struct {
	out     io.Writer
	csv     *csv.Writer
	bom     bool
	started bool
	row     []string
}

// NewWriter wraps w. Output is buffered: call Flush and check Error.
func NewWriter(w io.Writer, opts Options) *Writer {
	cw := csv.NewWriter(w)
	if opts.Comma != 0 {
		cw.Comma = opts.Comma
	}
	cw.UseCRLF = opts.UseCRLF
	return &Writer{out: w, csv: cw, bom: opts.BOM}
}

// Write writes one record with every cell neutralised; record itself is
// not modified.
func (w *Writer) Write(record []string) error {
	if !w.started {
		w.started = true
		if w.bom {
			if _, err := io.WriteString(w.out, "\uFEFF"); err != nil {
				return err
			}
		}
	}
	w.row = w.row[:0]
	for _, c := range record {
		w.row = append(w.row, Cell(c))
	}
	return w.csv.Write(w.row)
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() { w.csv.Flush() }

// Error reports any error from a previous Write or Flush.
func (w *Writer) Error() error { return w.csv.Error() }
