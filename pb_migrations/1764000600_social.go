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
		apiKeys, err := app.FindCollectionByNameOrId(collections.APIKeys)
		if err != nil {
			return err
		}
		platforms := []string{"instagram", "tiktok", "google"}

		// The database layer of the social cache; written by Playgram, readable by the workspace's members.
		cache := core.NewBaseCollection(collections.SocialCache)
		cache.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "key", Required: true, Max: 600},
			&core.SelectField{Name: "platform", Required: true, MaxSelect: 1, Values: platforms},
			&core.SelectField{Name: "type", Required: true, MaxSelect: 1, Values: []string{"posts", "profile", "reviews"}},
			&core.TextField{Name: "handle", Required: true, Max: 500},
			&core.JSONField{Name: "items", MaxSize: 8 << 20},
			&core.BoolField{Name: "not_found"},
			&core.NumberField{Name: "fetch_limit", OnlyInt: true},
			&core.DateField{Name: "fetched_at"},
			&core.DateField{Name: "fresh_until"},
			&core.DateField{Name: "stale_until"},
			&core.NumberField{Name: "hits", OnlyInt: true},
			&core.NumberField{Name: "stale_hits", OnlyInt: true},
			&core.NumberField{Name: "misses", OnlyInt: true},
			&core.DateField{Name: "last_read_at"},
		)
		withTimestamps(cache)
		cache.AddIndex("idx_social_cache_key", true, "key", "")
		cache.AddIndex("idx_social_cache_workspace", false, "workspace, platform, type, handle", "")
		cache.AddIndex("idx_social_cache_stale", false, "stale_until", "")
		withRules(cache, collections.MemberReadOnly())
		if err := app.Save(cache); err != nil {
			return err
		}

		// One row per Apify run, with its cost as Apify reported it.
		runs := core.NewBaseCollection(collections.SocialRuns)
		runs.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "client", Max: 32},
			&core.SelectField{Name: "platform", Required: true, MaxSelect: 1, Values: platforms},
			&core.TextField{Name: "type", Max: 16},
			&core.TextField{Name: "handle", Max: 500},
			&core.TextField{Name: "actor", Max: 100},
			&core.TextField{Name: "run_id", Max: 64},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"succeeded", "not_found", "failed"}},
			&core.NumberField{Name: "items", OnlyInt: true},
			&core.NumberField{Name: "cost_usd"},
			&core.BoolField{Name: "cost_known"},
			&core.BoolField{Name: "async"},
			&core.NumberField{Name: "duration_ms", OnlyInt: true},
			&core.TextField{Name: "error", Max: 1000},
			&core.TextField{Name: "day", Required: true, Max: 10},
			&core.TextField{Name: "month", Required: true, Max: 7},
		)
		withTimestamps(runs)
		runs.AddIndex("idx_social_runs_workspace_day", false, "workspace, day", "")
		runs.AddIndex("idx_social_runs_workspace_month", false, "workspace, month", "")
		withRules(runs, collections.AdminReadOnly())
		if err := app.Save(runs); err != nil {
			return err
		}

		clients := core.NewBaseCollection(collections.APIClients)
		clients.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.SelectField{Name: "tier", Required: true, MaxSelect: 1, Values: collections.ClientTiers},
			&core.RelationField{Name: "key", CollectionId: apiKeys.Id, MaxSelect: 1, CascadeDelete: false},
			&core.NumberField{Name: "rpm", OnlyInt: true, Min: ptrFloat(0), Max: ptrFloat(1_000_000)},
			&core.NumberField{Name: "rpd", OnlyInt: true, Min: ptrFloat(0), Max: ptrFloat(100_000_000)},
			&core.BoolField{Name: "disabled"},
			&core.TextField{Name: "notes", Max: 1000},
		)
		withTimestamps(clients)
		clients.AddIndex("idx_api_clients_key", true, "key", "key != ''")
		clients.AddIndex("idx_api_clients_workspace", false, "workspace, name", "")
		withRules(clients, collections.WorkspaceData(collections.RoleAdmin))
		if err := app.Save(clients); err != nil {
			return err
		}

		usage := core.NewBaseCollection(collections.SocialUsage)
		usage.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "client", Max: 40},
			&core.TextField{Name: "platform", Max: 16},
			&core.TextField{Name: "day", Required: true, Max: 10},
			&core.NumberField{Name: "requests", OnlyInt: true},
			&core.NumberField{Name: "hits", OnlyInt: true},
			&core.NumberField{Name: "stale", OnlyInt: true},
			&core.NumberField{Name: "misses", OnlyInt: true},
			&core.NumberField{Name: "refused", OnlyInt: true},
		)
		withTimestamps(usage)
		usage.AddIndex("idx_social_usage_unique", true, "workspace, client, platform, day", "")
		usage.AddIndex("idx_social_usage_workspace_day", false, "workspace, day", "")
		withRules(usage, collections.AdminReadOnly())
		if err := app.Save(usage); err != nil {
			return err
		}

		cats := core.NewBaseCollection(collections.PostCategories)
		cats.Fields.Add(
			workspaceField(workspaces.Id),
			&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
			&core.TextField{Name: "slug", Max: 60, Pattern: `^[a-z0-9][a-z0-9-]*$`},
			&core.NumberField{Name: "order", OnlyInt: true},
			&core.BoolField{Name: "published"},
			&core.TextField{Name: "seo_title", Max: 70},
			&core.TextField{Name: "seo_description", Max: 160},
		)
		withTimestamps(cats)
		cats.AddIndex("idx_post_categories_slug", true, "workspace, slug", "")
		cats.AddIndex("idx_post_categories_order", false, "workspace, published, `order`", "")
		withRules(cats, collections.WorkspaceData(collections.RoleManager))
		if err := app.Save(cats); err != nil {
			return err
		}

		// Assignments keep a snapshot of the post (normalized, media through the proxy), so a site keeps its
		// posts when the cache entry they came from expires.
		assigned := core.NewBaseCollection(collections.PostCategoryPosts)
		assigned.Fields.Add(
			workspaceField(workspaces.Id),
			&core.RelationField{Name: "category", CollectionId: cats.Id, Required: true, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "post_id", Required: true, Max: 64},
			&core.TextField{Name: "handle", Required: true, Max: 100},
			&core.NumberField{Name: "position", OnlyInt: true},
			&core.JSONField{Name: "post", MaxSize: 64 << 10},
		)
		withTimestamps(assigned)
		assigned.AddIndex("idx_post_category_posts_unique", true, "category, post_id", "")
		assigned.AddIndex("idx_post_category_posts_workspace", false, "workspace, post_id", "")
		withRules(assigned, collections.MemberReadOnly())
		return app.Save(assigned)
	}, nil)
}
