package social

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// ErrPostNotCached means the post is not among the cached Instagram posts of the handle.
var ErrPostNotCached = errors.New("not among the cached Instagram posts of this handle; read /api/v1/social/instagram/{handle} first")

// CachedPost finds a post (by id or short code) among the cached Instagram posts of handle in workspace.
func (s *Service) CachedPost(ctx context.Context, ws, handle, postID string) (json.RawMessage, error) {
	e := s.Cache.Peek(ctx, Query{Workspace: ws, Platform: "instagram", Type: "posts", Handle: handle}.Key())
	if e == nil {
		return nil, ErrPostNotCached
	}
	for _, it := range e.Items {
		var p Post
		if json.Unmarshal(it, &p) != nil {
			continue
		}
		if p.ID == postID || strings.Contains(p.URL, "/p/"+postID+"/") || strings.Contains(p.URL, "/reel/"+postID+"/") {
			return it, nil
		}
	}
	return nil, ErrPostNotCached
}

// AssignPost puts a post snapshot into a category (or updates its position and snapshot), with its event, in
// tx. created reports whether the assignment is new.
func AssignPost(tx core.App, cat *core.Record, handle, postID string, position int, post json.RawMessage, actor platform.Actor) (*core.Record, bool, error) {
	ws := cat.GetString("workspace")
	rec, err := tx.FindFirstRecordByFilter(collections.PostCategoryPosts, "category = {:c} && post_id = {:p}", dbx.Params{"c": cat.Id, "p": postID})
	created := err != nil
	if created {
		coll, err := tx.FindCachedCollectionByNameOrId(collections.PostCategoryPosts)
		if err != nil {
			return nil, false, err
		}
		rec = core.NewRecord(coll)
		rec.Set("workspace", ws)
		rec.Set("category", cat.Id)
		rec.Set("post_id", postID)
	}
	rec.Set("handle", handle)
	rec.Set("position", position)
	rec.Set("post", post)
	if err := tx.Save(rec); err != nil {
		return nil, false, err
	}
	_, err = platform.Emit(tx, platform.Event{Workspace: ws, Type: "post_category.post_added", SubjectCollection: collections.PostCategories,
		SubjectID: cat.Id, Actor: actor.String(), Data: map[string]any{"post_id": postID, "handle": handle, "position": position}})
	return rec, created, err
}

// RemovePost takes a post out of a category, with its event, in tx.
func RemovePost(tx core.App, cat *core.Record, postID string, actor platform.Actor) error {
	rec, err := tx.FindFirstRecordByFilter(collections.PostCategoryPosts, "category = {:c} && post_id = {:p}", dbx.Params{"c": cat.Id, "p": postID})
	if err != nil {
		return err
	}
	if err := tx.Delete(rec); err != nil {
		return err
	}
	_, err = platform.Emit(tx, platform.Event{Workspace: cat.GetString("workspace"), Type: "post_category.post_removed",
		SubjectCollection: collections.PostCategories, SubjectID: cat.Id, Actor: actor.String(), Data: map[string]any{"post_id": postID}})
	return err
}

// SiteCategory is a published category as websites see it.
type SiteCategory struct {
	Name           string `db:"name" json:"name"`
	Slug           string `db:"slug" json:"slug"`
	Order          int    `db:"order" json:"order"`
	SEOTitle       string `db:"seo_title" json:"seo_title"`
	SEODescription string `db:"seo_description" json:"seo_description"`
	Posts          int    `db:"posts" json:"posts"`
	ID             string `db:"id" json:"-"`
}

// FindSiteWorkspace resolves a workspace by slug or id for the public feeds.
func FindSiteWorkspace(app core.App, ref string) (*core.Record, error) {
	return app.FindFirstRecordByFilter(collections.Workspaces, "slug = {:r} || id = {:r}", dbx.Params{"r": ref})
}

// SiteCategories lists the workspace's published categories in their order, with post counts.
func SiteCategories(app core.App, ws string) ([]SiteCategory, error) {
	out := []SiteCategory{}
	err := app.DB().NewQuery(`SELECT c.id, c.name, c.slug, c."order", c.seo_title, c.seo_description,
		(SELECT COUNT(*) FROM post_category_posts p WHERE p.category = c.id) AS posts
		FROM post_categories c WHERE c.workspace = {:ws} AND c.published = TRUE ORDER BY c."order", c.name`).Bind(dbx.Params{"ws": ws}).All(&out)
	return out, err
}

// SiteCategoryPosts returns a published category and its post snapshots in order.
func SiteCategoryPosts(app core.App, ws, slug string) (*SiteCategory, []json.RawMessage, error) {
	cats, err := SiteCategories(app, ws)
	if err != nil {
		return nil, nil, err
	}
	for i := range cats {
		if cats[i].Slug != slug {
			continue
		}
		var rows []struct {
			Post string `db:"post"`
		}
		err := app.DB().NewQuery(`SELECT post FROM post_category_posts WHERE category = {:c} ORDER BY position, created`).
			Bind(dbx.Params{"c": cats[i].ID}).All(&rows)
		posts := make([]json.RawMessage, 0, len(rows))
		for _, r := range rows {
			if r.Post != "" && r.Post != "null" {
				posts = append(posts, json.RawMessage(r.Post))
			}
		}
		return &cats[i], posts, err
	}
	return nil, nil, errors.New("no published category " + slug)
}
