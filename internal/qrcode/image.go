package qrcode

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"

	zxdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
	yqr "github.com/yeqown/go-qrcode/v2"
	xdraw "golang.org/x/image/draw"
)

// LogoAreaFraction is the largest share of the symbol (without quiet zone)
// the logo pad may cover. Level H restores ~30% of damaged codewords, but
// how a centred square spreads over the Reed-Solomon blocks depends on the
// version, so every pad is verified (see encodeSymbol) and shrunk when
// needed.
const LogoAreaFraction = 0.20

// minLogoAreaFraction is the smallest pad worth drawing a logo on; below
// it the encoder moves to a larger QR version instead.
const minLogoAreaFraction = 0.09

// symbol is an encoded QR matrix with the logo pad already cleared.
type symbol struct {
	n    int    // modules per side
	dark []bool // n*n, row-major
	// padStart and padSide place the logo pad in modules; padSide is 0
	// without a logo.
	padStart, padSide int
	// onTop are the alignment-pattern modules inside the pad, drawn over
	// the logo: scanners such as zbar fit their sampling grid to every
	// alignment pattern and lose large symbols whose middle ones vanish.
	onTop []module
}

type module struct {
	x, y int
	dark bool
}

func (s *symbol) at(x, y int) bool { return s.dark[y*s.n+x] }

var eccLevels = map[ECC]yqr.EncodeOption{
	ECCLow:      yqr.WithErrorCorrectionLevel(yqr.ErrorCorrectionLow),
	ECCMedium:   yqr.WithErrorCorrectionLevel(yqr.ErrorCorrectionMedium),
	ECCQuartile: yqr.WithErrorCorrectionLevel(yqr.ErrorCorrectionQuart),
	ECCHigh:     yqr.WithErrorCorrectionLevel(yqr.ErrorCorrectionHighest),
}

// encodeSymbol encodes content; withLogo also clears a centred pad for
// the logo. A pad is only used if the symbol still decodes when every
// module under it, and one more ring of modules around it, is wrong: that
// is the worst any logo can do, plus headroom for print and camera
// defects. The largest such pad up to LogoAreaFraction is taken, moving to
// the next QR version when none reaches minLogoAreaFraction.
func encodeSymbol(content string, ecc ECC, withLogo bool) (*symbol, error) {
	minVersion := 0
	for {
		s, err := encodeMatrix(content, ecc, minVersion)
		if err != nil || !withLogo {
			return s, err
		}
		clean, err := zxdecoder.NewDecoder().DecodeBoolMapWithoutHint(s.rows())
		if err != nil {
			return nil, fmt.Errorf("qrcode: the encoded symbol does not decode: %w", err)
		}
		side := int(float64(s.n) * math.Sqrt(LogoAreaFraction))
		if (s.n-side)%2 != 0 {
			side-- // keep the pad centred on whole modules
		}
		for ; float64(side*side) >= minLogoAreaFraction*float64(s.n*s.n); side -= 2 {
			if s.survivesDamage(side+2, clean.GetRawBytes()) {
				s.clearPad(side)
				return s, nil
			}
		}
		version := (s.n - 17) / 4
		if version >= 40 {
			return nil, fieldErr("content", "too_long", "is too long to carry a logo; shorten it or leave the logo out")
		}
		minVersion = version + 1
	}
}

func encodeMatrix(content string, ecc ECC, minVersion int) (*symbol, error) {
	opts := []yqr.EncodeOption{eccLevels[ecc]}
	if minVersion > 0 {
		opts = append(opts, yqr.WithMinimumVersion(minVersion))
	}
	q, err := yqr.NewWith(content, opts...)
	if err != nil {
		return nil, fieldErr("content", "unencodable", "cannot be encoded as a QR code: %v", err)
	}
	var grab matrixGrabber
	if err := q.Save(&grab); err != nil {
		return nil, fmt.Errorf("qrcode: reading the QR matrix: %w", err)
	}
	n := len(grab.bitmap)
	s := &symbol{n: n, dark: make([]bool, n*n)}
	for y, row := range grab.bitmap {
		if len(row) != n {
			return nil, fmt.Errorf("qrcode: QR matrix is not square (%dx%d)", len(row), n)
		}
		copy(s.dark[y*n:], row)
	}
	return s, nil
}

