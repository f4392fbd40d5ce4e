package qrcode

import (
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/goregular"
)

const pdfFontFamily = "go"

// newPDF starts a document. gopdf writes no creation date or document ID
// unless asked to, which keeps output byte-for-byte reproducible.
func newPDF(w, h float64, withFont bool) (*gopdf.GoPdf, error) {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{Unit: gopdf.UnitPT, PageSize: gopdf.Rect{W: w, H: h}})
	if withFont {
		if err := pdf.AddTTFFontData(pdfFontFamily, goregular.TTF); err != nil {
			return nil, fmt.Errorf("qrcode: loading the PDF font: %w", err)
		}
	}
	return pdf, nil
}

// pdfSymbol draws the symbol with its quiet zone as a side×side square at
// (x, y), plus the logo if there is one.
func pdfSymbol(pdf *gopdf.GoPdf, sym *symbol, margin int, x, y, side float64, fg, bg rgb, logo image.Image) error {
	module := side / float64(sym.n+2*margin)
	pdf.SetFillColor(bg.r, bg.g, bg.b)
	pdf.RectFromUpperLeftWithStyle(x, y, side, side, "F")
	pdf.SetFillColor(fg.r, fg.g, fg.b)
	// Runs reach a hair into the next row so viewers that anti-alias
	// each rectangle show no seams between rows.
	overlap := module * 0.02
	for row := 0; row < sym.n; row++ {
		sym.runs(row, func(x0, length int) {
			pdf.RectFromUpperLeftWithStyle(
				x+float64(x0+margin)*module, y+float64(row+margin)*module,
				float64(length)*module, module+overlap, "F")
		})
	}
	if logo == nil {
		return nil
	}
	box := logoBox(sym, float64(margin)*module, module)
	box.x += x
	box.y += y
	w, h := logoPixels(box, logo)
	_, flat, err := flatLogoPNG(logo, w, h, bg)
	if err != nil {
		return err
	}
	k := math.Min(box.w/float64(w), box.h/float64(h))
	iw, ih := float64(w)*k, float64(h)*k
	if err := pdf.ImageFrom(flat, box.x+(box.w-iw)/2, box.y+(box.h-ih)/2, &gopdf.Rect{W: iw, H: ih}); err != nil {
		return fmt.Errorf("qrcode: embedding logo in PDF: %w", err)
	}
	for _, m := range sym.onTop {
		c := bg
		if m.dark {
			c = fg
		}
		pdf.SetFillColor(c.r, c.g, c.b)
		pdf.RectFromUpperLeftWithStyle(x+float64(m.x+margin)*module, y+float64(m.y+margin)*module, module, module, "F")
	}
	return nil
}

// pdfText writes a fitted caption centred on centerX with its band
// starting at top.
func pdfText(pdf *gopdf.GoPdf, c captionLayout, centerX, top float64, fg rgb) error {
	if err := pdf.SetFont(pdfFontFamily, "", c.size); err != nil {
		return fmt.Errorf("qrcode: PDF font: %w", err)
	}
	w, err := pdf.MeasureTextWidth(c.text)
	if err != nil {
		return fmt.Errorf("qrcode: PDF text: %w", err)
	}
	pdf.SetTextColor(fg.r, fg.g, fg.b)
	pdf.SetXY(centerX-w/2, top+c.baseline())
	if err := pdf.Text(c.text); err != nil {
		return fmt.Errorf("qrcode: PDF text: %w", err)
	}
	return nil
}

// renderPDF makes a one-page PDF of Size×(Size+caption) points.
func renderPDF(sym *symbol, r *resolved) ([]byte, error) {
	size := float64(r.size)
	capt := layoutCaption(r.caption, size, 0)
	height := size + float64(capt.bandPx())
	pdf, err := newPDF(size, height, capt.text != "")
	if err != nil {
		return nil, err
	}
	pdf.AddPage()
	pdf.SetFillColor(r.bg.r, r.bg.g, r.bg.b)
	pdf.RectFromUpperLeftWithStyle(0, 0, size, height, "F")
	if err := pdfSymbol(pdf, sym, r.margin, 0, 0, size, r.fg, r.bg, r.logo); err != nil {
		return nil, err
	}
	if capt.text != "" {
		if err := pdfText(pdf, capt, size/2, size, r.fg); err != nil {
			return nil, err
		}
	}
	return pdfBytes(pdf)
}

