package social

import (
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/playgram/playgram/internal/outbound"
)

var (
	instagramHandle = regexp.MustCompile(`^[a-z0-9._]{1,30}$`)
	tiktokHandle    = regexp.MustCompile(`^[a-z0-9._]{2,24}$`)
	googlePlaceID   = regexp.MustCompile(`^[A-Za-z0-9_-]{8,200}$`)
)

// NormalizeHandle checks a handle for platform and returns its canonical form: Instagram and TikTok handles
// lowercased without @ (profile URLs accepted), Google place ids as they are, or a Google Maps place URL
// (reduced to its place id when it names one).
func NormalizeHandle(platform, h string) (string, error) {
	h = strings.TrimSpace(h)
	switch platform {
	case "instagram":
		h = handleOf(h)
		if !instagramHandle.MatchString(h) {
			return "", errors.New("must be an Instagram username: 1-30 letters, digits, dots or underscores")
		}
	case "tiktok":
		h = handleOf(h)
		if !tiktokHandle.MatchString(h) {
			return "", errors.New("must be a TikTok username: 2-24 letters, digits, dots or underscores")
		}
	case "google":
		if strings.HasPrefix(h, "http://") || strings.HasPrefix(h, "https://") {
			if err := outbound.ValidateURL(h); err != nil || len(h) > 500 {
				return "", errors.New("must be a Google place id or a Google Maps place URL")
			}
			u, _ := url.Parse(h)
			host := strings.ToLower(u.Hostname())
			if !(strings.HasPrefix(host, "www.google.") || strings.HasPrefix(host, "google.") || host == "maps.google.com" ||
				host == "maps.app.goo.gl" || host == "goo.gl") {
				return "", errors.New("must be a Google Maps URL (google.com/maps, maps.app.goo.gl)")
			}
			if id := u.Query().Get("query_place_id"); googlePlaceID.MatchString(id) {
				return id, nil
			}
			return h, nil
		}
		if !googlePlaceID.MatchString(h) {
			return "", errors.New("must be a Google place id (ChIJ…) or a Google Maps place URL")
		}
	default:
		return "", errors.New("unknown platform")
	}
	return h, nil
}
