package routes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/socialcache"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/social"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func registerSocial(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	read := Access{Scope: apikey.ScopeSocial, MinRole: collections.RoleViewer}
	admin := Access{Scope: apikey.ScopeAdmin, MinRole: collections.RoleAdmin}
	manage := Access{Scope: apikey.ScopeAdmin, MinRole: collections.RoleManager}

	v1.GET("/social/usage", socialUsage).Bind(require(svc, read))
	v1.GET("/social/costs", socialCosts).Bind(require(svc, admin))
	v1.GET("/social/cache", socialCacheList).Bind(require(svc, admin))
	v1.POST("/social/cache/warm", socialWarm).Bind(require(svc, admin))
	v1.DELETE("/social/cache/{platform}/{handle}", socialPurge).Bind(require(svc, admin))
	v1.POST("/social/categories/{id}/posts", socialAssign).Bind(require(svc, manage))
	v1.DELETE("/social/categories/{id}/posts/{post}", socialUnassign).Bind(require(svc, manage))
	v1.GET("/social/{platform}/{handle}", socialRead).Bind(require(svc, read), apis.SkipSuccessActivityLog())
	// Public: websites embed media and category feeds without credentials.
	v1.GET("/media/{token}", socialMedia).Bind(apis.SkipSuccessActivityLog())
	v1.GET("/sites/{workspace}/categories", siteCategories)
	v1.GET("/sites/{workspace}/categories/{slug}/posts", siteCategoryPosts)
}

// socialQuery validates platform, handle, type and limit; a problem is a 400 naming the field.
func socialQuery(e *core.RequestEvent, s *social.Service, ws, toolID, platformName, handle, typ, limit string) (social.Query, *social.ToolConfig, error) {
	platformName = strings.ToLower(platformName)
	types, ok := social.Types[platformName]
	if !ok {
		return social.Query{}, nil, fieldError(e, "platform", "validation_invalid_value", "must be instagram, tiktok or google")
	}
	if typ == "" {
		typ = types[0]
	}
	if !slices.Contains(types, typ) {
		return social.Query{}, nil, fieldError(e, "type", "validation_invalid_value", platformName+" answers "+strings.Join(types, " or "))
	}
	h, err := social.NormalizeHandle(platformName, handle)
	if err != nil {
		return social.Query{}, nil, fieldError(e, "handle", "validation_invalid_value", err.Error())
	}
	cfg := s.ToolConfig(ws, toolID)
	n := cfg.DefaultLimit
	if limit != "" {
		if n, err = strconv.Atoi(limit); err != nil || n < 1 || n > 100 {
			return social.Query{}, nil, fieldError(e, "limit", "validation_out_of_range", "must be a whole number from 1 to 100")
		}
	}
	if typ == "profile" {
		n = 1
	}
	return social.Query{Workspace: ws, Platform: platformName, Type: typ, Handle: h, Limit: n}, cfg, nil
}

func socialRead(e *core.RequestEvent) error {
	s := social.Of(e.App)
	p := platform.PrincipalOf(e)
	toolID := ""
	if p.Key != nil {
		toolID = p.Key.Tool
	}
	qs := e.Request.URL.Query()
	q, cfg, err := socialQuery(e, s, p.Workspace, toolID, e.Request.PathValue("platform"), e.Request.PathValue("handle"), qs.Get("type"), qs.Get("limit"))
	if err != nil {
		return err
	}
	if !slices.Contains(cfg.Platforms, q.Platform) {
		return e.ForbiddenError("The social tool of this workspace does not serve "+q.Platform+".", nil)
	}
	var client *social.Client
	if p.Key != nil {
		client = s.ClientOf(p.Key)
		if client.Disabled {
			return e.ForbiddenError("This API client is disabled.", nil)
		}
		if !client.Allows(q.Platform) {
			return e.ForbiddenError("The "+client.Tier+" tier does not include "+q.Platform+".", nil)
		}
		if err := socialLimit(e, s, client, q); err != nil {
			return err
		}
	}
	entry, out, err := s.Read(e.Request.Context(), q, cfg, client)
	h := e.Response.Header()
	h.Set("X-Cache", string(out))
	switch {
	case errors.Is(err, social.ErrNotFound):
		h.Set("Cache-Control", "private, max-age=60")
		return e.NotFoundError(fmt.Sprintf("No %s %s %s.", q.Platform, map[bool]string{true: "place", false: "account"}[q.Platform == "google"], q.Handle), nil)
	case errors.Is(err, socialcache.ErrPending):
		h.Set("Retry-After", "5")
		return e.JSON(http.StatusAccepted, map[string]any{"status": "pending", "message": "The data is being fetched; ask again in a few seconds.", "retry_after": 5})
	case errors.Is(err, social.ErrBudgetSpent):
		return router.NewApiError(http.StatusPaymentRequired, "This workspace's monthly social data budget is spent; only cached data is served and nothing is cached for this request.", nil)
	case errors.Is(err, social.ErrNoApifyToken):
		return router.NewApiError(http.StatusServiceUnavailable, "Social data is not configured: the workspace has no Apify token.", nil)
	case err != nil:
		if e.Request.Context().Err() != nil {
			return e.Request.Context().Err()
		}
		e.App.Logger().Warn("social read failed", "workspace", q.Workspace, "platform", q.Platform, "handle", q.Handle, "error", err)
		return router.NewApiError(http.StatusBadGateway, "The social data source failed; try again later.", nil)
	}
	maxAge := max(int(time.Until(entry.FreshUntil).Seconds()), 0)
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(min(maxAge, 300)))
	return e.Blob(http.StatusOK, "application/json", socialBody(q, entry, out))
}

