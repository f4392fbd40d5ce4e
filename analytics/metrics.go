package analytics

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/playgram/playgram/collections"
	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// MetricDef is what a series computes: events of Types (none: every type) passing Filters, reduced per bucket
// by Agg (over the data Field for value aggregations). A ratio KPI divides Num by Den.
type MetricDef struct {
	Name     string     `json:"name"`
	Label    string     `json:"label,omitempty"`
	Types    []string   `json:"types,omitempty"`
	Filters  []Filter   `json:"filters,omitempty"`
	Agg      ia.Agg     `json:"aggregation"`
	Field    string     `json:"field,omitempty"`
	Num, Den *MetricDef `json:"-"`
	Percent  bool       `json:"-"`
}

func count(types ...string) *MetricDef   { return &MetricDef{Types: types, Agg: ia.AggCount} }
func uniques(types ...string) *MetricDef { return &MetricDef{Types: types, Agg: ia.AggUnique} }
func sum(field string, types ...string) *MetricDef {
	return &MetricDef{Types: types, Agg: ia.AggSum, Field: field}
}

// KPIs are the predefined metrics, by name.
var KPIs = map[string]MetricDef{
	"new_contacts":    {Label: "New contacts", Types: []string{"contact.created"}, Agg: ia.AggCount},
	"active_contacts": {Label: "Active contacts (any event)", Agg: ia.AggUnique},
	// Engaged: contacts who acted themselves (messages, scans, bookings, purchases) over all active contacts.
	"engagement_rate": {Label: "Engagement rate", Agg: ia.AggRatio, Percent: true,
		Num: uniques("manychat.message", "manychat.flow_started", "qr.scanned", "booking.created", PurchaseType), Den: uniques()},
	"scans":    {Label: "QR scans", Types: []string{"qr.scanned"}, Agg: ia.AggCount},
	"bookings": {Label: "Bookings", Types: []string{"booking.created"}, Agg: ia.AggCount},
	// Booking conversion: contacts who booked over contacts who scanned a code or started a flow.
	"booking_conversion": {Label: "Booking conversion", Agg: ia.AggRatio, Percent: true,
		Num: uniques("booking.created"), Den: uniques("qr.scanned", "manychat.flow_started")},
	"verification_success": {Label: "Verification success", Agg: ia.AggRatio, Percent: true,
		Num: count("verification.passed"), Den: count("verification.passed", "verification.failed")},
	"webhook_success": {Label: "Webhook delivery success", Agg: ia.AggRatio, Percent: true,
		Num: count("webhook.delivered"), Den: count("webhook.delivered", "webhook.failed")},
	"ai_spend": {Label: "AI spend", Types: []string{"ai.reply", "ai.usage"}, Agg: ia.AggSum, Field: "cost"},
	"revenue":  {Label: "Revenue", Types: []string{PurchaseType}, Agg: ia.AggSum, Field: "value"},
}

// KPINames lists the KPIs in a stable order.
func KPINames() []string {
	out := make([]string, 0, len(KPIs))
	for k := range KPIs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LoadMetric resolves a KPI name or a metrics record id of workspace.
func LoadMetric(app core.App, workspace, ref string) (MetricDef, error) {
	if d, ok := KPIs[ref]; ok {
		d.Name = ref
		return d, nil
	}
	rec, err := app.FindRecordById(collections.Metrics, ref)
	if err != nil || rec.GetString("workspace") != workspace {
		return MetricDef{}, fmt.Errorf("no KPI or metric %q", ref)
	}
	return MetricFromRecord(rec)
}

// MetricFromRecord reads a metrics record.
func MetricFromRecord(rec *core.Record) (MetricDef, error) {
	d := MetricDef{Name: rec.Id, Label: rec.GetString("name"), Agg: ia.Agg(rec.GetString("aggregation")), Field: rec.GetString("field")}
	if err := rec.UnmarshalJSONField("types", &d.Types); err != nil {
		return d, err
	}
	if err := rec.UnmarshalJSONField("filters", &d.Filters); err != nil {
		return d, err
	}
	return d, d.Validate()
}

// Validate checks an admin-defined metric.
func (d MetricDef) Validate() error {
	for _, t := range d.Types {
		if !ValidType(t) {
			return fieldErr("types", "%q is not an event type (a.b, lowercase)", t)
		}
	}
	if !slices.Contains(ia.Aggs, d.Agg) {
		return fieldErr("aggregation", "must be one of count, unique_contacts, sum, avg, median, p90")
	}
	if d.Agg.NeedsField() && !ValidField(d.Field) {
		return fieldErr("field", "%s needs a numeric data field", d.Agg)
	}
	for i, f := range d.Filters {
		if err := f.Validate(); err != nil {
			return fieldErr("filters", "filter %d: %v", i+1, err)
		}
	}
	return nil
}

// FieldError names the input field a problem is about.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{field, fmt.Sprintf(format, args...)}
}

