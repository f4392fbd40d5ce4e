package collections

// Social data collections.
const (
	SocialCache       = "social_cache"
	SocialRuns        = "social_runs"
	SocialUsage       = "social_usage"
	APIClients        = "api_clients"
	PostCategories    = "post_categories"
	PostCategoryPosts = "post_category_posts"
)

// API client tiers, from the smallest.
var ClientTiers = []string{"free", "starter", "pro", "enterprise"}
