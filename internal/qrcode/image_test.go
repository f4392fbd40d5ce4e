package qrcode

import (
	"bytes"
	"compress/zlib"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

const testURL = "https://playgram.example/q/SHOP-VIP-ABC234"

// decodeQR reads a QR code from an image the way a scanning app would.
// gozxing's finder-pattern search misses roughly 1 in 100 valid symbols
// (symbols from its own encoder as much as ours, and zbar reads them), so
// a miss is retried in pure-barcode mode on the square symbol area above
// any caption. That mode still samples every module from the pixels.
func decodeQR(t *testing.T, img image.Image) (string, error) {
	t.Helper()
	text, err := decodeWith(img, gozxing.DecodeHintType_TRY_HARDER)
	if err == nil {
		return text, nil
	}
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	square := image.NewGray(image.Rect(0, 0, side, side))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			square.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	if text, pureErr := decodeWith(square, gozxing.DecodeHintType_PURE_BARCODE); pureErr == nil {
		return text, nil
	}
	return "", err
}

func decodeWith(img image.Image, hint gozxing.DecodeHintType) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{hint: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// testLogo is a colourful gradient; with transparent set its alpha
// fades from 40 to 255 so flattening over the background is exercised.
func testLogo(t testing.TB, w, h int, transparent bool, format string) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := uint8(255)
			if transparent {
				a = uint8(40 + 215*x/w)
			}
			img.Set(x, y, color.NRGBA{uint8(255 * x / w), 40, uint8(255 * y / h), a})
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	default:
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRenderPNGDecodes(t *testing.T) {
	t.Parallel()

	opaque := testLogo(t, 200, 200, false, "png")
	clear := testLogo(t, 300, 120, true, "png")
	photo := testLogo(t, 90, 160, false, "jpeg")

	scenarios := []struct {
		name    string
		content string
		opts    func(o *ImageOptions)
	}{
		{"defaults", testURL, func(o *ImageOptions) {}},
		{"smallest size", "PG-ABC234", func(o *ImageOptions) { o.Size = 64 }},
		{"large size", testURL, func(o *ImageOptions) { o.Size = 2048 }},
		{"ecc L", testURL, func(o *ImageOptions) { o.ECC = ECCLow; o.Size = 200 }},
		{"ecc Q", testURL, func(o *ImageOptions) { o.ECC = ECCQuartile; o.Size = 300 }},
		{"ecc H", testURL, func(o *ImageOptions) { o.ECC = ECCHigh; o.Size = 256 }},
		{"margin 1", testURL, func(o *ImageOptions) { o.Margin = 1 }},
		{"margin 16", testURL, func(o *ImageOptions) { o.Margin = 16; o.Size = 800 }},
		{"coloured", testURL, func(o *ImageOptions) { o.FG = "#1A3D7C"; o.BG = "#FFF4D6" }},
		{"dark red on pale green", testURL, func(o *ImageOptions) { o.FG = "8b0000"; o.BG = "e8f5e9" }},
		{"caption", testURL, func(o *ImageOptions) { o.Caption = "SHOP-VIP-ABC234" }},
		{"long caption", testURL, func(o *ImageOptions) { o.Caption = strings.Repeat("Summer sale ", 15) }},
		{"opaque logo", testURL, func(o *ImageOptions) { o.Logo = opaque }},
		{"transparent wide logo with colours", testURL, func(o *ImageOptions) {
			o.Logo, o.FG, o.BG = clear, "#2E1A47", "#F7F7F7"
		}},
		{"jpeg logo and caption", testURL, func(o *ImageOptions) { o.Logo, o.Caption = photo, "Scan me" }},
		{"logo overrides ecc L", testURL, func(o *ImageOptions) { o.Logo, o.ECC = opaque, ECCLow }},
		{"utf-8 content", "https://playgram.example/q/CAFÉ?ref=ação", func(o *ImageOptions) {}},
		{"long content", testURL + "?" + strings.Repeat("utm=instagram&", 30), func(o *ImageOptions) { o.Size = 1024 }},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			opts := DefaultImageOptions()
			s.opts(&opts)
			data, err := Render(s.content, opts)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("output is not a PNG: %v", err)
			}
			if img.Bounds().Dx() != opts.Size {
				t.Errorf("width %d, expected %d", img.Bounds().Dx(), opts.Size)
			}
			if (img.Bounds().Dy() > opts.Size) != (opts.Caption != "") {
				t.Errorf("height %d with caption %q", img.Bounds().Dy(), opts.Caption)
			}
			got, err := decodeQR(t, img)
			if err != nil {
				t.Fatalf("a scanner cannot read the PNG: %v", err)
			}
			if got != s.content {
				t.Fatalf("decoded %q, expected %q", got, s.content)
			}
		})
	}
}

