// Package qr is the QR code domain on top of PocketBase: tools, generation with unique codes, scans with an
// atomic use count and fraud flags, revocation, and image links. Routes and the batch job call it; the
// decisions themselves (templates, verdicts, flags, images) live in internal/qrcode, internal/geo and
// internal/useragent.
package qr

import (
	"errors"
	"fmt"
	"github.com/playgram/playgram/internal/dbtime"
	"github.com/playgram/playgram/platform"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/qrcode"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Config is a qr tool's config with defaults applied.
type Config struct {
	Prefix              string `json:"prefix"`
	Template            string `json:"template"`
	Content             string `json:"content"`
	URLTemplate         string `json:"url_template"`
	DefaultMaxUses      int    `json:"default_max_uses"`
	DefaultTTLHours     int    `json:"default_ttl_hours"`
	FG                  string `json:"fg"`
	BG                  string `json:"bg"`
	Caption             string `json:"caption"`
	RepeatWindowSeconds int    `json:"repeat_window_seconds"`
}

// Tool is a loaded qr tool.
type Tool struct {
	Record *core.Record
	Config Config
}

// ErrToolNotFound means no enabled qr tool with that id or slug exists in the workspace.
var ErrToolNotFound = errors.New("no enabled qr tool with this id or slug in the workspace")

// LoadTool finds a qr tool of workspace by id or slug.
func LoadTool(app core.App, workspace, ref string) (*Tool, error) {
	rec, err := platform.FindEnabledTool(app, workspace, toolconfig.TypeQR, ref)
	if err != nil {
		return nil, ErrToolNotFound
	}
	return ToolFromRecord(rec)
}

// ToolFromRecord decodes a tool record's config.
func ToolFromRecord(rec *core.Record) (*Tool, error) {
	t := &Tool{Record: rec}
	if err := platform.DecodeToolConfig(rec, &t.Config); err != nil {
		return nil, err
	}
	return t, nil
}

// Content is what a code's image encodes: the code itself, or the tool's URL with the code in it.
func (t *Tool) Content(code string) string {
	if t.Config.Content == "url" && t.Config.URLTemplate != "" {
		return strings.ReplaceAll(t.Config.URLTemplate, "{CODE}", code)
	}
	return code
}

// FindCode loads a code of workspace; codes are matched case-insensitively.
func FindCode(app core.App, workspace, code string) (*core.Record, error) {
	return app.FindFirstRecordByFilter(collections.QRCodes, "workspace = {:ws} && code = {:code}",
		dbx.Params{"ws": workspace, "code": qrcode.NormalizeCode(code)})
}

// StateOf is what a scan needs to know about a stored code.
func StateOf(rec *core.Record) qrcode.State {
	return qrcode.State{
		Revoked:   rec.GetString("status") == collections.QRRevoked,
		Uses:      rec.GetInt("uses"),
		MaxUses:   rec.GetInt("max_uses"),
		ExpiresAt: rec.GetDateTime("expires_at").Time(),
	}
}

// Summary is the API shape of a code.
func Summary(rec *core.Record, links Links) map[string]any {
	st := StateOf(rec)
	out := map[string]any{
		"id":         rec.Id,
		"code":       rec.GetString("code"),
		"status":     EffectiveStatus(rec, time.Now()),
		"max_uses":   st.MaxUses,
		"uses":       st.Uses,
		"remaining":  st.Remaining(),
		"expires_at": timeOrNil(st.ExpiresAt),
		"label":      rec.GetString("label"),
		"tool":       rec.GetString("tool"),
		"contact":    rec.GetString("contact"),
		"created":    rec.GetDateTime("created").Time().UTC().Format(time.RFC3339),
	}
	if links.Image != "" {
		out["image_url"], out["svg_url"], out["pdf_url"] = links.Image, links.SVG, links.PDF
	}
	return out
}

// EffectiveStatus is the stored status, with expiry and exhaustion applied as of now (the stored status catches
// up through the expiry sweep; answers never wait for it).
func EffectiveStatus(rec *core.Record, now time.Time) string {
	if v := qrcode.Judge(StateOf(rec), now); !v.Valid {
		return v.Status
	}
	return collections.QRActive
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// MarkExpired moves codes whose expiry has passed to status expired, so list filters on status are right.
func MarkExpired(app core.App, now time.Time) (int64, error) {
	res, err := app.NonconcurrentDB().NewQuery(`UPDATE qr_codes SET status = 'expired', updated = {:now}
		WHERE status = 'active' AND expires_at != '' AND expires_at <= {:now}`).
		Bind(dbx.Params{"now": dbtime.Format(now)}).Execute()
	if err != nil {
		return 0, fmt.Errorf("marking expired QR codes: %w", err)
	}
	return res.RowsAffected()
}
