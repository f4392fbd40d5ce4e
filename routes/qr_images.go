package routes

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/lru"
	"github.com/playgram/playgram/internal/qrcode"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/qr"
	"github.com/pocketbase/pocketbase/core"
)

// qrImageCache keeps rendered images by ETag: the same code and parameters always give the same bytes.
var qrImageCache = lru.New(64 << 20)

// qrLinkCache answers repeated fetches of one signed image link (what Instagram and browsers do) from memory,
// keyed by the link and the current minute, so a change of the tool's colours or logo shows within a minute.
var qrLinkCache = lru.New(16 << 20)

func qrLinkKey(e *core.RequestEvent) string {
	return e.Request.URL.RequestURI() + "|" + strconv.FormatInt(time.Now().Unix()/60, 10)
}

// serveQRLink answers from qrLinkCache; ok is false on a miss.
func serveQRLink(e *core.RequestEvent, format qrcode.Format) (bool, error) {
	v, ok := qrLinkCache.Get(qrLinkKey(e))
	if !ok {
		return false, nil
	}
	etag, body, _ := bytes.Cut(v, []byte{0})
	return true, writeQRImage(e, format, string(etag), body)
}

func writeQRImage(e *core.RequestEvent, format qrcode.Format, etag string, body []byte) error {
	h := e.Response.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=604800")
	if match := e.Request.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		return e.NoContent(http.StatusNotModified)
	}
	return e.Blob(http.StatusOK, format.ContentType(), body)
}

func qrImage(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		file := e.Request.PathValue("file")
		dot := strings.LastIndexByte(file, '.')
		if dot < 0 {
			return e.NotFoundError("Not found.", nil)
		}
		code, format := qrcode.NormalizeCode(file[:dot]), qrcode.Format(strings.ToLower(file[dot+1:]))
		if format != qrcode.FormatPNG && format != qrcode.FormatSVG && format != qrcode.FormatPDF {
			return e.NotFoundError("Unknown image format; use .png, .svg or .pdf.", nil)
		}
		signed := e.Request.URL.Query().Get("t") != ""
		if signed {
			if served, err := serveQRLink(e, format); served || err != nil {
				return err
			}
		}
		rec, err := findImageCode(e, svc, code)
		if err != nil {
			return err
		}
		tool, err := e.App.FindRecordById(collections.Tools, rec.GetString("tool"))
		if err != nil {
			return e.NotFoundError("Not found.", nil)
		}
		t, err := qr.ToolFromRecord(tool)
		if err != nil {
			return err
		}
		logo, err := toolLogo(e.App, tool)
		if err != nil {
			return err
		}
		q := e.Request.URL.Query()
		opts, err := qrcode.ParseImageOptions(q, logo)
		if err != nil {
			var fe *qrcode.FieldError
			if errors.As(err, &fe) {
				return fieldError(e, fe.Field, "validation_"+fe.Code, fe.Message)
			}
			return e.BadRequestError(err.Error(), nil)
		}
		opts.Format = format
		if q.Get("fg") == "" {
			opts.FG = t.Config.FG
		}
		if q.Get("bg") == "" {
			opts.BG = t.Config.BG
		}
		opts.Caption = t.Config.Caption
		content := rec.GetString("content")
		if content == "" {
			content = t.Content(rec.GetString("code"))
		}
		etag := `"` + qrcode.ETag(content, opts) + `"`
		body, ok := qrImageCache.Get(etag)
		if !ok {
			if body, err = qrcode.Render(content, opts); err != nil {
				var fe *qrcode.FieldError
				if errors.As(err, &fe) {
					return fieldError(e, fe.Field, "validation_"+fe.Code, fe.Message)
				}
				return err
			}
			qrImageCache.Add(etag, body)
		}
		if signed {
			qrLinkCache.Add(qrLinkKey(e), append([]byte(etag+"\x00"), body...))
		}
		return writeQRImage(e, format, etag, body)
	}
}

// findImageCode resolves the code of an image request: by the signed token of its link, or, for a member or API
// key of the workspace, by the code alone.
func findImageCode(e *core.RequestEvent, svc *platform.Services, code string) (*core.Record, error) {
	if token := e.Request.URL.Query().Get("t"); token != "" {
		id, ok := qr.ParseImageToken(svc.Box, token, code)
		if !ok {
			return nil, e.NotFoundError("Not found.", nil)
		}
		rec, err := e.App.FindRecordById(collections.QRCodes, id)
		if err != nil || rec.GetString("code") != code {
			return nil, e.NotFoundError("Not found.", nil)
		}
		return rec, nil
	}
	p, err := authenticate(e, svc, Access{Scope: apikey.ScopeManychat, MinRole: collections.RoleViewer})
	if err != nil {
		return nil, err
	}
	rec, err := qr.FindCode(e.App, p.Workspace, code)
	if err != nil {
		return nil, e.NotFoundError("Not found.", nil)
	}
	return rec, nil
}

// toolLogo reads the tool's uploaded logo, if any, from the app's file storage (local or S3).
func toolLogo(app core.App, tool *core.Record) ([]byte, error) {
	name := tool.GetString("logo")
	if name == "" {
		return nil, nil
	}
	key := tool.BaseFilesPath() + "/" + name
	if b, ok := qrImageCache.Get("logo:" + key); ok {
		return b, nil
	}
	fsys, err := app.NewFilesystem()
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	r, err := fsys.GetReader(key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 2<<20))
	if err != nil {
		return nil, err
	}
	qrImageCache.Add("logo:"+key, b)
	return b, nil
}
