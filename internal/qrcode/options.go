package qrcode

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // logos may be JPEG
	_ "image/png"  // logos may be PNG
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format is an output file format.
type Format string

const (
	FormatPNG Format = "png"
	FormatSVG Format = "svg"
	FormatPDF Format = "pdf"
)

// ParseFormat reads a format name or file extension ("png", ".SVG"), as
// found in a URL such as /qr/CODE.png.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimPrefix(s, "."))); f {
	case FormatPNG, FormatSVG, FormatPDF:
		return f, nil
	}
	return "", fieldErr("format", "invalid", "unknown format %q; use png, svg or pdf", s)
}

// ContentType is the MIME type to serve the format with.
func (f Format) ContentType() string {
	switch f {
	case FormatSVG:
		return "image/svg+xml"
	case FormatPDF:
		return "application/pdf"
	default:
		return "image/png"
	}
}

// ECC is a QR error-correction level: how much of the symbol may be
// damaged (or covered by a logo) and still decode.
type ECC string

const (
	ECCLow      ECC = "L" // ~7% recoverable
	ECCMedium   ECC = "M" // ~15%
	ECCQuartile ECC = "Q" // ~25%
	ECCHigh     ECC = "H" // ~30%
)

// Limits and defaults of ImageOptions.
const (
	MinSize       = 64
	MaxSize       = 2048
	DefaultSize   = 512
	MaxMargin     = 16
	DefaultMargin = 4 // the quiet zone the QR specification asks for
	// MaxContentLen bounds what a symbol carries; version 40 at level H
	// holds 1273 bytes, so every level can take this much.
	MaxContentLen = 1024
	// MaxCaptionLen bounds the caption in bytes.
	MaxCaptionLen = 200
	// MaxLogoBytes and MaxLogoSide bound an uploaded logo so decoding it
	// cannot exhaust memory.
	MaxLogoBytes = 2 << 20
	MaxLogoSide  = 2048
	// MinContrast is the lowest WCAG contrast ratio between fg and bg
	// accepted; below it phone cameras start to miss modules.
	MinContrast = 3.0
)

