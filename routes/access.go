package routes

import (
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Access says who may call a route: API keys carrying Scope (empty: any valid key), and signed-in members of
// at least MinRole (empty: members may not). Superusers may always call it, naming the workspace they act on
// with ?workspace=ID-or-slug.
type Access struct {
	Scope   string
	MinRole string
	// KeysOnly refuses signed-in users, for machine-to-machine routes.
	KeysOnly bool
}

// require authenticates the request for a, stores its principal and counts key use.
func require(svc *platform.Services, a Access) *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Func: func(e *core.RequestEvent) error {
			p, err := authenticate(e, svc, a)
			if err != nil {
				return err
			}
			platform.SetPrincipal(e, p)
			return e.Next()
		},
	}
}

func authenticate(e *core.RequestEvent, svc *platform.Services, a Access) (*platform.Principal, error) {
	token := strings.TrimSpace(e.Request.Header.Get("Authorization"))
	token = strings.TrimSpace(strings.TrimPrefix(token, "Bearer"))
	if apikey.LooksLikeKey(token) {
		now := time.Now()
		key, err := svc.Keys.Lookup(e.App, token, now)
		if err != nil {
			return nil, e.InternalServerError("", err)
		}
		if key == nil {
			return nil, e.UnauthorizedError("The API key is not recognised.", nil)
		}
		if d := apikey.Check(*key, a.Scope, e.RealIP(), now); d != nil {
			if d.Status == 401 {
				return nil, e.UnauthorizedError(d.Message, nil)
			}
			return nil, e.ForbiddenError(d.Message, nil)
		}
		svc.Keys.Count(key, now)
		return &platform.Principal{Workspace: key.Workspace, Key: key}, nil
	}
	if strings.HasPrefix(token, apikey.Marker) {
		return nil, e.UnauthorizedError("The API key is malformed: expected pgk_ followed by 43 letters and digits.", nil)
	}
	if e.Auth == nil {
		return nil, e.UnauthorizedError("Sign in or send an API key as 'Authorization: Bearer pgk_…'.", nil)
	}
	if e.Auth.IsSuperuser() {
		ref := e.Request.URL.Query().Get("workspace")
		if ref == "" {
			return nil, e.BadRequestError("Superusers must name the workspace to act on with ?workspace=ID-or-slug.", nil)
		}
		ws, err := e.App.FindFirstRecordByFilter(collections.Workspaces, "id = {:ref} || slug = {:ref}", dbx.Params{"ref": ref})
		if err != nil {
			return nil, e.NotFoundError("No workspace "+ref+".", nil)
		}
		return &platform.Principal{Workspace: ws.Id, Role: collections.RoleOwner, Superuser: true, User: e.Auth}, nil
	}
	if e.Auth.Collection().Name != collections.Users {
		return nil, e.ForbiddenError("Only workspace members can call this route.", nil)
	}
	if a.KeysOnly || a.MinRole == "" {
		return nil, e.ForbiddenError("This route is for API keys only.", nil)
	}
	role := e.Auth.GetString("role")
	if !collections.RoleAtLeast(role, a.MinRole) {
		return nil, e.ForbiddenError("Your role ("+role+") cannot do this; it needs "+a.MinRole+" or above.", nil)
	}
	return &platform.Principal{Workspace: e.Auth.GetString("workspace"), Role: role, User: e.Auth}, nil
}

// findInWorkspace loads a record of the principal's workspace by id; other workspaces' records are "not found",
// so ids from elsewhere reveal nothing.
func findInWorkspace(e *core.RequestEvent, collection, id string) (*core.Record, error) {
	p := platform.PrincipalOf(e)
	rec, err := e.App.FindRecordById(collection, id)
	if err != nil || p == nil || rec.GetString("workspace") != p.Workspace {
		return nil, e.NotFoundError("Not found.", nil)
	}
	return rec, nil
}
