package routes

import (
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/playgram/playgram/social"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// mediaHeaders are the only upstream headers the proxy passes on; nothing else of the source (its host, server,
// cookies, redirects) reaches the caller.
var mediaHeaders = []string{"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified"}

// socialMedia streams the source a signed token names through the SSRF-guarded client, with Range for video,
// or, with ?w=, a resized JPEG kept in the app's filesystem.
func socialMedia(e *core.RequestEvent) error {
	s := social.Of(e.App)
	_, src, ok := s.OpenMediaToken(e.Request.PathValue("token"))
	if !ok {
		return e.NotFoundError("Not found.", nil)
	}
	client, err := s.MediaClient()
	if err != nil {
		return err
	}
	h := e.Response.Header()
	if v := e.Request.URL.Query().Get("w"); v != "" {
		w, err := strconv.Atoi(v)
		if err != nil || w < 16 || w > 2048 {
			return fieldError(e, "w", "validation_out_of_range", "must be a width in pixels from 16 to 2048")
		}
		return resizedMedia(e, client, src, w)
	}
	req, err := http.NewRequestWithContext(e.Request.Context(), http.MethodGet, src, nil)
	if err != nil {
		return e.NotFoundError("Not found.", nil)
	}
	if r := e.Request.Header.Get("Range"); r != "" {
		req.Header.Set("Range", r)
	}
	resp, err := client.Do(req)
	if err != nil {
		e.App.Logger().Warn("media proxy fetch failed", "error", err)
		return mediaUnavailable(0)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent, http.StatusRequestedRangeNotSatisfiable:
	default:
		return mediaUnavailable(resp.StatusCode)
	}
	for _, k := range mediaHeaders {
		if v := resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	e.Response.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(e.Response, resp.Body)
	return nil
}

func mediaUnavailable(upstream int) error {
	switch upstream {
	case http.StatusNotFound, http.StatusGone, http.StatusForbidden:
		return router.NewNotFoundError("The media is no longer available.", nil)
	}
	return router.NewApiError(http.StatusBadGateway, "The media could not be fetched.", nil)
}

func resizedMedia(e *core.RequestEvent, client *http.Client, src string, w int) error {
	fsys, err := e.App.NewFilesystem()
	if err != nil {
		return err
	}
	defer fsys.Close()
	key := social.ResizedKey(src, w)
	h := e.Response.Header()
	h.Set("Cache-Control", "public, max-age=604800")
	h.Set("X-Content-Type-Options", "nosniff")
	if r, err := fsys.GetReader(key); err == nil {
		defer r.Close()
		body, err := io.ReadAll(r)
		if err == nil {
			h.Set("X-Media-Cache", "hit")
			return e.Blob(http.StatusOK, "image/jpeg", body)
		}
	}
	body, err := social.Resize(e.Request.Context(), client, src, w)
	var up *social.UpstreamError
	switch {
	case errors.Is(err, social.ErrNotImage):
		return fieldError(e, "w", "validation_not_image", "only images can be resized")
	case errors.As(err, &up):
		return mediaUnavailable(up.Status)
	case err != nil:
		e.App.Logger().Warn("media proxy resize failed", "error", err)
		return mediaUnavailable(0)
	}
	if err := fsys.Upload(body, key); err != nil {
		e.App.Logger().Warn("storing a resized image failed", "error", err)
	}
	h.Set("X-Media-Cache", "miss")
	return e.Blob(http.StatusOK, "image/jpeg", body)
}
