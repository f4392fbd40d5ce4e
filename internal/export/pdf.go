package export

import (
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// MaxPDFRows bounds a PDF report: a PDF is a document to read, kept in memory while it is built; larger
// datasets belong in CSV or XLSX.
const MaxPDFRows = 100_000

var pdfRowLimit = MaxPDFRows

// A4 landscape, in points.
const (
	pageW, pageH = 842.0, 595.0
	margin       = 36.0
	rowH         = 14.0
	fontSize     = 8.0
)

type pdfWriter struct {
	out    io.Writer
	pdf    *gopdf.GoPdf
	cols   []Column
	widths []float64
	r      Report
	sample sampler
	y      float64
	rows   int
	pages  int
	cell   []string
}

// NewPDF writes an A4 landscape table report: a title block (title, filter, generation time), a header row
// repeated on every page, zebra rows, and "Page n of m" footers. Long cells are cut with an ellipsis.
func NewPDF(out io.Writer, cols []Column, r Report) (Writer, error) {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{Unit: gopdf.UnitPT, PageSize: gopdf.Rect{W: pageW, H: pageH}})
	if err := pdf.AddTTFFontData("go", goregular.TTF); err != nil {
		return nil, err
	}
	if err := pdf.AddTTFFontData("gobold", gobold.TTF); err != nil {
		return nil, err
	}
	if r.Location == nil {
		r.Location = time.UTC
	}
	if r.Generated.IsZero() {
		r.Generated = time.Now()
	}
	pdf.SetInfo(gopdf.PdfInfo{Title: r.Title, Producer: "Playgram", CreationDate: r.Generated})
	return &pdfWriter{out: out, pdf: pdf, cols: cols, r: r, cell: make([]string, len(cols))}, nil
}

func (p *pdfWriter) Row(values []any) error {
	p.rows++
	if p.rows > pdfRowLimit {
		return fmt.Errorf("%w: a PDF report holds at most %d rows; use CSV or XLSX for more, or narrow the filter", ErrTooManyRows, MaxPDFRows)
	}
	return p.sample.row(values, p.start, p.draw)
}

func (p *pdfWriter) start() error {
	// Widths in proportion to the typical content, between 4 and 40 characters.
	weights := make([]float64, len(p.cols))
	total := 0.0
	for i, c := range p.cols {
		w := utf8.RuneCountInString(c.Title)
		for _, r := range p.sample.pending {
			if i < len(r) {
				if n := utf8.RuneCountInString(text(r[i], p.r.Location)); n > w {
					w = n
				}
			}
		}
		weights[i] = float64(min(max(w, 4), 40))
		total += weights[i]
	}
	p.widths = make([]float64, len(p.cols))
	for i := range weights {
		p.widths[i] = (pageW - 2*margin) * weights[i] / total
	}
	if err := p.newPage(); err != nil {
		return err
	}
	for _, r := range p.sample.pending {
		if err := p.draw(r); err != nil {
			return err
		}
	}
	p.sample.pending = nil
	return nil
}

func (p *pdfWriter) newPage() error {
	pdf := p.pdf
	pdf.AddPage()
	p.pages++
	y := margin
	if p.pages == 1 {
		if err := pdf.SetFont("gobold", "", 14); err != nil {
			return err
		}
		pdf.SetXY(margin, y)
		_ = pdf.Cell(nil, p.r.Title)
		y += 20
		if err := pdf.SetFont("go", "", 9); err != nil {
			return err
		}
		filter := p.r.Filter
		if filter == "" {
			filter = "none (every record)"
		}
		pdf.SetXY(margin, y)
		_ = pdf.Cell(nil, p.fit("Filter: "+filter, pageW-2*margin))
		y += 13
		pdf.SetXY(margin, y)
		_ = pdf.Cell(nil, "Generated: "+p.r.Generated.In(p.r.Location).Format("2006-01-02 15:04:05 MST"))
		y += 18
	}
	// Footer with a placeholder for the page count, filled in at Close.
	if err := pdf.SetFont("go", "", 8); err != nil {
		return err
	}
	label := "Page " + strconv.Itoa(p.pages) + " of "
	pdf.SetXY(pageW-margin-90, pageH-margin+10)
	_ = pdf.Cell(nil, label)
	lw, _ := pdf.MeasureTextWidth(label)
	pdf.SetXY(pageW-margin-90+lw, pageH-margin+10+placeholderDrop)
	if err := pdf.PlaceHolderText("pages"+strconv.Itoa(p.pages), 30); err != nil {
		return err
	}
	// Header row.
	if err := pdf.SetFont("gobold", "", fontSize); err != nil {
		return err
	}
	pdf.SetFillColor(231, 238, 247)
	pdf.RectFromUpperLeftWithStyle(margin, y, pageW-2*margin, rowH+2, "F")
	ink(pdf)
	x := margin
	for i, c := range p.cols {
		pdf.SetXY(x+2, y+3)
		_ = pdf.Cell(nil, p.fit(c.Title, p.widths[i]-4))
		x += p.widths[i]
	}
	p.y = y + rowH + 2
	return pdf.SetFont("go", "", fontSize)
}

func (p *pdfWriter) draw(values []any) error {
	if p.y+rowH > pageH-margin {
		if err := p.newPage(); err != nil {
			return err
		}
	}
	pdf := p.pdf
	if p.rows%2 == 0 {
		pdf.SetFillColor(246, 246, 246)
		pdf.RectFromUpperLeftWithStyle(margin, p.y, pageW-2*margin, rowH, "F")
		ink(pdf)
	}
	x := margin
	for i := range p.cols {
		var v any
		if i < len(values) {
			v = values[i]
		}
		pdf.SetXY(x+2, p.y+3)
		_ = pdf.Cell(nil, p.fit(text(v, p.r.Location), p.widths[i]-4))
		x += p.widths[i]
	}
	p.y += rowH
	return nil
}

// ink sets black for text: gopdf fills glyphs with the fill colour, which the row shading changes.
func ink(pdf *gopdf.GoPdf) {
	pdf.SetFillColor(0, 0, 0)
	pdf.SetTextColor(0, 0, 0)
}

// placeholderDrop lines the page-count placeholder up with the text before it (gopdf places it by its top).
const placeholderDrop = 6.0

// fit cuts s to width with an ellipsis; control characters become spaces.
func (p *pdfWriter) fit(s string, width float64) string {
	clean := []rune(s)
	for i, r := range clean {
		if r < 0x20 {
			clean[i] = ' '
		}
	}
	// An 8 pt Go Regular glyph is at most ~6 pt wide: strings that surely fit skip measuring.
	if float64(len(clean))*6*fontSize/8 <= width {
		return string(clean)
	}
	if w, err := p.pdf.MeasureTextWidth(string(clean)); err == nil && w <= width {
		return string(clean)
	}
	lo, hi := 0, len(clean)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		w, err := p.pdf.MeasureTextWidth(string(clean[:mid]) + "…")
		if err == nil && w <= width {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return string(clean[:lo]) + "…"
}

func (p *pdfWriter) Close() error {
	if !p.sample.started {
		if err := p.start(); err != nil {
			return err
		}
	}
	total := strconv.Itoa(p.pages)
	for i := 1; i <= p.pages; i++ {
		if err := p.pdf.FillInPlaceHoldText("pages"+strconv.Itoa(i), total, gopdf.Left); err != nil {
			return err
		}
	}
	return p.pdf.Write(p.out)
}
