package analytics

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/signintech/gopdf"
	"github.com/xuri/excelize/v2"
	"golang.org/x/image/font/gofont/goregular"
)

const (
	pageW, pageH = 595.28, 841.89 // A4 in points
	margin       = 40.0
	chartH       = 150.0
)

// RenderPDF draws the report on A4 pages: a title, and per widget a vector chart (bars, funnel bars, shaded
// retention and heatmap grids) above its numbers.
func RenderPDF(r *Report, loc *time.Location) ([]byte, error) {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{Unit: gopdf.UnitPT, PageSize: gopdf.Rect{W: pageW, H: pageH}})
	if err := pdf.AddTTFFontData("go", goregular.TTF); err != nil {
		return nil, err
	}
	pdf.AddPage()
	y := margin
	text := func(x, yy float64, size float64, s string) {
		_ = pdf.SetFont("go", "", size)
		pdf.SetXY(x, yy)
		_ = pdf.Cell(nil, s)
	}
	text(margin, y, 18, r.Name)
	y += 24
	text(margin, y, 10, fmt.Sprintf("%s · %s to %s · %s", r.Workspace, r.From.In(loc).Format("2 Jan 2006"), r.To.Add(-time.Second).In(loc).Format("2 Jan 2006"), r.Zone))
	y += 26
	width := pageW - 2*margin
	for _, w := range r.Widgets {
		rows := widgetTable(w)
		need := 20 + chartH + 14*float64(min(len(rows), 12)) + 20
		if y+need > pageH-margin {
			pdf.AddPage()
			y = margin
		}
		text(margin, y, 13, w.Title)
		y += 20
		if w.Error != "" {
			text(margin, y, 9, "Could not compute: "+w.Error)
			y += 24
			continue
		}
		drawChart(pdf, w, margin, y, width, chartH)
		y += chartH + 8
		// The first rows of the numbers (a chart shows the rest).
		_ = pdf.SetFont("go", "", 8)
		cols := len(rows[0])
		colW := width / float64(max(cols, 1))
		if w.Heatmap != nil {
			rows = nil // the grid carries the numbers
		}
		for i, row := range rows {
			if i >= 12 {
				break
			}
			for c, cell := range row {
				pdf.SetXY(margin+float64(c)*colW, y)
				_ = pdf.Cell(nil, cell)
			}
			y += 12
		}
		y += 16
	}
	var buf bytes.Buffer
	if _, err := pdf.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func drawChart(pdf *gopdf.GoPdf, w WidgetResult, x, y, width, height float64) {
	pdf.SetStrokeColor(180, 180, 180)
	pdf.SetLineWidth(0.5)
	pdf.Line(x, y+height, x+width, y+height)
	bar := func(bx, by, bw, bh float64) {
		if bw > 0 && bh > 0 {
			pdf.RectFromUpperLeftWithStyle(bx, by, bw, bh, "F")
		}
	}
	pdf.SetFillColor(37, 99, 235)
	switch {
	case w.Funnel != nil:
		n := len(w.Funnel.Steps)
		top := float64(max(w.Funnel.Steps[0].Count, 1))
		rowH := height / float64(n)
		for i, s := range w.Funnel.Steps {
			bar(x, y+float64(i)*rowH+2, width*float64(s.Count)/top, rowH-4)
		}
	case w.Cohorts != nil:
		rowH := height / float64(max(len(w.Cohorts), 1))
		cols := 1
		for _, c := range w.Cohorts {
			cols = max(cols, len(c.Values))
		}
		cw := width / float64(cols)
		for i, c := range w.Cohorts {
			for j, v := range c.Values {
				shade(pdf, ratio(v, c.Size))
				bar(x+float64(j)*cw+1, y+float64(i)*rowH+1, cw-2, rowH-2)
			}
		}
	case w.Heatmap != nil:
		var top int64 = 1
		for _, row := range w.Heatmap {
			for _, v := range row {
				top = max(top, v)
			}
		}
		cw, rh := width/24, height/7
		for d, row := range w.Heatmap {
			for h, v := range row {
				shade(pdf, float64(v)/float64(top))
				bar(x+float64(h)*cw+0.5, y+float64(d)*rh+0.5, cw-1, rh-1)
			}
		}
	case w.Credits != nil:
		top := 1.0
		for _, c := range w.Credits {
			top = math.Max(top, c.Revenue)
		}
		n := min(len(w.Credits), 10)
		if n == 0 {
			return
		}
		rowH := height / float64(n)
		for i := 0; i < n; i++ {
			bar(x, y+float64(i)*rowH+2, width*w.Credits[i].Revenue/top, rowH-4)
		}
	default:
		top := 0.0
		for _, v := range w.Values {
			if v != nil {
				top = math.Max(top, *v)
			}
		}
		if top == 0 || len(w.Values) == 0 {
			return
		}
		bw := width / float64(len(w.Values))
		for i, v := range w.Values {
			if v != nil {
				h := height * *v / top
				bar(x+float64(i)*bw+bw*0.1, y+height-h, bw*0.8, h)
			}
		}
	}
}

