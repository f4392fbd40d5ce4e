package routes

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func registerPlatform(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	admin := Access{Scope: "admin", MinRole: collections.RoleAdmin}

	v1.GET("/ping", ping).Bind(require(svc, Access{MinRole: collections.RoleViewer}))

	v1.POST("/api-keys", createAPIKey(svc)).Bind(require(svc, admin))
	v1.POST("/api-keys/{id}/rotate", rotateAPIKey(svc)).Bind(require(svc, admin))
	v1.POST("/api-keys/{id}/revoke", revokeAPIKey(svc)).Bind(require(svc, admin))

	v1.POST("/tools/{id}/restore/{version}", restoreTool).Bind(require(svc, admin))
	v1.POST("/tools/{id}/secret", setToolSecret(svc)).Bind(require(svc, admin))

	v1.POST("/jobs/{id}/retry", retryJob).Bind(require(svc, admin))

	v1.GET("/workspace/secrets", getWorkspaceSecrets(svc)).Bind(require(svc, admin))
	v1.POST("/workspace/secrets", setWorkspaceSecrets(svc)).Bind(require(svc, admin))

	v1.POST("/members", addMember).Bind(require(svc, Access{MinRole: collections.RoleAdmin}))
}

// ping lets an integrator check a key: which workspace it belongs to and what it may do.
func ping(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	out := map[string]any{"workspace": p.Workspace}
	if p.Key != nil {
		out["key_prefix"] = p.Key.Prefix
		out["scopes"] = p.Key.Scopes
	} else {
		out["user"] = p.User.Id
		out["role"] = p.Role
	}
	return e.JSON(200, out)
}

type apiKeyRequest struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	Tool      string   `json:"tool"`
	AllowIPs  []string `json:"allow_ips"`
	ExpiresAt string   `json:"expires_at"`
}

func createAPIKey(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req apiKeyRequest
		if err := readJSON(e, &req); err != nil {
			return err
		}
		p := platform.PrincipalOf(e)
		params := platform.NewKeyParams{Name: req.Name, Scopes: req.Scopes, Tool: req.Tool, AllowIPs: req.AllowIPs}
		problems := map[string]string{}
		if req.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, req.ExpiresAt)
			if err != nil {
				problems["expires_at"] = "Must be an RFC 3339 time such as 2027-01-31T00:00:00Z."
			}
			params.ExpiresAt = t
		}
		for k, v := range params.Validate(e.App, p.Workspace) {
			problems[k] = v
		}
		if len(problems) > 0 {
			return fieldErrors(e, problems)
		}
		secret, rec, err := platform.CreateKey(e.App, p.Workspace, params, platform.ActorFromRequest(e))
		if err != nil {
			return err
		}
		out := platform.KeySummary(rec)
		out["secret"] = secret
		return e.JSON(201, out)
	}
}

func rotateAPIKey(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		grace, err := readGrace(e, 720)
		if err != nil {
			return err
		}
		rec, err := findInWorkspace(e, collections.APIKeys, e.Request.PathValue("id"))
		if err != nil {
			return err
		}
		secret, err := platform.RotateKey(e.App, rec, grace, platform.ActorFromRequest(e))
		if err != nil {
			return e.BadRequestError(err.Error(), nil)
		}
		out := platform.KeySummary(rec)
		out["secret"] = secret
		out["previous_valid_until"] = rec.GetDateTime("previous_expires_at").Time().UTC().Format(time.RFC3339)
		return e.JSON(200, out)
	}
}

func revokeAPIKey(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		rec, err := findInWorkspace(e, collections.APIKeys, e.Request.PathValue("id"))
		if err != nil {
			return err
		}
		if err := platform.RevokeKey(e.App, rec, platform.ActorFromRequest(e)); err != nil {
			return err
		}
		return e.JSON(200, platform.KeySummary(rec))
	}
}

func restoreTool(e *core.RequestEvent) error {
	tool, err := findInWorkspace(e, collections.Tools, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	version, err := strconv.Atoi(e.Request.PathValue("version"))
	if err != nil || version < 1 {
		return fieldError(e, "version", "validation_invalid_value", "must be a version number (1, 2, …)")
	}
	if version == tool.GetInt("version") {
		return fieldError(e, "version", "validation_invalid_value", "is already the current version")
	}
	if err := platform.RestoreToolVersion(e.App, tool, version, platform.ActorFromRequest(e)); err != nil {
		return e.NotFoundError(err.Error(), nil)
	}
	return e.JSON(200, tool)
}

func setToolSecret(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var values map[string]string
		if err := readJSON(e, &values); err != nil {
			return err
		}
		tool, err := findInWorkspace(e, collections.Tools, e.Request.PathValue("id"))
		if err != nil {
			return err
		}
		if err := checkSecretNames(e, values, platform.ToolSecretNames); err != nil {
			return err
		}
		if err := platform.SetSecrets(svc.Box, tool, platform.ToolSecretNames, values); err != nil {
			return err
		}
		platform.WithActor(tool, platform.ActorFromRequest(e))
		if err := e.App.Save(tool); err != nil {
			return err
		}
		return e.JSON(200, platform.SecretStatuses(svc.Box, tool, platform.ToolSecretNames))
	}
}