// noiseLogo is the hardest logo for a scanner: random black and white
// pixels at roughly module size, which read as random modules.
func noiseLogo(t testing.TB) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	img := image.NewGray(image.Rect(0, 0, 40, 40))
	for i := range img.Pix {
		img.Pix[i] = uint8(255 * r.IntN(2))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The logo pad must leave every QR version readable, not just the one a
// typical URL lands on: how a centred square falls on the Reed-Solomon
// blocks differs per version (13, 18 and 21 are the hard ones).
func TestLogoDecodesAcrossVersions(t *testing.T) {
	t.Parallel()

	logo := noiseLogo(t)
	versions := map[int]bool{}
	for n := 1; n <= MaxContentLen-27; n += 19 {
		content := "https://playgram.example/q/" + strings.Repeat("x", n)
		natural, err := encodeMatrix(content, ECCHigh, 0)
		if err != nil {
			t.Fatal(err)
		}
		versions[(natural.n-17)/4] = true
		sym, err := encodeSymbol(content, ECCHigh, true)
		if err != nil {
			t.Fatal(err)
		}
		area := float64(sym.padSide*sym.padSide) / float64(sym.n*sym.n)
		if area > LogoAreaFraction || area < minLogoAreaFraction {
			t.Fatalf("version %d: pad covers %.1f%% of the symbol", (sym.n-17)/4, area*100)
		}

		opts := DefaultImageOptions()
		opts.Logo = logo
		opts.Size = 1024
		data, err := Render(content, opts)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeQR(t, img)
		if err != nil || got != content {
			t.Fatalf("version %d with logo: decoded %q, %v", (sym.n-17)/4, got, err)
		}
	}
	for _, v := range []int{13, 18, 21} {
		if !versions[v] {
			t.Errorf("content landing on version %d not exercised", v)
		}
	}
	if len(versions) < 30 {
		t.Fatalf("only %d QR versions exercised", len(versions))
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	t.Parallel()

	logo := testLogo(t, 120, 80, true, "png")
	for _, f := range []Format{FormatPNG, FormatSVG, FormatPDF} {
		for _, withExtras := range []bool{false, true} {
			opts := DefaultImageOptions()
			opts.Format = f
			if withExtras {
				opts.Logo, opts.Caption, opts.FG = logo, "Summer Sale — VIP", "#402060"
			}
			a, err := Render(testURL, opts)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Render(testURL, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s (logo and caption: %v): two renders differ", f, withExtras)
			}
			opts.Caption += "!"
			c, err := Render(testURL, opts)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(a, c) {
				t.Errorf("%s: a different caption gave the same bytes", f)
			}
		}
	}
}

type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Width   string   `xml:"width,attr"`
	Height  string   `xml:"height,attr"`
	ViewBox string   `xml:"viewBox,attr"`
	Title   string   `xml:"title"`
	Rects   []struct {
		Fill string `xml:"fill,attr"`
	} `xml:"rect"`
	Paths []struct {
		Fill string `xml:"fill,attr"`
		D    string `xml:"d,attr"`
	} `xml:"path"`
	Images []struct {
		Href string `xml:"http://www.w3.org/1999/xlink href,attr"`
	} `xml:"image"`
}

var svgRun = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-\d+z`)

// rasterizeRuns paints module runs (x, y, length in modules) black on
// white at 8 px per module.
func rasterizeRuns(total int, runs [][3]int) image.Image {
	const px = 8
	img := image.NewGray(image.Rect(0, 0, total*px, total*px))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, r := range runs {
		for y := r[1] * px; y < (r[1]+1)*px; y++ {
			for x := r[0] * px; x < (r[0]+r[2])*px; x++ {
				img.Pix[y*img.Stride+x] = 0
			}
		}
	}
	return img
}

func TestRenderSVG(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		name    string
		opts    func(o *ImageOptions)
		caption bool
		logo    bool
	}{
		{"plain", func(o *ImageOptions) {}, false, false},
		{"margin 2 and colours", func(o *ImageOptions) { o.Margin = 2; o.FG = "#123456"; o.BG = "#FAFAFA" }, false, false},
		{"caption with markup", func(o *ImageOptions) { o.Caption = `<b>"Tom & Jerry's"</b>` }, true, false},
		{"logo", func(o *ImageOptions) { o.Logo = testLogo(t, 50, 30, true, "png") }, false, true},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			opts := DefaultImageOptions()
			opts.Format = FormatSVG
			s.opts(&opts)
			data, err := Render(testURL, opts)
			if err != nil {
				t.Fatal(err)
			}
			var doc svgDoc
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			ecc := opts.ECC
			if s.logo {
				ecc = ECCHigh
			}
			sym, err := encodeSymbol(testURL, ecc, s.logo)
			if err != nil {
				t.Fatal(err)
			}
			total := sym.n + 2*opts.Margin
			if doc.Width != strconv.Itoa(opts.Size) {
				t.Errorf("width %q, expected %d", doc.Width, opts.Size)
			}
			if s.caption {
				h, _ := strconv.Atoi(doc.Height)
				if h <= opts.Size {
					t.Errorf("height %q leaves no room for the caption", doc.Height)
				}
				if !strings.HasPrefix(doc.ViewBox, fmt.Sprintf("0 0 %d ", total)) || doc.ViewBox == fmt.Sprintf("0 0 %d %d", total, total) {
					t.Errorf("viewBox %q, expected %d modules wide and taller than wide", doc.ViewBox, total)
				}
				if doc.Title != opts.Caption {
					t.Errorf("title %q, expected the caption %q", doc.Title, opts.Caption)
				}
				if len(doc.Paths) != 2 || doc.Paths[1].D == "" {
					t.Errorf("expected the caption outline as a second path")
				}
			} else {
				if want := fmt.Sprintf("0 0 %d %d", total, total); doc.ViewBox != want {
					t.Errorf("viewBox %q, expected %q", doc.ViewBox, want)
				}
				if doc.Height != strconv.Itoa(opts.Size) {
					t.Errorf("height %q, expected %d", doc.Height, opts.Size)
				}
			}
			if len(doc.Rects) != 1 || doc.Rects[0].Fill != strings.ToUpper(orDefault(opts.BG, "#FFFFFF")) {
				t.Errorf("background rect %+v, expected fill %s", doc.Rects, opts.BG)
			}
			if doc.Paths[0].Fill != strings.ToUpper(opts.FG) {
				t.Errorf("modules filled %q, expected %q", doc.Paths[0].Fill, opts.FG)
			}
			if s.logo != (len(doc.Images) == 1 && strings.HasPrefix(doc.Images[0].Href, "data:image/png;base64,")) {
				t.Errorf("logo images: %d", len(doc.Images))
			}

			// Repaint the module runs and scan them: the SVG must carry
			// the content, not just look plausible.
			var runs [][3]int
			for _, m := range svgRun.FindAllStringSubmatch(doc.Paths[0].D, -1) {
				x, _ := strconv.Atoi(m[1])
				y, _ := strconv.Atoi(m[2])
				l, _ := strconv.Atoi(m[3])
				runs = append(runs, [3]int{x, y, l})
			}
			got, err := decodeQR(t, rasterizeRuns(total, runs))
			if err != nil || got != testURL {
				t.Fatalf("SVG modules decode to %q, %v", got, err)
			}
		})
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var (
	pdfStream  = regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`)
	pdfRect    = regexp.MustCompile(`^([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re f$`)
	pdfFill    = regexp.MustCompile(`^([\d.]+) ([\d.]+) ([\d.]+) rg$`)
	pdfPageBox = regexp.MustCompile(`/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]`)
	pdfPage    = regexp.MustCompile(`/Type /Page\n`)
)

