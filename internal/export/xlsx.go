package export

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/playgram/playgram/internal/csvsafe"
)

// widthSample rows are held back before the first write so column widths can fit the data.
const widthSample = 200

const sheetName = "Export"

// MaxXLSXRows is Excel's sheet limit (1,048,576 rows) less the header row.
const MaxXLSXRows = 1_048_575

// Cell styles of styles.xml below: 0 plain, 1 date, 2 header.
const (
	styleDate   = 1
	styleHeader = 2
)

type xlsxWriter struct {
	zw     *zip.Writer
	sheet  *bufio.Writer
	cols   []Column
	sample sampler
	row    int
	ref    []string // column letters
}

// NewXLSX writes one worksheet with a bold header row, frozen below the header, a table with an auto filter
// over the data, column widths fitted to the first rows, numbers and booleans as typed cells, and dates as
// Excel dates (yyyy-mm-dd hh:mm:ss in UTC). The workbook is written as a zip stream straight to out, row by
// row, so memory stays flat however many rows there are (up to Excel's own limit).
func NewXLSX(out io.Writer, cols []Column) (Writer, error) {
	x := &xlsxWriter{zw: zip.NewWriter(out), cols: cols, ref: make([]string, len(cols))}
	for i := range cols {
		x.ref[i] = columnName(i + 1)
	}
	for _, part := range []struct{ name, body string }{
		{"[Content_Types].xml", contentTypesXML},
		{"_rels/.rels", rootRelsXML},
		{"xl/_rels/workbook.xml.rels", workbookRelsXML},
		{"xl/styles.xml", stylesXML},
		{"xl/worksheets/_rels/sheet1.xml.rels", sheetRelsXML},
	} {
		if err := x.put(part.name, part.body); err != nil {
			return nil, err
		}
	}
	return x, nil
}

func (x *xlsxWriter) put(name, body string) error {
	w, err := x.zw.Create(name)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, body)
	return err
}

func (x *xlsxWriter) Row(values []any) error {
	return x.sample.row(values, x.start, x.write)
}

