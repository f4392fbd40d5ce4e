// Package exports is the data export and compliance domain on top of PocketBase: export runs (a job streams
// a dataset into a file in the PocketBase filesystem, audited, downloadable with a short-lived signed
// link, deleted when it expires), consent records, legal holds, retention, and data-subject requests (one
// person's data as a ZIP, and erasure). Routes, jobs and the CLI call it; the file formats live in
// internal/export.
package exports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/dbtime"
	"github.com/playgram/playgram/internal/export"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

// Job kinds.
const (
	KindRun       = "exports.run"
	KindCleanup   = "exports.cleanup"
	KindRetention = "exports.retention"
)

// FileTTL is how long an export's file is kept: PLAYGRAM_EXPORT_TTL_HOURS, default 7 days.
func FileTTL() time.Duration {
	if h, err := strconv.Atoi(os.Getenv("PLAYGRAM_EXPORT_TTL_HOURS")); err == nil && h > 0 {
		return time.Duration(h) * time.Hour
	}
	return 7 * 24 * time.Hour
}

// LinkTTL is how long a download link works.
const LinkTTL = 15 * time.Minute

// Request is what an export asks for.
type Request struct {
	Dataset string   `json:"dataset"`
	Format  string   `json:"format"`
	Filter  string   `json:"filter,omitempty"`
	Fields  []string `json:"fields,omitempty"`
	Consent string   `json:"consent,omitempty"`
	Purpose string   `json:"purpose"`
}

// Validate checks a request against the schema; the error is a *FieldError for client mistakes.
func Validate(app core.App, workspace string, r Request) (*Query, error) {
	if !export.ValidFormat(r.Format) {
		return nil, &FieldError{"format", "Must be one of " + strings.Join(export.Formats, ", ") + "."}
	}
	if p := strings.TrimSpace(r.Purpose); len(p) < 3 || len(p) > 500 {
		return nil, &FieldError{"purpose", "State the purpose or legal basis of the export (3 to 500 characters)."}
	}
	if len(r.Filter) > 4000 {
		return nil, &FieldError{"filter", "Must be at most 4000 characters."}
	}
	return NewQuery(app, r.Dataset, workspace, r.Filter, r.Fields, r.Consent)
}

// Create validates r and stores a queued export and its job in tx.
func Create(tx core.App, workspace string, r Request, actor platform.Actor) (*core.Record, error) {
	if _, err := Validate(tx, workspace, r); err != nil {
		return nil, err
	}
	coll, err := tx.FindCachedCollectionByNameOrId(collections.Exports)
	if err != nil {
		return nil, err
	}
	rec := core.NewRecord(coll)
	rec.Set("workspace", workspace)
	rec.Set("dataset", r.Dataset)
	rec.Set("format", r.Format)
	rec.Set("filter", strings.TrimSpace(r.Filter))
	rec.Set("fields", r.Fields)
	rec.Set("consent", r.Consent)
	rec.Set("purpose", strings.TrimSpace(r.Purpose))
	rec.Set("status", collections.ExportQueued)
	rec.Set("created_by", actor.String())
	rec.Set("actor", actor)
	if err := tx.Save(rec); err != nil {
		return nil, err
	}
	_, err = jobs.Enqueue(tx, jobs.New{Kind: KindRun, Workspace: workspace, Payload: map[string]string{"export": rec.Id}, MaxAttempts: 3})
	return rec, err
}

// Register binds the job kinds and the cron schedules that enqueue them.
func Register(app core.App, svc *platform.Services) {
	svc.Jobs.Handle(KindRun, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Export string `json:"export"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		err := Run(ctx, app, p.Export)
		if err != nil && (job.Attempt >= job.MaxAttempts || errors.As(err, new(*runFailure))) {
			markFailed(app, p.Export, err.Error())
		}
		return err
	})
	svc.Jobs.Handle(KindCleanup, func(ctx context.Context, app core.App, job *jobs.Job) error {
		n, err := Cleanup(app, time.Now())
		job.Result = map[string]int{"deleted": n}
		return err
	})
	svc.Jobs.Handle(KindRetention, func(ctx context.Context, app core.App, job *jobs.Job) error {
		counts, err := ApplyRetention(app, time.Now())
		job.Result = counts
		return err
	})
	svc.Jobs.Handle(KindDeliver, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Export string `json:"export"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		return Deliver(ctx, app, svc, p.Export)
	})
	// Due schedules only enqueue export jobs (a query and an insert per due schedule).
	app.Cron().MustAdd("playgram_export_schedules", "* * * * *", func() {
		if _, err := RunSchedules(app, time.Now()); err != nil {
			app.Logger().Error("export schedules failed", "error", err)
		}
	})
	app.Cron().MustAdd("playgram_exports_cleanup", "7 * * * *", func() {
		if _, err := jobs.Enqueue(app, jobs.New{Kind: KindCleanup, UniqueKey: "exports:cleanup", MaxAttempts: 3}); err != nil {
			app.Logger().Error("enqueueing export cleanup failed", "error", err)
		}
	})
	app.Cron().MustAdd("playgram_retention", "30 2 * * *", func() {
		if _, err := jobs.Enqueue(app, jobs.New{Kind: KindRetention, UniqueKey: "exports:retention", MaxAttempts: 3}); err != nil {
			app.Logger().Error("enqueueing retention failed", "error", err)
		}
	})
	registerHooks(app)
}