// pdfContent inflates every content stream that draws rectangles.
func pdfContent(t *testing.T, data []byte) []string {
	t.Helper()
	var pages []string
	for _, m := range pdfStream.FindAllSubmatch(data, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue // font or image data
		}
		raw, err := io.ReadAll(zr)
		if err == nil && bytes.Contains(raw, []byte(" re f")) {
			pages = append(pages, string(raw))
		}
	}
	return pages
}

// rasterizePDFPage paints the rectangles a page fills with fg (at 2 px per
// point, flipping PDF's bottom-up y axis) so the drawn code can be
// scanned.
func rasterizePDFPage(content string, pageW, pageH float64, fg string) image.Image {
	const k = 2.0
	img := image.NewGray(image.Rect(0, 0, int(pageW*k), int(pageH*k)))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	current := ""
	for _, line := range strings.Split(content, "\n") {
		if m := pdfFill.FindStringSubmatch(line); m != nil {
			current = m[1] + " " + m[2] + " " + m[3]
			continue
		}
		m := pdfRect.FindStringSubmatch(line)
		if m == nil || current != fg {
			continue
		}
		v := make([]float64, 4)
		for i := range v {
			v[i], _ = strconv.ParseFloat(m[i+1], 64)
		}
		x0, x1 := int(v[0]*k+0.5), int((v[0]+v[2])*k+0.5)
		y0, y1 := int((pageH-v[1]-v[3])*k+0.5), int((pageH-v[1])*k+0.5)
		for y := max(y0, 0); y < min(y1, img.Rect.Dy()); y++ {
			for x := max(x0, 0); x < min(x1, img.Rect.Dx()); x++ {
				img.Pix[y*img.Stride+x] = 0
			}
		}
	}
	return img
}

