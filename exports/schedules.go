package exports

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/export"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/cron"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// KindDeliver is the job that sends a scheduled export's file.
const KindDeliver = "exports.deliver"

// MaxAttachment is the largest file emailed; bigger exports are sent as a download link instead.
const MaxAttachment = 10 << 20

// validateSchedule checks a schedule on every save path: cron expression, IANA time zone, dataset, format,
// filter and fields as an export would, and the delivery's recipients or endpoint.
func validateSchedule(app core.App, r *core.Record) error {
	errs := validation.Errors{}
	if _, err := cron.NewSchedule(r.GetString("cron")); err != nil {
		errs["cron"] = validation.NewError("validation_invalid_cron", "Must be a 5-field cron expression such as \"0 6 * * 1\": "+err.Error())
	}
	if tz := r.GetString("timezone"); tz == "" || tz == "Local" {
		errs["timezone"] = validation.NewError("validation_invalid_timezone", "Must be an IANA time zone such as Europe/Lisbon.")
	} else if _, err := time.LoadLocation(tz); err != nil {
		errs["timezone"] = validation.NewError("validation_invalid_timezone", "Must be an IANA time zone such as Europe/Lisbon.")
	}
	var fields []string
	_ = r.UnmarshalJSONField("fields", &fields)
	if _, err := Validate(app, r.GetString("workspace"), Request{Dataset: r.GetString("dataset"), Format: r.GetString("format"),
		Filter: r.GetString("filter"), Fields: fields, Consent: r.GetString("consent"), Purpose: r.GetString("purpose")}); err != nil {
		if fe, ok := err.(*FieldError); ok {
			errs[fe.Field] = validation.NewError("validation_invalid_"+fe.Field, fe.Message)
		} else {
			return err
		}
	}
	switch r.GetString("delivery") {
	case "email":
		var to []string
		if err := r.UnmarshalJSONField("recipients", &to); err != nil || len(to) == 0 || len(to) > 20 {
			errs["recipients"] = validation.NewError("validation_required", "List 1 to 20 email addresses.")
		}
		for _, a := range to {
			if _, err := mail.ParseAddress(a); err != nil {
				errs["recipients"] = validation.NewError("validation_invalid_email", a+" is not an email address.")
			}
		}
	case "webhook":
		ep, err := app.FindRecordById(collections.WebhookEndpoints, r.GetString("endpoint"))
		if err != nil || ep.GetString("workspace") != r.GetString("workspace") {
			errs["endpoint"] = validation.NewError("validation_required", "Name a webhook endpoint of this workspace.")
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// RunSchedules enqueues an export for every enabled schedule due at the minute of now in its time zone.
// The cron calls it every minute; the export ids are returned.
func RunSchedules(app core.App, now time.Time) ([]string, error) {
	recs, err := app.FindRecordsByFilter(collections.ExportSchedules, "enabled = true", "", 0, 0)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range recs {
		loc, err := time.LoadLocation(s.GetString("timezone"))
		if err != nil {
			continue
		}
		sched, err := cron.NewSchedule(s.GetString("cron"))
		if err != nil || !sched.IsDue(cron.NewMoment(now.In(loc))) {
			continue
		}
		// One run per schedule per minute, however often this is called.
		if last := s.GetDateTime("last_run_at").Time(); !last.IsZero() && last.Truncate(time.Minute).Equal(now.Truncate(time.Minute)) {
			continue
		}
		var fields []string
		_ = s.UnmarshalJSONField("fields", &fields)
		err = platform.WriteTx(app, func(tx core.App) error {
			rec, err := Create(tx, s.GetString("workspace"), Request{Dataset: s.GetString("dataset"), Format: s.GetString("format"),
				Filter: s.GetString("filter"), Fields: fields, Consent: s.GetString("consent"), Purpose: s.GetString("purpose")},
				platform.Actor{Type: "system", Label: "schedule:" + s.Id, Workspace: s.GetString("workspace")})
			if err != nil {
				return err
			}
			rec.Set("schedule", s.Id)
			if err := tx.Save(rec); err != nil {
				return err
			}
			s.Set("last_run_at", now)
			s.Set("last_export", rec.Id)
			s.Set("last_error", "")
			ids = append(ids, rec.Id)
			return tx.SaveNoValidate(s)
		})
		if err != nil {
			app.Logger().Error("scheduled export could not start", "schedule", s.Id, "error", err)
			s.Set("last_error", truncate(err.Error(), 2000))
			s.Set("last_run_at", now)
			_ = app.SaveNoValidate(s)
		}
	}
	return ids, nil
}

// enqueueDelivery is called in the transaction that completes a scheduled export.
func enqueueDelivery(tx core.App, rec *core.Record) error {
	if rec.GetString("schedule") == "" {
		return nil
	}
	_, err := jobs.Enqueue(tx, jobs.New{Kind: KindDeliver, Workspace: rec.GetString("workspace"), Payload: map[string]string{"export": rec.Id}, MaxAttempts: 8})
	return err
}

// Deliver sends a scheduled export's file where its schedule says: nowhere more for the filesystem, as an
// attachment (or a link, when large) to the recipients, or as a signed POST to the webhook endpoint.
// Errors are recorded on the schedule and retried by the job runner.
func Deliver(ctx context.Context, app core.App, svc *platform.Services, id string) (err error) {
	rec, err := app.FindRecordById(collections.Exports, id)
	if err != nil {
		return jobs.Permanent(err)
	}
	s, err := app.FindRecordById(collections.ExportSchedules, rec.GetString("schedule"))
	if err != nil {
		return jobs.Permanent(err)
	}
	defer func() {
		if err != nil {
			s.Set("last_error", truncate("delivery: "+err.Error(), 2000))
			_ = app.SaveNoValidate(s)
		}
	}()
	if s.GetString("delivery") == "filesystem" || s.GetString("delivery") == "" {
		return nil
	}
	fsys, err := app.NewFilesystem()
	if err != nil {
		return err
	}
	defer fsys.Close()
	key := rec.BaseFilesPath() + "/" + rec.GetString("file")
	name := rec.GetString("file")
	format := rec.GetString("format")
	subject := fmt.Sprintf("%s: %s export (%d rows)", s.GetString("name"), rec.GetString("dataset"), rec.GetInt("rows"))
	switch s.GetString("delivery") {
	case "email":
		var to []string
		_ = s.UnmarshalJSONField("recipients", &to)
		msg := &mailer.Message{
			From:    mail.Address{Name: app.Settings().Meta.SenderName, Address: app.Settings().Meta.SenderAddress},
			Subject: subject,
		}
		for _, a := range to {
			if addr, err := mail.ParseAddress(a); err == nil {
				msg.To = append(msg.To, *addr)
			}
		}
		body := fmt.Sprintf("<p>The scheduled export <b>%s</b> ran at %s: %d rows of %s (%s).</p>", htmlEscape(s.GetString("name")),
			rec.GetDateTime("finished_at").Time().UTC().Format(time.RFC1123), rec.GetInt("rows"), htmlEscape(rec.GetString("dataset")), format)
		if rec.GetInt("size") <= MaxAttachment {
			r, err := fsys.GetReader(key)
			if err != nil {
				return err
			}
			data, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
			msg.Attachments = map[string]io.Reader{name: bytes.NewReader(data)}
		} else {
			body += fmt.Sprintf(`<p>The file is too large to attach: <a href="%s">download it</a> (the link works for %s).</p>`,
				DownloadURL(svc, rec, time.Now()), LinkTTL)
		}
		msg.HTML = body
		return app.NewMailClient().Send(msg)
	case "webhook":
		ep, err := app.FindRecordById(collections.WebhookEndpoints, s.GetString("endpoint"))
		if err != nil {
			return jobs.Permanent(fmt.Errorf("the schedule's webhook endpoint is gone"))
		}
		secret, _, err := webhooks.EndpointSecrets(svc.Box, ep)
		if err != nil {
			return jobs.Permanent(err)
		}
		r, err := fsys.GetReader(key)
		if err != nil {
			return err
		}
		defer r.Close()
		body, err := io.ReadAll(io.LimitReader(r, 256<<20))
		if err != nil {
			return err
		}
		msgID, now := "msg_export_"+rec.Id, time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.GetString("url"), bytes.NewReader(body))
		if err != nil {
			return jobs.Permanent(err)
		}
		for k, v := range whsig.Headers(msgID, now, whsig.Sign(secret, msgID, now, body)) {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", export.ContentType(format))
		req.Header.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		req.Header.Set("X-Playgram-Export", rec.Id)
		req.Header.Set("X-Playgram-Export-Rows", fmt.Sprint(rec.GetInt("rows")))
		req.Header.Set("X-Playgram-Export-Sha256", rec.GetString("sha256"))
		res, err := svc.Outbound.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		if res.StatusCode < 200 || res.StatusCode > 299 {
			return fmt.Errorf("the endpoint answered %d", res.StatusCode)
		}
		return nil
	}
	return nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
