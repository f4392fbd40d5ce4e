package platform

import (
	"fmt"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// VersionNoteKey carries a note for the next tool version (e.g. "restored from v3") through a save.
const VersionNoteKey = "@playgram.version_note"

// SaveToolVersion stores the tool's current config as its current version number, naming the author.
func SaveToolVersion(app core.App, tool *core.Record, actor Actor, note string) error {
	coll, err := app.FindCachedCollectionByNameOrId(collections.ToolVersions)
	if err != nil {
		return err
	}
	v := core.NewRecord(coll)
	v.Set("workspace", tool.GetString("workspace"))
	v.Set("tool", tool.Id)
	v.Set("version", tool.GetInt("version"))
	v.Set("config", tool.Get("config"))
	author := actor.String()
	if actor.Label != "" {
		author += " (" + actor.Label + ")"
	}
	v.Set("author", author)
	v.Set("note", note)
	return app.Save(v)
}

// RestoreToolVersion makes an old version's config current again, as a new version, so history only grows.
func RestoreToolVersion(app core.App, tool *core.Record, version int, actor Actor) error {
	old, err := app.FindFirstRecordByFilter(collections.ToolVersions, "tool = {:tool} && version = {:v}", dbx.Params{"tool": tool.Id, "v": version})
	if err != nil {
		return fmt.Errorf("tool %s has no version %d", tool.Id, version)
	}
	tool.Set("config", old.Get("config"))
	tool.SetRaw(VersionNoteKey, fmt.Sprintf("restored from v%d", version))
	WithActor(tool, actor)
	return app.Save(tool)
}

// FindEnabledTool finds an enabled tool of toolType in workspace by its id or slug.
func FindEnabledTool(app core.App, workspace, toolType, ref string) (*core.Record, error) {
	rec, err := app.FindFirstRecordByFilter(collections.Tools, "workspace = {:ws} && type = {:type} && (id = {:ref} || slug = {:ref})",
		dbx.Params{"ws": workspace, "type": toolType, "ref": ref})
	if err != nil || !rec.GetBool("enabled") {
		return nil, fmt.Errorf("no enabled %s tool with this id or slug in the workspace", toolType)
	}
	return rec, nil
}

// DecodeToolConfig fills dst (a struct with json tags) from the tool's config, with the type's defaults.
func DecodeToolConfig(rec *core.Record, dst any) error {
	cfg := map[string]any{}
	if err := rec.UnmarshalJSONField("config", &cfg); err != nil {
		return err
	}
	return toolconfig.Decode(rec.GetString("type"), cfg, dst)
}