// shade sets a blue whose strength grows with f in [0, 1].
func shade(pdf *gopdf.GoPdf, f float64) {
	f = math.Max(0, math.Min(1, f))
	pdf.SetFillColor(uint8(235-200*f), uint8(242-150*f), 255)
}

// RenderXLSX writes the report as a workbook: a sheet per widget with its numbers, and native Excel charts
// for metrics (line), funnels and attribution (bars).
func RenderXLSX(r *Report) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	for i, w := range r.Widgets {
		name := fmt.Sprintf("%d %s", i+1, w.Title)
		if len([]rune(name)) > 31 {
			name = string([]rune(name)[:31])
		}
		name = sheetSafe(name)
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
		if w.Error != "" {
			_ = f.SetCellValue(name, "A1", "Could not compute: "+w.Error)
			continue
		}
		rows := widgetTable(w)
		for ri, row := range rows {
			for ci, cell := range row {
				ref, _ := excelize.CoordinatesToCellName(ci+1, ri+1)
				var v any = cell
				if ri > 0 && ci > 0 {
					if x, ok := number(cell); ok {
						v = x
					}
				}
				if err := f.SetCellValue(name, ref, v); err != nil {
					return nil, err
				}
			}
		}
		var chart *excelize.Chart
		last := len(rows)
		q := "'" + name + "'"
		switch {
		case w.Funnel != nil:
			chart = &excelize.Chart{Type: excelize.Bar, Series: []excelize.ChartSeries{{Name: "Contacts",
				Categories: fmt.Sprintf("%s!$B$2:$B$%d", q, last), Values: fmt.Sprintf("%s!$C$2:$C$%d", q, last)}}}
		case w.Credits != nil && len(w.Credits) > 0:
			chart = &excelize.Chart{Type: excelize.Bar, Series: []excelize.ChartSeries{{Name: "Revenue",
				Categories: fmt.Sprintf("%s!$A$2:$A$%d", q, last), Values: fmt.Sprintf("%s!$E$2:$E$%d", q, last)}}}
		case w.Cohorts == nil && w.Heatmap == nil && w.Credits == nil && len(w.Values) > 0:
			chart = &excelize.Chart{Type: excelize.Line, Series: []excelize.ChartSeries{{Name: w.Title,
				Categories: fmt.Sprintf("%s!$A$2:$A$%d", q, last-1), Values: fmt.Sprintf("%s!$B$2:$B$%d", q, last-1)}}}
		}
		if chart != nil {
			chart.Title = excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: w.Title}}}
			if err := f.AddChart(name, "I2", chart); err != nil {
				return nil, err
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sheetSafe(s string) string {
	out := []rune{}
	for _, c := range s {
		switch c {
		case ':', '\\', '/', '?', '*', '[', ']', '\'':
			c = ' '
		}
		out = append(out, c)
	}
	return string(out)
}
