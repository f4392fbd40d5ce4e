package qr

import (
	"net/url"
	"strings"

	"github.com/playgram/playgram/internal/secretbox"
	"github.com/pocketbase/pocketbase/core"
)

const imagePurpose = "qr-image"

// Links are the absolute image URLs of a code. They carry a token binding the code's record id, so Manychat
// and Instagram can fetch the image without credentials while codes of other records (or workspaces, where the
// same code text may exist) cannot be fetched by guessing.
type Links struct{ Image, SVG, PDF string }

// LinksFor builds the image links of a code record under publicURL.
func LinksFor(box *secretbox.Box, publicURL string, rec *core.Record) Links {
	code := rec.GetString("code")
	token := ImageToken(box, rec.Id, code)
	base := strings.TrimRight(publicURL, "/") + "/api/v1/qr/" + url.PathEscape(code)
	q := "?t=" + token
	return Links{Image: base + ".png" + q, SVG: base + ".svg" + q, PDF: base + ".pdf" + q}
}

// ImageToken is "<record id>.<mac>".
func ImageToken(box *secretbox.Box, id, code string) string {
	return id + "." + box.MAC(imagePurpose, id+"\x00"+code)
}

// ParseImageToken returns the record id a token names when its MAC matches code.
func ParseImageToken(box *secretbox.Box, token, code string) (string, bool) {
	id, mac, ok := strings.Cut(token, ".")
	if !ok || id == "" || !box.VerifyMAC(imagePurpose, id+"\x00"+code, mac) {
		return "", false
	}
	return id, true
}
