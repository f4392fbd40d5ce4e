package hooks

import (
	"strings"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Keys a sign-up body may carry besides the user's own fields.
const (
	signupWorkspaceName = "workspace_name"
	signupTimezone      = "timezone"
)

func registerUsers(app core.App, svc *platform.Services) {
	// Who may create whom: a guest signs up into a new workspace of their own as its owner; an admin adds a
	// member to their own workspace, never above their own role.
	app.OnRecordCreateRequest(collections.Users).BindFunc(func(e *core.RecordRequestEvent) error {
		info, _ := e.RequestInfo()
		switch {
		case e.Auth == nil:
			e.Record.Set("workspace", "")
			e.Record.Set("role", collections.RoleOwner)
			if info != nil {
				e.Record.SetRaw(signupWorkspaceName, info.Body[signupWorkspaceName])
				e.Record.SetRaw(signupTimezone, info.Body[signupTimezone])
			}
		case e.Auth.Collection().Name == collections.Users:
			e.Record.Set("workspace", e.Auth.GetString("workspace"))
			if e.Record.GetString("role") == "" {
				e.Record.Set("role", collections.RoleViewer)
			}
			if !collections.RoleAtLeast(e.Auth.GetString("role"), e.Record.GetString("role")) {
				return e.ForbiddenError("You cannot add a member with a role above your own.", nil)
			}
		}
		return e.Next()
	})

	app.OnRecordCreate(collections.Users).BindFunc(func(e *core.RecordEvent) error {
		actor := platform.ActorOf(e.Record)
		return platform.WriteTx(e.App, func(tx core.App) error {
			orig := e.App
			e.App = tx
			defer func() { e.App = orig }()
			newWorkspace := e.Record.GetString("workspace") == ""
			if newWorkspace {
				ws, err := createWorkspaceFor(tx, e.Record, actor)
				if err != nil {
					return err
				}
				e.Record.Set("workspace", ws.Id)
				e.Record.Set("role", collections.RoleOwner)
			} else if e.Record.GetString("role") == "" {
				e.Record.Set("role", collections.RoleViewer)
			}
			if err := e.Next(); err != nil {
				return err
			}
			action := "member.added"
			if newWorkspace {
				action = "member.signed_up"
			}
			if !newWorkspace && (actor.Type == "user" || actor.Type == "key") {
				// An invited member sets their own password through the reset link.
				if _, err := jobs.Enqueue(tx, jobs.New{Kind: jobs.KindInviteEmail, Workspace: e.Record.GetString("workspace"), Payload: map[string]string{"user": e.Record.Id}}); err != nil {
					return err
				}
				action = "member.invited"
			}
			return platform.Audit(tx, actor, e.Record.GetString("workspace"), action, collections.Users, e.Record.Id, nil,
				map[string]any{"email": e.Record.Email(), "role": e.Record.GetString("role")})
		})
	})

	// The last owner of a workspace can neither be demoted nor removed through the API: someone must always
	// be able to manage the workspace.
	app.OnRecordUpdateRequest(collections.Users).BindFunc(func(e *core.RecordRequestEvent) error {
		if e.Record.Original().GetString("role") == collections.RoleOwner && e.Record.GetString("role") != collections.RoleOwner && isLastOwner(e.App, e.Record) {
			return e.BadRequestError("The last owner of a workspace cannot change their role; make another member owner first.", nil)
		}
		return e.Next()
	})
	app.OnRecordDeleteRequest(collections.Users).BindFunc(func(e *core.RecordRequestEvent) error {
		if e.Record.GetString("role") == collections.RoleOwner && isLastOwner(e.App, e.Record) {
			return e.BadRequestError("The last owner of a workspace cannot be removed.", nil)
		}
		return e.Next()
	})

	app.OnRecordUpdate(collections.Users).BindFunc(func(e *core.RecordEvent) error {
		before, after := changes(e.Record, "role", "mfa_enabled")
		if len(after) == 0 {
			return e.Next()
		}
		action := "member.mfa_changed"
		if _, ok := after["role"]; ok {
			action = "member.role_changed"
		}
		before["email"] = e.Record.Email()
		return inTx(e, func(tx core.App) error {
			return platform.Audit(tx, platform.ActorOf(e.Record), e.Record.GetString("workspace"), action, collections.Users, e.Record.Id, before, after)
		})
	})

	app.OnRecordDelete(collections.Users).BindFunc(func(e *core.RecordEvent) error {
		return inTx(e, func(tx core.App) error {
			return platform.Audit(tx, platform.ActorOf(e.Record), e.Record.GetString("workspace"), "member.removed", collections.Users, e.Record.Id,
				map[string]any{"email": e.Record.Email(), "role": e.Record.GetString("role")}, nil)
		})
	})
}

func createWorkspaceFor(tx core.App, user *core.Record, actor platform.Actor) (*core.Record, error) {
	coll, err := tx.FindCachedCollectionByNameOrId(collections.Workspaces)
	if err != nil {
		return nil, err
	}
	name, _ := user.GetRaw(signupWorkspaceName).(string)
	name = strings.TrimSpace(name)
	if name == "" {
		name = strings.TrimSpace(user.GetString("name"))
		if name == "" {
			name, _, _ = strings.Cut(user.Email(), "@")
		}
		name += "'s workspace"
	}
	ws := core.NewRecord(coll)
	ws.Set("name", truncateRunes(name, 100))
	if tz, _ := user.GetRaw(signupTimezone).(string); tz != "" && ValidateTimezone(tz) == nil {
		ws.Set("timezone", tz)
	}
	platform.WithActor(ws, actor)
	if err := tx.Save(ws); err != nil {
		return nil, err
	}
	return ws, nil
}

func isLastOwner(app core.App, user *core.Record) bool {
	n, err := app.CountRecords(collections.Users, dbx.HashExp{"workspace": user.GetString("workspace"), "role": collections.RoleOwner}, dbx.Not(dbx.HashExp{"id": user.Id}))
	return err == nil && n == 0
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
