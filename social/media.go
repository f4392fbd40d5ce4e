package social

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/disintegration/imaging"
	"github.com/playgram/playgram/internal/outbound"
	_ "golang.org/x/image/webp" // Instagram CDNs serve WebP
)

// Media tokens name a source URL (and the workspace it was served to) encrypted with a key derived from the
// server key, so a token reveals nothing of the source host and cannot be forged. The nonce is derived from
// the plaintext, so the same media always gets the same URL and browsers and CDNs can cache it.

func (s *Service) mediaAEAD() (cipher.AEAD, error) {
	s.mediaOnce.Do(func() {
		if s.svc.Box == nil {
			return
		}
		k, err := base64.RawURLEncoding.DecodeString(s.svc.Box.MAC("social-media-key", "v1"))
		if err == nil {
			s.mediaKey = k
		}
	})
	if s.mediaKey == nil {
		return nil, errors.New("social: the secret key is not loaded")
	}
	block, err := aes.NewCipher(s.mediaKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// MediaToken seals workspace and source URL into a URL-safe token.
func (s *Service) MediaToken(ws, src string) (string, error) {
	aead, err := s.mediaAEAD()
	if err != nil {
		return "", err
	}
	plain := ws + "\x00" + src
	nonce, err := base64.RawURLEncoding.DecodeString(s.svc.Box.MAC("social-media-nonce", plain))
	if err != nil {
		return "", err
	}
	nonce = nonce[:aead.NonceSize()]
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plain), nil)), nil
}

// OpenMediaToken returns the workspace and source URL a token names.
func (s *Service) OpenMediaToken(token string) (ws, src string, ok bool) {
	aead, err := s.mediaAEAD()
	if err != nil || len(token) > 8192 {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", "", false
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return "", "", false
	}
	ws, src, ok = strings.Cut(string(plain), "\x00")
	return ws, src, ok
}

// MediaURL is the proxy URL of a source media URL served to workspace ws.
func (s *Service) MediaURL(ws, src string) string {
	t, err := s.MediaToken(ws, src)
	if err != nil {
		return ""
	}
	return strings.TrimRight(s.svc.PublicURL(), "/") + "/api/v1/media/" + t
}

// MediaClient is the SSRF-guarded client the proxy fetches with (PLAYGRAM_OUTBOUND_ALLOW applies).
func (s *Service) MediaClient() (*http.Client, error) {
	s.mediaHTTPOnce.Do(func() {
		allow, err := outbound.ParseAllowList(s.OutboundAllow)
		if err != nil {
			s.mediaHTTPErr = err
			return
		}
		s.mediaHTTP = outbound.New(outbound.Options{AllowCIDRs: allow, Timeout: 2 * time.Minute, MaxBody: 512 << 20})
	})
	return s.mediaHTTP, s.mediaHTTPErr
}

// ErrNotImage means a resize was asked of something that is not a decodable image.
var ErrNotImage = errors.New("social: the media is not an image that can be resized")

// MaxResizeSource bounds the images the proxy decodes.
const MaxResizeSource = 25 << 20

// ResizedKey is the file key of a resized image in the app's filesystem (local or S3).
func ResizedKey(src string, w int) string {
	sum := sha256.Sum256([]byte(src))
	return fmt.Sprintf("social_media/%s_w%d.jpg", hex.EncodeToString(sum[:16]), w)
}

// Resize fetches src with client and returns it as a JPEG at most w pixels wide.
func Resize(ctx context.Context, client *http.Client, src string, w int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &UpstreamError{Status: resp.StatusCode}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "image/") {
		return nil, ErrNotImage
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResizeSource+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxResizeSource {
		return nil, ErrNotImage
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		return nil, ErrNotImage
	}
	if img.Bounds().Dx() > w {
		img = imaging.Resize(img, w, 0, imaging.Lanczos)
	}
	var out bytes.Buffer
	if err := imaging.Encode(&out, img, imaging.JPEG, imaging.JPEGQuality(85)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// UpstreamError is a non-success answer of the media source.
type UpstreamError struct{ Status int }

func (e *UpstreamError) Error() string { return fmt.Sprintf("media source answered %d", e.Status) }