func pdfBytes(pdf *gopdf.GoPdf) ([]byte, error) {
	b, err := pdf.GetBytesPdfReturnErr()
	if err != nil {
		return nil, fmt.Errorf("qrcode: writing PDF: %w", err)
	}
	return b, nil
}

// SheetItem is one code on a printable sheet.
type SheetItem struct {
	Code    string // printed under the symbol
	Content string // what the symbol encodes, usually the scan URL
}

// SheetOptions lays out RenderSheetPDF.
type SheetOptions struct {
	// Columns per A4 row, 1..6; 0 means 3 (symbols of about 48 mm, which
	// phones read from arm's length).
	Columns int
	// Style supplies Margin, FG, BG, ECC and Logo; its Format, Size and
	// Caption are ignored.
	Style ImageOptions
}

// Sheet limits.
const (
	MaxSheetItems      = 2000
	MaxSheetColumns    = 6
	DefaultSheetColumn = 3
)

// A4 in points and the printable frame on it.
const (
	a4W, a4H        = 595.28, 841.89
	sheetPageMargin = 36.0 // half an inch: inside every printer's margins
	sheetGutter     = 10.0
	sheetTextSize   = 10.0
)

// RenderSheetPDF lays codes out on A4 pages in a grid, each symbol with
// its code printed underneath, for batch printing. Pages are added as
// needed. Errors name the bad item, e.g. "items[3].content".
func RenderSheetPDF(items []SheetItem, opts SheetOptions) ([]byte, error) {
	if len(items) == 0 {
		return nil, fieldErr("items", "required", "no codes to print")
	}
	if len(items) > MaxSheetItems {
		return nil, fieldErr("items", "too_many", "%d codes; at most %d fit one document", len(items), MaxSheetItems)
	}
	cols := opts.Columns
	if cols == 0 {
		cols = DefaultSheetColumn
	}
	if cols < 1 || cols > MaxSheetColumns {
		return nil, fieldErr("columns", "out_of_range", "must be between 1 and %d, got %d", MaxSheetColumns, opts.Columns)
	}
	style := opts.Style
	style.Format, style.Size, style.Caption = FormatPDF, DefaultSize, ""
	r, err := style.resolve(true)
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		if err := checkContent(fmt.Sprintf("items[%d].content", i), it.Content); err != nil {
			return nil, err
		}
	}

	cellW := (a4W - 2*sheetPageMargin) / float64(cols)
	side := cellW - sheetGutter
	textBand := sheetTextSize * 1.5
	cellH := side + textBand + sheetGutter
	rows := max(1, int((a4H-2*sheetPageMargin)/cellH))
	perPage := rows * cols

	pdf, err := newPDF(a4W, a4H, true)
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		if i%perPage == 0 {
			pdf.AddPage()
		}
		slot := i % perPage
		x := sheetPageMargin + float64(slot%cols)*cellW + sheetGutter/2
		y := sheetPageMargin + float64(slot/cols)*cellH
		sym, err := encodeSymbol(it.Content, r.ecc, r.logo != nil)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				fe.Field = fmt.Sprintf("items[%d].content", i)
			}
			return nil, err
		}
		if err := pdfSymbol(pdf, sym, r.margin, x, y, side, r.fg, r.bg, r.logo); err != nil {
			return nil, err
		}
		if label := layoutCaption(it.Code, side, sheetTextSize); label.text != "" {
			if err := pdfText(pdf, label, x+side/2, y+side, r.fg); err != nil {
				return nil, err
			}
		}
	}
	return pdfBytes(pdf)
}
