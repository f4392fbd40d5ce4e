package routes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/analytics"
	"github.com/playgram/playgram/collections"
	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/platform"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// maxAnalyticsRange bounds from..to of analytics questions.
const maxAnalyticsRange = 3 * 366 * 24 * time.Hour

func registerAnalytics(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	ingest := Access{Scope: apikey.ScopeEvents, KeysOnly: true}
	read := Access{Scope: apikey.ScopeAdmin, MinRole: collections.RoleViewer}
	v1.POST("/events", ingestEvents(svc)).Bind(require(svc, ingest))
	v1.GET("/analytics/kpis", listKPIs).Bind(require(svc, read))
	v1.GET("/analytics/metrics/{ref}", metricSeries).Bind(require(svc, read))
	v1.POST("/analytics/funnel", funnel).Bind(require(svc, read))
	v1.GET("/analytics/retention", retention).Bind(require(svc, read))
	v1.GET("/analytics/attribution", attribution).Bind(require(svc, read))
	v1.GET("/analytics/heatmap", heatmap).Bind(require(svc, read))
	v1.GET("/analytics/reports/{file}", reportFile).Bind(require(svc, read))
}

// ingestEvents stores one event or a batch of up to 1,000. A single event that is refused is a 400 naming the
// field; in a batch, refused events are listed with their reasons and the good ones are kept.
func ingestEvents(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		raw, err := readBody(e)
		if err != nil {
			return err
		}
		var probe map[string]json.RawMessage
		_ = json.Unmarshal(raw, &probe)
		_, isBatch := probe["events"]
		var batch []analytics.Incoming
		if isBatch {
			var b struct {
				Events []analytics.Incoming `json:"events"`
			}
			if err := decodeJSON(e, raw, &b); err != nil {
				return err
			}
			if len(b.Events) == 0 || len(b.Events) > analytics.MaxBatch {
				return fieldError(e, "events", "validation_length_out_of_range", fmt.Sprintf("must hold 1 to %d events", analytics.MaxBatch))
			}
			batch = b.Events
		} else {
			var one analytics.Incoming
			if err := decodeJSON(e, raw, &one); err != nil {
				return err
			}
			batch = []analytics.Incoming{one}
		}
		p := platform.PrincipalOf(e)
		actor := platform.ActorFromRequest(e)
		now := time.Now()
		var single []analytics.Rejection
		err = createOnce(e, raw, func(tx core.App) (int, any, error) {
			acc, rej, err := analytics.Ingest(tx, p.Workspace, actor.Type+":"+actor.ID, batch, now)
			if err != nil {
				return 0, nil, err
			}
			if !isBatch {
				if len(rej) > 0 {
					single = rej
					return 0, nil, errSingleRefused
				}
				return http.StatusCreated, acc[0], nil
			}
			return http.StatusOK, map[string]any{"accepted": len(acc), "rejected": len(rej), "events": acc, "errors": rej}, nil
		})
		if errors.Is(err, errSingleRefused) {
			errs := validation.Errors{}
			for f, msg := range single[0].Errors {
				errs[f] = validation.NewError("validation_invalid_value", msg)
			}
			return e.BadRequestError("The event was refused; see data for each field.", errs)
		}
		return err
	}
}

var errSingleRefused = errors.New("event refused")

func listKPIs(e *core.RequestEvent) error {
	out := []map[string]string{}
	for _, name := range analytics.KPINames() {
		out = append(out, map[string]string{"name": name, "label": analytics.KPIs[name].Label})
	}
	return e.JSON(http.StatusOK, map[string]any{"kpis": out})
}