// rows returns the matrix as fresh rows for the decoder.
func (s *symbol) rows() [][]bool {
	m := make([][]bool, s.n)
	for y := range m {
		m[y] = append([]bool(nil), s.dark[y*s.n:(y+1)*s.n]...)
	}
	return m
}

// survivesDamage reports whether the symbol decodes to the same data
// bytes with every module of a centred side×side square inverted.
func (s *symbol) survivesDamage(side int, want []byte) bool {
	m := s.rows()
	start := (s.n - side) / 2
	for y := start; y < start+side; y++ {
		for x := start; x < start+side; x++ {
			m[y][x] = !m[y][x]
		}
	}
	res, err := zxdecoder.NewDecoder().DecodeBoolMapWithoutHint(m)
	return err == nil && bytes.Equal(res.GetRawBytes(), want)
}

func (s *symbol) clearPad(side int) {
	s.padSide, s.padStart = side, (s.n-side)/2
	inPad := func(x, y int) bool {
		return x >= s.padStart && x < s.padStart+side && y >= s.padStart && y < s.padStart+side
	}
	for _, c := range alignmentCenters(s.n) {
		for y := c[1] - 2; y <= c[1]+2; y++ {
			for x := c[0] - 2; x <= c[0]+2; x++ {
				if inPad(x, y) {
					s.onTop = append(s.onTop, module{x, y, s.at(x, y)})
				}
			}
		}
	}
	for y := s.padStart; y < s.padStart+side; y++ {
		for x := s.padStart; x < s.padStart+side; x++ {
			s.dark[y*s.n+x] = false
		}
	}
}

// alignmentCenters lists the alignment pattern centres of a symbol n
// modules wide, row by row (ISO/IEC 18004 Annex E, in the closed form
// popularised by Project Nayuki's QR library).
func alignmentCenters(n int) [][2]int {
	version := (n - 17) / 4
	if version < 2 {
		return nil
	}
	count := version/7 + 2
	step := 26
	if version != 32 {
		step = (version*4 + count*2 + 1) / (count*2 - 2) * 2
	}
	pos := make([]int, count)
	pos[0] = 6
	for i := count - 1; i >= 1; i-- {
		pos[i] = n - 7 - (count-1-i)*step
	}
	var out [][2]int
	for _, y := range pos {
		for _, x := range pos {
			// The three corners holding finder patterns have none.
			if (x == 6 && y == 6) || (x == 6 && y == pos[count-1]) || (x == pos[count-1] && y == 6) {
				continue
			}
			out = append(out, [2]int{x, y})
		}
	}
	return out
}

// matrixGrabber receives the matrix from the encoder instead of letting it
// draw an image itself.
type matrixGrabber struct{ bitmap [][]bool }

func (g *matrixGrabber) Write(m yqr.Matrix) error { g.bitmap = m.Bitmap(); return nil }
func (g *matrixGrabber) Close() error             { return nil }

// runs calls fn for every horizontal run of dark modules in row y.
func (s *symbol) runs(y int, fn func(x0, length int)) {
	for x := 0; x < s.n; {
		if !s.at(x, y) {
			x++
			continue
		}
		start := x
		for x < s.n && s.at(x, y) {
			x++
		}
		fn(start, x-start)
	}
}

// Render draws content as a QR code in opts.Format. The same content and
// options always give the same bytes, so responses can be cached by ETag.
// Errors for bad input are *FieldError ("content", "size", "fg", ...).
func Render(content string, opts ImageOptions) ([]byte, error) {
	if err := checkContent("content", content); err != nil {
		return nil, err
	}
	r, err := opts.resolve(true)
	if err != nil {
		return nil, err
	}
	sym, err := encodeSymbol(content, r.ecc, r.logo != nil)
	if err != nil {
		return nil, err
	}
	switch r.format {
	case FormatSVG:
		return renderSVG(sym, r)
	case FormatPDF:
		return renderPDF(sym, r)
	default:
		return renderPNG(sym, r)
	}
}

// fgLevels is how many shades between bg and fg a PNG palette holds when
// anti-aliased caption text needs them.
const fgLevels = 16

