package analytics

import (
	"context"
	"time"

	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
)

// Job kinds of the analytics engine.
const (
	KindRollup      = "analytics.rollup"
	KindReportEmail = "analytics.report_email"
)

// Register binds the analytics jobs, hooks and schedules. Cron only enqueues; the jobs do the work.
func Register(app core.App, svc *platform.Services) {
	svc.Jobs.Handle(KindRollup, func(ctx context.Context, app core.App, job *jobs.Job) error {
		n, err := RunRollup(ctx, app)
		job.Result = map[string]any{"events": n}
		return err
	})
	svc.Jobs.Handle(KindReportEmail, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Schedule string `json:"schedule"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		return SendScheduledReport(app, svc, p.Schedule, time.Now())
	})
	registerHooks(app)
	app.Cron().MustAdd("playgram_analytics_rollup", "*/5 * * * *", func() {
		if _, err := jobs.Enqueue(app, jobs.New{Kind: KindRollup, UniqueKey: "analytics:rollup", MaxAttempts: 3}); err != nil {
			app.Logger().Error("enqueueing the analytics rollup failed", "error", err)
		}
	})
	app.Cron().MustAdd("playgram_analytics_reports", "* * * * *", func() {
		if _, err := EnqueueDueReports(app, time.Now()); err != nil {
			app.Logger().Error("enqueueing scheduled reports failed", "error", err)
		}
	})
	app.Cron().MustAdd("playgram_analytics_cache_prune", "41 4 * * *", func() {
		if err := PruneCache(app, time.Now()); err != nil {
			app.Logger().Error("pruning the analytics cache failed", "error", err)
		}
	})
}
