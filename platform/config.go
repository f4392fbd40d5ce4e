// Package platform holds the services every Playgram domain shares: configuration, sealed secrets, the
// domain event log, the audit log, API keys and the principal a request acts as.
package platform

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/internal/outbound"
)

// Config is read once from the environment at start-up; every variable is documented in the README.
type Config struct {
	// PublicURL is the absolute base URL that links in responses, emails and Manychat messages use
	// (PLAYGRAM_PUBLIC_URL); when unset, the server's own listen address is used.
	PublicURL string
	// SecretKey is PLAYGRAM_SECRET_KEY; empty means a key file in the data dir.
	SecretKey string
	// OutboundAllow is PLAYGRAM_OUTBOUND_ALLOW: CIDRs the SSRF guard lets through.
	OutboundAllow string
	// ManychatBaseURL is MANYCHAT_BASE_URL.
	ManychatBaseURL string
	// ApifyToken is APIFY_TOKEN, the default Apify token (a workspace's apify_token secret overrides it).
	ApifyToken string
	// ApifyBaseURL is APIFY_BASE_URL.
	ApifyBaseURL string
	// RedisURL is REDIS_URL: when set, the social cache and API client limits are shared through Redis.
	RedisURL string
	// JobWorkers is how many jobs run at once in this process.
	JobWorkers int
	// JobPollInterval is how often idle workers look for due jobs (they are also woken on enqueue).
	JobPollInterval time.Duration
	// KeyUsageFlushInterval is how often per-key usage counters are written to the database.
	KeyUsageFlushInterval time.Duration
	// Background starts the job workers and the usage flusher with the server; tests drive them by hand.
	Background bool
	// NoDemo skips the demo workspace on a first start (PLAYGRAM_NO_DEMO=1).
	NoDemo bool
	// WebhookDisableAfter disables a webhook endpoint that has been failing without a single success for this
	// long and emails its workspace's admins (PLAYGRAM_WEBHOOK_DISABLE_AFTER, e.g. 120h).
	WebhookDisableAfter time.Duration
}

// OutboundAllowList parses OutboundAllow for the SSRF guard.
func (c Config) OutboundAllowList() ([]netip.Prefix, error) {
	return outbound.ParseAllowList(c.OutboundAllow)
}

// DefaultConfig is what a fresh install runs with.
func DefaultConfig() Config {
	return Config{
		ManychatBaseURL:       "https://api.manychat.com",
		ApifyBaseURL:          "https://api.apify.com",
		JobWorkers:            4,
		JobPollInterval:       time.Second,
		KeyUsageFlushInterval: 10 * time.Second,
		Background:            true,
		WebhookDisableAfter:   5 * 24 * time.Hour,
	}
}

// ConfigFromEnv reads the PLAYGRAM_* and integration variables; a malformed value is an error that names it.
func ConfigFromEnv() (Config, error) {
	c := DefaultConfig()
	if v := os.Getenv("PLAYGRAM_PUBLIC_URL"); v != "" {
		c.PublicURL = strings.TrimRight(v, "/")
	}
	c.SecretKey = os.Getenv("PLAYGRAM_SECRET_KEY")
	c.OutboundAllow = os.Getenv("PLAYGRAM_OUTBOUND_ALLOW")
	if _, err := c.OutboundAllowList(); err != nil {
		return c, err
	}
	if v := os.Getenv("PLAYGRAM_WEBHOOK_DISABLE_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return c, fmt.Errorf("PLAYGRAM_WEBHOOK_DISABLE_AFTER must be a duration of at least 1m such as 120h, got %q", v)
		}
		c.WebhookDisableAfter = d
	}
	if v := os.Getenv("MANYCHAT_BASE_URL"); v != "" {
		c.ManychatBaseURL = strings.TrimRight(v, "/")
	}
	c.ApifyToken = os.Getenv("APIFY_TOKEN")
	if v := os.Getenv("APIFY_BASE_URL"); v != "" {
		c.ApifyBaseURL = strings.TrimRight(v, "/")
	}
	c.RedisURL = os.Getenv("REDIS_URL")
	if v := os.Getenv("PLAYGRAM_JOB_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			return c, fmt.Errorf("PLAYGRAM_JOB_WORKERS must be a whole number from 1 to 256, got %q", v)
		}
		c.JobWorkers = n
	}
	c.NoDemo = os.Getenv("PLAYGRAM_NO_DEMO") == "1"
	return c, nil
}