// socialBody writes the answer without re-encoding the cached items.
func socialBody(q social.Query, entry *socialcache.Entry, out socialcache.Outcome) []byte {
	size := 256 + len(q.Handle)
	for _, it := range entry.Items {
		size += len(it) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	str := func(s string) { j, _ := json.Marshal(s); b.Write(j) }
	b.WriteString(`{"platform":`)
	str(q.Platform)
	b.WriteString(`,"handle":`)
	str(q.Handle)
	b.WriteString(`,"type":`)
	str(q.Type)
	b.WriteString(`,"cache":`)
	str(string(out))
	b.WriteString(`,"fetched_at":`)
	str(entry.FetchedAt.UTC().Format(time.RFC3339))
	if q.Type == "profile" {
		b.WriteString(`,"profile":`)
		if len(entry.Items) > 0 {
			b.Write(entry.Items[0])
		} else {
			b.WriteString("null")
		}
	} else {
		items := entry.Items[:min(q.Limit, len(entry.Items))]
		b.WriteString(`,"count":` + strconv.Itoa(len(items)) + `,"items":[`)
		for i, it := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(it)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// socialLimit enforces the client's requests per minute and per day and sets the RateLimit-* headers of the
// tighter window.
func socialLimit(e *core.RequestEvent, s *social.Service, c *social.Client, q social.Query) error {
	ctx := e.Request.Context()
	now := s.Now()
	minute, err := s.Quota.Take(ctx, c.ID+":m", c.RPM, time.Minute, now)
	if err != nil {
		return e.InternalServerError("", err)
	}
	day, err := s.Quota.Take(ctx, c.ID+":d", c.RPD, 24*time.Hour, now)
	if err != nil {
		return e.InternalServerError("", err)
	}
	shown := minute
	if !day.Allowed || (minute.Allowed && day.Remaining < minute.Remaining) {
		shown = day
	}
	h := e.Response.Header()
	h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=60, %d;w=86400", c.RPM, c.RPD))
	h.Set("RateLimit-Limit", strconv.Itoa(shown.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(shown.Remaining))
	reset := int((shown.Reset + time.Second - 1) / time.Second)
	h.Set("RateLimit-Reset", strconv.Itoa(reset))
	if minute.Allowed && day.Allowed {
		return nil
	}
	s.Refused(q.Workspace, c.ID, q.Platform)
	h.Set("Retry-After", strconv.Itoa(max(reset, 1)))
	window := "minute"
	if !day.Allowed {
		window = "day"
	}
	return router.NewApiError(http.StatusTooManyRequests, fmt.Sprintf("Rate limit of the %s tier reached (%d per %s); retry after %d s.", c.Tier, shown.Limit, window, reset), nil)
}

func dayRange(e *core.RequestEvent, defFrom, defTo time.Time) (string, string, error) {
	q := e.Request.URL.Query()
	from, to := defFrom.Format(time.DateOnly), defTo.Format(time.DateOnly)
	for _, f := range []struct {
		name string
		dst  *string
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return "", "", fieldError(e, f.name, "validation_invalid_date", "must be a day such as 2026-11-01")
			}
			*f.dst = t.Format(time.DateOnly)
		}
	}
	if from > to {
		return "", "", fieldError(e, "from", "validation_invalid_value", "must not be after to")
	}
	return from, to, nil
}

func socialUsage(e *core.RequestEvent) error {
	s := social.Of(e.App)
	p := platform.PrincipalOf(e)
	now := s.Now().UTC()
	from, to, err := dayRange(e, now.AddDate(0, 0, -29), now)
	if err != nil {
		return err
	}
	client := e.Request.URL.Query().Get("client")
	// A client's key sees only its own usage; admin keys and members see every client's.
	if p.Key != nil && !slices.Contains(p.Key.Scopes, apikey.ScopeAdmin) {
		client = s.ClientOf(p.Key).ID
	}
	rows, err := s.Usage(p.Workspace, from, to, client)
	if err != nil {
		return err
	}
	var total social.UsageRow
	for _, r := range rows {
		total.Requests += r.Requests
		total.Hits += r.Hits
		total.Stale += r.Stale
		total.Misses += r.Misses
		total.Refused += r.Refused
	}
	return e.JSON(http.StatusOK, map[string]any{"from": from, "to": to, "rows": rows, "totals": map[string]int64{
		"requests": total.Requests, "hits": total.Hits, "stale": total.Stale, "misses": total.Misses, "refused": total.Refused}})
}

func socialCosts(e *core.RequestEvent) error {
	s := social.Of(e.App)
	p := platform.PrincipalOf(e)
	now := s.Now().UTC()
	from, to, err := dayRange(e, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), now)
	if err != nil {
		return err
	}
	groups, total, err := s.Costs(p.Workspace, from, to)
	if err != nil {
		return err
	}
	shape := func(name string) []map[string]any {
		out := []map[string]any{}
		for _, g := range groups[name] {
			out = append(out, map[string]any{name: g.Group, "usd": round6(g.USD), "runs": g.Runs})
		}
		return out
	}
	budget := s.Budget(p.Workspace)
	spent := s.MonthSpend(p.Workspace)
	return e.JSON(http.StatusOK, map[string]any{
		"from": from, "to": to, "total_usd": round6(total.USD), "runs": total.Runs,
		"by_platform": shape("platform"), "by_client": shape("client"), "by_day": shape("day"),
		"budget": map[string]any{"monthly_usd": budget, "month_spent_usd": round6(spent), "exhausted": budget > 0 && spent >= budget},
	})
}

func round6(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 6, 64), 64)
	return v
}