func retryJob(e *core.RequestEvent) error {
	job, err := findInWorkspace(e, collections.Jobs, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	rec, err := jobs.Retry(e.App, job.Id)
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	if err := platform.Audit(e.App, platform.ActorFromRequest(e), job.GetString("workspace"), "job.retried", collections.Jobs, job.Id, nil, map[string]any{"kind": job.GetString("kind")}); err != nil {
		return err
	}
	return e.JSON(200, map[string]any{"id": rec.Id, "status": rec.GetString("status"), "kind": rec.GetString("kind")})
}

func getWorkspaceSecrets(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		ws, err := e.App.FindRecordById(collections.Workspaces, platform.PrincipalOf(e).Workspace)
		if err != nil {
			return err
		}
		return e.JSON(200, platform.SecretStatuses(svc.Box, ws, platform.WorkspaceSecretNames))
	}
}

func setWorkspaceSecrets(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var values map[string]string
		if err := readJSON(e, &values); err != nil {
			return err
		}
		ws, err := e.App.FindRecordById(collections.Workspaces, platform.PrincipalOf(e).Workspace)
		if err != nil {
			return err
		}
		if err := checkSecretNames(e, values, platform.WorkspaceSecretNames); err != nil {
			return err
		}
		if err := platform.SetSecrets(svc.Box, ws, platform.WorkspaceSecretNames, values); err != nil {
			return err
		}
		platform.WithActor(ws, platform.ActorFromRequest(e))
		if err := e.App.Save(ws); err != nil {
			return err
		}
		return e.JSON(200, platform.SecretStatuses(svc.Box, ws, platform.WorkspaceSecretNames))
	}
}

// addMember invites someone into the caller's workspace: the account gets a random password and the
// invitation email carries a link to set their own.
func addMember(e *core.RequestEvent) error {
	var req struct {
		Email string `json:"email"`
		Name  string `json:"name"`
		Role  string `json:"role"`
	}
	raw, err := readJSONRaw(e, &req)
	if err != nil {
		return err
	}
	p := platform.PrincipalOf(e)
	if req.Role == "" {
		req.Role = collections.RoleViewer
	}
	if !strings.Contains(req.Email, "@") {
		return fieldError(e, "email", "validation_is_email", "must be an email address")
	}
	if !slices.Contains(collections.Roles, req.Role) {
		return fieldError(e, "role", "validation_invalid_value", "must be one of "+strings.Join(collections.Roles, ", "))
	}
	if !collections.RoleAtLeast(p.Role, req.Role) {
		return fieldError(e, "role", "validation_invalid_value", "cannot be above your own role ("+p.Role+")")
	}
	actor := platform.ActorFromRequest(e)
	return createOnce(e, raw, func(tx core.App) (int, any, error) {
		coll, err := tx.FindCachedCollectionByNameOrId(collections.Users)
		if err != nil {
			return 0, nil, err
		}
		user := core.NewRecord(coll)
		user.SetEmail(strings.TrimSpace(req.Email))
		user.Set("name", req.Name)
		user.Set("workspace", p.Workspace)
		user.Set("role", req.Role)
		// Colleagues see an invited member's email (the users list rule keeps it inside the workspace), so the
		// dashboard's member list can show whom each row is.
		user.SetEmailVisibility(true)
		user.SetRandomPassword() // never shown: the invitation email carries a link to set one
		platform.WithActor(user, actor)
		if err := tx.Save(user); err != nil {
			return 0, nil, err
		}
		return 201, map[string]any{"id": user.Id, "email": user.Email(), "role": user.GetString("role"), "workspace": p.Workspace}, nil
	})
}

func checkSecretNames(e *core.RequestEvent, values map[string]string, allowed []string) error {
	for name := range values {
		if !slices.Contains(allowed, name) {
			return fieldError(e, name, "validation_unknown_field", "is not a secret that can be stored here (allowed: "+strings.Join(allowed, ", ")+")")
		}
	}
	return nil
}
