// Package export writes tabular data in the formats businesses hand to spreadsheets, CRMs and accountants:
// CSV, a JSON array, JSON Lines, XLSX and a PDF table report. Every writer streams: rows go out as they
// arrive, so memory does not grow with the row count. Text cells that a spreadsheet would run as a formula
// are neutralised in CSV and XLSX (internal/csvsafe).
package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Kind is a column's value type; writers use it for typed cells (numbers as numbers, dates as dates).
type Kind int

// Column kinds.
const (
	Text Kind = iota
	Int
	Float
	Bool
	Time
	JSON
)

// Column is one exported column: Key names it in JSON, Title heads it in CSV, XLSX and PDF.
type Column struct {
	Key   string
	Title string
	Kind  Kind
}

// Formats a Writer can produce.
const (
	CSV   = "csv"
	JSONA = "json"
	JSONL = "jsonl"
	XLSX  = "xlsx"
	PDF   = "pdf"
)

// Formats lists every format, for validation messages.
var Formats = []string{CSV, JSONA, JSONL, XLSX, PDF}

// ValidFormat reports whether f is one of Formats.
func ValidFormat(f string) bool {
	for _, x := range Formats {
		if x == f {
			return true
		}
	}
	return false
}

// Extension and ContentType of a format's file.
func Extension(format string) string {
	if format == JSONL {
		return "jsonl"
	}
	return format
}

// ContentType is the MIME type of a format.
func ContentType(format string) string {
	switch format {
	case CSV:
		return "text/csv; charset=utf-8"
	case JSONA:
		return "application/json"
	case JSONL:
		return "application/x-ndjson"
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case PDF:
		return "application/pdf"
	}
	return "application/octet-stream"
}

// ErrTooManyRows is returned by Row when a format's row limit is passed (PDF and XLSX).
var ErrTooManyRows = errors.New("too many rows for this format")

// Writer receives rows whose values match the columns: string (Text, JSON as raw text), int64, float64,
// bool, time.Time (zero means empty) or nil for an empty cell.
type Writer interface {
	Row(values []any) error
	// Close finishes the document; it does not close the underlying io.Writer.
	Close() error
}

// Report describes a document for the formats that show it (PDF title block).
type Report struct {
	Title     string
	Filter    string
	Generated time.Time
	Location  *time.Location // dates are shown in this zone in PDF; nil means UTC
}

// New starts a writer of format over w with cols.
func New(format string, w io.Writer, cols []Column, r Report) (Writer, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("export: no columns")
	}
	switch format {
	case CSV:
		return NewCSV(w, cols)
	case JSONA:
		return NewJSON(w, cols, false), nil
	case JSONL:
		return NewJSON(w, cols, true), nil
	case XLSX:
		return NewXLSX(w, cols)
	case PDF:
		return NewPDF(w, cols, r)
	}
	return nil, fmt.Errorf("export: unknown format %q", format)
}

// text renders a value for the text formats (CSV, PDF).
func text(v any, loc *time.Location) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case time.Time:
		if x.IsZero() {
			return ""
		}
		if loc != nil {
			return x.In(loc).Format("2006-01-02 15:04:05")
		}
		return x.UTC().Format(time.RFC3339)
	case json.RawMessage:
		return string(x)
	}
	return fmt.Sprint(v)
}

// sampler holds back the first widthSample rows, so a layout (column widths) can be fitted to real data
// before anything is written; then start runs once and every later row goes straight to write.
type sampler struct {
	pending [][]any
	started bool
}

func (s *sampler) row(values []any, start func() error, write func([]any) error) error {
	if s.started {
		return write(values)
	}
	cp := make([]any, len(values))
	copy(cp, values)
	s.pending = append(s.pending, cp)
	if len(s.pending) < widthSample {
		return nil
	}
	s.started = true
	return start()
}