func socialCacheList(e *core.RequestEvent) error {
	s := social.Of(e.App)
	q := e.Request.URL.Query()
	pl, typ := q.Get("platform"), q.Get("type")
	if _, ok := social.Types[pl]; pl != "" && !ok {
		return fieldError(e, "platform", "validation_invalid_value", "must be instagram, tiktok or google")
	}
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fieldError(e, "page", "validation_invalid_value", "must be a whole number from 1")
		}
		page = n
	}
	rows, err := s.CacheKeys(platform.PrincipalOf(e).Workspace, pl, typ, 100, (page-1)*100)
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, map[string]any{"page": page, "items": rows, "memory_entries": s.Memory.Len(), "fetching": s.Cache.Inflight()})
}

type warmRequest struct {
	Platform string `json:"platform"`
	Handle   string `json:"handle"`
	Type     string `json:"type"`
	Limit    int    `json:"limit"`
}

func socialWarm(e *core.RequestEvent) error {
	s := social.Of(e.App)
	p := platform.PrincipalOf(e)
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	var req warmRequest
	if err := decodeJSON(e, raw, &req); err != nil {
		return err
	}
	limit := ""
	if req.Limit != 0 {
		limit = strconv.Itoa(req.Limit)
	}
	q, _, err := socialQuery(e, s, p.Workspace, "", req.Platform, req.Handle, req.Type, limit)
	if err != nil {
		return err
	}
	if s.BudgetSpent(p.Workspace) {
		return router.NewApiError(http.StatusPaymentRequired, "This workspace's monthly social data budget is spent; warming would start a paid run.", nil)
	}
	actor := platform.ActorFromRequest(e)
	return createOnce(e, raw, func(tx core.App) (int, any, error) {
		job, err := jobs.Enqueue(tx, jobs.New{Kind: social.KindWarm, Workspace: p.Workspace, UniqueKey: "social.warm:" + q.Key(), MaxAttempts: 3,
			Payload: map[string]any{"platform": q.Platform, "type": q.Type, "handle": q.Handle, "limit": q.Limit}})
		if err != nil {
			return 0, nil, err
		}
		if err := platform.Audit(tx, actor, p.Workspace, "social.cache_warmed", collections.SocialCache, "", nil,
			map[string]any{"platform": q.Platform, "type": q.Type, "handle": q.Handle}); err != nil {
			return 0, nil, err
		}
		return http.StatusAccepted, map[string]any{"job": job.Id, "status": "queued", "platform": q.Platform, "type": q.Type, "handle": q.Handle, "limit": q.Limit}, nil
	})
}

