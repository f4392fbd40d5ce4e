package routes

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/autoreply"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func registerContacts(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	read := Access{Scope: apikey.ScopeManychat, MinRole: collections.RoleViewer}
	v1.GET("/contacts", searchContacts).Bind(require(svc, read))
	v1.GET("/contacts/activity", contactActivity).Bind(require(svc, Access{MinRole: collections.RoleViewer, Scope: apikey.ScopeManychat}))
	v1.GET("/contacts/{id}/history", contactHistory).Bind(require(svc, read))
}

// filterValues turns a JSON filter ({"q":..,"tags":[..],"field.plan":..}) into search parameters.
func filterValues(m map[string]any) url.Values {
	v := url.Values{}
	for k, val := range m {
		switch x := val.(type) {
		case []any:
			parts := make([]string, 0, len(x))
			for _, p := range x {
				parts = append(parts, autoreply.ValueText(p))
			}
			v.Set(k, strings.Join(parts, ","))
		default:
			v.Set(k, autoreply.ValueText(x))
		}
	}
	return v
}

func searchContacts(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	params := e.Request.URL.Query()
	if id := params.Get("saved"); id != "" {
		saved, err := e.App.FindRecordById(collections.SavedSearches, id)
		if err != nil || saved.GetString("workspace") != p.Workspace || (p.User != nil && !p.Superuser && saved.GetString("user") != p.User.Id) {
			return fieldError(e, "saved", "validation_not_found", "no saved search "+id+" of yours")
		}
		var stored map[string]any
		_ = saved.UnmarshalJSONField("query", &stored)
		merged := filterValues(stored)
		for k, vals := range params { // explicit parameters (page, sort, ...) override the saved ones
			if k != "saved" {
				merged[k] = vals
			}
		}
		params = merged
	}
	q, problems := crm.ParseQuery(params)
	if len(problems) > 0 {
		return fieldErrors(e, problems)
	}
	res, err := crm.Search(e.App, p.Workspace, q)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(res.Items))
	for i, r := range res.Items {
		items[i] = crm.ContactJSON(r)
	}
	return e.JSON(200, map[string]any{"page": res.Page, "per_page": res.PerPage, "total": res.Total, "items": items})
}

func parseDay(e *core.RequestEvent, name, value string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", value)
	if err != nil {
		return t, fieldError(e, name, "validation_invalid_date", "must be a date YYYY-MM-DD")
	}
	return t, nil
}

func contactActivity(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	loc := crm.WorkspaceLocation(e.App, p.Workspace)
	today := time.Now().In(loc)
	from, to := today.AddDate(0, 0, -27), today
	var err error
	if s := e.Request.URL.Query().Get("from"); s != "" {
		if from, err = parseDay(e, "from", s); err != nil {
			return err
		}
	}
	if s := e.Request.URL.Query().Get("to"); s != "" {
		if to, err = parseDay(e, "to", s); err != nil {
			return err
		}
	}
	if to.Before(from) {
		return fieldError(e, "to", "validation_invalid_date", "must not be before from")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return fieldError(e, "to", "validation_invalid_date", "the range must be at most a year")
	}
	hm, err := crm.ActivityHeatmap(e.App, p.Workspace, from, to, loc)
	if err != nil {
		return err
	}
	return e.JSON(200, hm)
}

func contactHistory(e *core.RequestEvent) error {
	c, err := findInWorkspace(e, collections.Contacts, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	at := e.Request.URL.Query().Get("at")
	if at == "" {
		return fieldError(e, "at", "validation_required", "is required (YYYY-MM-DD)")
	}
	if _, err := parseDay(e, "at", at); err != nil {
		return err
	}
	state, asOf, err := crm.History(e.App, c.Id, at)
	if errors.Is(err, crm.ErrNoHistory) {
		return e.NotFoundError(fmt.Sprintf("No snapshot of this contact on or before %s (snapshots are taken daily from the day a contact is first seen).", at), nil)
	}
	if err != nil {
		return err
	}
	return e.JSON(200, map[string]any{"id": c.Id, "at": at, "as_of": asOf, "contact": crm.Unflatten(state)})
}
