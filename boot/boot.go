// Package boot wires Playgram onto a PocketBase app: services, hooks, routes, jobs and commands. main.go and
// the tests call the same Register, so a test app is the real app.
package boot

import (
	"context"
	"fmt"
	"time"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/analytics"
	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/exports"
	"github.com/playgram/playgram/hooks"
	"github.com/playgram/playgram/internal/dbtime"
	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/qr"
	"github.com/playgram/playgram/routes"
	"github.com/playgram/playgram/seed"
	"github.com/playgram/playgram/social"
	"github.com/playgram/playgram/verify"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/pocketbase/core"

	_ "github.com/playgram/playgram/pb_migrations"
)

// Register builds the services and binds everything. The job workers, the usage flusher and the WAL
// checkpointer start with the server (OnServe) and stop with the app (OnTerminate), so commands and tests
// run without them unless asked.
func Register(app core.App, cfg platform.Config) (*platform.Services, error) {
	allow, err := cfg.OutboundAllowList()
	if err != nil {
		return nil, fmt.Errorf("PLAYGRAM_OUTBOUND_ALLOW: %w", err)
	}
	svc := &platform.Services{Config: cfg, Keys: platform.NewKeyAuth(), Replays: platform.NewReplayGuard(),
		Outbound: outbound.New(outbound.Options{AllowCIDRs: allow})}
	app.Store().Set(platform.KeyAuthStoreKey, svc.Keys)
	svc.Jobs = jobs.NewRunner(app, jobs.Options{Workers: cfg.JobWorkers, PollInterval: cfg.JobPollInterval})
	jobs.RegisterKinds(svc.Jobs)
	wh, err := webhooks.New(app, svc, webhooks.Options{})
	if err != nil {
		return nil, err
	}

	// The secret key is needed by hooks and commands alike, and the data dir is known only after bootstrap
	// (a test app arrives already bootstrapped).
	openBox := func() error {
		key, generated, err := secretbox.LoadOrCreateKey(cfg.SecretKey, app.DataDir())
		if err != nil {
			return err
		}
		if generated {
			app.Logger().Warn("PLAYGRAM_SECRET_KEY is not set: generated a key in the data dir (playgram_secret.key). Back it up with the data, or set PLAYGRAM_SECRET_KEY.")
		}
		svc.Box, err = secretbox.New(key)
		return err
	}
	if app.IsBootstrapped() {
		if err := openBox(); err != nil {
			return nil, err
		}
	} else {
		app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			return openBox()
		})
	}

	hub := verify.NewHub()
	hooks.Register(app, svc)
	routes.Register(app, svc, hub)
	qr.Register(app, svc)
	verify.Register(app, svc, hub)
	crm.Register(app, svc)
	social.Register(app, svc)
	analytics.Register(app, svc)
	aichat.Register(app, svc)
	exports.Register(app, svc)

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if svc.Config.PublicURL == "" && se.Server != nil {
			svc.Config.PublicURL = "http://" + se.Server.Addr
		}
		return se.Next()
	})
	if !cfg.NoDemo {
		app.OnServe().BindFunc(func(se *core.ServeEvent) error {
			if !seed.IsEmpty(app) {
				return se.Next()
			}
			creds, err := seed.Demo(app)
			if err != nil {
				return fmt.Errorf("creating the demo workspace: %w", err)
			}
			fmt.Print(creds.Banner(svc.Config.PublicURL))
			return se.Next()
		})
	}
	if cfg.Background {
		app.OnServe().BindFunc(func(se *core.ServeEvent) error {
			svc.Jobs.Start()
			wh.Start()
			go flushKeyUsage(app, svc)
			return se.Next()
		})
	}
	// A served app checkpoints its WAL in the background, whether or not it runs the job workers.
	stopCheckpoints := func() {}
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		stopCheckpoints = platform.StartWALCheckpointer(app, platform.CheckpointEvery)
		return se.Next()
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		stopCheckpoints()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.Jobs.Stop(ctx)
		wh.Stop(ctx)
		if err := svc.Keys.Flush(app); err != nil {
			app.Logger().Error("flushing API key usage on shutdown failed", "error", err)
		}
		return e.Next()
	})
	registerCron(app, svc)
	return svc, nil
}

func flushKeyUsage(app core.App, svc *platform.Services) {
	t := time.NewTicker(svc.Config.KeyUsageFlushInterval)
	defer t.Stop()
	for range t.C {
		if !app.IsBootstrapped() {
			return
		}
		if err := svc.Keys.Flush(app); err != nil {
			app.Logger().Error("flushing API key usage failed", "error", err)
		}
	}
}

// registerCron adds schedules; they only enqueue or do small SQL maintenance, jobs do the work.
func registerCron(app core.App, svc *platform.Services) {
	app.Cron().MustAdd("playgram_idempotency_cleanup", "17 * * * *", func() {
		_, err := app.NonconcurrentDB().NewQuery("DELETE FROM idempotency_keys WHERE created < {:cut}").
			Bind(map[string]any{"cut": dbtime.Format(time.Now().Add(-routes.IdempotencyWindow))}).Execute()
		if err != nil {
			app.Logger().Error("idempotency cleanup failed", "error", err)
		}
	})
	app.Cron().MustAdd("playgram_webhooks_cleanup", "41 3 * * *", func() {
		if err := webhooks.Cleanup(app, time.Now()); err != nil {
			app.Logger().Error("webhook log cleanup failed", "error", err)
		}
	})
	app.Cron().MustAdd("playgram_jobs_cleanup", "23 3 * * *", func() {
		_, err := app.NonconcurrentDB().NewQuery("DELETE FROM jobs WHERE status = 'done' AND finished_at < {:cut}").
			Bind(map[string]any{"cut": dbtime.Format(time.Now().Add(-14 * 24 * time.Hour))}).Execute()
		if err != nil {
			app.Logger().Error("jobs cleanup failed", "error", err)
		}
	})
}