func socialPurge(e *core.RequestEvent) error {
	s := social.Of(e.App)
	p := platform.PrincipalOf(e)
	pl := strings.ToLower(e.Request.PathValue("platform"))
	types, ok := social.Types[pl]
	if !ok {
		return fieldError(e, "platform", "validation_invalid_value", "must be instagram, tiktok or google")
	}
	h, err := social.NormalizeHandle(pl, e.Request.PathValue("handle"))
	if err != nil {
		return fieldError(e, "handle", "validation_invalid_value", err.Error())
	}
	if t := e.Request.URL.Query().Get("type"); t != "" {
		if !slices.Contains(types, t) {
			return fieldError(e, "type", "validation_invalid_value", pl+" answers "+strings.Join(types, " or "))
		}
		types = []string{t}
	}
	for _, t := range types {
		if err := s.Cache.Purge(context.WithoutCancel(e.Request.Context()), social.Query{Workspace: p.Workspace, Platform: pl, Type: t, Handle: h}.Key()); err != nil {
			return err
		}
	}
	if err := platform.Audit(e.App, platform.ActorFromRequest(e), p.Workspace, "social.cache_purged", collections.SocialCache, "", nil,
		map[string]any{"platform": pl, "types": types, "handle": h}); err != nil {
		return err
	}
	return e.JSON(http.StatusOK, map[string]any{"purged": types, "platform": pl, "handle": h})
}

type assignRequest struct {
	Handle   string `json:"handle"`
	PostID   string `json:"post_id"`
	Position int    `json:"position"`
}

func socialAssign(e *core.RequestEvent) error {
	s := social.Of(e.App)
	cat, err := findInWorkspace(e, collections.PostCategories, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	var req assignRequest
	if err := decodeJSON(e, raw, &req); err != nil {
		return err
	}
	h, err := social.NormalizeHandle("instagram", req.Handle)
	if err != nil {
		return fieldError(e, "handle", "validation_invalid_value", err.Error())
	}
	if req.PostID == "" || len(req.PostID) > 64 {
		return fieldError(e, "post_id", "validation_required", "the Instagram post id or short code is required")
	}
	post, err := s.CachedPost(e.Request.Context(), cat.GetString("workspace"), h, req.PostID)
	if err != nil {
		return fieldError(e, "post_id", "validation_not_found", err.Error())
	}
	var p social.Post
	_ = json.Unmarshal(post, &p)
	actor := platform.ActorFromRequest(e)
	return createOnce(e, raw, func(tx core.App) (int, any, error) {
		rec, created, err := social.AssignPost(tx, cat, h, p.ID, req.Position, post, actor)
		if err != nil {
			return 0, nil, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return status, map[string]any{"id": rec.Id, "category": cat.Id, "post_id": p.ID, "handle": h, "position": req.Position, "post": post}, nil
	})
}

func socialUnassign(e *core.RequestEvent) error {
	cat, err := findInWorkspace(e, collections.PostCategories, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	err = platform.WriteTx(e.App, func(tx core.App) error {
		return social.RemovePost(tx, cat, e.Request.PathValue("post"), platform.ActorFromRequest(e))
	})
	if err != nil {
		return e.NotFoundError("This post is not in the category.", nil)
	}
	return e.NoContent(http.StatusNoContent)
}

// siteJSON answers a public, cacheable JSON body with an ETag.
func siteJSON(e *core.RequestEvent, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	etag := `"` + fmt.Sprintf("%x", sha256Sum(body))[:32] + `"`
	h := e.Response.Header()
	h.Set("Cache-Control", "public, max-age=300, stale-while-revalidate=600")
	h.Set("ETag", etag)
	if strings.Contains(e.Request.Header.Get("If-None-Match"), etag) {
		return e.NoContent(http.StatusNotModified)
	}
	return e.Blob(http.StatusOK, "application/json", body)
}

func siteCategories(e *core.RequestEvent) error {
	ws, err := social.FindSiteWorkspace(e.App, e.Request.PathValue("workspace"))
	if err != nil {
		return e.NotFoundError("Not found.", nil)
	}
	cats, err := social.SiteCategories(e.App, ws.Id)
	if err != nil {
		return err
	}
	return siteJSON(e, map[string]any{"workspace": map[string]string{"name": ws.GetString("name"), "slug": ws.GetString("slug")}, "categories": cats})
}

func siteCategoryPosts(e *core.RequestEvent) error {
	ws, err := social.FindSiteWorkspace(e.App, e.Request.PathValue("workspace"))
	if err != nil {
		return e.NotFoundError("Not found.", nil)
	}
	cat, posts, err := social.SiteCategoryPosts(e.App, ws.Id, e.Request.PathValue("slug"))
	if err != nil || cat == nil {
		return e.NotFoundError("Not found.", nil)
	}
	return siteJSON(e, map[string]any{"category": cat, "posts": posts})
}
