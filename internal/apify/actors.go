package apify

// The three actors Playgram runs (contract §10), in "user/name" form.
const (
	ActorInstagram     = "apify/instagram-scraper"
	ActorTikTok        = "clockworks/tiktok-scraper"
	ActorGoogleReviews = "compass/google-maps-reviews-scraper"
)
