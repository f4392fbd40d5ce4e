package social

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
)

// Tier sets what an API client may do.
type Tier struct {
	RPM       int      `json:"rpm"`
	RPD       int      `json:"rpd"`
	Platforms []string `json:"platforms"`
	// FreshnessMinutes: data older than this is refreshed for the client's requests (served stale meanwhile);
	// 0 uses the tool's TTL per type.
	FreshnessMinutes int `json:"freshness_minutes"`
}

// DefaultTiers apply unless a workspace's settings.social.tiers overrides them (per tier, per field).
var DefaultTiers = map[string]Tier{
	"free":       {RPM: 30, RPD: 1_000, Platforms: []string{"instagram"}, FreshnessMinutes: 1440},
	"starter":    {RPM: 120, RPD: 20_000, Platforms: []string{"instagram", "tiktok"}},
	"pro":        {RPM: 600, RPD: 200_000, Platforms: []string{"instagram", "tiktok", "google"}},
	"enterprise": {RPM: 3_000, RPD: 5_000_000, Platforms: []string{"instagram", "tiktok", "google"}, FreshnessMinutes: 15},
}

// wsSettings is what a workspace's settings.social and secrets say.
type wsSettings struct {
	Slug       string
	Budget     float64
	Tiers      map[string]Tier
	ApifyToken string
}

type socialSettings struct {
	MonthlyBudgetUSD float64                    `json:"monthly_budget_usd"`
	Tiers            map[string]json.RawMessage `json:"tiers"`
}

func (s *Service) settingsOf(ws string) *wsSettings {
	return s.settings.get(ws, func() *wsSettings {
		out := &wsSettings{Tiers: map[string]Tier{}}
		for k, v := range DefaultTiers {
			out.Tiers[k] = v
		}
		rec, err := s.app.FindRecordById(collections.Workspaces, ws)
		if err != nil {
			return out
		}
		out.Slug = rec.GetString("slug")
		var all struct {
			Social socialSettings `json:"social"`
		}
		_ = rec.UnmarshalJSONField("settings", &all)
		out.Budget = all.Social.MonthlyBudgetUSD
		for name, raw := range all.Social.Tiers {
			t, ok := out.Tiers[name]
			if !ok {
				continue
			}
			_ = json.Unmarshal(raw, &t) // fields present override the defaults
			out.Tiers[name] = t
		}
		if s.svc.Box != nil {
			out.ApifyToken, _ = platform.Secret(s.svc.Box, rec, "apify_token")
		}
		return out
	})
}

// ToolConfig is a social tool's config with defaults applied.
type ToolConfig struct {
	Platforms         []string `json:"platforms"`
	DefaultLimit      int      `json:"default_limit"`
	TTLPostsMinutes   int      `json:"ttl_posts_minutes"`
	TTLProfileMinutes int      `json:"ttl_profile_minutes"`
	TTLReviewsMinutes int      `json:"ttl_reviews_minutes"`
}

// TTL is how long a fresh answer of a type lasts.
func (c *ToolConfig) TTL(typ string) time.Duration {
	m := c.TTLPostsMinutes
	switch typ {
	case "profile":
		m = c.TTLProfileMinutes
	case "reviews":
		m = c.TTLReviewsMinutes
	}
	return time.Duration(max(m, 1)) * time.Minute
}

// ToolConfig is the config of the social tool a request uses: the key's bound tool, else the workspace's first
// enabled social tool, else the defaults.
func (s *Service) ToolConfig(ws, toolID string) *ToolConfig {
	return s.tools.get(ws+"|"+toolID, func() *ToolConfig {
		cfg := map[string]any{}
		filter := "workspace = {:ws} && type = 'social' && enabled = true"
		params := dbx.Params{"ws": ws}
		if toolID != "" {
			filter += " && id = {:id}"
			params["id"] = toolID
		}
		if recs, err := s.app.FindRecordsByFilter(collections.Tools, filter, "created", 1, 0, params); err == nil && len(recs) == 1 {
			_ = recs[0].UnmarshalJSONField("config", &cfg)
		}
		out := &ToolConfig{}
		if err := toolconfig.Decode(toolconfig.TypeSocial, cfg, out); err != nil {
			_ = toolconfig.Decode(toolconfig.TypeSocial, map[string]any{}, out)
		}
		return out
	})
}

// Client is who a social request is metered as.
type Client struct {
	ID        string // api_clients id, or "key:<key id>" for a key without a client row
	Name      string
	Tier      string
	RPM, RPD  int
	Platforms []string
	Freshness time.Duration
	Disabled  bool
}

// Allows reports whether the client's tier includes platform.
func (c *Client) Allows(platform string) bool { return slices.Contains(c.Platforms, platform) }

// ClientOf resolves the API client of a key: its api_clients row, or the free tier when it has none.
func (s *Service) ClientOf(key *apikey.Key) *Client {
	return s.clients.get(key.ID, func() *Client {
		st := s.settingsOf(key.Workspace)
		c := &Client{ID: "key:" + key.ID, Name: key.Prefix, Tier: "free"}
		rec, err := s.app.FindFirstRecordByFilter(collections.APIClients, "key = {:k} && workspace = {:ws}", dbx.Params{"k": key.ID, "ws": key.Workspace})
		if err == nil {
			c.ID, c.Name, c.Tier, c.Disabled = rec.Id, rec.GetString("name"), rec.GetString("tier"), rec.GetBool("disabled")
		}
		t := st.Tiers[c.Tier]
		c.RPM, c.RPD, c.Platforms = t.RPM, t.RPD, t.Platforms
		c.Freshness = time.Duration(t.FreshnessMinutes) * time.Minute
		if rec != nil {
			if n := rec.GetInt("rpm"); n > 0 {
				c.RPM = n
			}
			if n := rec.GetInt("rpd"); n > 0 {
				c.RPD = n
			}
		}
		return c
	})
}