// analyticsRange parses from and to as RFC 3339 times or YYYY-MM-DD dates in the workspace's zone (a date as
// `to` includes that whole day). to defaults to now and from to 30 days before to.
func analyticsRange(e *core.RequestEvent, fromS, toS string, loc *time.Location, now time.Time) (time.Time, time.Time, error) {
	parse := func(field, s string, end bool) (time.Time, error) {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
			if end {
				d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
			}
			return d, nil
		}
		return time.Time{}, fieldError(e, field, "validation_invalid_date", "must be an RFC 3339 time or a YYYY-MM-DD date")
	}
	to := now
	var err error
	if toS != "" {
		if to, err = parse("to", toS, true); err != nil {
			return to, to, err
		}
	}
	from := to.Add(-30 * 24 * time.Hour)
	if fromS != "" {
		if from, err = parse("from", fromS, false); err != nil {
			return from, to, err
		}
	}
	if !from.Before(to) {
		return from, to, fieldError(e, "from", "validation_invalid_range", "must be before to")
	}
	if to.Sub(from) > maxAnalyticsRange {
		return from, to, fieldError(e, "from", "validation_invalid_range", "the range may span at most 3 years")
	}
	return from, to, nil
}

func metricSeries(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	q := e.Request.URL.Query()
	def, err := analytics.LoadMetric(e.App, p.Workspace, e.Request.PathValue("ref"))
	if err != nil {
		return e.NotFoundError("No KPI or metric "+e.Request.PathValue("ref")+"; KPIs: "+strings.Join(analytics.KPINames(), ", ")+".", nil)
	}
	loc := analytics.Location(e.App, p.Workspace)
	now := time.Now()
	from, to, err := analyticsRange(e, q.Get("from"), q.Get("to"), loc, now)
	if err != nil {
		return err
	}
	iv := ia.Daily
	if s := q.Get("interval"); s != "" {
		if iv, err = ia.ParseInterval(s); err != nil {
			return fieldError(e, "interval", "validation_invalid_value", err.Error())
		}
	}
	compare := q.Get("compare")
	if compare != "" && compare != "previous" {
		return fieldError(e, "compare", "validation_invalid_value", "must be previous")
	}
	if _, err := ia.Buckets(from, to, iv, loc); err != nil {
		return fieldError(e, "interval", "validation_invalid_value", err.Error())
	}
	cur, err := analytics.MetricSeries(e.App, p.Workspace, def, from, to, iv, loc, now)
	if err != nil {
		return err
	}
	out := map[string]any{"metric": def.Name, "label": def.Label, "aggregation": def.Agg, "interval": iv, "zone": loc.String(),
		"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339), "points": cur.Points, "total": cur.Total}
	if compare == "previous" {
		pf, pt := from.Add(-to.Sub(from)), from
		prev, err := analytics.MetricSeries(e.App, p.Workspace, def, pf, pt, iv, loc, now)
		if err != nil {
			return err
		}
		out["previous"] = map[string]any{"from": pf.UTC().Format(time.RFC3339), "to": pt.UTC().Format(time.RFC3339), "points": prev.Points, "total": prev.Total}
		var change any
		if cur.Total != nil && prev.Total != nil && *prev.Total != 0 {
			change = float64(int64((*cur.Total / *prev.Total - 1)*10000)) / 10000
		}
		out["change"] = change
	}
	return e.JSON(http.StatusOK, out)
}

func funnel(e *core.RequestEvent) error {
	var body struct {
		Steps       []analytics.FunnelStep `json:"steps"`
		From        string                 `json:"from"`
		To          string                 `json:"to"`
		WindowHours float64                `json:"window_hours"`
		Order       string                 `json:"order"`
		Breakdown   string                 `json:"breakdown"`
	}
	if err := readJSON(e, &body); err != nil {
		return err
	}
	if len(body.Steps) < 2 || len(body.Steps) > ia.MaxSteps {
		return fieldError(e, "steps", "validation_length_out_of_range", fmt.Sprintf("a funnel has 2 to %d steps", ia.MaxSteps))
	}
	w := analytics.Widget{Kind: "funnel", Steps: body.Steps, Order: body.Order}
	if err := w.Validate(); err != nil {
		field := "steps"
		if strings.HasPrefix(err.Error(), "order") {
			field = "order"
		}
		return fieldError(e, field, "validation_invalid_value", err.Error())
	}
	if body.WindowHours < 0 || body.WindowHours > 24*365 {
		return fieldError(e, "window_hours", "validation_invalid_value", "must be between 0 and 8760 hours")
	}
	if body.WindowHours == 0 {
		body.WindowHours = 24
	}
	if body.Breakdown != "" && !analytics.ValidField(body.Breakdown) {
		return fieldError(e, "breakdown", "validation_invalid_value", "must be a data field of the step-1 event, such as channel")
	}
	p := platform.PrincipalOf(e)
	loc := analytics.Location(e.App, p.Workspace)
	now := time.Now()
	from, to, err := analyticsRange(e, body.From, body.To, loc, now)
	if err != nil {
		return err
	}
	order, _ := ia.ParseOrder(body.Order)
	q := analytics.FunnelQuery{Steps: body.Steps, From: from, To: to, Window: time.Duration(body.WindowHours * float64(time.Hour)), Order: order, Breakdown: body.Breakdown}
	res, _, err := analytics.Cached(e.App, p.Workspace, []any{"funnel", body.Steps, from.UnixMilli(), to.UnixMilli(), q.Window, order, q.Breakdown},
		to.Add(q.Window).UnixMilli(), now, func() (*analytics.FunnelResult, error) { return analytics.Funnel(e.App, p.Workspace, q) })
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, map[string]any{"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339),
		"order": order, "window_hours": body.WindowHours, "steps": res.Steps, "breakdown": res.Breakdown})
}