// Series computes one value per bucket (nil where the aggregation has no value, e.g. an average of nothing).
func Series(app core.App, workspace string, d MetricDef, bs []ia.Bucket, loc *time.Location) ([]*float64, error) {
	out := make([]*float64, len(bs))
	if len(bs) == 0 {
		return out, nil
	}
	if d.Agg == ia.AggRatio {
		num, err := Series(app, workspace, *d.Num, bs, loc)
		if err != nil {
			return nil, err
		}
		den, err := Series(app, workspace, *d.Den, bs, loc)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if num[i] != nil && den[i] != nil && *den[i] != 0 {
				v := *num[i] / *den[i]
				if d.Percent {
					v = float64(int64(v*10000+0.5)) / 100
				}
				out[i] = &v
			}
		}
		return out, nil
	}
	if d.Agg == ia.AggUnique && len(d.Filters) == 0 && dayAligned(bs, loc) {
		return uniqueFromRollup(app, workspace, d.Types, bs, loc)
	}
	if wm, ok := fresh(app); ok && d.Agg == ia.AggCount && len(d.Filters) == 0 && slotAligned(bs) {
		return countFromSlots(app, workspace, d.Types, bs, wm)
	}
	types := d.Types
	if len(types) == 0 {
		var err error
		if types, err = workspaceTypes(app, workspace); err != nil {
			return nil, err
		}
		if len(types) == 0 {
			return zeroes(d.Agg, out), nil
		}
	}
	lo, hi := bs[0].Start.UnixMilli(), bs[len(bs)-1].End.UnixMilli()
	params := dbx.Params{"ws": workspace, "lo": lo, "hi": hi}
	typeIn := inList("t", types, params)
	where := "workspace = {:ws} AND type IN (" + typeIn + ") AND ts >= {:lo} AND ts < {:hi}"

	switch {
	case d.Agg == ia.AggCount && len(d.Filters) == 0:
		// Buckets off the 15-minute grid: counting an index range happens inside SQLite.
		q := app.DB().NewQuery("SELECT count(*) FROM events WHERE workspace = {:ws} AND type IN (" + typeIn + ") AND ts >= {:lo} AND ts < {:hi}").Prepare()
		defer q.Close()
		for i, b := range bs {
			params["lo"], params["hi"] = b.Start.UnixMilli(), b.End.UnixMilli()
			var n float64
			if err := q.Bind(params).Row(&n); err != nil {
				return nil, err
			}
			out[i] = &n
		}
		return out, nil
	}

	fields := []string{}
	if d.Agg.NeedsField() {
		fields = append(fields, d.Field)
	}
	for _, f := range d.Filters {
		fields = append(fields, f.Field)
	}
	// Rows come from the covering (workspace, type, ts, contact, data) index; filters SQLite can test exactly
	// are tested there, so only matching rows reach Go.
	var ts int64
	var contact string
	vals := make([]any, len(fields))
	dest, cols := []any{&ts}, "ts"
	if d.Agg == ia.AggUnique {
		dest, cols = append(dest, &contact), "ts, contact"
	}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	counts := make([]float64, len(bs))
	sets := make([]map[string]struct{}, len(bs))
	values := make([][]float64, len(bs))
	off := 0
	if d.Agg.NeedsField() {
		off = 1
	}
	where += sqlConds(d.Filters, params, "f")
	err := each(app, "SELECT "+cols+dataCols(fields)+" FROM events WHERE "+where, params, dest, func() error {
		for i, f := range d.Filters {
			if !f.Match(vals[off+i]) {
				return nil
			}
		}
		b := ia.Index(bs, ts)
		if b < 0 {
			return nil
		}
		switch {
		case d.Agg == ia.AggCount:
			counts[b]++
		case d.Agg == ia.AggUnique:
			if contact == "" {
				return nil
			}
			if sets[b] == nil {
				sets[b] = map[string]struct{}{}
			}
			sets[b][contact] = struct{}{}
		default:
			if v, ok := number(vals[0]); ok {
				values[b] = append(values[b], v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		switch d.Agg {
		case ia.AggCount:
			v := counts[i]
			out[i] = &v
		case ia.AggUnique:
			v := float64(len(sets[i]))
			out[i] = &v
		default:
			out[i] = ia.Reduce(d.Agg, values[i])
		}
	}
	return out, nil
}

func zeroes(a ia.Agg, out []*float64) []*float64 {
	for i := range out {
		out[i] = ia.Reduce(a, nil)
	}
	return out
}

// dayAligned reports whether every bucket starts at a local midnight (day, week and month series).
func dayAligned(bs []ia.Bucket, loc *time.Location) bool {
	for _, b := range bs {
		if t := b.Start.In(loc); t.Hour() != 0 || t.Minute() != 0 {
			return false
		}
	}
	return true
}

// uniqueFromRollup counts distinct contacts per day-aligned bucket inside SQLite: the rollup's contacts of
// those days, united with the contacts of events past its watermark. types nil means every type (the rollup's
// AllTypes rows). Without a rollup in loc's zone it reads the events.
func uniqueFromRollup(app core.App, workspace string, types []string, bs []ia.Bucket, loc *time.Location) ([]*float64, error) {
	out := make([]*float64, len(bs))
	wm, ok := fresh(app)
	if !ok || rollupZone(app, workspace) != loc.String() {
		if types == nil {
			var err error
			if types, err = workspaceTypes(app, workspace); err != nil {
				return nil, err
			}
		}
		sets := make([]map[string]struct{}, len(bs))
		lo, hi := bs[0].Start.UnixMilli(), bs[len(bs)-1].End.UnixMilli()
		err := contactDays(app, workspace, types, lo, hi, loc, func(contact string, day ia.Day) {
			b := ia.Index(bs, day.Start(loc).UnixMilli())
			if b < 0 {
				return
			}
			if sets[b] == nil {
				sets[b] = map[string]struct{}{}
			}
			sets[b][contact] = struct{}{}
		})
		if err != nil {
			return nil, err
		}
		for i := range out {
			v := float64(len(sets[i]))
			out[i] = &v
		}
		return out, nil
	}
	params := dbx.Params{"ws": workspace, "wm": wm}
	rollTypes, tailFilter := []string{AllTypes}, ""
	if types != nil {
		rollTypes = types
		tailFilter = " AND type IN (" + inList("e", types, params) + ")"
	}
	rollIn := inList("r", rollTypes, params)
	// Which buckets have events the rollup has not seen: only those need the union with the log.
	lo, hi := bs[0].Start.UnixMilli(), bs[len(bs)-1].End.UnixMilli()
	params["lo"], params["hi"] = lo, hi
	tail := make([]bool, len(bs))
	var ts int64
	err := each(app, "SELECT ts FROM events NOT INDEXED WHERE rowid > {:wm} AND workspace = {:ws}"+tailFilter+" AND ts >= {:lo} AND ts < {:hi} AND contact != ''",
		params, []any{&ts}, func() error {
			if i := ia.Index(bs, ts); i >= 0 {
				tail[i] = true
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	distinct := "count(DISTINCT contact)"
	if len(rollTypes) == 1 {
		distinct = "count(*)" // one row per contact and period already
	}
	union := app.DB().NewQuery(`SELECT count(*) FROM (
			SELECT contact FROM analytics_daily WHERE workspace = {:ws} AND type IN (` + rollIn + `) AND day >= {:dlo} AND day < {:dhi}
			UNION
			SELECT contact FROM events NOT INDEXED WHERE rowid > {:wm} AND workspace = {:ws}` + tailFilter + ` AND ts >= {:lo} AND ts < {:hi} AND contact != '')`).Prepare()
	defer union.Close()
	days := app.DB().NewQuery("SELECT count(DISTINCT contact) FROM analytics_daily WHERE workspace = {:ws} AND type IN (" + rollIn + ") AND day >= {:dlo} AND day < {:dhi}").Prepare()
	defer days.Close()
	oneDay := app.DB().NewQuery("SELECT " + distinct + " FROM analytics_daily WHERE workspace = {:ws} AND type IN (" + rollIn + ") AND day = {:dlo}").Prepare()
	defer oneDay.Close()
	onePeriod := app.DB().NewQuery("SELECT " + distinct + " FROM analytics_periods WHERE workspace = {:ws} AND type IN (" + rollIn + ") AND grain = {:g} AND period = {:p}").Prepare()
	defer onePeriod.Close()
	for i, b := range bs {
		dlo, dhi := ia.DayOf(b.Start.UnixMilli(), loc), ia.DayOf(b.End.UnixMilli(), loc)
		params["dlo"], params["dhi"] = int64(dlo), int64(dhi)
		params["lo"], params["hi"] = b.Start.UnixMilli(), b.End.UnixMilli()
		q := days
		switch {
		case tail[i]:
			q = union
		case dhi == dlo+1:
			q = oneDay
		default:
			for _, g := range []ia.Interval{ia.Weekly, ia.Monthly} {
				if p := dlo.Period(g); ia.PeriodStart(p, g) == dlo && ia.PeriodStart(p+1, g) == dhi {
					q = onePeriod
					params["g"], params["p"] = string(g), p
				}
			}
		}
		var n float64
		if err := q.Bind(params).Row(&n); err != nil {
			return nil, err
		}
		out[i] = &n
	}
	return out, nil
}

// slotAligned reports whether every bucket boundary lies on the 15-minute grid of the slot counts (true for
// every calendar bucket: zone offsets are multiples of 15 minutes).
func slotAligned(bs []ia.Bucket) bool {
	for _, b := range bs {
		if b.Start.UnixMilli()%ia.SlotMillis != 0 || b.End.UnixMilli()%ia.SlotMillis != 0 {
			return false
		}
	}
	return true
}

// countFromSlots counts events per bucket from the slot counts the rollup job keeps (a year of one type is at
// most 35,040 rows, however many events it holds), plus the events past its watermark.
func countFromSlots(app core.App, workspace string, types []string, bs []ia.Bucket, wm int64) ([]*float64, error) {
	lo, hi := bs[0].Start.UnixMilli(), bs[len(bs)-1].End.UnixMilli()
	params := dbx.Params{"ws": workspace, "slo": lo / ia.SlotMillis, "shi": hi / ia.SlotMillis, "lo": lo, "hi": hi, "wm": wm}
	rollTypes, tailFilter := []string{AllTypes}, ""
	if len(types) > 0 {
		rollTypes = types
		tailFilter = " AND type IN (" + inList("e", types, params) + ")"
	}
	counts := make([]float64, len(bs))
	var slot, n int64
	err := each(app, "SELECT slot, n FROM analytics_slots WHERE workspace = {:ws} AND type IN ("+inList("r", rollTypes, params)+") AND slot >= {:slo} AND slot < {:shi}",
		params, []any{&slot, &n}, func() error {
			if i := ia.Index(bs, slot*ia.SlotMillis); i >= 0 {
				counts[i] += float64(n)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	var ts int64
	err = each(app, "SELECT ts FROM events NOT INDEXED WHERE rowid > {:wm} AND workspace = {:ws}"+tailFilter+" AND ts >= {:lo} AND ts < {:hi}",
		params, []any{&ts}, func() error {
			if i := ia.Index(bs, ts); i >= 0 {
				counts[i]++
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	out := make([]*float64, len(bs))
	for i := range out {
		out[i] = &counts[i]
	}
	return out, nil
}