// FieldError names the option (or query parameter) that is wrong, so an
// HTTP handler can answer 400 pointing at it.
type FieldError struct {
	Field   string // e.g. "size", "fg", "logo", "items[3].content"
	Code    string // stable machine-readable reason, e.g. "out_of_range"
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, code, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ImageOptions controls how a code is drawn. Start from
// DefaultImageOptions: the zero Margin means "no quiet zone", which many
// scanners struggle with.
type ImageOptions struct {
	Format Format // "" means PNG
	// Size is the width of the symbol area in pixels (PNG) or points
	// (PDF, SVG's width attribute); the caption, if any, is added below.
	// 0 means DefaultSize. PNG modules are whole pixels, so a PNG needs at
	// least one pixel per module (the rest becomes quiet zone); vector
	// formats have no such limit.
	Size int
	// Margin is the quiet zone around the symbol, in modules.
	Margin int
	// FG and BG are "#RRGGBB" (the '#' is optional); "" means black on
	// white. FG must be darker than BG with at least MinContrast.
	FG, BG string
	// ECC is the error-correction level; "" means M. With a Logo it is
	// always H.
	ECC ECC
	// Logo is a PNG or JPEG drawn in the middle of the symbol on a pad of
	// the background colour covering at most LogoAreaFraction of it.
	Logo []byte
	// Caption is printed centred under the symbol with the built-in Go
	// font; it is shrunk, then shortened with "…", to fit the width.
	Caption string
}

// DefaultImageOptions are the options used when a request sets none.
func DefaultImageOptions() ImageOptions {
	return ImageOptions{Format: FormatPNG, Size: DefaultSize, Margin: DefaultMargin, FG: "#000000", BG: "#FFFFFF", ECC: ECCMedium}
}

// resolved is ImageOptions after validation, with parsed values.
type resolved struct {
	format  Format
	size    int
	margin  int
	fg, bg  rgb
	ecc     ECC
	logo    image.Image // nil without logo
	caption string
}

type rgb struct{ r, g, b uint8 }

func (c rgb) hex() string { return fmt.Sprintf("#%02X%02X%02X", c.r, c.g, c.b) }

// resolve validates every option, naming the first bad one. Without
// decode the logo is only counted (for ETag, which must stay cheap).
func (o ImageOptions) resolve(decode bool) (*resolved, error) {
	r := &resolved{format: o.Format, size: o.Size, margin: o.Margin, ecc: o.ECC}
	switch r.format {
	case "":
		r.format = FormatPNG
	case FormatPNG, FormatSVG, FormatPDF:
	default:
		return nil, fieldErr("format", "invalid", "unknown format %q; use png, svg or pdf", o.Format)
	}
	if r.size == 0 {
		r.size = DefaultSize
	}
	if r.size < MinSize || r.size > MaxSize {
		return nil, fieldErr("size", "out_of_range", "must be between %d and %d pixels, got %d", MinSize, MaxSize, o.Size)
	}
	if r.margin < 0 || r.margin > MaxMargin {
		return nil, fieldErr("margin", "out_of_range", "must be between 0 and %d modules, got %d", MaxMargin, o.Margin)
	}
	var err error
	if r.fg, err = parseColor("fg", o.FG, rgb{0, 0, 0}); err != nil {
		return nil, err
	}
	if r.bg, err = parseColor("bg", o.BG, rgb{255, 255, 255}); err != nil {
		return nil, err
	}
	if err := checkContrast(r.fg, r.bg); err != nil {
		return nil, err
	}
	if r.ecc, err = parseECC("ecc", string(o.ECC)); err != nil {
		return nil, err
	}
	if len(o.Logo) > 0 {
		if decode {
			if r.logo, err = decodeLogo(o.Logo); err != nil {
				return nil, err
			}
		}
		r.ecc = ECCHigh
	}
	if r.caption, err = cleanCaption(o.Caption); err != nil {
		return nil, err
	}
	return r, nil
}

func parseColor(field, s string, def rgb) (rgb, error) {
	if s == "" {
		return def, nil
	}
	h := strings.TrimPrefix(s, "#")
	if len(h) != 6 {
		return rgb{}, fieldErr(field, "invalid_color", "must be a colour like #1A2B3C, got %q", s)
	}
	var v [3]byte
	if _, err := hex.Decode(v[:], []byte(h)); err != nil {
		return rgb{}, fieldErr(field, "invalid_color", "must be a colour like #1A2B3C, got %q", s)
	}
	return rgb{v[0], v[1], v[2]}, nil
}

// checkContrast rejects colour pairs phones cannot read: inverted codes
// (light modules on dark) are skipped by many scanners, and low contrast
// fails binarisation in poor light.
func checkContrast(fg, bg rgb) error {
	lf, lb := luminance(fg), luminance(bg)
	if lf >= lb {
		return fieldErr("fg", "low_contrast", "foreground %s must be darker than background %s", fg.hex(), bg.hex())
	}
	if ratio := (lb + 0.05) / (lf + 0.05); ratio < MinContrast {
		return fieldErr("fg", "low_contrast", "contrast between %s and %s is %.1f:1; at least %.0f:1 is needed to scan reliably", fg.hex(), bg.hex(), ratio, MinContrast)
	}
	return nil
}

// luminance is the WCAG relative luminance.
func luminance(c rgb) float64 {
	lin := func(v uint8) float64 {
		f := float64(v) / 255
		if f <= 0.04045 {
			return f / 12.92
		}
		return math.Pow((f+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

func parseECC(field, s string) (ECC, error) {
	switch e := ECC(strings.ToUpper(s)); e {
	case "":
		return ECCMedium, nil
	case ECCLow, ECCMedium, ECCQuartile, ECCHigh:
		return e, nil
	}
	return "", fieldErr(field, "invalid", "must be one of L, M, Q, H, got %q", s)
}

func decodeLogo(b []byte) (image.Image, error) {
	if len(b) > MaxLogoBytes {
		return nil, fieldErr("logo", "too_large", "is %d bytes; at most %d are allowed", len(b), MaxLogoBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fieldErr("logo", "invalid_image", "is not a PNG or JPEG image")
	}
	if format != "png" && format != "jpeg" {
		return nil, fieldErr("logo", "invalid_image", "must be PNG or JPEG, got %s", format)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxLogoSide || cfg.Height > MaxLogoSide {
		return nil, fieldErr("logo", "too_large", "is %dx%d pixels; at most %dx%d are allowed", cfg.Width, cfg.Height, MaxLogoSide, MaxLogoSide)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fieldErr("logo", "invalid_image", "cannot be decoded: %v", err)
	}
	return img, nil
}

// cleanCaption turns control characters into spaces and trims, so a
// caption cannot break the SVG or PDF text it is written into.
func cleanCaption(s string) (string, error) {
	if len(s) > MaxCaptionLen {
		return "", fieldErr("caption", "too_long", "is %d bytes; at most %d are allowed", len(s), MaxCaptionLen)
	}
	if !utf8.ValidString(s) {
		return "", fieldErr("caption", "invalid", "is not valid UTF-8")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " "), nil
}

func checkContent(field, content string) error {
	switch {
	case content == "":
		return fieldErr(field, "required", "is empty")
	case len(content) > MaxContentLen:
		return fieldErr(field, "too_long", "is %d bytes; a QR code holds at most %d here", len(content), MaxContentLen)
	case !utf8.ValidString(content):
		return fieldErr(field, "invalid", "is not valid UTF-8")
	}
	return nil
}

// ParseImageOptions reads the size, margin, fg, bg, ecc and logo query
// parameters on top of DefaultImageOptions. logo is the tool's configured
// logo (nil if none): it is used unless the request says logo=0, and
// logo=1 without one is an error. Empty parameters count as absent; other
// parameters are ignored. All bad parameters are reported (errors.Join of
// *FieldError, in the order above), so errors.As finds the first.
func ParseImageOptions(q url.Values, logo []byte) (ImageOptions, error) {
	o := DefaultImageOptions()
	var errs []error
	intParam := func(name string, lo, hi int, dst *int, unit string) {
		v := q.Get(name)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fieldErr(name, "invalid", "must be a whole number of %s, got %q", unit, v))
			return
		}
		if n < lo || n > hi {
			errs = append(errs, fieldErr(name, "out_of_range", "must be between %d and %d %s, got %d", lo, hi, unit, n))
			return
		}
		*dst = n
	}
	intParam("size", MinSize, MaxSize, &o.Size, "pixels")
	intParam("margin", 0, MaxMargin, &o.Margin, "modules")

	colorsOK := true
	for _, p := range []struct {
		name string
		dst  *string
	}{{"fg", &o.FG}, {"bg", &o.BG}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		c, err := parseColor(p.name, v, rgb{})
		if err != nil {
			errs = append(errs, err)
			colorsOK = false
			continue
		}
		*p.dst = c.hex()
	}
	if colorsOK {
		fg, _ := parseColor("fg", o.FG, rgb{})
		bg, _ := parseColor("bg", o.BG, rgb{})
		if err := checkContrast(fg, bg); err != nil {
			errs = append(errs, err)
		}
	}

	if v := q.Get("ecc"); v != "" {
		if e, err := parseECC("ecc", v); err != nil {
			errs = append(errs, err)
		} else {
			o.ECC = e
		}
	}

	useLogo := len(logo) > 0
	if v := q.Get("logo"); v != "" {
		switch strings.ToLower(v) {
		case "1", "true", "on", "yes":
			if len(logo) == 0 {
				errs = append(errs, fieldErr("logo", "unavailable", "this QR tool has no logo configured"))
			}
		case "0", "false", "off", "no":
			useLogo = false
		default:
			errs = append(errs, fieldErr("logo", "invalid", "must be 1 or 0, got %q", v))
		}
	}
	if useLogo {
		o.Logo = logo
		o.ECC = ECCHigh
	}

	if len(errs) > 0 {
		return ImageOptions{}, errors.Join(errs...)
	}
	return o, nil
}

// renderVersion changes whenever drawing changes, so ETags of old
// renderings stop matching.
const renderVersion = "playgram-qr-1"

// ETag is a strong HTTP entity tag (quoted) for the bytes Render would
// return, computed without rendering. Equivalent spellings of an option
// ("fg=000000", "#000000", default) give the same tag.
func ETag(content string, opts ImageOptions) string {
	h := sha256.New()
	put := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	put(renderVersion)
	put(content)
	if r, err := opts.resolve(false); err == nil {
		logoSum := sha256.Sum256(opts.Logo)
		put(string(r.format))
		put(strconv.Itoa(r.size))
		put(strconv.Itoa(r.margin))
		put(r.fg.hex())
		put(r.bg.hex())
		put(string(r.ecc))
		put(string(logoSum[:]))
		put(r.caption)
	} else {
		// Invalid options never render; still give distinct tags.
		put(fmt.Sprintf("%#v", opts))
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}
