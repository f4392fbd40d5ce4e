package qr

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"github.com/playgram/playgram/internal/dbtime"
	"os"
	"strconv"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/csvsafe"
	"github.com/playgram/playgram/internal/qrcode"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

// MaxBatch is the most codes one batch makes.
const MaxBatch = 10_000

// KindBatch is the job that fills a batch and renders its downloads.
const KindBatch = "qr.batch"

// batchChunk codes are made per transaction, so a large batch never holds the writer for long and progress
// shows as it goes.
const batchChunk = 250

// BatchParams are what a batch request asks for.
type BatchParams struct {
	Count     int               `json:"count"`
	Vars      map[string]string `json:"vars,omitempty"`
	MaxUses   *int              `json:"max_uses,omitempty"`
	ExpiresAt string            `json:"expires_at,omitempty"`
	Label     string            `json:"label,omitempty"`
}

// CreateBatch stores a queued batch and its job in tx.
func CreateBatch(tx core.App, tool *Tool, p BatchParams, actor platform.Actor) (*core.Record, error) {
	coll, err := tx.FindCachedCollectionByNameOrId(collections.QRBatches)
	if err != nil {
		return nil, err
	}
	b := core.NewRecord(coll)
	b.Set("workspace", tool.Record.GetString("workspace"))
	b.Set("tool", tool.Record.Id)
	b.Set("count", p.Count)
	b.Set("generated", 0)
	b.Set("status", "queued")
	b.Set("params", p)
	b.Set("label", p.Label)
	b.Set("created_by", actor.String())
	if err := tx.Save(b); err != nil {
		return nil, err
	}
	_, err = jobs.Enqueue(tx, jobs.New{Kind: KindBatch, Workspace: b.GetString("workspace"), Payload: map[string]string{"batch": b.Id, "actor": actor.String()}, MaxAttempts: 3})
	return b, err
}

