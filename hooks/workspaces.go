package hooks

import (
	"fmt"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/slug"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// auditedWorkspaceFields are the settings whose changes an owner must be able to trace.
var auditedWorkspaceFields = []string{"name", "slug", "timezone", "branding", "settings", "secrets", "logo"}

func registerWorkspaces(app core.App, svc *platform.Services) {
	app.OnRecordCreate(collections.Workspaces).BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("timezone") == "" {
			e.Record.Set("timezone", "UTC")
		}
		if e.Record.GetString("slug") == "" {
			e.Record.Set("slug", UniqueSlug(e.App, collections.Workspaces, "", slug.Make(e.Record.GetString("name"), 40, "workspace")))
		}
		return inTx(e, func(tx core.App) error {
			return platform.Audit(tx, platform.ActorOf(e.Record), e.Record.Id, "workspace.created", collections.Workspaces, e.Record.Id, nil,
				map[string]any{"name": e.Record.GetString("name"), "slug": e.Record.GetString("slug")})
		})
	})

	app.OnRecordValidate(collections.Workspaces).BindFunc(func(e *core.RecordEvent) error {
		if tz := e.Record.GetString("timezone"); tz != "" {
			if err := ValidateTimezone(tz); err != nil {
				return validation.Errors{"timezone": validation.NewError("validation_invalid_timezone", err.Error())}
			}
		}
		return e.Next()
	})

	app.OnRecordUpdate(collections.Workspaces).BindFunc(func(e *core.RecordEvent) error {
		before, after := changes(e.Record, auditedWorkspaceFields...)
		if len(after) == 0 {
			return e.Next()
		}
		return inTx(e, func(tx core.App) error {
			return platform.Audit(tx, platform.ActorOf(e.Record), e.Record.Id, "workspace.settings_changed", collections.Workspaces, e.Record.Id, before, after)
		})
	})

	app.OnRecordDelete(collections.Workspaces).BindFunc(func(e *core.RecordEvent) error {
		return inTx(e, func(tx core.App) error {
			return platform.Audit(tx, platform.ActorOf(e.Record), e.Record.Id, "workspace.deleted", collections.Workspaces, e.Record.Id,
				map[string]any{"name": e.Record.GetString("name"), "slug": e.Record.GetString("slug")}, nil)
		})
	})
}

// ValidateTimezone accepts IANA zone names only ("Europe/Berlin", "UTC"), not abbreviations or offsets.
func ValidateTimezone(tz string) error {
	if tz == "" || tz == "Local" {
		return fmt.Errorf("%q is not an IANA time zone name (e.g. Europe/Berlin)", tz)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return fmt.Errorf("%q is not an IANA time zone name (e.g. Europe/Berlin)", tz)
	}
	return nil
}

// UniqueSlug returns base, or base with a short random suffix when it is taken; scope limits the check to one
// workspace for per-workspace slugs ("" for global ones).
func UniqueSlug(app core.App, collection, workspace, base string) string {
	candidate := base
	for range 5 {
		filter := dbx.HashExp{"slug": candidate}
		if workspace != "" {
			filter["workspace"] = workspace
		}
		n, err := app.CountRecords(collection, filter)
		if err == nil && n == 0 {
			return candidate
		}
		candidate = base + "-" + security.RandomStringWithAlphabet(4, "abcdefghijkmnpqrstuvwxyz23456789")
	}
	return candidate
}
