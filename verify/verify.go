// Package verify is Instagram identity verification on top of PocketBase: a partner website asks for a code,
// the visitor DMs it to the business's Instagram, a Manychat flow passes it to Playgram, and the website learns
// the result by poll, Server-Sent Events or a signed callback.
package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/playgram/playgram/internal/dbtime"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/playgram/playgram/internal/verification"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

const (
	codePurpose  = "verification-code"
	watchPurpose = "verification-watch"
	// KindCallback posts a verification's result to its callback_url.
	KindCallback = "verification.callback"
)

// Attempt limits: failed DMs per subscriber, and per client IP, within the window.
const (
	AttemptWindow          = 15 * time.Minute
	MaxFailuresPerSender   = 10
	MaxFailuresPerIP       = 100
	MaxCreatesPerKeyMinute = 120
)

// Config is a verification tool's config with defaults.
type Config struct {
	CodeLength         int    `json:"code_length"`
	TTLMinutes         int    `json:"ttl_minutes"`
	InstagramUsername  string `json:"instagram_username"`
	DMText             string `json:"dm_text"`
	RequireSignature   bool   `json:"require_signature"`
	MaxAttemptsPerCode int    `json:"max_attempts_per_code"`
}

// Result is the final (or current) state of a verification as websites see it.
type Result struct {
	ID          string         `json:"id"`
	Status      string         `json:"status"`
	Reason      string         `json:"reason,omitempty"`
	IGUsername  string         `json:"ig_username,omitempty"`
	Subscriber  string         `json:"subscriber_id,omitempty"`
	Contact     string         `json:"contact,omitempty"`
	ExpiresAt   string         `json:"expires_at"`
	CompletedAt string         `json:"completed_at,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
}

// Final reports whether the status will not change any more.
func (r Result) Final() bool { return r.Status != verification.Pending }

// LoadConfig finds the verification tool a request uses: the key's bound tool, else the named one, else the
// workspace's first verification tool; with none, the defaults.
func LoadConfig(app core.App, workspace, boundTool, ref string) (*core.Record, Config, error) {
	var tool *core.Record
	var err error
	switch {
	case boundTool != "":
		tool, err = app.FindRecordById(collections.Tools, boundTool)
	case ref != "":
		tool, err = app.FindFirstRecordByFilter(collections.Tools, "workspace = {:ws} && type = 'verification' && (id = {:ref} || slug = {:ref})", dbx.Params{"ws": workspace, "ref": ref})
	default:
		tool, err = app.FindFirstRecordByFilter(collections.Tools, "workspace = {:ws} && type = 'verification' && enabled = true", dbx.Params{"ws": workspace})
		if errors.Is(err, sql.ErrNoRows) {
			tool, err = nil, nil
		}
	}
	if err != nil {
		return nil, Config{}, fmt.Errorf("no verification tool %q in this workspace", ref)
	}
	cfg := map[string]any{}
	if tool != nil {
		if tool.GetString("type") != toolconfig.TypeVerification || tool.GetString("workspace") != workspace {
			return nil, Config{}, errors.New("the key is bound to a tool that is not a verification tool of this workspace")
		}
		_ = tool.UnmarshalJSONField("config", &cfg)
	}
	var c Config
	err = toolconfig.Decode(toolconfig.TypeVerification, cfg, &c)
	return tool, c, err
}

// ResultOf is the API shape of a stored verification.
func ResultOf(r *core.Record, now time.Time) Result {
	res := Result{ID: r.Id, Status: r.GetString("status"), Reason: r.GetString("failure_reason"),
		IGUsername: r.GetString("verified_username"), Subscriber: r.GetString("subscriber_id"), Contact: r.GetString("contact"),
		ExpiresAt: r.GetDateTime("expires_at").Time().UTC().Format(time.RFC3339)}
	if res.IGUsername == "" {
		res.IGUsername = r.GetString("ig_username")
	}
	if res.Status == verification.Pending && !now.Before(r.GetDateTime("expires_at").Time()) {
		res.Status, res.Reason = verification.Expired, verification.ReasonExpired
	}
	if d := r.GetDateTime("completed_at"); !d.IsZero() {
		res.CompletedAt = d.Time().UTC().Format(time.RFC3339)
	}
	_ = r.UnmarshalJSONField("metadata", &res.Metadata)
	return res
}

// complete marks a verification final in tx, records its event, queues its callback and, after commit, tells
// watchers.
func complete(tx core.App, hub *Hub, r *core.Record, status, reason string, now time.Time, actor string) error {
	r.Set("status", status)
	r.Set("failure_reason", reason)
	r.Set("completed_at", now)
	if err := tx.Save(r); err != nil {
		return err
	}
	res := ResultOf(r, now)
	eventType := "verification.completed"
	if status != verification.Verified {
		eventType = "verification.failed"
	}
	if _, err := platform.Emit(tx, platform.Event{Workspace: r.GetString("workspace"), Type: eventType,
		SubjectCollection: collections.Verifications, SubjectID: r.Id, Contact: r.GetString("contact"), Actor: actor, At: now,
		Data: res}); err != nil {
		return err
	}
	if r.GetString("callback_url") != "" {
		if _, err := jobs.Enqueue(tx, jobs.New{Kind: KindCallback, Workspace: r.GetString("workspace"),
			Payload: map[string]string{"verification": r.Id, "type": eventType}, MaxAttempts: 8}); err != nil {
			return err
		}
	}
	publish := func() { hub.Publish(res) }
	if info := tx.TxInfo(); info != nil {
		info.OnComplete(func(txErr error) error {
			if txErr == nil {
				publish()
			}
			return nil
		})
	} else {
		publish()
	}
	return nil
}

// ExpireDue marks pending verifications past their expiry as expired (with their events and callbacks).
func ExpireDue(app core.App, hub *Hub, now time.Time) (int, error) {
	var due []*core.Record
	err := app.RecordQuery(collections.Verifications).
		AndWhere(dbx.NewExp("status = 'pending' AND expires_at <= {:now}", dbx.Params{"now": dbtime.Format(now)})).
		Limit(500).All(&due)
	if err != nil {
		return 0, err
	}
	for _, r := range due {
		if err := platform.WriteTx(app, func(tx core.App) error {
			return complete(tx, hub, r, verification.Expired, verification.ReasonExpired, now, "system")
		}); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// Register binds the callback job and the expiry sweep.
func Register(app core.App, svc *platform.Services, hub *Hub) {
	svc.Jobs.Handle(KindCallback, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Verification string `json:"verification"`
			Type         string `json:"type"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		return sendCallback(ctx, app, svc, p.Verification, p.Type)
	})
	app.Cron().MustAdd("playgram_verification_expiry", "* * * * *", func() {
		if _, err := ExpireDue(app, hub, time.Now()); err != nil {
			app.Logger().Error("verification expiry sweep failed", "error", err)
		}
	})
}
