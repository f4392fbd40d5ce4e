package qr

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/qrcode"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// maxCollisionRetries bounds how often a code is drawn again when it already exists; with the template rules
// (enough random characters or a counter) reaching it means the code space is nearly full.
const maxCollisionRetries = 8

// GenerateInput describes one code to issue.
type GenerateInput struct {
	Tool      *Tool
	Timezone  *time.Location // the workspace's, for {DATE:…}
	Contact   *core.Record   // optional
	Vars      map[string]string
	MaxUses   *int      // nil: the tool's default
	ExpiresAt time.Time // zero: now + the tool's default TTL (if any)
	Label     string
	Batch     string
	Actor     platform.Actor
}

var templates sync.Map // template source → *qrcode.Template

func parsedTemplate(src string) (*qrcode.Template, error) {
	if t, ok := templates.Load(src); ok {
		return t.(*qrcode.Template), nil
	}
	t, err := qrcode.Parse(src)
	if err != nil {
		return nil, err
	}
	templates.Store(src, t)
	return t, nil
}

// ErrCodeSpaceExhausted is returned when no unused code could be drawn.
var ErrCodeSpaceExhausted = errors.New("could not draw an unused code: the template's code space is nearly full; add more {RANDOM:n} characters")

// Generate issues one code with tx (run it inside the caller's transaction): it renders the tool's template,
// draws again on a collision (never returning a duplicate), stores the code and records qr.created.
func Generate(tx core.App, in GenerateInput, now time.Time) (*core.Record, error) {
	tpl, err := parsedTemplate(in.Tool.Config.Template)
	if err != nil {
		return nil, err
	}
	workspace := in.Tool.Record.GetString("workspace")
	vars := templateVars(in, now)

	var code string
	for attempt := 0; ; attempt++ {
		if attempt == maxCollisionRetries {
			return nil, ErrCodeSpaceExhausted
		}
		if tpl.UsesSeq() {
			if vars.Seq, err = nextSeq(tx, in.Tool.Record.Id); err != nil {
				return nil, err
			}
		}
		if code, err = tpl.Render(vars); err != nil {
			return nil, err
		}
		var exists int
		err = tx.DB().NewQuery("SELECT COUNT(*) FROM qr_codes WHERE workspace = {:ws} AND code = {:code}").
			Bind(dbx.Params{"ws": workspace, "code": code}).Row(&exists)
		if err != nil {
			return nil, err
		}
		if exists == 0 {
			break
		}
	}

	coll, err := tx.FindCachedCollectionByNameOrId(collections.QRCodes)
	if err != nil {
		return nil, err
	}
	rec := core.NewRecord(coll)
	rec.Set("workspace", workspace)
	rec.Set("tool", in.Tool.Record.Id)
	rec.Set("code", code)
	rec.Set("status", collections.QRActive)
	rec.Set("label", in.Label)
	rec.Set("batch", in.Batch)
	maxUses := in.Tool.Config.DefaultMaxUses
	if in.MaxUses != nil {
		maxUses = *in.MaxUses
	}
	rec.Set("max_uses", maxUses)
	expires := in.ExpiresAt
	if expires.IsZero() && in.Tool.Config.DefaultTTLHours > 0 {
		expires = now.Add(time.Duration(in.Tool.Config.DefaultTTLHours) * time.Hour)
	}
	if !expires.IsZero() {
		rec.Set("expires_at", expires)
	}
	if in.Contact != nil {
		rec.Set("contact", in.Contact.Id)
	}
	if len(in.Vars) > 0 {
		rec.Set("vars", in.Vars)
	}
	rec.Set("content", in.Tool.Content(code))
	if err := tx.Save(rec); err != nil {
		return nil, err
	}
	_, err = platform.Emit(tx, platform.Event{
		Workspace: workspace, Type: "qr.created", SubjectCollection: collections.QRCodes, SubjectID: rec.Id,
		Contact: rec.GetString("contact"), Actor: in.Actor.String(), At: now,
		Data: map[string]any{"id": rec.Id, "code": code, "tool": in.Tool.Record.Id, "max_uses": maxUses,
			"expires_at": timeOrNil(expires), "label": in.Label, "batch": in.Batch},
	})
	return rec, err
}

func nextSeq(tx core.App, toolID string) (int64, error) {
	var seq int64
	err := tx.NonconcurrentDB().NewQuery("UPDATE tools SET qr_seq = qr_seq + 1 WHERE id = {:id} RETURNING qr_seq").
		Bind(dbx.Params{"id": toolID}).Row(&seq)
	return seq, err
}

func templateVars(in GenerateInput, now time.Time) qrcode.Vars {
	v := qrcode.Vars{Prefix: in.Tool.Config.Prefix, Now: now, Location: in.Timezone, Fields: map[string]string{}}
	if c := in.Contact; c != nil {
		v.UserID = c.GetString("subscriber_id")
		v.IG = c.GetString("ig_username")
		v.Tags = contactTags(c)
		var fields map[string]any
		_ = c.UnmarshalJSONField("custom_fields", &fields)
		for name, val := range fields {
			if val != nil {
				v.Fields[name] = fmt.Sprint(val)
			}
		}
	}
	for name, val := range in.Vars {
		v.Fields[name] = val
	}
	return v
}

// contactTags reads a contact's tags stored as names or as {"name": …} objects (Manychat's shape).
func contactTags(c *core.Record) []string {
	var raw []json.RawMessage
	_ = c.UnmarshalJSONField("tags", &raw)
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		var name string
		if json.Unmarshal(r, &name) == nil {
			out = append(out, name)
			continue
		}
		var obj struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(r, &obj) == nil && obj.Name != "" {
			out = append(out, obj.Name)
		}
	}
	return out
}
