package analytics

import (
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"time"

	"github.com/playgram/playgram/collections"
	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/playgram/playgram/internal/slug"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// registerHooks validates metrics, reports and schedules on every save path and keeps a schedule's next run.
func registerHooks(app core.App) {
	app.OnRecordValidate(collections.Metrics).BindFunc(func(e *core.RecordEvent) error {
		d := MetricDef{Agg: ia.Agg(e.Record.GetString("aggregation")), Field: e.Record.GetString("field")}
		if err := e.Record.UnmarshalJSONField("types", &d.Types); err != nil {
			return validation.Errors{"types": validation.NewError("validation_invalid_value", "must be a list of event types")}
		}
		if err := e.Record.UnmarshalJSONField("filters", &d.Filters); err != nil {
			return validation.Errors{"filters": validation.NewError("validation_invalid_value", "must be a list of {field, op, value}")}
		}
		if len(d.Types) == 0 {
			return validation.Errors{"types": validation.NewError("validation_required", "list at least one event type")}
		}
		if err := d.Validate(); err != nil {
			if fe, ok := err.(*FieldError); ok {
				return validation.Errors{fe.Field: validation.NewError("validation_invalid_value", fe.Message)}
			}
			return err
		}
		return e.Next()
	})
	app.OnRecordValidate(collections.AnalyticsReports).BindFunc(func(e *core.RecordEvent) error {
		var ws []Widget
		if err := e.Record.UnmarshalJSONField("widgets", &ws); err != nil || len(ws) == 0 || len(ws) > 30 {
			return validation.Errors{"widgets": validation.NewError("validation_invalid_value", "must be a list of 1 to 30 widgets")}
		}
		for i, w := range ws {
			if err := w.Validate(); err != nil {
				return validation.Errors{"widgets": validation.NewError("validation_invalid_value", fmt.Sprintf("widget %d: %v", i+1, err))}
			}
		}
		return e.Next()
	})
	app.OnRecordValidate(collections.ReportSchedules).BindFunc(func(e *core.RecordEvent) error {
		r := e.Record
		if _, _, err := ia.ParseClock(r.GetString("time")); err != nil {
			return validation.Errors{"time": validation.NewError("validation_invalid_value", err.Error())}
		}
		var to []string
		if err := r.UnmarshalJSONField("recipients", &to); err != nil {
			return validation.Errors{"recipients": validation.NewError("validation_invalid_value", "must be a list of email addresses")}
		}
		if err := validRecipients(to); err != nil {
			return validation.Errors{"recipients": validation.NewError("validation_invalid_value", err.Error())}
		}
		if rep, err := e.App.FindRecordById(collections.AnalyticsReports, r.GetString("report")); err != nil || rep.GetString("workspace") != r.GetString("workspace") {
			return validation.Errors{"report": validation.NewError("validation_invalid_value", "must be a report of this workspace")}
		}
		if r.GetString("format") == "" {
			r.Set("format", "pdf")
		}
		r.Set("next_run_at", scheduleOf(r).NextRun(time.Now(), Location(e.App, r.GetString("workspace"))))
		return e.Next()
	})
}

func scheduleOf(r *core.Record) ia.Schedule {
	h, m, _ := ia.ParseClock(r.GetString("time"))
	return ia.Schedule{Frequency: r.GetString("frequency"), Hour: h, Min: m, Weekday: r.GetInt("weekday"), DayOfMonth: r.GetInt("day_of_month")}
}

// EnqueueDueReports enqueues an email job for every enabled schedule whose time has come and moves the
// schedule to its next run, in one transaction per schedule. It returns how many it enqueued.
func EnqueueDueReports(app core.App, now time.Time) (int, error) {
	due, err := app.FindRecordsByFilter(collections.ReportSchedules, "enabled = true && next_run_at != '' && next_run_at <= {:now}", "next_run_at", 100, 0,
		dbx.Params{"now": now.UTC().Format("2006-01-02 15:04:05.000Z")})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range due {
		err := platform.WriteTx(app, func(tx core.App) error {
			run := s.GetDateTime("next_run_at").Time()
			if _, err := jobs.Enqueue(tx, jobs.New{Kind: KindReportEmail, Workspace: s.GetString("workspace"),
				Payload: map[string]any{"schedule": s.Id}, UniqueKey: "report:" + s.Id + ":" + run.UTC().Format(time.RFC3339)}); err != nil {
				return err
			}
			loc := Location(tx, s.GetString("workspace"))
			_, err := tx.DB().NewQuery("UPDATE report_schedules SET next_run_at = {:next} WHERE id = {:id}").
				Bind(dbx.Params{"next": scheduleOf(s).NextRun(now, loc).UTC().Format("2006-01-02 15:04:05.000Z"), "id": s.Id}).Execute()
			return err
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// SendScheduledReport builds a schedule's report, renders the attachment and emails it with the numbers in
// the body. A deleted or disabled schedule is not an error: there is nothing to send.
func SendScheduledReport(app core.App, svc *platform.Services, scheduleID string, now time.Time) error {
	s, err := app.FindRecordById(collections.ReportSchedules, scheduleID)
	if err != nil || !s.GetBool("enabled") {
		return nil
	}
	rep, err := app.FindRecordById(collections.AnalyticsReports, s.GetString("report"))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("the report of schedule %s is gone", scheduleID))
	}
	loc := Location(app, s.GetString("workspace"))
	r, err := BuildReport(app, rep, now)
	if err != nil {
		return err
	}
	var to []string
	_ = s.UnmarshalJSONField("recipients", &to)
	var file []byte
	name := slug.Make(r.Name, 60, "report") + "-" + r.From.In(loc).Format("2006-01-02")
	if s.GetString("format") == "xlsx" {
		file, err = RenderXLSX(r)
		name += ".xlsx"
	} else {
		file, err = RenderPDF(r, loc)
		name += ".pdf"
	}
	if err != nil {
		return err
	}
	msg := &mailer.Message{
		From:        mail.Address{Name: app.Settings().Meta.SenderName, Address: app.Settings().Meta.SenderAddress},
		Subject:     fmt.Sprintf("%s: %s", r.Name, r.From.In(loc).Format("2 Jan 2006")),
		HTML:        emailBody(r, loc),
		Attachments: map[string]io.Reader{name: bytes.NewReader(file)},
	}
	for _, a := range to {
		msg.To = append(msg.To, mail.Address{Address: a})
	}
	if err := app.NewMailClient().Send(msg); err != nil {
		return err
	}
	_, err = app.NonconcurrentDB().NewQuery("UPDATE report_schedules SET last_sent_at = {:now} WHERE id = {:id}").
		Bind(dbx.Params{"now": now.UTC().Format("2006-01-02 15:04:05.000Z"), "id": s.Id}).Execute()
	return err
}