func TestRenderPDF(t *testing.T) {
	t.Parallel()

	opts := DefaultImageOptions()
	opts.Format = FormatPDF
	opts.Size = 300
	opts.FG = "#1A3D7C"
	opts.Caption = "SHOP-VIP-ABC234"
	opts.Logo = testLogo(t, 80, 80, true, "png")
	data, err := Render(testURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(data), []byte("%%EOF")) {
		t.Fatalf("not a complete PDF: %q ... %q", data[:min(20, len(data))], data[max(0, len(data)-20):])
	}
	for _, volatile := range []string{"/CreationDate", "/ModDate", "/ID"} {
		if bytes.Contains(data, []byte(volatile)) {
			t.Errorf("PDF contains %s, which would make output differ between runs", volatile)
		}
	}
	box := pdfPageBox.FindSubmatch(data)
	if box == nil {
		t.Fatal("no MediaBox")
	}
	w, _ := strconv.ParseFloat(string(box[1]), 64)
	h, _ := strconv.ParseFloat(string(box[2]), 64)
	if w != 300 || h <= 300 {
		t.Errorf("page is %vx%v pt, expected 300 wide plus a caption band", w, h)
	}
	pages := pdfContent(t, data)
	if len(pages) != 1 {
		t.Fatalf("expected one drawn page, got %d", len(pages))
	}
	got, err := decodeQR(t, rasterizePDFPage(pages[0], w, h, "0.102 0.239 0.486"))
	if err != nil || got != testURL {
		t.Fatalf("PDF modules decode to %q, %v", got, err)
	}
}

