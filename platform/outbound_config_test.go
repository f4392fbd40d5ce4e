package platform_test

import (
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/platform"
)

func TestOutboundAllowAndWebhookDisableAfterAreReadFromTheEnvironment(t *testing.T) {
	t.Setenv("PLAYGRAM_OUTBOUND_ALLOW", "127.0.0.0/8, 10.20.0.0/16")
	t.Setenv("PLAYGRAM_WEBHOOK_DISABLE_AFTER", "48h")
	c, err := platform.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	allow, err := c.OutboundAllowList()
	if err != nil || len(allow) != 2 || allow[1].String() != "10.20.0.0/16" || c.WebhookDisableAfter != 48*time.Hour {
		t.Fatalf("allow %v (%v), disable after %s", allow, err, c.WebhookDisableAfter)
	}

	t.Setenv("PLAYGRAM_OUTBOUND_ALLOW", "127.0.0.0/8,intranet")
	if _, err := platform.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), `"intranet"`) {
		t.Fatalf("a bad allow-list entry: %v", err)
	}
	t.Setenv("PLAYGRAM_OUTBOUND_ALLOW", "")
	for _, bad := range []string{"5 days", "30s"} {
		t.Setenv("PLAYGRAM_WEBHOOK_DISABLE_AFTER", bad)
		if _, err := platform.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "PLAYGRAM_WEBHOOK_DISABLE_AFTER") {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	t.Setenv("PLAYGRAM_WEBHOOK_DISABLE_AFTER", "")
	if c, _ := platform.ConfigFromEnv(); c.WebhookDisableAfter != 5*24*time.Hour {
		t.Fatalf("default: %s", c.WebhookDisableAfter)
	}
}