func retention(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	q := e.Request.URL.Query()
	loc := analytics.Location(e.App, p.Workspace)
	now := time.Now()
	rq := analytics.RetentionQuery{CohortEvent: q.Get("cohort_event"), ReturnEvent: q.Get("return_event"), Periods: 8, Period: ia.Weekly}
	if !analytics.ValidType(rq.CohortEvent) {
		return fieldError(e, "cohort_event", "validation_invalid_value", "must be an event type such as contact.created")
	}
	if rq.ReturnEvent == "" {
		rq.ReturnEvent = rq.CohortEvent
	}
	if !analytics.ValidType(rq.ReturnEvent) {
		return fieldError(e, "return_event", "validation_invalid_value", "must be an event type such as qr.scanned")
	}
	if s := q.Get("period"); s != "" {
		iv, err := ia.ParseInterval(s)
		if err != nil || iv == ia.Hourly {
			return fieldError(e, "period", "validation_invalid_value", "must be day, week or month")
		}
		rq.Period = iv
	}
	if s := q.Get("periods"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 366 {
			return fieldError(e, "periods", "validation_invalid_value", "must be a whole number from 1 to 366")
		}
		rq.Periods = n
	}
	var err error
	if rq.Mode, err = ia.ParseMode(q.Get("mode")); err != nil {
		return fieldError(e, "mode", "validation_invalid_value", err.Error())
	}
	if q.Get("from") == "" {
		// Default: the cohorts of the last `periods` periods.
		start := ia.StartOf(now, rq.Period, loc)
		for i := 1; i < rq.Periods; i++ {
			start = ia.StartOf(start.Add(-time.Hour), rq.Period, loc)
		}
		rq.From, rq.To = start, now
		if q.Get("to") != "" {
			if _, rq.To, err = analyticsRange(e, "", q.Get("to"), loc, now); err != nil {
				return err
			}
		}
	} else if rq.From, rq.To, err = analyticsRange(e, q.Get("from"), q.Get("to"), loc, now); err != nil {
		return err
	}
	// The answer depends on events up to the end of the last value's period, or now.
	hi := now.UnixMilli() + 1
	cohorts, _, err := analytics.Cached(e.App, p.Workspace, []any{"retention", rq, loc.String()}, hi, now, func() ([]analytics.CohortOut, error) {
		return analytics.Retention(e.App, p.Workspace, rq, loc, now)
	})
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, map[string]any{"cohort_event": rq.CohortEvent, "return_event": rq.ReturnEvent, "period": rq.Period,
		"periods": rq.Periods, "mode": rq.Mode, "zone": loc.String(), "cohorts": cohorts})
}

