package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/mailer"
	"net/mail"
)

// Job kinds and sync kinds.
const (
	KindSync      = "crm.sync"
	KindSyncAlert = "crm.sync_alert"

	SyncTags     = "tags"
	SyncFields   = "fields"
	SyncContacts = "contacts"
)

// SyncKinds are the kinds POST /api/v1/manychat/sync accepts ("all" starts the three).
var SyncKinds = []string{SyncTags, SyncFields, SyncContacts}

// Sync tuning.
const (
	// AlertAfterFailures consecutive failed runs of one sync kind email the workspace's admins (once per streak).
	AlertAfterFailures = 3
	// RefreshActiveDays: the contacts sync refreshes contacts active in this many days.
	RefreshActiveDays = 7
	// RefreshBatch contacts are refreshed per run at most (getInfo allows 10 per second).
	RefreshBatch = 300
	// RefreshEvery: a contact refreshed more recently is skipped (the refresh is incremental).
	RefreshEvery = time.Hour
	syncAttempts = 5
)

// SyncParams tune one run.
type SyncParams struct {
	Days  int `json:"days,omitempty"`
	Batch int `json:"batch,omitempty"`
}

// StartSync enqueues a sync of kind for workspace in tx; a sync of that kind already waiting is reused.
func StartSync(tx core.App, workspace, kind string, p *SyncParams, actor platform.Actor) (*core.Record, error) {
	payload := map[string]any{"kind": kind, "actor": actor.String()}
	if p != nil {
		payload["params"] = p
	}
	return jobs.Enqueue(tx, jobs.New{Kind: KindSync, Workspace: workspace, Payload: payload, MaxAttempts: syncAttempts,
		UniqueKey: "crm.sync:" + kind + ":" + workspace})
}

// runLog is one attempt's sync_logs row.
type runLog struct {
	rec     *core.Record
	started time.Time
	counts  map[string]int
	errs    []string
}

func openLog(app core.App, job *jobs.Job, kind string, params any, actor string) (*runLog, error) {
	coll, err := app.FindCachedCollectionByNameOrId(collections.SyncLogs)
	if err != nil {
		return nil, err
	}
	r := core.NewRecord(coll)
	r.Set("workspace", job.Workspace)
	r.Set("kind", kind)
	r.Set("status", "running")
	r.Set("job", job.ID)
	r.Set("attempt", job.Attempt)
	r.Set("params", params)
	r.Set("actor", actor)
	now := time.Now()
	r.Set("started_at", now.UTC())
	if err := app.Save(r); err != nil {
		return nil, err
	}
	return &runLog{rec: r, started: now, counts: map[string]int{}}, nil
}

func (l *runLog) fail(msg string) {
	if len(l.errs) < 50 {
		l.errs = append(l.errs, msg)
	}
}

// close stores the outcome; status is ok, partial or failed.
func (l *runLog) close(app core.App, status string) error {
	l.rec.Set("status", status)
	l.rec.Set("counts", l.counts)
	if l.errs == nil {
		l.errs = []string{}
	}
	l.rec.Set("errors", l.errs)
	l.rec.Set("finished_at", time.Now().UTC())
	l.rec.Set("duration_ms", time.Since(l.started).Milliseconds())
	return app.Save(l.rec)
}

