package routes

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/manychat/dynblock"
	"github.com/playgram/playgram/internal/qrcode"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/qr"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func registerQR(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	issue := Access{Scope: apikey.ScopeManychat, MinRole: collections.RoleManager}
	read := Access{Scope: apikey.ScopeManychat, MinRole: collections.RoleViewer}

	v1.POST("/qr", generateQR(svc)).Bind(require(svc, issue))
	// Hot routes stay out of the request log on success, so counters and scanners do not swamp it.
	v1.POST("/qr/scan", scanQR(svc)).Bind(require(svc, issue), apis.SkipSuccessActivityLog())
	v1.POST("/qr/batch", createQRBatch(svc)).Bind(require(svc, issue))
	v1.POST("/qr/{code}/revoke", revokeQR(svc)).Bind(require(svc, issue))
	v1.GET("/qr/export.csv", exportQRCSV(svc)).Bind(require(svc, read))
	v1.GET("/qr/stats", qrStats(svc)).Bind(require(svc, read))
	// Images are fetched by Manychat and Instagram without credentials: the signed token in the link names
	// the code; members and keys may fetch their workspace's codes without it.
	v1.GET("/qr/{file}", qrImage(svc)).Bind(apis.SkipSuccessActivityLog())
}

type generateQRRequest struct {
	Tool         string            `json:"tool"`
	SubscriberID string            `json:"subscriber_id"`
	Contact      string            `json:"contact"`
	Vars         map[string]string `json:"vars"`
	MaxUses      *int              `json:"max_uses"`
	ExpiresAt    string            `json:"expires_at"`
	TTL          *int              `json:"ttl"` // seconds
	Label        string            `json:"label"`
	Name         string            `json:"name"`
	IGUsername   string            `json:"ig_username"`
}

func generateQR(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req generateQRRequest
		raw, err := readJSONRaw(e, &req)
		if err != nil {
			return err
		}
		p := platform.PrincipalOf(e)
		now := time.Now()
		problems := map[string]string{}
		if req.Tool == "" {
			problems["tool"] = "A qr tool id or slug is required."
		}
		if req.MaxUses != nil && (*req.MaxUses < 0 || *req.MaxUses > 1_000_000) {
			problems["max_uses"] = "Must be between 0 (unlimited) and 1000000."
		}
		var expires time.Time
		switch {
		case req.ExpiresAt != "" && req.TTL != nil:
			problems["ttl"] = "Give expires_at or ttl, not both."
		case req.ExpiresAt != "":
			if expires, err = time.Parse(time.RFC3339, req.ExpiresAt); err != nil {
				problems["expires_at"] = "Must be an RFC 3339 time such as 2027-01-31T18:00:00Z."
			} else if !expires.After(now) {
				problems["expires_at"] = "Must be in the future."
			}
		case req.TTL != nil:
			if *req.TTL < 60 || *req.TTL > 10*365*24*3600 {
				problems["ttl"] = "Must be between 60 seconds and 10 years, in seconds."
			} else {
				expires = now.Add(time.Duration(*req.TTL) * time.Second)
			}
		}
		if len(req.Label) > 100 {
			problems["label"] = "Must be at most 100 characters."
		}
		ref := platform.ContactRef{SubscriberID: req.SubscriberID, ContactID: req.Contact}
		if field, err := ref.Validate(); err != nil {
			problems[field] = err.Error()
		}
		if len(problems) > 0 {
			return fieldErrors(e, problems)
		}
		tool, err := qr.LoadTool(e.App, p.Workspace, req.Tool)
		if err != nil {
			return fieldError(e, "tool", "validation_not_found", err.Error())
		}
		tz := workspaceLocation(e.App, p.Workspace)
		actor := platform.ActorFromRequest(e)
		return createOnce(e, raw, func(tx core.App) (int, any, error) {
			var contact *core.Record
			if !ref.IsZero() {
				contact, err = platform.ResolveContact(tx, p.Workspace, ref, map[string]any{"name": req.Name, "ig_username": req.IGUsername})
				if err != nil {
					return 0, nil, fieldError(e, "contact", "validation_not_found", err.Error())
				}
			}
			rec, err := qr.Generate(tx, qr.GenerateInput{Tool: tool, Timezone: tz, Contact: contact, Vars: req.Vars,
				MaxUses: req.MaxUses, ExpiresAt: expires, Label: req.Label, Actor: actor}, now)
			if err != nil {
				return 0, nil, qrGenerateError(e, err)
			}
			links := qr.LinksFor(svc.Box, svc.PublicURL(), rec)
			if e.Request.URL.Query().Get("format") == "manychat" {
				return 201, qrManychatReply(tool, rec, links), nil
			}
			return 201, qr.Summary(rec, links), nil
		})
	}
}