// runFailure is an export that cannot succeed however often it is retried (a bad filter, too many rows for PDF).
type runFailure struct{ err error }

func (f *runFailure) Error() string { return f.err.Error() }

func fail(err error) error { return jobs.Permanent(&runFailure{err}) }

func markFailed(app core.App, id, msg string) {
	_, _ = app.NonconcurrentDB().NewQuery("UPDATE exports SET status = 'failed', error = {:e}, finished_at = {:now}, updated = {:now} WHERE id = {:id}").
		Bind(dbx.Params{"e": truncate(msg, 2000), "id": id, "now": dbtime.Format(time.Now())}).Execute()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Run streams the export into a temporary file, stores it in the PocketBase filesystem (local or S3) on the
// export record, and writes the audit row with the row count and the file's SHA-256, in one transaction.
func Run(ctx context.Context, app core.App, id string) error {
	rec, err := app.FindRecordById(collections.Exports, id)
	if err != nil {
		return fail(err)
	}
	if rec.GetString("status") == collections.ExportDone || rec.GetString("status") == collections.ExportFailed {
		return nil
	}
	var fields []string
	_ = rec.UnmarshalJSONField("fields", &fields)
	q, err := NewQuery(app, rec.GetString("dataset"), rec.GetString("workspace"), rec.GetString("filter"), fields, rec.GetString("consent"))
	if err != nil {
		return fail(err)
	}
	rec.Set("status", collections.ExportRunning)
	if err := app.Save(rec); err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "playgram-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	loc := time.UTC
	if ws, err := app.FindRecordById(collections.Workspaces, rec.GetString("workspace")); err == nil {
		if l, err := time.LoadLocation(ws.GetString("timezone")); err == nil {
			loc = l
		}
	}
	format := rec.GetString("format")
	res, err := Write(ctx, app, q, format, tmp, export.Report{Title: q.Dataset.Title + " export", Filter: q.Filter, Generated: time.Now(), Location: loc})
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) || errors.Is(err, export.ErrTooManyRows) {
			return fail(err)
		}
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	file, err := filesystem.NewFileFromPath(tmp.Name())
	if err != nil {
		return err
	}
	file.OriginalName = fmt.Sprintf("%s-%s.%s", q.Dataset.Name, time.Now().UTC().Format("20060102-150405"), export.Extension(format))
	file.Name = file.OriginalName
	var actor platform.Actor
	_ = rec.UnmarshalJSONField("actor", &actor)
	return platform.WriteTx(app, func(tx core.App) error {
		rec.Set("file", file)
		rec.Set("status", collections.ExportDone)
		rec.Set("rows", res.Rows)
		rec.Set("size", res.Size)
		rec.Set("sha256", res.SHA256)
		rec.Set("error", "")
		rec.Set("finished_at", time.Now())
		rec.Set("expires_at", time.Now().Add(FileTTL()))
		if err := tx.Save(rec); err != nil {
			return err
		}
		if err := auditExport(tx, actor, rec.Id, q, format, rec.GetString("purpose"), res); err != nil {
			return err
		}
		return enqueueDelivery(tx, rec)
	})
}

// auditExport is the one audit row every export writes, from the API or the CLI.
func auditExport(tx core.App, actor platform.Actor, id string, q *Query, format, purpose string, res Result) error {
	return platform.Audit(tx, actor, q.Workspace, "export.created", collections.Exports, id, nil, map[string]any{
		"dataset": q.Dataset.Name, "format": format, "filter": q.Filter, "fields": columnKeys(q.Columns), "consent": q.Consent,
		"rows": res.Rows, "purpose": purpose, "sha256": res.SHA256, "size": res.Size,
	})
}

