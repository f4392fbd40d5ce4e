// Package crm is the Manychat CRM on top of PocketBase: contact upserts with Manychat's conflict rules,
// interaction counters and the engagement score, sync and outbound jobs logged in sync_logs, daily
// snapshots, auto-replies and contact search. Routes, hooks and jobs call it; pure decisions live in
// internal/manychat (the client and the External Request parser) and internal/autoreply (rule matching).
package crm

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// ErrNotConnected means the workspace has no Manychat token.
var ErrNotConnected = errors.New("Manychat is not connected: store a token with POST /api/v1/manychat/connect")

const (
	storeClients = "playgram.crm.clients"
	storeOptions = "playgram.crm.client_options"
	storeRules   = "playgram.crm.rules"
	storeFTS     = "playgram.crm.fts_ranges"
)

type clientCache struct {
	mu sync.Mutex
	m  map[string]*manychat.Client
}

// SetClientOptions adds options to every Manychat client the app makes from now on (tests shorten retries).
func SetClientOptions(app core.App, opts ...manychat.Option) {
	app.Store().Set(storeOptions, opts)
	app.Store().Remove(storeClients)
}

// NewClient makes a client for token against the configured base URL. One client per token is kept, so its
// rate limiters are shared by every job of the process.
func NewClient(app core.App, svc *platform.Services, token string) (*manychat.Client, error) {
	cache := app.Store().GetOrSet(storeClients, func() any { return &clientCache{m: map[string]*manychat.Client{}} }).(*clientCache)
	key := svc.Config.ManychatBaseURL + "\x00" + token
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if c, ok := cache.m[key]; ok {
		return c, nil
	}
	opts, _ := app.Store().Get(storeOptions).([]manychat.Option)
	c, err := manychat.New(svc.Config.ManychatBaseURL, token, opts...)
	if err != nil {
		return nil, err
	}
	cache.m[key] = c
	return c, nil
}

// ClientFor is the client of the workspace's stored token.
func ClientFor(app core.App, svc *platform.Services, workspace string) (*manychat.Client, error) {
	ws, err := app.FindRecordById(collections.Workspaces, workspace)
	if err != nil {
		return nil, err
	}
	token, err := platform.Secret(svc.Box, ws, "manychat_token")
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, ErrNotConnected
	}
	return NewClient(app, svc, token)
}

// Register binds the CRM job kinds and schedules.
func Register(app core.App, svc *platform.Services) {
	svc.Jobs.Handle(KindSync, syncHandler(svc))
	svc.Jobs.Handle(KindAction, actionHandler(svc))
	svc.Jobs.Handle(KindSyncAlert, syncAlertHandler)
	svc.Jobs.Handle(KindDaily, dailyHandler)

	app.Cron().MustAdd("playgram_crm_definitions", "7 * * * *", func() {
		enqueueForConnected(app, func(tx core.App, ws string) error {
			for _, k := range []string{SyncTags, SyncFields} {
				if _, err := StartSync(tx, ws, k, nil, platform.SystemActor("cron")); err != nil {
					return err
				}
			}
			return nil
		})
	})
	app.Cron().MustAdd("playgram_crm_contacts", "*/15 * * * *", func() {
		enqueueForConnected(app, func(tx core.App, ws string) error {
			_, err := StartSync(tx, ws, SyncContacts, nil, platform.SystemActor("cron"))
			return err
		})
	})
	app.Cron().MustAdd("playgram_crm_daily", "10 2 * * *", func() {
		var ids []string
		if err := app.DB().NewQuery("SELECT id FROM workspaces").Column(&ids); err != nil {
			app.Logger().Error("crm daily: listing workspaces failed", "error", err)
			return
		}
		for _, ws := range ids {
			if _, err := jobs.Enqueue(app, jobs.New{Kind: KindDaily, Workspace: ws, UniqueKey: "crm.daily:" + ws, MaxAttempts: 3}); err != nil {
				app.Logger().Error("crm daily: enqueue failed", "workspace", ws, "error", err)
			}
		}
	})
}

// enqueueForConnected runs fn for every workspace that stored a Manychat token.
func enqueueForConnected(app core.App, fn func(tx core.App, ws string) error) {
	var ids []string
	err := app.DB().NewQuery("SELECT id FROM workspaces WHERE secrets LIKE {:k}").Bind(dbx.Params{"k": `%"manychat_token"%`}).Column(&ids)
	if err != nil {
		app.Logger().Error("crm: listing connected workspaces failed", "error", err)
		return
	}
	for _, ws := range ids {
		if err := platform.WriteTx(app, func(tx core.App) error { return fn(tx, ws) }); err != nil {
			app.Logger().Error("crm: scheduling a sync failed", "workspace", ws, "error", err)
		}
	}
}

// KindDaily takes the day's contact snapshots and lets engagement scores decay.
const KindDaily = "crm.daily"

func dailyHandler(ctx context.Context, app core.App, job *jobs.Job) error {
	now := time.Now()
	if _, err := TakeSnapshots(ctx, app, job.Workspace, now); err != nil {
		return err
	}
	_, err := DecayScores(app, job.Workspace, now)
	return err
}

// Connect stores token as the workspace's Manychat token in tx, audits the connection to page and queues the
// first tag and field syncs.
func Connect(tx core.App, svc *platform.Services, workspace, token string, page *manychat.Page, actor platform.Actor) error {
	ws, err := tx.FindRecordById(collections.Workspaces, workspace)
	if err != nil {
		return err
	}
	if err := platform.SetSecrets(svc.Box, ws, platform.WorkspaceSecretNames, map[string]string{"manychat_token": token}); err != nil {
		return err
	}
	platform.WithActor(ws, actor)
	if err := tx.Save(ws); err != nil {
		return err
	}
	if err := platform.Audit(tx, actor, workspace, "manychat.connected", collections.Workspaces, workspace, nil,
		map[string]any{"page_id": page.ID.String(), "page_name": page.Name, "token": secretbox.Hint(token)}); err != nil {
		return err
	}
	for _, k := range []string{SyncTags, SyncFields} {
		if _, err := StartSync(tx, workspace, k, nil, actor); err != nil {
			return err
		}
	}
	return nil
}
