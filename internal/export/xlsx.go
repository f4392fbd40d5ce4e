package export

import (
	"archive/zip"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/playgram/playgram/internal/csvsafe"
	"github.com/xuri/excelize/v2"
)

// widthSample rows are held back before the first write so column widths can fit the data.
const widthSample = 200

const sheetName = "Export"

// MaxXLSXRows is Excel's sheet limit (1,048,576 rows) less the header row.
const MaxXLSXRows = 1_048_575

type xlsxWriter struct {
	out       io.Writer
	f         *excelize.File
	sw        *excelize.StreamWriter
	cols      []Column
	dateStyle int
	headStyle int
	sample    sampler
	row       int
	cells     []any
}

// NewXLSX writes one worksheet with a bold header row, frozen below the header, an auto filter over the
// data, column widths fitted to the first rows, numbers and booleans as typed cells, and dates as Excel
// dates (yyyy-mm-dd hh:mm:ss in UTC). Rows stream through excelize's StreamWriter, which spills to a
// temporary file, and the archive is compressed straight into out (see Close), so memory stays flat up to
// Excel's own row limit.
func NewXLSX(out io.Writer, cols []Column) (Writer, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheetName); err != nil {
		return nil, err
	}
	x := &xlsxWriter{out: out, f: f, cols: cols, cells: make([]any, len(cols))}
	var err error
	dateFmt := "yyyy-mm-dd hh:mm:ss"
	if x.dateStyle, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return nil, err
	}
	if x.headStyle, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7EEF7"}}}); err != nil {
		return nil, err
	}
	if x.sw, err = f.NewStreamWriter(sheetName); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *xlsxWriter) Row(values []any) error {
	return x.sample.row(values, x.start, x.write)
}

// start fixes the layout from the sampled rows, then writes the header and the sample.
func (x *xlsxWriter) start() error {
	for i, c := range x.cols {
		w := utf8.RuneCountInString(c.Title) + 4 // room for the filter button
		for _, r := range x.sample.pending {
			if i < len(r) {
				if n := cellWidth(c, r[i]); n > w {
					w = n
				}
			}
		}
		if w > 60 {
			w = 60
		}
		if err := x.sw.SetColWidth(i+1, i+1, float64(w)+1); err != nil {
			return err
		}
	}
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	head := make([]any, len(x.cols))
	for i, c := range x.cols {
		head[i] = excelize.Cell{StyleID: x.headStyle, Value: c.Title}
	}
	x.row = 1
	if err := x.sw.SetRow("A1", head); err != nil {
		return err
	}
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

func (x *xlsxWriter) write(values []any) error {
	for i := range x.cells {
		var v any
		if i < len(values) {
			v = values[i]
		}
		switch t := v.(type) {
		case string:
			v = csvsafe.Cell(t)
		case time.Time:
			if t.IsZero() {
				v = nil
			} else {
				u := t.UTC()
				v = excelize.Cell{StyleID: x.dateStyle, Value: time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), 0, time.UTC)}
			}
		}
		x.cells[i] = v
	}
	x.row++
	if x.row > MaxXLSXRows+1 {
		return fmt.Errorf("%w: an XLSX sheet holds at most %d rows; use CSV or JSON Lines for more, or narrow the filter", ErrTooManyRows, MaxXLSXRows)
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if !x.sample.started {
		if err := x.start(); err != nil {
			return err
		}
	}
	last, _ := excelize.ColumnNumberToName(len(x.cols))
	showStripes := false
	if err := x.sw.AddTable(&excelize.Table{Range: fmt.Sprintf("A1:%s%d", last, max(x.row, 2)), Name: "ExportData",
		StyleName: "TableStyleLight1", ShowRowStripes: &showStripes}); err != nil {
		return err
	}
	if err := x.sw.Flush(); err != nil {
		return err
	}
	// excelize's Write assembles the whole archive in a memory buffer (267 MB for 1M contacts). Given a ZIP
	// writer on out, it compresses every part straight into out instead and the buffer stays empty.
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(x.out) })
	return x.f.Write(io.Discard)
}