// Register binds the QR job kinds and the expiry sweep.
func Register(app core.App, svc *platform.Services) {
	svc.Jobs.Handle(KindBatch, func(ctx context.Context, app core.App, job *jobs.Job) error {
		var p struct {
			Batch string `json:"batch"`
			Actor string `json:"actor"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		err := RunBatch(ctx, app, p.Batch)
		if err != nil && job.Attempt >= job.MaxAttempts {
			markBatch(app, p.Batch, "failed", err.Error())
		}
		return err
	})
	app.Cron().MustAdd("playgram_qr_expiry", "* * * * *", func() {
		if _, err := MarkExpired(app, time.Now()); err != nil {
			app.Logger().Error("QR expiry sweep failed", "error", err)
		}
	})
}

func markBatch(app core.App, id, status, msg string) {
	_, _ = app.NonconcurrentDB().NewQuery("UPDATE qr_batches SET status = {:s}, error = {:e}, updated = {:now} WHERE id = {:id}").
		Bind(dbx.Params{"s": status, "e": msg, "id": id, "now": dbtime.Format(time.Now())}).Execute()
}

// RunBatch makes the batch's missing codes (a retried job continues where the last attempt stopped), then
// renders a ZIP (PNG + SVG per code and a CSV manifest) and printable A4 sheets, and attaches them.
func RunBatch(ctx context.Context, app core.App, id string) error {
	batch, err := app.FindRecordById(collections.QRBatches, id)
	if err != nil {
		return jobs.Permanent(err)
	}
	if batch.GetString("status") == "done" {
		return nil
	}
	var p BatchParams
	if err := batch.UnmarshalJSONField("params", &p); err != nil {
		return jobs.Permanent(err)
	}
	toolRec, err := app.FindRecordById(collections.Tools, batch.GetString("tool"))
	if err != nil {
		return jobs.Permanent(err)
	}
	tool, err := ToolFromRecord(toolRec)
	if err != nil {
		return jobs.Permanent(err)
	}
	var expires time.Time
	if p.ExpiresAt != "" {
		expires, _ = time.Parse(time.RFC3339, p.ExpiresAt)
	}
	tz := time.UTC
	if ws, err := app.FindRecordById(collections.Workspaces, batch.GetString("workspace")); err == nil {
		if loc, err := time.LoadLocation(ws.GetString("timezone")); err == nil {
			tz = loc
		}
	}
	markBatch(app, id, "running", "")

	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := app.CountRecords(collections.QRCodes, dbx.HashExp{"batch": id})
		if err != nil {
			return err
		}
		if int(done) >= p.Count {
			break
		}
		n := min(batchChunk, p.Count-int(done))
		err = platform.WriteTx(app, func(tx core.App) error {
			now := time.Now()
			for range n {
				if _, err := Generate(tx, GenerateInput{Tool: tool, Timezone: tz, Vars: p.Vars, MaxUses: p.MaxUses,
					ExpiresAt: expires, Label: p.Label, Batch: id, Actor: platform.SystemActor("qr batch")}, now); err != nil {
					return err
				}
			}
			_, err := tx.NonconcurrentDB().NewQuery("UPDATE qr_batches SET generated = {:g}, updated = {:now} WHERE id = {:id}").
				Bind(dbx.Params{"g": int(done) + n, "id": id, "now": dbtime.Format(now)}).Execute()
			return err
		})
		if err != nil {
			return err
		}
	}
	return renderBatchFiles(ctx, app, batch, tool)
}

func renderBatchFiles(ctx context.Context, app core.App, batch *core.Record, tool *Tool) error {
	var codes []*core.Record
	if err := app.RecordQuery(collections.QRCodes).AndWhere(dbx.HashExp{"batch": batch.Id}).OrderBy("created ASC", "code ASC").All(&codes); err != nil {
		return err
	}
	style := qrcode.DefaultImageOptions()
	style.FG, style.BG = tool.Config.FG, tool.Config.BG

	zipFile, err := os.CreateTemp("", "qr-batch-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(zipFile.Name())
	defer zipFile.Close()
	zw := zip.NewWriter(zipFile)
	// The manifest is written last: a zip entry stays writable only until the next one is created.
	var manifest bytes.Buffer
	cw := csvsafe.NewWriter(&manifest, csvsafe.Options{UseCRLF: true})
	_ = cw.Write([]string{"code", "content", "max_uses", "expires_at", "png", "svg"})
	items := make([]qrcode.SheetItem, 0, len(codes))
	for _, c := range codes {
		if err := ctx.Err(); err != nil {
			return err
		}
		code, content := c.GetString("code"), c.GetString("content")
		items = append(items, qrcode.SheetItem{Code: code, Content: content})
		for _, f := range []qrcode.Format{qrcode.FormatPNG, qrcode.FormatSVG} {
			opts := style
			opts.Format = f
			img, err := qrcode.Render(content, opts)
			if err != nil {
				return err
			}
			w, err := zw.Create(string(f) + "/" + code + "." + string(f))
			if err != nil {
				return err
			}
			if _, err := w.Write(img); err != nil {
				return err
			}
		}
		_ = cw.Write([]string{code, content, strconv.Itoa(c.GetInt("max_uses")), dateString(c, "expires_at"), "png/" + code + ".png", "svg/" + code + ".svg"})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	mw, err := zw.Create("manifest.csv")
	if err != nil {
		return err
	}
	if _, err := mw.Write(manifest.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}

	zipF, err := filesystem.NewFileFromPath(zipFile.Name())
	if err != nil {
		return err
	}
	zipF.OriginalName = "qr-batch-" + batch.Id + ".zip"
	var sheets []*filesystem.File
	for start, part := 0, 1; start < len(items); start, part = start+qrcode.MaxSheetItems, part+1 {
		end := min(start+qrcode.MaxSheetItems, len(items))
		pdf, err := qrcode.RenderSheetPDF(items[start:end], qrcode.SheetOptions{Style: style})
		if err != nil {
			return err
		}
		f, err := filesystem.NewFileFromBytes(pdf, fmt.Sprintf("qr-sheet-%s-%d.pdf", batch.Id, part))
		if err != nil {
			return err
		}
		sheets = append(sheets, f)
	}
	batch, err = app.FindRecordById(collections.QRBatches, batch.Id)
	if err != nil {
		return err
	}
	batch.Set("zip", zipF)
	batch.Set("sheet", sheets)
	batch.Set("status", "done")
	batch.Set("generated", len(codes))
	batch.Set("error", "")
	return app.Save(batch)
}

func dateString(r *core.Record, field string) string {
	d := r.GetDateTime(field)
	if d.IsZero() {
		return ""
	}
	return d.Time().UTC().Format(time.RFC3339)
}
