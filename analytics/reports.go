package analytics

import (
	"fmt"
	"html"
	"math"
	"net/mail"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/pocketbase/pocketbase/core"
)

// Widget is one element of a report. Kind picks which of the other fields apply.
type Widget struct {
	Kind  string `json:"kind"` // metric, funnel, retention, heatmap, attribution
	Title string `json:"title,omitempty"`
	// metric
	Metric   string `json:"metric,omitempty"`
	Interval string `json:"interval,omitempty"`
	// funnel
	Steps       []FunnelStep `json:"steps,omitempty"`
	WindowHours float64      `json:"window_hours,omitempty"`
	Order       string       `json:"order,omitempty"`
	// retention
	CohortEvent string `json:"cohort_event,omitempty"`
	ReturnEvent string `json:"return_event,omitempty"`
	Period      string `json:"period,omitempty"`
	Periods     int    `json:"periods,omitempty"`
	Mode        string `json:"mode,omitempty"`
	// heatmap
	Types []string `json:"types,omitempty"`
	// attribution
	Model      string `json:"model,omitempty"`
	WindowDays int    `json:"window_days,omitempty"`
	By         string `json:"by,omitempty"`
}

// Validate checks a widget's shape (metric ids are checked when the report is built).
func (w Widget) Validate() error {
	switch w.Kind {
	case "metric":
		if w.Metric == "" {
			return fmt.Errorf("a metric widget names a KPI or a metric id")
		}
		if w.Interval != "" {
			if _, err := ia.ParseInterval(w.Interval); err != nil {
				return fmt.Errorf("interval %v", err)
			}
		}
	case "funnel":
		if len(w.Steps) < 2 || len(w.Steps) > ia.MaxSteps {
			return fmt.Errorf("a funnel has 2 to %d steps", ia.MaxSteps)
		}
		for _, s := range w.Steps {
			if !ValidType(s.Type) {
				return fmt.Errorf("step type %q is not an event type", s.Type)
			}
			for _, f := range s.filters() {
				if err := f.Validate(); err != nil {
					return err
				}
			}
		}
		if _, err := ia.ParseOrder(w.Order); err != nil {
			return fmt.Errorf("order %v", err)
		}
	case "retention":
		if !ValidType(w.CohortEvent) || !ValidType(w.ReturnEvent) {
			return fmt.Errorf("retention needs cohort_event and return_event types")
		}
		if _, err := ia.ParseMode(w.Mode); err != nil {
			return fmt.Errorf("mode %v", err)
		}
		if w.Period != "" && w.Period != "day" && w.Period != "week" && w.Period != "month" {
			return fmt.Errorf("period must be day, week or month")
		}
	case "heatmap":
		for _, t := range w.Types {
			if !ValidType(t) {
				return fmt.Errorf("type %q is not an event type", t)
			}
		}
	case "attribution":
		if _, err := ia.ParseModel(w.Model); err != nil {
			return fmt.Errorf("model %v", err)
		}
	default:
		return fmt.Errorf("kind must be metric, funnel, retention, heatmap or attribution")
	}
	return nil
}

// PeriodRange is the [from, to) of a report period at now in loc. Periods of whole days end at today's local
// midnight, so their answers are closed and cached.
func PeriodRange(period string, now time.Time, loc *time.Location) (time.Time, time.Time) {
	today := ia.StartOf(now, ia.Daily, loc)
	y, m, d := today.Date()
	switch period {
	case "last_7_days":
		return time.Date(y, m, d-7, 0, 0, 0, 0, loc), today
	case "last_90_days":
		return time.Date(y, m, d-90, 0, 0, 0, 0, loc), today
	case "previous_week":
		w := ia.StartOf(now, ia.Weekly, loc)
		wy, wm, wd := w.Date()
		return time.Date(wy, wm, wd-7, 0, 0, 0, 0, loc), w
	case "previous_month":
		mo := ia.StartOf(now, ia.Monthly, loc)
		return time.Date(mo.Year(), mo.Month()-1, 1, 0, 0, 0, 0, loc), mo
	case "month_to_date":
		return ia.StartOf(now, ia.Monthly, loc), now
	}
	return time.Date(y, m, d-30, 0, 0, 0, 0, loc), today
}

