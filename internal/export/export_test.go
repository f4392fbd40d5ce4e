package export

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

var testCols = []Column{{Key: "name", Title: "Name", Kind: Text}, {Key: "score", Title: "Score", Kind: Float},
	{Key: "visits", Title: "Visits", Kind: Int}, {Key: "vip", Title: "VIP", Kind: Bool},
	{Key: "created", Title: "Created", Kind: Time}, {Key: "tags", Title: "Tags", Kind: JSON}}

var when = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func testRows() [][]any {
	return [][]any{
		{"Ana", 12.5, int64(3), true, when, `["vip","new"]`},
		{"=HYPERLINK(\"http://evil\")", -1.0, int64(0), false, time.Time{}, ""},
		{"+cmd|'/C calc'!A0", nil, nil, nil, nil, nil},
	}
}

func write(t *testing.T, format string, rows [][]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := New(format, &buf, testCols, Report{Title: "Contacts", Filter: "vip = true", Generated: when})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	out := string(write(t, CSV, testRows()))
	want := "\uFEFFName,Score,Visits,VIP,Created,Tags\r\nAna,12.5,3,true,2026-03-01T09:30:00Z,\"[\"\"vip\"\",\"\"new\"\"]\"\r\n" +
		"\"'=HYPERLINK(\"\"http://evil\"\")\",-1,0,false,,\r\n'+cmd|'/C calc'!A0,,,,,\r\n"
	if out != want {
		t.Fatalf("csv:\n%q\nwant\n%q", out, want)
	}
}

func TestJSONArrayAndLines(t *testing.T) {
	var arr []map[string]any
	if err := json.Unmarshal(write(t, JSONA, testRows()), &arr); err != nil || len(arr) != 3 {
		t.Fatalf("array: %v %d", err, len(arr))
	}
	if arr[0]["score"] != 12.5 || arr[0]["visits"] != 3.0 || arr[0]["vip"] != true || arr[0]["created"] != "2026-03-01T09:30:00Z" {
		t.Fatalf("typed values: %v", arr[0])
	}
	if tags, ok := arr[0]["tags"].([]any); !ok || tags[0] != "vip" {
		t.Fatalf("JSON column embedded: %v", arr[0]["tags"])
	}
	if arr[1]["created"] != nil || arr[1]["tags"] != nil || arr[1]["name"] != `=HYPERLINK("http://evil")` {
		t.Fatalf("JSON keeps data as is, empty as null: %v", arr[1])
	}
	if string(write(t, JSONA, nil)) != "[]\n" {
		t.Fatal("empty array")
	}
	lines := strings.Split(strings.TrimSpace(string(write(t, JSONL, testRows()))), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines: %d", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line not JSON: %s", l)
		}
	}
}

func TestXLSXTypedCellsFrozenHeaderFilter(t *testing.T) {
	f, err := excelize.OpenReader(bytes.NewReader(write(t, XLSX, testRows())))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	if v, _ := f.GetCellValue(sheet, "A1"); v != "Name" {
		t.Fatalf("header: %q", v)
	}
	if typ, _ := f.GetCellType(sheet, "C2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Fatalf("int cell type: %v", typ)
	}
	if v, _ := f.GetCellValue(sheet, "C2", excelize.Options{RawCellValue: true}); v != "3" {
		t.Fatalf("int: %q", v)
	}
	if v, _ := f.GetCellValue(sheet, "E2"); v != "2026-03-01 09:30:00" {
		t.Fatalf("date formatted as date: %q", v)
	}
	if v, _ := f.GetCellValue(sheet, "E2", excelize.Options{RawCellValue: true}); !strings.HasPrefix(v, "46082.39") {
		t.Fatalf("date stored as serial number: %q", v)
	}
	if typ, _ := f.GetCellType(sheet, "D2"); typ != excelize.CellTypeBool {
		t.Fatalf("bool cell: %v", typ)
	}
	if v, _ := f.GetCellValue(sheet, "A3"); !strings.HasPrefix(v, "'=") {
		t.Fatalf("formula neutralised: %q", v)
	}
	if fs, _ := f.GetCellFormula(sheet, "A3"); fs != "" {
		t.Fatalf("no formula: %q", fs)
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Fatalf("frozen header: %+v %v", panes, err)
	}
	tables, err := f.GetTables(sheet)
	if err != nil || len(tables) != 1 || tables[0].Range != "A1:F4" {
		t.Fatalf("auto filter table: %+v %v", tables, err)
	}
	if w, _ := f.GetColWidth(sheet, "A"); w < 20 {
		t.Fatalf("column A fitted to its content: %v", w)
	}
}

func TestPDFReportPagesAndTitle(t *testing.T) {
	var rows [][]any
	for i := 0; i < 120; i++ {
		rows = append(rows, testRows()[0])
	}
	out := write(t, PDF, rows)
	if !bytes.HasPrefix(out, []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	pages := len(regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(out, -1))
	if pages < 3 {
		t.Fatalf("120 rows should span several pages, got %d", pages)
	}
	pdfRowLimit = 10
	defer func() { pdfRowLimit = MaxPDFRows }()
	var big bytes.Buffer
	w, _ := New(PDF, &big, testCols, Report{Title: "x"})
	var err error
	for i := 0; i <= 10 && err == nil; i++ {
		err = w.Row([]any{"a"})
	}
	if err == nil || !strings.Contains(err.Error(), "CSV or XLSX") {
		t.Fatalf("row cap: %v", err)
	}
}
