package hooks

import (
	"encoding/json"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/slug"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/playgram/playgram/platform"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

func registerTools(app core.App, svc *platform.Services) {
	// Config is checked against the tool type's keys on every save path, one error per key.
	app.OnRecordValidate(collections.Tools).BindFunc(func(e *core.RecordEvent) error {
		if !e.Record.IsNew() && e.Record.Original().GetString("type") != e.Record.GetString("type") {
			return validation.Errors{"type": validation.NewError("validation_immutable", "A tool's type cannot change; create a new tool instead.")}
		}
		if typ := e.Record.GetString("type"); typ != "" {
			raw, _ := json.Marshal(e.Record.Get("config"))
			if _, problems := toolconfig.ValidateJSON(typ, raw); problems != nil {
				perKey := validation.Errors{}
				for key, p := range problems {
					perKey[key] = validation.NewError(p.Code, p.Message)
				}
				return validation.Errors{"config": perKey}
			}
		}
		return e.Next()
	})

	app.OnRecordCreate(collections.Tools).BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("slug") == "" {
			e.Record.Set("slug", UniqueSlug(e.App, collections.Tools, e.Record.GetString("workspace"), slug.Make(e.Record.GetString("name"), 40, e.Record.GetString("type"))))
		}
		if e.Record.Get("config") == nil || string(mustJSON(e.Record.Get("config"))) == "null" {
			e.Record.Set("config", map[string]any{})
		}
		e.Record.Set("version", 1)
		actor := platform.ActorOf(e.Record)
		return inTx(e, func(tx core.App) error {
			if err := platform.SaveToolVersion(tx, e.Record, actor, "created"); err != nil {
				return err
			}
			return platform.Audit(tx, actor, e.Record.GetString("workspace"), "tool.created", collections.Tools, e.Record.Id, nil,
				map[string]any{"type": e.Record.GetString("type"), "name": e.Record.GetString("name"), "config": e.Record.Get("config")})
		})
	})

	app.OnRecordUpdate(collections.Tools).BindFunc(func(e *core.RecordEvent) error {
		before, after := changes(e.Record, "config", "enabled", "name", "slug", "logo", "secrets")
		if len(after) == 0 {
			return e.Next()
		}
		actor := platform.ActorOf(e.Record)
		_, configChanged := after["config"]
		if configChanged {
			e.Record.Set("version", e.Record.Original().GetInt("version")+1)
		}
		return inTx(e, func(tx core.App) error {
			action := "tool.updated"
			if configChanged {
				action = "tool.config_changed"
				note, _ := e.Record.GetRaw(platform.VersionNoteKey).(string)
				if err := platform.SaveToolVersion(tx, e.Record, actor, note); err != nil {
					return err
				}
				if note != "" {
					action = "tool.restored"
				}
			}
			return platform.Audit(tx, actor, e.Record.GetString("workspace"), action, collections.Tools, e.Record.Id, before, after)
		})
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
