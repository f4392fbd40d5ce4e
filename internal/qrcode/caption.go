package qrcode

import (
	"fmt"
	"image"
	"math"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Caption sizing, in output pixels (points in PDF).
const (
	captionMinSize = 8.0
	captionMaxSize = 40.0
	// captionFill is the share of the width a caption may use.
	captionFill = 0.9
)

// captionFont is the Go Regular font compiled into the binary: captions
// look the same on every server and in every viewer, and no system font
// is ever read.
var captionFont = sync.OnceValue(func() *sfnt.Font {
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		panic(fmt.Sprintf("qrcode: the built-in Go font does not parse: %v", err))
	}
	return f
})

// captionLayout is a caption fitted to a width.
type captionLayout struct {
	text  string
	size  float64 // font size (em) in output pixels
	width float64 // advance width of text at size
}

// bandPx is the height the caption adds under the symbol.
func (c captionLayout) bandPx() int {
	if c.text == "" {
		return 0
	}
	return int(math.Ceil(c.size * 1.5))
}

// baseline is the text baseline measured from the top of the band.
func (c captionLayout) baseline() float64 { return c.size * 1.1 }

// layoutCaption starts from the preferred font size (0: proportional to
// width), shrinks it for long text down to captionMinSize, then shortens
// the text with "…". Characters the font lacks (emoji, CJK) are dropped
// rather than drawn as boxes.
func layoutCaption(text string, width, preferred float64) captionLayout {
	f := captionFont()
	var buf sfnt.Buffer
	text = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if idx, err := f.GlyphIndex(&buf, r); err != nil || idx == 0 {
			return -1
		}
		return r
	}, text)), " ")
	if text == "" {
		return captionLayout{}
	}
	maxW := width * captionFill
	size := preferred
	if size <= 0 {
		size = math.Min(captionMaxSize, math.Max(captionMinSize, width/18))
	}
	units := measureUnits(f, &buf, text)
	upem := float64(f.UnitsPerEm())
	if w := units * size / upem; w > maxW {
		size = math.Max(captionMinSize, size*maxW/w)
	}
	runes := []rune(text)
	for len(runes) > 1 && units*size/upem > maxW {
		runes = runes[:len(runes)-1]
		text = strings.TrimRight(string(runes), " ") + "…"
		units = measureUnits(f, &buf, text)
	}
	return captionLayout{text: text, size: size, width: units * size / upem}
}

// measureUnits is the advance width of s in font units, kerning included,
// matching what font.Drawer draws.
func measureUnits(f *sfnt.Font, buf *sfnt.Buffer, s string) float64 {
	ppem := fixed.Int26_6(f.UnitsPerEm()) << 6
	var total fixed.Int26_6
	prev, hasPrev := sfnt.GlyphIndex(0), false
	for _, r := range s {
		idx, err := f.GlyphIndex(buf, r)
		if err != nil {
			continue
		}
		if hasPrev {
			if k, err := f.Kern(buf, prev, idx, ppem, font.HintingNone); err == nil {
				total += k
			}
		}
		if adv, err := f.GlyphAdvance(buf, idx, ppem, font.HintingNone); err == nil {
			total += adv
		}
		prev, hasPrev = idx, true
	}
	return float64(total) / 64
}

// rasterize draws the caption centred into a width×height coverage mask.
func (c captionLayout) rasterize(width, height int) *image.Alpha {
	mask := image.NewAlpha(image.Rect(0, 0, width, height))
	face, err := opentype.NewFace(captionFont(), &opentype.FaceOptions{Size: c.size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return mask // cannot happen for a parsed font and positive size
	}
	defer face.Close()
	d := font.Drawer{
		Dst:  mask,
		Src:  image.Opaque,
		Face: face,
		Dot:  fixed.Point26_6{X: toFixed((float64(width) - c.width) / 2), Y: toFixed(c.baseline())},
	}
	d.DrawString(c.text)
	return mask
}

func toFixed(v float64) fixed.Int26_6 { return fixed.Int26_6(math.Round(v * 64)) }

// svgPath writes the caption's glyph outlines as SVG path data, centred on
// centerX with the band starting at top (both in pixels), scaled by k to
// the SVG's user units. Outlines instead of <text> keep viewers from
// substituting their own fonts.
func (c captionLayout) svgPath(b *strings.Builder, centerX, top, k float64) {
	f := captionFont()
	var buf sfnt.Buffer
	ppem := toFixed(c.size)
	penX := centerX - c.width/2
	baseY := top + c.baseline()
	pt := func(p fixed.Point26_6) string {
		return num((penX+float64(p.X)/64)*k) + " " + num((baseY+float64(p.Y)/64)*k)
	}
	prev, hasPrev := sfnt.GlyphIndex(0), false
	for _, r := range c.text {
		idx, err := f.GlyphIndex(&buf, r)
		if err != nil {
			continue
		}
		if hasPrev {
			if kern, err := f.Kern(&buf, prev, idx, ppem, font.HintingNone); err == nil {
				penX += float64(kern) / 64
			}
		}
		segs, err := f.LoadGlyph(&buf, idx, ppem, nil)
		if err == nil {
			open := false
			for _, s := range segs {
				switch s.Op {
				case sfnt.SegmentOpMoveTo:
					if open {
						b.WriteString("Z")
					}
					b.WriteString("M" + pt(s.Args[0]))
					open = true
				case sfnt.SegmentOpLineTo:
					b.WriteString("L" + pt(s.Args[0]))
				case sfnt.SegmentOpQuadTo:
					b.WriteString("Q" + pt(s.Args[0]) + " " + pt(s.Args[1]))
				case sfnt.SegmentOpCubeTo:
					b.WriteString("C" + pt(s.Args[0]) + " " + pt(s.Args[1]) + " " + pt(s.Args[2]))
				}
			}
			if open {
				b.WriteString("Z")
			}
		}
		if adv, err := f.GlyphAdvance(&buf, idx, ppem, font.HintingNone); err == nil {
			penX += float64(adv) / 64
		}
		prev, hasPrev = idx, true
	}
}
