package migrations

import (
	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	m.Register(func(app core.App) error {
		workspaces, err := app.FindCollectionByNameOrId(collections.Workspaces)
		if err != nil {
			return err
		}
		tools, err := app.FindCollectionByNameOrId(collections.Tools)
		if err != nil {
			return err
		}
		contacts, err := app.FindCollectionByNameOrId(collections.Contacts)
		if err != nil {
			return err
		}
		// The per-tool counter of {SEQ:n}, bumped with one UPDATE … RETURNING.
		tools.Fields.Add(&core.NumberField{Name: "qr_seq", OnlyInt: true, Hidden: true})
		if err := app.Save(tools); err != nil {
			return err
		}

		batches := core.NewBaseCollection(collections.QRBatches)
		batches.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "tool", CollectionId: tools.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.NumberField{Name: "count", OnlyInt: true, Required: true, Min: ptrFloat(1), Max: ptrFloat(10_000)},
			&core.NumberField{Name: "generated", OnlyInt: true},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"queued", "running", "done", "failed"}},
			&core.JSONField{Name: "params", MaxSize: 64 << 10},
			&core.TextField{Name: "label", Max: 100},
			&core.FileField{Name: "zip", MaxSelect: 1, MaxSize: 512 << 20, Protected: true},
			&core.FileField{Name: "sheet", MaxSelect: 5, MaxSize: 256 << 20, Protected: true},
			&core.TextField{Name: "error", Max: 2000},
			&core.TextField{Name: "created_by", Max: 200},
		)
		withTimestamps(batches)
		batches.AddIndex("idx_qr_batches_workspace_created", false, "workspace, created", "")
		withRules(batches, collections.MemberReadOnly())
		if err := app.Save(batches); err != nil {
			return err
		}

		codes := core.NewBaseCollection(collections.QRCodes)
		codes.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "tool", CollectionId: tools.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "contact", CollectionId: contacts.Id, MaxSelect: 1},
			&core.RelationField{Name: "batch", CollectionId: batches.Id, MaxSelect: 1},
			&core.TextField{Name: "code", Required: true, Max: 128, Presentable: true},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"active", "exhausted", "expired", "revoked"}},
			&core.TextField{Name: "label", Max: 100},
			&core.NumberField{Name: "uses", OnlyInt: true, Min: ptrFloat(0)},
			&core.NumberField{Name: "max_uses", OnlyInt: true, Min: ptrFloat(0)},
			&core.DateField{Name: "expires_at"},
			&core.DateField{Name: "revoked_at"},
			&core.DateField{Name: "last_scan_at"},
			&core.JSONField{Name: "vars", MaxSize: 16 << 10},
			&core.TextField{Name: "content", Max: 2048},
		)
		withTimestamps(codes)
		codes.AddIndex("idx_qr_codes_workspace_code", true, "workspace, code", "")
		codes.AddIndex("idx_qr_codes_workspace_status", false, "workspace, status, created", "")
		codes.AddIndex("idx_qr_codes_workspace_tool", false, "workspace, tool, created", "")
		codes.AddIndex("idx_qr_codes_workspace_contact", false, "workspace, contact", "contact != ''")
		codes.AddIndex("idx_qr_codes_workspace_label", false, "workspace, label", "label != ''")
		codes.AddIndex("idx_qr_codes_workspace_created", false, "workspace, created", "")
		codes.AddIndex("idx_qr_codes_workspace_expires", false, "workspace, expires_at", "expires_at != ''")
		codes.AddIndex("idx_qr_codes_batch", false, "batch", "batch != ''")
		// Codes are created and changed through /api/v1/qr (templates, counters, events); members read them here.
		withRules(codes, collections.MemberReadOnly())
		if err := app.Save(codes); err != nil {
			return err
		}

		scans := core.NewBaseCollection(collections.QRScans)
		scans.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "qr", Max: 32},
			&core.TextField{Name: "tool", Max: 32},
			&core.TextField{Name: "contact", Max: 32},
			&core.TextField{Name: "code", Max: 128},
			&core.BoolField{Name: "valid"},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"valid", "expired", "exhausted", "revoked", "not_found"}},
			&core.BoolField{Name: "consumed"},
			&core.TextField{Name: "ip", Max: 64},
			&core.TextField{Name: "user_agent", Max: 512},
			&core.TextField{Name: "device_type", Max: 16},
			&core.TextField{Name: "os", Max: 32},
			&core.TextField{Name: "browser", Max: 32},
			&core.TextField{Name: "device_id", Max: 128},
			&core.NumberField{Name: "lat", Min: ptrFloat(-90), Max: ptrFloat(90)},
			&core.NumberField{Name: "lng", Min: ptrFloat(-180), Max: ptrFloat(180)},
			&core.NumberField{Name: "accuracy", Min: ptrFloat(0)},
			&core.BoolField{Name: "located"},
			&core.JSONField{Name: "flags", MaxSize: 4 << 10},
			&core.TextField{Name: "actor", Max: 200},
		)
		withTimestamps(scans)
		scans.AddIndex("idx_qr_scans_workspace_created", false, "workspace, created", "")
		scans.AddIndex("idx_qr_scans_qr_created", false, "qr, created", "qr != ''")
		scans.AddIndex("idx_qr_scans_workspace_tool_created", false, "workspace, tool, created", "")
		scans.AddIndex("idx_qr_scans_workspace_status_created", false, "workspace, status, created", "")
		withRules(scans, collections.MemberReadOnly())
		return app.Save(scans)
	}, nil)
}