// ExportTo validates r, writes the export to w at once (the CLI's path: no job, no stored file) and audits it.
func ExportTo(ctx context.Context, app core.App, workspace string, r Request, w io.Writer, actor platform.Actor) (Result, error) {
	q, err := Validate(app, workspace, r)
	if err != nil {
		return Result{}, err
	}
	loc := time.UTC
	if ws, err := app.FindRecordById(collections.Workspaces, workspace); err == nil {
		if l, err := time.LoadLocation(ws.GetString("timezone")); err == nil {
			loc = l
		}
	}
	res, err := Write(ctx, app, q, r.Format, w, export.Report{Title: q.Dataset.Title + " export", Filter: q.Filter, Generated: time.Now(), Location: loc})
	if err != nil {
		return res, err
	}
	return res, auditExport(app, actor, "", q, r.Format, strings.TrimSpace(r.Purpose), res)
}

func columnKeys(cols []export.Column) []string {
	keys := make([]string, len(cols))
	for i, c := range cols {
		keys[i] = c.Key
	}
	return keys
}

// Result describes a written export.
type Result struct {
	Rows   int
	Size   int64
	SHA256 string
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Write streams q's rows in format to w and returns the row count, size and SHA-256 of what was written.
// The CLI and the job share it.
func Write(ctx context.Context, app core.App, q *Query, format string, w io.Writer, r export.Report) (Result, error) {
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(w, h)}
	ew, err := export.New(format, cw, q.Columns, r)
	if err != nil {
		return Result{}, err
	}
	n, err := q.Each(app, func(values []any) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return ew.Row(values)
	})
	if err != nil {
		return Result{}, err
	}
	if err := ew.Close(); err != nil {
		return Result{}, err
	}
	return Result{Rows: n, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Cleanup deletes the files of expired exports and marks them expired; the export rows and audit rows stay.
func Cleanup(app core.App, now time.Time) (int, error) {
	recs, err := app.FindRecordsByFilter(collections.Exports, "expired = false && expires_at != '' && expires_at < {:now}", "expires_at", 500, 0,
		dbx.Params{"now": dbtime.Format(now)})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, rec := range recs {
		rec.Set("file", nil)
		rec.Set("expired", true)
		if err := app.Save(rec); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		app.Logger().Info("deleted expired export files", "count", n)
	}
	return n, nil
}

// DownloadToken signs an export id and expiry for a download link.
func DownloadToken(svc *platform.Services, id string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return e + "." + svc.Box.MAC("export-download", id+"."+e)
}

// CheckDownloadToken verifies a token from DownloadToken.
func CheckDownloadToken(svc *platform.Services, id, token string, now time.Time) bool {
	e, mac, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(e, 10, 64)
	if err != nil || now.Unix() > sec {
		return false
	}
	return svc.Box.VerifyMAC("export-download", id+"."+e, mac)
}

// DownloadURL is the absolute, short-lived link to a done export's file.
func DownloadURL(svc *platform.Services, rec *core.Record, now time.Time) string {
	return strings.TrimRight(svc.PublicURL(), "/") + "/api/v1/exports/" + rec.Id + "/download?token=" + DownloadToken(svc, rec.Id, now.Add(LinkTTL))
}

// Summary is an export as the API shows it.
func Summary(svc *platform.Services, rec *core.Record, now time.Time) map[string]any {
	var fields []string
	_ = rec.UnmarshalJSONField("fields", &fields)
	out := map[string]any{
		"id": rec.Id, "status": rec.GetString("status"), "dataset": rec.GetString("dataset"), "format": rec.GetString("format"),
		"filter": rec.GetString("filter"), "fields": fields, "consent": rec.GetString("consent"), "purpose": rec.GetString("purpose"),
		"rows": rec.GetInt("rows"), "size": rec.GetInt("size"), "sha256": rec.GetString("sha256"), "error": rec.GetString("error"),
		"created_by": rec.GetString("created_by"), "created": rec.GetDateTime("created"), "finished_at": nullTime(rec, "finished_at"),
		"expires_at": nullTime(rec, "expires_at"), "expired": rec.GetBool("expired"),
	}
	if rec.GetString("status") == collections.ExportDone && !rec.GetBool("expired") && rec.GetString("file") != "" {
		out["download_url"] = DownloadURL(svc, rec, now)
	}
	return out
}

func nullTime(rec *core.Record, field string) any {
	if t := rec.GetDateTime(field); !t.IsZero() {
		return t
	}
	return nil
}