func attribution(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	q := e.Request.URL.Query()
	loc := analytics.Location(e.App, p.Workspace)
	now := time.Now()
	model, err := ia.ParseModel(q.Get("model"))
	if err != nil {
		return fieldError(e, "model", "validation_invalid_value", err.Error())
	}
	days := 30
	if s := q.Get("window_days"); s != "" {
		if days, err = strconv.Atoi(s); err != nil || days < 1 || days > 365 {
			return fieldError(e, "window_days", "validation_invalid_value", "must be a whole number from 1 to 365")
		}
	}
	by := q.Get("by")
	if by != "" && by != "campaign" && by != "channel" {
		return fieldError(e, "by", "validation_invalid_value", "must be campaign or channel")
	}
	from, to, err := analyticsRange(e, q.Get("from"), q.Get("to"), loc, now)
	if err != nil {
		return err
	}
	aq := analytics.AttributionQuery{Model: model, Window: time.Duration(days) * 24 * time.Hour, From: from, To: to, ByChannel: by == "channel"}
	credits, _, err := analytics.Cached(e.App, p.Workspace, []any{"attribution", model, days, from.UnixMilli(), to.UnixMilli(), by}, to.UnixMilli(), now,
		func() ([]ia.Credit, error) { return analytics.Attribution(e.App, p.Workspace, aq) })
	if err != nil {
		return err
	}
	if by == "" {
		by = "campaign"
	}
	return e.JSON(http.StatusOK, map[string]any{"model": model, "window_days": days, "by": by,
		"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339), "credits": credits})
}

func heatmap(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	q := e.Request.URL.Query()
	loc := analytics.Location(e.App, p.Workspace)
	now := time.Now()
	var types []string
	for _, t := range strings.Split(q.Get("type"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			if !analytics.ValidType(t) {
				return fieldError(e, "type", "validation_invalid_value", "must be event types separated by commas")
			}
			types = append(types, t)
		}
	}
	from, to, err := analyticsRange(e, q.Get("from"), q.Get("to"), loc, now)
	if err != nil {
		return err
	}
	h, _, err := analytics.Cached(e.App, p.Workspace, []any{"heatmap", types, from.UnixMilli(), to.UnixMilli(), loc.String()}, to.UnixMilli(), now,
		func() ([7][24]int64, error) { return analytics.Heatmap(e.App, p.Workspace, types, from, to, loc) })
	if err != nil {
		return err
	}
	rows := make([]map[string]any, 7)
	for d := range rows {
		rows[d] = map[string]any{"weekday": d + 1, "hours": h[d]}
	}
	return e.JSON(http.StatusOK, map[string]any{"zone": loc.String(), "from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339), "days": rows})
}

// reportFile renders a report: {id}.pdf, {id}.xlsx, or {id} as JSON.
func reportFile(e *core.RequestEvent) error {
	file := e.Request.PathValue("file")
	id, ext, _ := strings.Cut(file, ".")
	rec, err := findInWorkspace(e, collections.AnalyticsReports, id)
	if err != nil {
		return err
	}
	now := time.Now()
	r, err := analytics.BuildReport(e.App, rec, now)
	if err != nil {
		return err
	}
	loc := analytics.Location(e.App, rec.GetString("workspace"))
	name := strings.ReplaceAll(r.Name, `"`, "")
	switch ext {
	case "":
		return e.JSON(http.StatusOK, r)
	case "pdf":
		b, err := analytics.RenderPDF(r, loc)
		if err != nil {
			return err
		}
		e.Response.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pdf"`)
		return e.Stream(http.StatusOK, "application/pdf", bytes.NewReader(b))
	case "xlsx":
		b, err := analytics.RenderXLSX(r)
		if err != nil {
			return err
		}
		e.Response.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		return e.Stream(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes.NewReader(b))
	}
	return e.NotFoundError("Reports are served as .pdf, .xlsx or JSON.", nil)
}