func qrGenerateError(e *core.RequestEvent, err error) error {
	var parseErr *qrcode.ParseError
	var fieldErr *qrcode.FieldError
	switch {
	case errors.As(err, &parseErr):
		return fieldError(e, "template", "validation_invalid_template", parseErr.Error())
	case errors.As(err, &fieldErr):
		return fieldError(e, "vars", "validation_invalid_value", fieldErr.Error())
	case errors.Is(err, qr.ErrCodeSpaceExhausted):
		return router.NewApiError(http.StatusConflict, err.Error(), nil)
	}
	return err
}

// qrManychatReply is a Dynamic Block v2 for Instagram: the code's image, then the code as text.
func qrManychatReply(tool *qr.Tool, rec *core.Record, links qr.Links) *dynblock.Response {
	text := "Your code: " + rec.GetString("code")
	if c := tool.Config.Caption; c != "" {
		text = c + "\n" + text
	}
	if exp := rec.GetDateTime("expires_at"); !exp.IsZero() {
		text += "\nValid until " + exp.Time().UTC().Format("2 Jan 2006 15:04 UTC")
	}
	return dynblock.New(dynblock.Instagram).Image(links.Image).Text(text)
}

type scanQRRequest struct {
	Code     string   `json:"code"`
	Consume  *bool    `json:"consume"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
	Accuracy *float64 `json:"accuracy"`
	DeviceID string   `json:"device_id"`
}

func scanQR(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req scanQRRequest
		if err := readJSON(e, &req); err != nil {
			return err
		}
		problems := map[string]string{}
		if strings.TrimSpace(req.Code) == "" {
			problems["code"] = "The scanned code is required."
		} else if len(req.Code) > qrcode.MaxCodeLen {
			problems["code"] = "Is longer than any code."
		}
		if (req.Lat == nil) != (req.Lng == nil) {
			problems["lng"] = "lat and lng go together."
		}
		if req.Lat != nil && (*req.Lat < -90 || *req.Lat > 90) {
			problems["lat"] = "Must be between -90 and 90."
		}
		if req.Lng != nil && (*req.Lng < -180 || *req.Lng > 180) {
			problems["lng"] = "Must be between -180 and 180."
		}
		if req.Accuracy != nil && *req.Accuracy < 0 {
			problems["accuracy"] = "Must be a distance in metres, 0 or more."
		}
		if len(req.DeviceID) > 128 {
			problems["device_id"] = "Must be at most 128 characters."
		}
		if len(problems) > 0 {
			return fieldErrors(e, problems)
		}
		consume := req.Consume == nil || *req.Consume
		res, err := qr.Scan(e.App, qr.ScanInput{
			Workspace: platform.PrincipalOf(e).Workspace, Code: req.Code, Consume: consume,
			Lat: req.Lat, Lng: req.Lng, Accuracy: req.Accuracy, DeviceID: req.DeviceID,
			IP: e.RealIP(), UserAgent: e.Request.UserAgent(), Actor: platform.ActorFromRequest(e),
		})
		if err != nil {
			return err
		}
		return e.JSON(http.StatusOK, res)
	}
}

func revokeQR(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		p := platform.PrincipalOf(e)
		rec, err := qr.FindCode(e.App, p.Workspace, e.Request.PathValue("code"))
		if err != nil {
			rec, err = findInWorkspace(e, collections.QRCodes, e.Request.PathValue("code"))
			if err != nil {
				return err
			}
		}
		if rec.GetString("status") != collections.QRRevoked {
			if err := qr.Revoke(e.App, rec, platform.ActorFromRequest(e), time.Now()); err != nil {
				return err
			}
		}
		return e.JSON(http.StatusOK, qr.Summary(rec, qr.LinksFor(svc.Box, svc.PublicURL(), rec)))
	}
}

func workspaceLocation(app core.App, workspace string) *time.Location {
	var tz string
	_ = app.DB().NewQuery("SELECT timezone FROM workspaces WHERE id = {:id}").Bind(dbx.Params{"id": workspace}).Row(&tz)
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return time.UTC
}