func renderPNG(sym *symbol, r *resolved) ([]byte, error) {
	total := sym.n + 2*r.margin
	scale := r.size / total
	if scale < 1 {
		return nil, fieldErr("size", "too_small", "%d pixels is too small for this content; it needs at least %d", r.size, total)
	}
	origin := (r.size-total*scale)/2 + r.margin*scale
	capt := layoutCaption(r.caption, float64(r.size), 0)
	height := r.size + capt.bandPx()

	// Two colours give a 1-bit PNG; a caption needs blended shades.
	levels := 2
	if capt.text != "" {
		levels = fgLevels
	}
	pal := make(color.Palette, levels)
	for i := range pal {
		pal[i] = blend(r.bg, r.fg, float64(i)/float64(levels-1))
	}
	img := image.NewPaletted(image.Rect(0, 0, r.size, height), pal)
	fgIndex := uint8(levels - 1)

	line := make([]uint8, r.size)
	for y := 0; y < sym.n; y++ {
		clear(line)
		sym.runs(y, func(x0, length int) {
			for i := origin + x0*scale; i < origin+(x0+length)*scale; i++ {
				line[i] = fgIndex
			}
		})
		for dy := 0; dy < scale; dy++ {
			row := origin + y*scale + dy
			copy(img.Pix[row*img.Stride:], line)
		}
	}

	if capt.text != "" {
		mask := capt.rasterize(r.size, capt.bandPx())
		top := r.size * img.Stride
		for i, a := range mask.Pix {
			if a != 0 {
				img.Pix[top+i] = uint8((int(a)*(levels-1) + 127) / 255)
			}
		}
	}

	var out image.Image = img
	if r.logo != nil {
		rgba := image.NewRGBA(img.Rect)
		for i, p := range img.Pix {
			c := pal[p].(color.RGBA)
			px := rgba.Pix[4*i : 4*i+4 : 4*i+4]
			px[0], px[1], px[2], px[3] = c.R, c.G, c.B, 255
		}
		box := logoBox(sym, float64(origin), float64(scale))
		drawLogo(rgba, box, r.logo, r.bg)
		for _, m := range sym.onTop {
			c := r.bg
			if m.dark {
				c = r.fg
			}
			at := image.Rect(origin+m.x*scale, origin+m.y*scale, origin+(m.x+1)*scale, origin+(m.y+1)*scale)
			xdraw.Draw(rgba, at, image.NewUniform(color.RGBA{c.r, c.g, c.b, 255}), image.Point{}, xdraw.Src)
		}
		out = rgba
	}

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("qrcode: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

func blend(bg, fg rgb, t float64) color.RGBA {
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	return color.RGBA{mix(bg.r, fg.r), mix(bg.g, fg.g), mix(bg.b, fg.b), 255}
}

// rect is an axis-aligned box in output units.
type rect struct{ x, y, w, h float64 }

// logoBox is where the logo image goes: the pad minus one module of
// breathing room on each side, in output units for a symbol drawn at
// origin with modules of the given size.
func logoBox(sym *symbol, origin, module float64) rect {
	inner := float64(sym.padSide - 2)
	return rect{
		x: origin + float64(sym.padStart+1)*module,
		y: origin + float64(sym.padStart+1)*module,
		w: inner * module,
		h: inner * module,
	}
}

// fitLogo scales the logo to fit the box keeping its aspect ratio,
// centred, in whole pixels.
func fitLogo(box rect, logo image.Image) image.Rectangle {
	b := logo.Bounds()
	k := math.Min(box.w/float64(b.Dx()), box.h/float64(b.Dy()))
	w := max(1, int(math.Round(float64(b.Dx())*k)))
	h := max(1, int(math.Round(float64(b.Dy())*k)))
	x := int(math.Round(box.x + (box.w-float64(w))/2))
	y := int(math.Round(box.y + (box.h-float64(h))/2))
	return image.Rect(x, y, x+w, y+h)
}

// drawLogo scales the logo into box over the background colour, so
// transparent logos blend with the pad and the result is opaque.
func drawLogo(dst *image.RGBA, box rect, logo image.Image, bg rgb) {
	target := fitLogo(box, logo)
	xdraw.Draw(dst, target, image.NewUniform(color.RGBA{bg.r, bg.g, bg.b, 255}), image.Point{}, xdraw.Src)
	xdraw.CatmullRom.Scale(dst, target, logo, logo.Bounds(), xdraw.Over, nil)
}

// flatLogoPNG renders the logo at w×h pixels on the background colour as
// an opaque PNG, for embedding in SVG and PDF.
func flatLogoPNG(logo image.Image, w, h int, bg rgb) ([]byte, *image.RGBA, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	drawLogo(img, rect{0, 0, float64(w), float64(h)}, logo, bg)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, nil, fmt.Errorf("qrcode: encoding logo: %w", err)
	}
	return buf.Bytes(), img, nil
}

// logoPixels is the resolution a logo is embedded at in vector output:
// twice its displayed size so print stays sharp, within sane bounds.
func logoPixels(box rect, logo image.Image) (int, int) {
	fit := fitLogo(rect{0, 0, box.w * 2, box.h * 2}, logo)
	w, h := min(fit.Dx(), MaxLogoSide), min(fit.Dy(), MaxLogoSide)
	return max(w, 1), max(h, 1)
}

// num formats an SVG coordinate: at most three decimals, no trailing
// zeros, so output is compact and stable.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

func renderSVG(sym *symbol, r *resolved) ([]byte, error) {
	total := float64(sym.n + 2*r.margin)
	perPx := total / float64(r.size) // modules per output pixel
	capt := layoutCaption(r.caption, float64(r.size), 0)
	heightPx := r.size + capt.bandPx()
	viewH := float64(heightPx) * perPx

	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" width="%d" height="%d" viewBox="0 0 %s %s">`+"\n",
		r.size, heightPx, num(total), num(viewH))
	if capt.text != "" {
		b.WriteString("<title>" + xmlEscape(capt.text) + "</title>\n")
	}
	fmt.Fprintf(&b, `<rect width="%s" height="%s" fill="%s"/>`+"\n", num(total), num(viewH), r.bg.hex())
	fmt.Fprintf(&b, `<path fill="%s" shape-rendering="crispEdges" d="`, r.fg.hex())
	for y := 0; y < sym.n; y++ {
		sym.runs(y, func(x0, length int) {
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x0+r.margin, y+r.margin, length, length)
		})
	}
	b.WriteString(`"/>` + "\n")

	if r.logo != nil {
		box := logoBox(sym, float64(r.margin), 1)
		w, h := logoPixels(rect{w: box.w / perPx, h: box.h / perPx}, r.logo)
		data, _, err := flatLogoPNG(r.logo, w, h, r.bg)
		if err != nil {
			return nil, err
		}
		// Keep the embedded image's aspect inside the square box.
		k := math.Min(box.w/float64(w), box.h/float64(h))
		iw, ih := float64(w)*k, float64(h)*k
		fmt.Fprintf(&b, `<image x="%s" y="%s" width="%s" height="%s" xlink:href="data:image/png;base64,%s"/>`+"\n",
			num(box.x+(box.w-iw)/2), num(box.y+(box.h-ih)/2), num(iw), num(ih), base64.StdEncoding.EncodeToString(data))
		if len(sym.onTop) > 0 {
			for _, layer := range []struct {
				dark bool
				fill rgb
			}{{false, r.bg}, {true, r.fg}} {
				fmt.Fprintf(&b, `<path fill="%s" shape-rendering="crispEdges" d="`, layer.fill.hex())
				for _, m := range sym.onTop {
					if m.dark == layer.dark {
						fmt.Fprintf(&b, "M%d %dh1v1h-1z", m.x+r.margin, m.y+r.margin)
					}
				}
				b.WriteString(`"/>` + "\n")
			}
		}
	}

	if capt.text != "" {
		fmt.Fprintf(&b, `<path fill="%s" d="`, r.fg.hex())
		capt.svgPath(&b, float64(r.size)/2, float64(r.size), perPx)
		b.WriteString(`"/>` + "\n")
	}
	b.WriteString("</svg>\n")
	return []byte(b.String()), nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}