// WidgetResult is a computed widget.
type WidgetResult struct {
	Widget  Widget        `json:"widget"`
	Title   string        `json:"title"`
	Labels  []string      `json:"labels,omitempty"`
	Values  []*float64    `json:"values,omitempty"`
	Total   *float64      `json:"total,omitempty"`
	Funnel  *FunnelResult `json:"funnel,omitempty"`
	Cohorts []CohortOut   `json:"cohorts,omitempty"`
	Heatmap *[7][24]int64 `json:"heatmap,omitempty"`
	Credits []ia.Credit   `json:"credits,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// Report is a report computed for one period.
type Report struct {
	Name      string         `json:"name"`
	Workspace string         `json:"workspace"`
	Zone      string         `json:"zone"`
	From, To  time.Time      `json:"-"`
	Widgets   []WidgetResult `json:"widgets"`
}

// BuildReport computes every widget of a report record for its period at now. A widget that cannot be
// computed (a deleted metric) carries its error instead of failing the whole report.
func BuildReport(app core.App, rec *core.Record, now time.Time) (*Report, error) {
	ws := rec.GetString("workspace")
	loc := Location(app, ws)
	var widgets []Widget
	if err := rec.UnmarshalJSONField("widgets", &widgets); err != nil {
		return nil, err
	}
	from, to := PeriodRange(rec.GetString("period"), now, loc)
	var wsName string
	if w, err := app.FindRecordById(collections.Workspaces, ws); err == nil {
		wsName = w.GetString("name")
	}
	r := &Report{Name: rec.GetString("name"), Workspace: wsName, Zone: loc.String(), From: from, To: to}
	for _, w := range widgets {
		res := WidgetResult{Widget: w, Title: w.Title}
		if err := computeWidget(app, ws, w, from, to, loc, now, &res); err != nil {
			res.Error = err.Error()
		}
		r.Widgets = append(r.Widgets, res)
	}
	return r, nil
}

func computeWidget(app core.App, ws string, w Widget, from, to time.Time, loc *time.Location, now time.Time, res *WidgetResult) error {
	switch w.Kind {
	case "metric":
		def, err := LoadMetric(app, ws, w.Metric)
		if err != nil {
			return err
		}
		if res.Title == "" {
			res.Title = def.Label
		}
		iv := ia.Interval(w.Interval)
		if iv == "" {
			iv = ia.Daily
		}
		s, err := MetricSeries(app, ws, def, from, to, iv, loc, now)
		if err != nil {
			return err
		}
		for _, p := range s.Points {
			res.Labels = append(res.Labels, p.Start)
			res.Values = append(res.Values, p.Value)
		}
		res.Total = s.Total
	case "funnel":
		order, _ := ia.ParseOrder(w.Order)
		win := time.Duration(w.WindowHours * float64(time.Hour))
		if win <= 0 {
			win = 24 * time.Hour
		}
		f, err := Funnel(app, ws, FunnelQuery{Steps: w.Steps, From: from, To: to, Window: win, Order: order})
		if err != nil {
			return err
		}
		res.Funnel = f
		if res.Title == "" {
			res.Title = "Funnel"
		}
	case "retention":
		period := ia.Interval(w.Period)
		if period == "" {
			period = ia.Weekly
		}
		n := w.Periods
		if n <= 0 {
			n = 8
		}
		mode, _ := ia.ParseMode(w.Mode)
		c, err := Retention(app, ws, RetentionQuery{CohortEvent: w.CohortEvent, ReturnEvent: w.ReturnEvent, Period: period, Periods: n, From: from, To: to, Mode: mode}, loc, now)
		if err != nil {
			return err
		}
		res.Cohorts = c
		if res.Title == "" {
			res.Title = "Retention"
		}
	case "heatmap":
		h, err := Heatmap(app, ws, w.Types, from, to, loc)
		if err != nil {
			return err
		}
		res.Heatmap = &h
		if res.Title == "" {
			res.Title = "Activity by weekday and hour"
		}
	case "attribution":
		model, _ := ia.ParseModel(w.Model)
		days := w.WindowDays
		if days <= 0 {
			days = 30
		}
		c, err := Attribution(app, ws, AttributionQuery{Model: model, Window: time.Duration(days) * 24 * time.Hour, From: from, To: to, ByChannel: w.By == "channel"})
		if err != nil {
			return err
		}
		res.Credits = c
		if res.Title == "" {
			res.Title = "Revenue by " + map[bool]string{true: "channel", false: "campaign"}[w.By == "channel"]
		}
	}
	return nil
}

// Point is one bucket of a series: its local start and value.
type Point struct {
	Start string   `json:"start"`
	Value *float64 `json:"value"`
}

// SeriesResult is a metric over a range: one point per bucket and the total over the whole range.
type SeriesResult struct {
	Points []Point  `json:"points"`
	Total  *float64 `json:"total"`
}

// MetricSeries computes a metric over [from, to) in buckets of iv, with the buckets that ended before now
// answered from (and stored in) the cache.
func MetricSeries(app core.App, ws string, def MetricDef, from, to time.Time, iv ia.Interval, loc *time.Location, now time.Time) (SeriesResult, error) {
	bs, err := ia.Buckets(from, to, iv, loc)
	if err != nil {
		return SeriesResult{}, err
	}
	closed := 0
	for closed < len(bs) && !bs[closed].End.After(now) {
		closed++
	}
	key := func(kind string, lo, hi time.Time) any {
		return []any{kind, def, loc.String(), string(iv), lo.UnixMilli(), hi.UnixMilli()}
	}
	var vals []*float64
	if closed > 0 {
		head, _, err := Cached(app, ws, key("series", bs[0].Start, bs[closed-1].End), bs[closed-1].End.UnixMilli(), now, func() ([]*float64, error) {
			return Series(app, ws, def, bs[:closed], loc)
		})
		if err != nil {
			return SeriesResult{}, err
		}
		vals = append(vals, head...)
	}
	if closed < len(bs) {
		tail, err := Series(app, ws, def, bs[closed:], loc)
		if err != nil {
			return SeriesResult{}, err
		}
		vals = append(vals, tail...)
	}
	whole := []ia.Bucket{{Start: bs[0].Start, End: bs[len(bs)-1].End}}
	total, _, err := Cached(app, ws, key("total", whole[0].Start, whole[0].End), whole[0].End.UnixMilli(), now, func() ([]*float64, error) {
		if def.Agg == ia.AggCount || def.Agg == ia.AggSum {
			var t float64
			for _, v := range vals {
				if v != nil {
					t += *v
				}
			}
			return []*float64{&t}, nil
		}
		return Series(app, ws, def, whole, loc)
	})
	if err != nil {
		return SeriesResult{}, err
	}
	out := SeriesResult{Total: total[0], Points: make([]Point, len(bs))}
	for i, b := range bs {
		out.Points[i] = Point{Start: b.Start.In(loc).Format(time.RFC3339), Value: vals[i]}
	}
	return out, nil
}

// validRecipients checks a schedule's email list.
func validRecipients(list []string) error {
	if len(list) == 0 || len(list) > 20 {
		return fmt.Errorf("list 1 to 20 email addresses")
	}
	for _, a := range list {
		if _, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "<>") {
			return fmt.Errorf("%q is not an email address", a)
		}
	}
	return nil
}

// emailBody is the report's numbers as HTML, for the body of the scheduled email.
func emailBody(r *Report, loc *time.Location) string {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, "<h2>%s</h2><p>%s · %s to %s (%s)</p>", esc(r.Name), esc(r.Workspace),
		r.From.In(loc).Format("2 Jan 2006"), r.To.Add(-time.Second).In(loc).Format("2 Jan 2006"), esc(r.Zone))
	for _, w := range r.Widgets {
		fmt.Fprintf(&b, "<h3>%s</h3>", esc(w.Title))
		if w.Error != "" {
			fmt.Fprintf(&b, "<p>Could not compute: %s</p>", esc(w.Error))
			continue
		}
		b.WriteString(`<table border="1" cellpadding="4" cellspacing="0">`)
		for _, row := range widgetTable(w) {
			b.WriteString("<tr>")
			for _, c := range row {
				b.WriteString("<td>" + esc(c) + "</td>")
			}
			b.WriteString("</tr>")
		}
		b.WriteString("</table>")
	}
	return b.String()
}

// widgetTable is a widget's numbers as rows of text, the first row a header; PDF, XLSX and email share it.
func widgetTable(w WidgetResult) [][]string {
	var rows [][]string
	switch {
	case w.Funnel != nil:
		rows = append(rows, []string{"Step", "Event", "Contacts", "Conversion", "Drop-off", "Median time"})
		for _, s := range w.Funnel.Steps {
			med := ""
			if s.MedianSeconds != nil {
				med = (time.Duration(*s.MedianSeconds) * time.Second).String()
			}
			rows = append(rows, []string{fmt.Sprint(s.Step), s.Type, fmt.Sprint(s.Count), pct(s.Conversion), fmt.Sprint(s.DropOff), med})
		}
	case w.Cohorts != nil:
		head := []string{"Cohort", "Size"}
		n := 0
		for _, c := range w.Cohorts {
			n = max(n, len(c.Values))
		}
		for i := 1; i < n; i++ {
			head = append(head, fmt.Sprintf("+%d", i))
		}
		rows = append(rows, head)
		for _, c := range w.Cohorts {
			row := []string{c.Start, fmt.Sprint(c.Size)}
			for i := 1; i < len(c.Values); i++ {
				row = append(row, fmt.Sprintf("%d (%s)", c.Values[i], pct(ratio(c.Values[i], c.Size))))
			}
			rows = append(rows, row)
		}
	case w.Heatmap != nil:
		head := []string{"Weekday"}
		for h := 0; h < 24; h++ {
			head = append(head, fmt.Sprintf("%02d", h))
		}
		rows = append(rows, head)
		for d, name := range []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} {
			row := []string{name}
			for h := 0; h < 24; h++ {
				row = append(row, fmt.Sprint(w.Heatmap[d][h]))
			}
			rows = append(rows, row)
		}
	case w.Credits != nil:
		rows = append(rows, []string{"Source", "Currency", "Purchases", "Contacts", "Revenue", "Spend", "ROI"})
		for _, c := range w.Credits {
			roi := ""
			if c.ROI != nil {
				roi = pct(*c.ROI)
			}
			rows = append(rows, []string{c.Key, c.Currency, fmt.Sprint(c.Purchases), fmt.Sprint(c.Contacts), num(&c.Revenue), num(&c.Spend), roi})
		}
	default:
		rows = append(rows, []string{"Period", "Value"})
		for i, l := range w.Labels {
			rows = append(rows, []string{l[:min(len(l), 16)], num(w.Values[i])})
		}
		rows = append(rows, []string{"Total", num(w.Total)})
	}
	return rows
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", x*100) }

func num(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return "–"
	}
	if *v == math.Trunc(*v) && math.Abs(*v) < 1e15 {
		return fmt.Sprintf("%.0f", *v)
	}
	return fmt.Sprintf("%.2f", *v)
}