func syncHandler(svc *platform.Services) jobs.Handler {
	return func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Kind   string     `json:"kind"`
			Actor  string     `json:"actor"`
			Params SyncParams `json:"params"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		log, err := openLog(app, job, p.Kind, p.Params, p.Actor)
		if err != nil {
			return err
		}
		status, runErr := runSync(ctx, app, svc, job.Workspace, p.Kind, p.Params, log)
		if runErr != nil {
			log.fail(runErr.Error())
		}
		if err := log.close(app, status); err != nil {
			return err
		}
		if status == "failed" {
			if err := maybeAlert(app, job.Workspace, p.Kind); err != nil {
				app.Logger().Error("crm: queueing the sync alert failed", "error", err)
			}
		}
		if runErr != nil && (errors.Is(runErr, ErrNotConnected) || manychat.IsAuth(runErr)) {
			return jobs.Permanent(runErr)
		}
		return runErr
	}
}

func runSync(ctx context.Context, app core.App, svc *platform.Services, ws, kind string, p SyncParams, log *runLog) (string, error) {
	client, err := ClientFor(app, svc, ws)
	if err != nil {
		return "failed", err
	}
	switch kind {
	case SyncTags:
		tags, err := client.GetTags(ctx)
		if err != nil {
			return "failed", err
		}
		defs := make([]definition, len(tags))
		for i, t := range tags {
			defs[i] = definition{ID: t.ID.String(), Name: t.Name}
		}
		return "ok", replaceDefinitions(app, ws, collections.ManychatTags, defs, log)
	case SyncFields:
		fields, err := client.GetCustomFields(ctx)
		if err != nil {
			return "failed", err
		}
		defs := make([]definition, len(fields))
		for i, f := range fields {
			defs[i] = definition{ID: f.ID.String(), Name: f.Name, Type: string(f.Type), Description: f.Description}
		}
		return "ok", replaceDefinitions(app, ws, collections.ManychatFields, defs, log)
	case SyncContacts:
		return refreshContacts(ctx, app, client, ws, p, log)
	}
	return "failed", jobs.Permanent(fmt.Errorf("unknown sync kind %q", kind))
}

type definition struct {
	ID, Name, Type, Description string
}

// replaceDefinitions makes the workspace's stored definitions equal Manychat's list.
func replaceDefinitions(app core.App, ws, collection string, defs []definition, log *runLog) error {
	return platform.WriteTx(app, func(tx core.App) error {
		existing, err := tx.FindRecordsByFilter(collection, "workspace = {:ws}", "", 0, 0, dbx.Params{"ws": ws})
		if err != nil {
			return err
		}
		byID := map[string]*core.Record{}
		for _, r := range existing {
			byID[r.GetString("mc_id")] = r
		}
		coll, err := tx.FindCachedCollectionByNameOrId(collection)
		if err != nil {
			return err
		}
		log.counts["total"] = len(defs)
		for _, d := range defs {
			r, ok := byID[d.ID]
			delete(byID, d.ID)
			if !ok {
				r = core.NewRecord(coll)
				r.Set("workspace", ws)
				r.Set("mc_id", d.ID)
				log.counts["created"]++
			} else if r.GetString("name") == d.Name && (collection == collections.ManychatTags ||
				(r.GetString("type") == d.Type && r.GetString("description") == d.Description)) {
				continue
			} else {
				log.counts["updated"]++
			}
			r.Set("name", d.Name)
			if collection == collections.ManychatFields {
				r.Set("type", d.Type)
				r.Set("description", d.Description)
			}
			if err := tx.Save(r); err != nil {
				return err
			}
		}
		for _, r := range byID {
			if err := tx.Delete(r); err != nil {
				return err
			}
			log.counts["deleted"]++
		}
		return nil
	})
}

// refreshContacts re-reads recently active contacts with getInfo, oldest refresh first, within the client's
// rate limits. Contacts that fail keep their old refresh time, so the retried job takes them first.
func refreshContacts(ctx context.Context, app core.App, client *manychat.Client, ws string, p SyncParams, log *runLog) (string, error) {
	days, batch := p.Days, p.Batch
	if days <= 0 {
		days = RefreshActiveDays
	}
	if batch <= 0 || batch > 5000 {
		batch = RefreshBatch
	}
	now := time.Now()
	var rows []struct {
		ID  string `db:"id"`
		SID string `db:"subscriber_id"`
	}
	err := app.DB().NewQuery(`SELECT id, subscriber_id FROM contacts
		WHERE workspace = {:ws} AND subscriber_id != '' AND last_interaction_at >= {:since}
			AND (mc_refreshed_at = '' OR mc_refreshed_at < {:stale})
		ORDER BY mc_refreshed_at, last_interaction_at DESC LIMIT {:n}`).
		Bind(dbx.Params{"ws": ws, "since": dt(now.AddDate(0, 0, -days)), "stale": dt(now.Add(-RefreshEvery)), "n": batch}).All(&rows)
	if err != nil {
		return "failed", err
	}
	log.counts["candidates"] = len(rows)
	var lastErr error
	for _, row := range rows {
		if ctx.Err() != nil {
			lastErr = ctx.Err()
			break
		}
		id, err := manychat.ParseID(row.SID)
		if err != nil {
			continue
		}
		sub, err := client.GetSubscriber(ctx, id)
		switch {
		case manychat.IsNotFound(err):
			log.counts["missing"]++
			err = markRefreshed(app, row.ID, now)
		case err == nil:
			err = platform.WriteTx(app, func(tx core.App) error {
				res, err := Upsert(tx, ws, Incoming{Sub: *sub}, platform.SystemActor("manychat sync"))
				if err != nil {
					return err
				}
				if res.Changed {
					log.counts["updated"]++
				}
				return markRefreshed(tx, res.Contact.Id, now)
			})
			if err == nil {
				log.counts["refreshed"]++
			}
		}
		if err != nil {
			log.counts["failed"]++
			log.fail(row.SID + ": " + err.Error())
			lastErr = err
			if manychat.IsAuth(err) {
				break
			}
		}
	}
	switch {
	case lastErr == nil:
		return "ok", nil
	case log.counts["refreshed"]+log.counts["missing"] > 0:
		return "partial", fmt.Errorf("%d of %d contacts failed to refresh; they are retried first", log.counts["failed"], len(rows))
	}
	return "failed", lastErr
}

func markRefreshed(app core.App, id string, at time.Time) error {
	_, err := app.NonconcurrentDB().NewQuery("UPDATE contacts SET mc_refreshed_at = {:at} WHERE id = {:id}").
		Bind(dbx.Params{"at": dt(at), "id": id}).Execute()
	return err
}

// maybeAlert queues one email to the admins when kind has just failed AlertAfterFailures times in a row.
func maybeAlert(app core.App, ws, kind string) error {
	var statuses []string
	err := app.DB().NewQuery("SELECT status FROM sync_logs WHERE workspace = {:ws} AND kind = {:k} ORDER BY created DESC, rowid DESC LIMIT {:n}").
		Bind(dbx.Params{"ws": ws, "k": kind, "n": AlertAfterFailures + 1}).Column(&statuses)
	if err != nil {
		return err
	}
	if len(statuses) < AlertAfterFailures {
		return nil
	}
	for _, s := range statuses[:AlertAfterFailures] {
		if s != "failed" {
			return nil
		}
	}
	if len(statuses) > AlertAfterFailures && statuses[AlertAfterFailures] == "failed" {
		return nil // this streak was reported already
	}
	_, err = jobs.Enqueue(app, jobs.New{Kind: KindSyncAlert, Workspace: ws, Payload: map[string]any{"kind": kind}, MaxAttempts: 5})
	return err
}

func syncAlertHandler(ctx context.Context, app core.App, job *jobs.Job) error {
	var p struct {
		Kind string `json:"kind"`
	}
	if err := job.Decode(&p); err != nil {
		return err
	}
	ws, err := app.FindRecordById(collections.Workspaces, job.Workspace)
	if err != nil {
		return jobs.Permanent(err)
	}
	admins, err := app.FindRecordsByFilter(collections.Users, "workspace = {:ws} && (role = 'owner' || role = 'admin')", "", 0, 0, dbx.Params{"ws": job.Workspace})
	if err != nil {
		return err
	}
	var last []string
	_ = app.DB().NewQuery("SELECT errors FROM sync_logs WHERE workspace = {:ws} AND kind = {:k} ORDER BY created DESC LIMIT 1").
		Bind(dbx.Params{"ws": job.Workspace, "k": p.Kind}).Column(&last)
	detail := ""
	if len(last) > 0 {
		detail = last[0]
	}
	meta := app.Settings().Meta
	for _, u := range admins {
		msg := &mailer.Message{
			From:    mail.Address{Name: meta.SenderName, Address: meta.SenderAddress},
			To:      []mail.Address{{Address: u.Email(), Name: u.GetString("name")}},
			Subject: fmt.Sprintf("Playgram: the Manychat %s sync of %s failed %d times in a row", p.Kind, ws.GetString("name"), AlertAfterFailures),
			Text: fmt.Sprintf("The Manychat %s sync of the workspace %q has failed %d times in a row.\n\nLast errors: %s\n\n"+
				"Check the Manychat token (POST /api/v1/manychat/test-connection) and the sync_logs collection. "+
				"Playgram keeps retrying on schedule.\n", p.Kind, ws.GetString("name"), AlertAfterFailures, strings.TrimSpace(detail)),
		}
		if err := app.NewMailClient().Send(msg); err != nil {
			return err
		}
	}
	return nil
}
