package routes

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/exports"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/export"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func registerExports(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	manager := Access{Scope: apikey.ScopeAdmin, MinRole: collections.RoleManager}
	v1.POST("/exports", createExport(svc)).Bind(require(svc, manager))
	v1.GET("/exports", listExports(svc)).Bind(require(svc, manager))
	v1.GET("/exports/{id}", getExport(svc)).Bind(require(svc, manager))
	// The link's signed token is the credential, so a browser or a spreadsheet tool can fetch the file.
	v1.GET("/exports/{id}/download", downloadExport(svc))
	v1.POST("/contacts/{id}/export", exportSubject).Bind(require(svc, manager))
	v1.POST("/contacts/{id}/erase", eraseSubject).Bind(require(svc, Access{Scope: apikey.ScopeAdmin, MinRole: collections.RoleAdmin}))
}

// exportSubject answers a data-subject access request: a ZIP of JSON files with everything about the contact.
func exportSubject(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	id := e.Request.PathValue("id")
	s, err := exports.CollectSubject(e.App, p.Workspace, id)
	if errors.Is(err, exports.ErrNoContact) {
		return e.NotFoundError("Not found.", nil)
	}
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for n, recs := range s.Records {
		counts[n] = len(recs)
	}
	if err := platform.Audit(e.App, platform.ActorFromRequest(e), p.Workspace, "contact.data_exported", collections.Contacts, id, nil, map[string]any{"records": counts}); err != nil {
		return err
	}
	h := e.Response.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="contact-`+id+`.zip"`)
	h.Set("Cache-Control", "private, no-store")
	e.Response.WriteHeader(http.StatusOK)
	return exports.WriteSubjectZIP(e.Response, s, time.Now())
}

// eraseSubject answers an erasure request; admins only, audited without the person's data.
func eraseSubject(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	counts, err := exports.Erase(e.App, p.Workspace, e.Request.PathValue("id"), platform.ActorFromRequest(e), time.Now())
	switch {
	case errors.Is(err, exports.ErrNoContact):
		return e.NotFoundError("Not found.", nil)
	case errors.Is(err, exports.ErrHeld):
		return e.Error(http.StatusConflict, err.Error(), nil)
	case err != nil:
		return err
	}
	return e.JSON(http.StatusOK, map[string]any{"erased": true, "counts": counts})
}

func createExport(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req exports.Request
		raw, err := readJSONRaw(e, &req)
		if err != nil {
			return err
		}
		p := platform.PrincipalOf(e)
		if _, err := exports.Validate(e.App, p.Workspace, req); err != nil {
			var fe *exports.FieldError
			if errors.As(err, &fe) {
				return fieldError(e, fe.Field, "validation_invalid_"+fe.Field, fe.Message)
			}
			return err
		}
		actor := platform.ActorFromRequest(e)
		return createOnce(e, raw, func(tx core.App) (int, any, error) {
			rec, err := exports.Create(tx, p.Workspace, req, actor)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusAccepted, map[string]any{"id": rec.Id, "status": rec.GetString("status")}, nil
		})
	}
}

func getExport(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		rec, err := findInWorkspace(e, collections.Exports, e.Request.PathValue("id"))
		if err != nil {
			return err
		}
		return e.JSON(http.StatusOK, exports.Summary(svc, rec, time.Now()))
	}
}

func listExports(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		p := platform.PrincipalOf(e)
		page, _ := strconv.Atoi(e.Request.URL.Query().Get("page"))
		if page < 1 {
			page = 1
		}
		const perPage = 50
		recs, err := e.App.FindRecordsByFilter(collections.Exports, "workspace = {:ws}", "-created", perPage, (page-1)*perPage, dbx.Params{"ws": p.Workspace})
		if err != nil {
			return err
		}
		items := make([]map[string]any, 0, len(recs))
		now := time.Now()
		for _, r := range recs {
			items = append(items, exports.Summary(svc, r, now))
		}
		return e.JSON(http.StatusOK, map[string]any{"page": page, "per_page": perPage, "items": items})
	}
}

func downloadExport(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		id := e.Request.PathValue("id")
		if !exports.CheckDownloadToken(svc, id, e.Request.URL.Query().Get("token"), time.Now()) {
			return e.ForbiddenError("The download link is invalid or has expired; ask for a new one with GET /api/v1/exports/{id}.", nil)
		}
		rec, err := e.App.FindRecordById(collections.Exports, id)
		if err != nil || rec.GetString("file") == "" || rec.GetBool("expired") {
			return e.NotFoundError("The export's file is gone (expired or never produced).", nil)
		}
		fsys, err := e.App.NewFilesystem()
		if err != nil {
			return err
		}
		defer fsys.Close()
		e.Response.Header().Set("Content-Type", export.ContentType(rec.GetString("format")))
		e.Response.Header().Set("Cache-Control", "private, no-store")
		return fsys.Serve(e.Response, e.Request, rec.BaseFilesPath()+"/"+rec.GetString("file"), rec.GetString("file"))
	}
}