// start fixes the layout from the sampled rows, opens the sheet, writes the header and the sample.
func (x *xlsxWriter) start() error {
	w, err := x.zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return err
	}
	x.sheet = bufio.NewWriterSize(w, 64<<10)
	x.sheet.WriteString(xmlHeader + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`)
	x.sheet.WriteString(`<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews><cols>`)
	for i, c := range x.cols {
		w := utf8.RuneCountInString(c.Title) + 4 // room for the filter button
		for _, r := range x.sample.pending {
			if i < len(r) {
				w = max(w, cellWidth(c, r[i]))
			}
		}
		fmt.Fprintf(x.sheet, `<col min="%d" max="%d" width="%d" customWidth="1"/>`, i+1, i+1, min(w, 60)+1)
	}
	x.sheet.WriteString(`</cols><sheetData><row r="1">`)
	for i, c := range x.cols {
		fmt.Fprintf(x.sheet, `<c r="%s1" s="%d" t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>`, x.ref[i], styleHeader, xmlText(c.Title))
	}
	x.sheet.WriteString(`</row>`)
	x.row = 1
	for _, r := range x.sample.pending {
		if err := x.write(r); err != nil {
			return err
		}
	}
	x.sample.pending = nil
	return nil
}

func cellWidth(c Column, v any) int {
	switch c.Kind {
	case Time:
		return 19
	case Bool:
		return 6
	}
	return utf8.RuneCountInString(text(v, nil))
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"

// excelEpoch is day 0 of Excel's 1900 date system (as Excel counts it, after its 1900 leap-year bug).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

func (x *xlsxWriter) write(values []any) error {
	x.row++
	if x.row > MaxXLSXRows+1 {
		return fmt.Errorf("%w: an XLSX sheet holds at most %d rows; use CSV or JSON Lines for more, or narrow the filter", ErrTooManyRows, MaxXLSXRows)
	}
	r := strconv.Itoa(x.row)
	x.sheet.WriteString(`<row r="` + r + `">`)
	for i := range x.cols {
		if i >= len(values) || values[i] == nil {
			continue
		}
		cell := x.ref[i] + r
		switch v := values[i].(type) {
		case string:
			x.inline(cell, csvsafe.Cell(v))
		case bool:
			b := "0"
			if v {
				b = "1"
			}
			x.sheet.WriteString(`<c r="` + cell + `" t="b"><v>` + b + `</v></c>`)
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			x.sheet.WriteString(`<c r="` + cell + `"><v>` + fmt.Sprint(v) + `</v></c>`)
		case float32, float64:
			f := toFloat(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			x.sheet.WriteString(`<c r="` + cell + `"><v>` + strconv.FormatFloat(f, 'g', -1, 64) + `</v></c>`)
		case time.Time:
			if v.IsZero() {
				continue
			}
			serial := float64(v.UTC().Truncate(time.Second).Sub(excelEpoch)) / float64(24*time.Hour)
			x.sheet.WriteString(`<c r="` + cell + `" s="` + strconv.Itoa(styleDate) + `"><v>` + strconv.FormatFloat(serial, 'f', -1, 64) + `</v></c>`)
		default:
			x.inline(cell, csvsafe.Cell(text(v, nil)))
		}
	}
	x.sheet.WriteString(`</row>`)
	return nil
}

func toFloat(v any) float64 {
	if f, ok := v.(float32); ok {
		return float64(f)
	}
	return v.(float64)
}

func (x *xlsxWriter) inline(cell, s string) {
	x.sheet.WriteString(`<c r="` + cell + `" t="inlineStr"><is><t xml:space="preserve">` + xmlText(s) + `</t></is></c>`)
}

func (x *xlsxWriter) Close() error {
	if !x.sample.started {
		if err := x.start(); err != nil {
			return err
		}
	}
	area := fmt.Sprintf("A1:%s%d", x.ref[len(x.ref)-1], max(x.row, 2))
	x.sheet.WriteString(`</sheetData><tableParts count="1"><tablePart r:id="rId1"/></tableParts></worksheet>`)
	if err := x.sheet.Flush(); err != nil {
		return err
	}
	var t strings.Builder
	fmt.Fprintf(&t, `%s<table xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" id="1" name="ExportData" displayName="ExportData" ref="%s"><autoFilter ref="%s"/><tableColumns count="%d">`,
		xmlHeader, area, area, len(x.cols))
	for i, c := range x.cols {
		fmt.Fprintf(&t, `<tableColumn id="%d" name="%s"/>`, i+1, xmlText(c.Title))
	}
	t.WriteString(`</tableColumns><tableStyleInfo name="TableStyleLight1" showFirstColumn="0" showLastColumn="0" showRowStripes="0" showColumnStripes="0"/></table>`)
	if err := x.put("xl/tables/table1.xml", t.String()); err != nil {
		return err
	}
	if err := x.put("xl/workbook.xml", xmlHeader+`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="`+sheetName+`" sheetId="1" r:id="rId1"/></sheets></workbook>`); err != nil {
		return err
	}
	return x.zw.Close()
}

// columnName is the spreadsheet letter of a 1-based column number (1 → A, 27 → AA).
func columnName(n int) string {
	var b []byte
	for n > 0 {
		n--
		b = append([]byte{byte('A' + n%26)}, b...)
		n /= 26
	}
	return string(b)
}

// xmlText escapes s for XML text and drops characters XML 1.0 cannot hold.
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000:
			if r == utf8.RuneError {
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

const (
	contentTypesXML = xmlHeader + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
		`<Override PartName="/xl/tables/table1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"/>` +
		`</Types>`
	rootRelsXML = xmlHeader + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`
	workbookRelsXML = xmlHeader + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`
	sheetRelsXML = xmlHeader + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/table" Target="../tables/table1.xml"/></Relationships>`
	stylesXML = xmlHeader + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
		`<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>` +
		`<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>` +
		`<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>` +
		`<fill><patternFill patternType="solid"><fgColor rgb="FFE7EEF7"/><bgColor indexed="64"/></patternFill></fill></fills>` +
		`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
		`<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
		`<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
		`<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/></cellXfs>` +
		`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`
)