func TestRenderSheetPDF(t *testing.T) {
	t.Parallel()

	items := make([]SheetItem, 25)
	for i := range items {
		code := fmt.Sprintf("SHOP-%05d", i+1)
		items[i] = SheetItem{Code: code, Content: "https://playgram.example/q/" + code}
	}
	data, err := RenderSheetPDF(items, SheetOptions{Style: DefaultImageOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	// 3 columns × 4 rows per A4 page: 25 codes need 3 pages.
	if n := len(pdfPage.FindAll(data, -1)); n != 3 {
		t.Fatalf("expected 3 pages, got %d", n)
	}
	again, err := RenderSheetPDF(items, SheetOptions{Style: DefaultImageOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatal("two renders of the same sheet differ")
	}

	two, err := RenderSheetPDF(items, SheetOptions{Columns: 2, Style: DefaultImageOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pdfPage.FindAll(two, -1)); n <= 3 {
		t.Fatalf("2 columns should need more pages than 3 columns, got %d", n)
	}

	// The first code on the first page must scan: crop it out of the
	// painted page.
	page := rasterizePDFPage(pdfContent(t, data)[0], a4W, a4H, "0.000 0.000 0.000")
	cellW := (a4W - 2*sheetPageMargin) / 3
	crop := page.(*image.Gray).SubImage(image.Rect(0, 0, int((sheetPageMargin+cellW)*2), int((sheetPageMargin+cellW)*2)))
	got, err := decodeQR(t, crop)
	if err != nil || got != items[0].Content {
		t.Fatalf("first code on the sheet decodes to %q, %v", got, err)
	}
}

func TestRenderSheetPDFErrors(t *testing.T) {
	t.Parallel()

	ok := SheetItem{Code: "A", Content: "https://x.example/a"}
	scenarios := []struct {
		name  string
		items []SheetItem
		opts  SheetOptions
		field string
	}{
		{"no items", nil, SheetOptions{}, "items"},
		{"too many items", make([]SheetItem, MaxSheetItems+1), SheetOptions{}, "items"},
		{"empty content", []SheetItem{ok, {Code: "B"}}, SheetOptions{}, "items[1].content"},
		{"content too long", []SheetItem{ok, ok, {Content: strings.Repeat("x", MaxContentLen+1)}}, SheetOptions{}, "items[2].content"},
		{"columns", []SheetItem{ok}, SheetOptions{Columns: 7}, "columns"},
		{"bad colour", []SheetItem{ok}, SheetOptions{Style: ImageOptions{FG: "blue"}}, "fg"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			_, err := RenderSheetPDF(s.items, s.opts)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != s.field {
				t.Fatalf("expected a FieldError for %q, got %v", s.field, err)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()

	gifLogo := testLogo(t, 10, 10, false, "gif")
	hugeLogo := func() []byte {
		var buf bytes.Buffer
		_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, MaxLogoSide+1, 1)))
		return buf.Bytes()
	}()

	scenarios := []struct {
		name    string
		content string
		opts    func(o *ImageOptions)
		field   string
		code    string
	}{
		{"empty content", "", func(o *ImageOptions) {}, "content", "required"},
		{"content too long", strings.Repeat("a", MaxContentLen+1), func(o *ImageOptions) {}, "content", "too_long"},
		{"content not utf-8", "\xff\xfe", func(o *ImageOptions) {}, "content", "invalid"},
		{"unknown format", "x", func(o *ImageOptions) { o.Format = "gif" }, "format", "invalid"},
		{"size too small", "x", func(o *ImageOptions) { o.Size = MinSize - 1 }, "size", "out_of_range"},
		{"size too large", "x", func(o *ImageOptions) { o.Size = MaxSize + 1 }, "size", "out_of_range"},
		{"size too small for content", strings.Repeat("a", 500), func(o *ImageOptions) { o.Size = 64 }, "size", "too_small"},
		{"negative margin", "x", func(o *ImageOptions) { o.Margin = -1 }, "margin", "out_of_range"},
		{"margin too large", "x", func(o *ImageOptions) { o.Margin = MaxMargin + 1 }, "margin", "out_of_range"},
		{"fg name", "x", func(o *ImageOptions) { o.FG = "red" }, "fg", "invalid_color"},
		{"fg short hex", "x", func(o *ImageOptions) { o.FG = "#000" }, "fg", "invalid_color"},
		{"bg not hex", "x", func(o *ImageOptions) { o.BG = "#GGGGGG" }, "bg", "invalid_color"},
		{"inverted colours", "x", func(o *ImageOptions) { o.FG, o.BG = "#FFFFFF", "#000000" }, "fg", "low_contrast"},
		{"low contrast", "x", func(o *ImageOptions) { o.FG, o.BG = "#AAAAAA", "#FFFFFF" }, "fg", "low_contrast"},
		{"bad ecc", "x", func(o *ImageOptions) { o.ECC = "X" }, "ecc", "invalid"},
		{"logo not an image", "x", func(o *ImageOptions) { o.Logo = []byte("hello") }, "logo", "invalid_image"},
		{"logo gif", "x", func(o *ImageOptions) { o.Logo = gifLogo }, "logo", "invalid_image"},
		{"logo too many pixels", "x", func(o *ImageOptions) { o.Logo = hugeLogo }, "logo", "too_large"},
		{"logo too many bytes", "x", func(o *ImageOptions) { o.Logo = make([]byte, MaxLogoBytes+1) }, "logo", "too_large"},
		{"caption too long", "x", func(o *ImageOptions) { o.Caption = strings.Repeat("a", MaxCaptionLen+1) }, "caption", "too_long"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			opts := DefaultImageOptions()
			s.opts(&opts)
			_, err := Render(s.content, opts)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("expected *FieldError, got %v", err)
			}
			if fe.Field != s.field || fe.Code != s.code {
				t.Fatalf("expected %s/%s, got %s/%s: %v", s.field, s.code, fe.Field, fe.Code, err)
			}
			if !strings.HasPrefix(err.Error(), s.field+": ") {
				t.Errorf("message %q does not start with the field", err)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]Format{"png": FormatPNG, ".svg": FormatSVG, "PDF": FormatPDF} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
		if want.ContentType() == "" || (want != FormatPNG && want.ContentType() == FormatPNG.ContentType()) {
			t.Errorf("%s has no distinct content type", want)
		}
	}
	var fe *FieldError
	if _, err := ParseFormat("gif"); !errors.As(err, &fe) || fe.Field != "format" {
		t.Errorf("expected a format FieldError, got %v", err)
	}
}

func TestCaptionLayout(t *testing.T) {
	t.Parallel()

	short := layoutCaption("SHOP-1", 512, 0)
	if short.text != "SHOP-1" || short.size != 512.0/18 {
		t.Errorf("short caption: %+v", short)
	}
	long := layoutCaption(strings.Repeat("W", 80), 512, 0)
	if long.size != captionMinSize || !strings.HasSuffix(long.text, "…") || long.width > 512*captionFill {
		t.Errorf("long caption not shrunk and shortened: size %v width %v text %q", long.size, long.width, long.text)
	}
	medium := layoutCaption("Summer Sale for VIP Members Only", 256, 0)
	if medium.size >= 256.0/18 || medium.size <= captionMinSize || strings.HasSuffix(medium.text, "…") {
		t.Errorf("medium caption should only shrink: %+v", medium)
	}
	if got := layoutCaption("🎉 Party 🎉", 512, 0).text; got != "Party" {
		t.Errorf("emoji not dropped: %q", got)
	}
	if got := layoutCaption("🎉", 512, 0); got.text != "" || got.bandPx() != 0 {
		t.Errorf("caption without drawable characters should vanish: %+v", got)
	}
}

func TestParseImageOptions(t *testing.T) {
	t.Parallel()

	logo := testLogo(t, 10, 10, false, "png")
	scenarios := []struct {
		name     string
		query    string
		logo     []byte
		expected func(o *ImageOptions)
		fields   []string // expected error fields in order
	}{
		{"empty query gives defaults", "", nil, func(o *ImageOptions) {}, nil},
		{"all parameters", "size=300&margin=2&fg=%231a3d7c&bg=FFF4D6&ecc=q&utm=x", nil, func(o *ImageOptions) {
			o.Size, o.Margin, o.FG, o.BG, o.ECC = 300, 2, "#1A3D7C", "#FFF4D6", ECCQuartile
		}, nil},
		{"empty values are absent", "size=&fg=", nil, func(o *ImageOptions) {}, nil},
		{"tool logo used by default", "", logo, func(o *ImageOptions) { o.Logo, o.ECC = logo, ECCHigh }, nil},
		{"tool logo forces H", "ecc=L", logo, func(o *ImageOptions) { o.Logo, o.ECC = logo, ECCHigh }, nil},
		{"logo turned off", "logo=0&ecc=L", logo, func(o *ImageOptions) { o.ECC = ECCLow }, nil},
		{"logo off spelled false", "logo=false", logo, func(o *ImageOptions) {}, nil},
		{"logo requested without one", "logo=1", nil, nil, []string{"logo"}},
		{"logo bad value", "logo=maybe", logo, nil, []string{"logo"}},
		{"size not a number", "size=big", nil, nil, []string{"size"}},
		{"size out of range", "size=4000", nil, nil, []string{"size"}},
		{"margin out of range", "margin=20", nil, nil, []string{"margin"}},
		{"bad colour", "fg=%23zzzzzz", nil, nil, []string{"fg"}},
		{"low contrast", "fg=%23eeeeee", nil, nil, []string{"fg"}},
		{"bad ecc", "ecc=Z", nil, nil, []string{"ecc"}},
		{"every error reported", "size=1&margin=x&bg=nope&ecc=Z&logo=2", nil, nil, []string{"size", "margin", "bg", "ecc", "logo"}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			q, err := url.ParseQuery(s.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseImageOptions(q, s.logo)
			if s.fields != nil {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != s.fields[0] {
					t.Fatalf("expected first error on %q, got %v", s.fields[0], err)
				}
				joined, ok := err.(interface{ Unwrap() []error })
				if !ok || len(joined.Unwrap()) != len(s.fields) {
					t.Fatalf("expected %d errors, got %v", len(s.fields), err)
				}
				for i, e := range joined.Unwrap() {
					if !errors.As(e, &fe) || fe.Field != s.fields[i] {
						t.Errorf("error %d: expected field %q, got %v", i, s.fields[i], e)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultImageOptions()
			s.expected(&want)
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Fatalf("expected %+v, got %+v", want, got)
			}
			if _, err := Render(testURL, got); err != nil {
				t.Fatalf("parsed options do not render: %v", err)
			}
		})
	}
}

func TestETag(t *testing.T) {
	t.Parallel()

	base := DefaultImageOptions()
	tag := ETag(testURL, base)
	if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(tag) {
		t.Fatalf("not a quoted strong ETag: %s", tag)
	}

	same := []func(o *ImageOptions){
		func(o *ImageOptions) { o.FG = "000000" },
		func(o *ImageOptions) { o.BG = "#ffffff" },
		func(o *ImageOptions) { o.ECC = "m" },
		func(o *ImageOptions) { o.Size = 0 },
		func(o *ImageOptions) { o.Format = "" },
		func(o *ImageOptions) { o.Caption = "  " },
	}
	for i, change := range same {
		o := base
		change(&o)
		if got := ETag(testURL, o); got != tag {
			t.Errorf("equivalent options %d changed the ETag", i)
		}
	}

	logo := testLogo(t, 10, 10, false, "png")
	otherLogo := testLogo(t, 11, 10, false, "png")
	seen := map[string]string{tag: "base"}
	different := map[string]func(o *ImageOptions){
		"size":       func(o *ImageOptions) { o.Size = 513 },
		"margin":     func(o *ImageOptions) { o.Margin = 3 },
		"fg":         func(o *ImageOptions) { o.FG = "#000001" },
		"bg":         func(o *ImageOptions) { o.BG = "#FFFFFE" },
		"ecc":        func(o *ImageOptions) { o.ECC = ECCHigh },
		"format":     func(o *ImageOptions) { o.Format = FormatSVG },
		"caption":    func(o *ImageOptions) { o.Caption = "x" },
		"logo":       func(o *ImageOptions) { o.Logo = logo },
		"other logo": func(o *ImageOptions) { o.Logo = otherLogo },
	}
	for name, change := range different {
		o := base
		change(&o)
		got := ETag(testURL, o)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s gave the same ETag as %s", name, prev)
		}
		seen[got] = name
	}
	if ETag(testURL+"x", base) == tag {
		t.Error("different content gave the same ETag")
	}
}

func BenchmarkRenderPNG(b *testing.B) {
	logo := testLogo(b, 256, 256, true, "png")
	for _, bc := range []struct {
		name string
		opts func(o *ImageOptions)
	}{
		{"512", func(o *ImageOptions) {}},
		{"2048", func(o *ImageOptions) { o.Size = 2048 }},
		{"512-caption", func(o *ImageOptions) { o.Caption = "SHOP-VIP-ABC234" }},
		{"512-logo", func(o *ImageOptions) { o.Logo = logo }},
		{"2048-logo-caption", func(o *ImageOptions) { o.Size, o.Logo, o.Caption = 2048, logo, "SHOP-VIP-ABC234" }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := DefaultImageOptions()
			bc.opts(&opts)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(testURL, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRenderVector(b *testing.B) {
	for _, f := range []Format{FormatSVG, FormatPDF} {
		b.Run(string(f), func(b *testing.B) {
			opts := DefaultImageOptions()
			opts.Format, opts.Caption = f, "SHOP-VIP-ABC234"
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(testURL, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRenderSheetPDF(b *testing.B) {
	items := make([]SheetItem, 100)
	for i := range items {
		code := fmt.Sprintf("SHOP-%05d", i)
		items[i] = SheetItem{Code: code, Content: "https://playgram.example/q/" + code}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderSheetPDF(items, SheetOptions{Style: DefaultImageOptions()}); err != nil {
			b.Fatal(err)
		}
	}
}

// alignmentCenters must agree with where the encoder really put the
// patterns, or the logo would hide the ones scanners align on.
func TestAlignmentCentersMatchEncoder(t *testing.T) {
	t.Parallel()

	for version := 1; version <= 40; version++ {
		sym, err := encodeMatrix("A", ECCLow, version)
		if err != nil {
			t.Fatal(err)
		}
		if got := (sym.n - 17) / 4; got != version {
			t.Fatalf("asked for version %d, got %d", version, got)
		}
		centers := alignmentCenters(sym.n)
		if want := map[bool]int{true: 0, false: (version/7+2)*(version/7+2) - 3}[version == 1]; len(centers) != want {
			t.Fatalf("version %d: %d alignment patterns, expected %d", version, len(centers), want)
		}
		for _, c := range centers {
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					ring := max(abs(dx), abs(dy))
					if want := ring != 1; sym.at(c[0]+dx, c[1]+dy) != want {
						t.Fatalf("version %d: no alignment pattern at %v", version, c)
					}
				}
			}
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// With a logo, alignment patterns inside the pad are drawn over it.
func TestLogoKeepsAlignmentPatterns(t *testing.T) {
	t.Parallel()

	content := testURL + "?" + strings.Repeat("ref=ig&", 30)
	sym, err := encodeSymbol(content, ECCHigh, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(sym.onTop) == 0 {
		t.Fatalf("version %d pad hides its middle alignment pattern but keeps none", (sym.n-17)/4)
	}
	kept := map[[2]int]bool{}
	for _, m := range sym.onTop {
		kept[[2]int{m.x, m.y}] = m.dark
	}
	inside := 0
	for _, c := range alignmentCenters(sym.n) {
		if c[0] < sym.padStart || c[0] >= sym.padStart+sym.padSide || c[1] < sym.padStart || c[1] >= sym.padStart+sym.padSide {
			continue
		}
		inside++
		if dark, ok := kept[c]; !ok || !dark {
			t.Fatalf("centre of the alignment pattern at %v is not kept dark", c)
		}
	}
	if inside == 0 {
		t.Fatalf("version %d: no alignment pattern inside the pad; pick a longer content", (sym.n-17)/4)
	}

	opts := DefaultImageOptions()
	opts.Logo = noiseLogo(t)
	opts.Size = 1024
	data, err := Render(content, opts)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	total := sym.n + 2*opts.Margin
	scale := opts.Size / total
	origin := (opts.Size-total*scale)/2 + opts.Margin*scale
	for _, m := range sym.onTop {
		r, _, _, _ := img.At(origin+m.x*scale+scale/2, origin+m.y*scale+scale/2).RGBA()
		if (r < 0x8000) != m.dark {
			t.Fatalf("module %d,%d of an alignment pattern is painted over by the logo", m.x, m.y)
		}
	}
}
