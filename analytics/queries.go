package analytics

import (
	"cmp"
	"database/sql/driver"
	"errors"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// FunnelStep is one step: an event type, optionally with conditions on its data.
type FunnelStep struct {
	Type    string   `json:"type"`
	Filter  *Filter  `json:"filter,omitempty"`
	Filters []Filter `json:"filters,omitempty"`
}

func (s FunnelStep) filters() []Filter {
	if s.Filter != nil {
		return append([]Filter{*s.Filter}, s.Filters...)
	}
	return s.Filters
}

// FunnelQuery is a funnel request.
type FunnelQuery struct {
	Steps     []FunnelStep
	From, To  time.Time
	Window    time.Duration
	Order     ia.Order
	Breakdown string // a data field of the step-1 event
}

// BreakdownRow is a funnel restricted to contacts whose counted entry had one breakdown value.
type BreakdownRow struct {
	Value string          `json:"value"`
	Steps []ia.StepResult `json:"steps"`
}

// FunnelResult answers a funnel.
type FunnelResult struct {
	Steps     []FunnelStepResult `json:"steps"`
	Breakdown []BreakdownRow     `json:"breakdown,omitempty"`
}

// FunnelStepResult is a step's answer with its type.
type FunnelStepResult struct {
	Type string `json:"type"`
	ia.StepResult
}

type fev struct {
	rowid int64
	ia.FunnelEvent
}

// Funnel loads the step events of every contact that has a step-1 event (type by type: from the event
// segments when no step needs a data field, else through the covering (workspace, type, ts, contact, data)
// index), sorts each contact's events and walks them; strict funnels also load the other types' events, since
// any event in between breaks a strict funnel. Outside a transaction the reads (and, from segments, the walks)
// are split over one connection per core.
func Funnel(app core.App, workspace string, q FunnelQuery) (*FunnelResult, error) {
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	win := q.Window.Milliseconds()
	spec := ia.FunnelSpec{Steps: len(q.Steps), From: from, To: to, Window: win, Order: q.Order}

	// The data fields each type needs: its steps' filters, and the breakdown for the step-1 type.
	fieldsOf := map[string][]string{}
	var types []string
	for k, s := range q.Steps {
		if _, ok := fieldsOf[s.Type]; !ok {
			types = append(types, s.Type)
			fieldsOf[s.Type] = nil
		}
		for _, f := range s.filters() {
			fieldsOf[s.Type] = appendOnce(fieldsOf[s.Type], f.Field)
		}
		if k == 0 && q.Breakdown != "" {
			fieldsOf[s.Type] = appendOnce(fieldsOf[s.Type], q.Breakdown)
		}
	}
	// mask computes which steps an event of typ with the given data values matches.
	mask := func(typ string, fields []string, vals []any) (uint32, string) {
		var m uint32
		get := func(field string) any {
			for i, f := range fields {
				if f == field {
					return vals[i]
				}
			}
			return nil
		}
	steps:
		for k, s := range q.Steps {
			if s.Type != typ {
				continue
			}
			for _, f := range s.filters() {
				if !f.Match(get(f.Field)) {
					continue steps
				}
			}
			m |= 1 << k
		}
		bd := ""
		if m&1 != 0 && q.Breakdown != "" {
			bd = text(get(q.Breakdown))
		}
		return m, bd
	}

	loadTypes := types
	if q.Order == ia.Strict {
		// Any event in between breaks a strict funnel, so every other type is read too (through the covering
		// index); those events match no step.
		others, err := workspaceTypes(app, workspace)
		if err != nil {
			return nil, err
		}
		for _, t := range others {
			if _, isStep := fieldsOf[t]; !isStep {
				loadTypes = append(loadTypes, t)
			}
		}
	}
	workers := 1
	if !app.IsTransactional() {
		workers = min(runtime.GOMAXPROCS(0), 4)
	}
	// Events at the same time are ordered as they happened (by rowid). A sequential funnel without breakdown
	// gives the same answer in any order of such ties (a next step must be strictly later, and tied entries
	// walk alike), so it does not read rowids.
	order := q.Order != ia.Sequential || q.Breakdown != ""
	var tasks []funnelTask
	for n, t := range loadTypes { // loadTypes[0] is step 1's
		hi := to + win
		if q.Order != ia.Strict && onlyFirst(q.Steps, t) {
			hi = to
		}
		// [from, hi] in workers slices of time, so each worker reads a share of every type.
		span := (hi - from + 1 + int64(workers) - 1) / int64(workers)
		for lo := from; lo <= hi; lo += span {
			tasks = append(tasks, funnelTask{typ: t, lo: lo, hi: min(lo+span, hi+1), fields: fieldsOf[t], first: n == 0, order: order})
		}
	}
	// Without data fields (no filter, no breakdown) the step events come from the event segments and the
	// events past their watermark, unless a bulk load the job has not reached lies past it. A funnel that needs
	// data reads every type from the rows (segments carry no data).
	needsData := false
	for _, f := range fieldsOf {
		needsData = needsData || len(f) > 0
	}
	if !needsData {
		if wm, ok := segmentsFresh(app); ok {
			masks := map[string]uint32{}
			for _, t := range loadTypes {
				masks[t], _ = mask(t, nil, nil)
			}
			total, err := segmentFunnel(app, workspace, tasks, spec, masks, wm, workers)
			if err != nil {
				return nil, err
			}
			return funnelResult(q, total, nil), nil
		}
	}
	parts := make([]*funnelPart, workers)
	errs := make([]error, workers)
	next := make(chan funnelTask, len(tasks))
	for _, t := range tasks {
		next <- t
	}
	close(next)
	var wg sync.WaitGroup
	for w := range parts {
		parts[w] = &funnelPart{ids: map[string]int32{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				if err := parts[w].load(app, workspace, t, mask); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Contacts with a step-1-type event start streams; the other events of those contacts join them.
	index := map[string]int{}
	var streams [][]fev
	for _, p := range parts {
		for i, c := range p.contacts {
			if _, ok := index[c]; !ok && p.starts[i] {
				index[c] = len(streams)
				streams = append(streams, nil)
			}
		}
	}
	for _, p := range parts {
		for i, c := range p.contacts {
			if g, ok := index[c]; ok {
				if streams[g] == nil {
					streams[g] = p.evs[i] // most contacts' events come from one part: no copy
				} else {
					streams[g] = append(streams[g], p.evs[i]...)
				}
			}
		}
	}

	total := ia.NewTally(len(q.Steps))
	groups := map[string]*ia.Tally{}
	evs := []ia.FunnelEvent{}
	for _, list := range streams {
		slices.SortFunc(list, func(a, b fev) int { return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.rowid, b.rowid)) })
		evs = evs[:0]
		for _, e := range list {
			evs = append(evs, e.FunnelEvent)
		}
		w := ia.WalkContact(evs, spec)
		if w.Depth == 0 {
			continue
		}
		total.Add(w)
		if q.Breakdown != "" {
			g := groups[w.Breakdown]
			if g == nil {
				g = ia.NewTally(len(q.Steps))
				groups[w.Breakdown] = g
			}
			g.Add(w)
		}
	}
	return funnelResult(q, total, groups), nil
}

// funnelResult shapes a funnel's tallies, overall and per breakdown value.
func funnelResult(q FunnelQuery, total *ia.Tally, groups map[string]*ia.Tally) *FunnelResult {
	res := &FunnelResult{}
	for k, r := range total.Results() {
		res.Steps = append(res.Steps, FunnelStepResult{Type: q.Steps[k].Type, StepResult: r})
	}
	if q.Breakdown != "" {
		res.Breakdown = []BreakdownRow{}
		for v, g := range groups {
			res.Breakdown = append(res.Breakdown, BreakdownRow{Value: v, Steps: g.Results()})
		}
		sort.Slice(res.Breakdown, func(i, j int) bool {
			a, b := res.Breakdown[i], res.Breakdown[j]
			if a.Steps[0].Count != b.Steps[0].Count {
				return a.Steps[0].Count > b.Steps[0].Count
			}
			return a.Value < b.Value
		})
	}
	return res
}

// funnelTask is one read of a funnel: the events of one type in [lo, hi) with the data fields its steps need.
// first marks the step-1 type, whose contacts start streams.
type funnelTask struct {
	typ    string
	lo, hi int64
	fields []string
	first  bool
	order  bool // read rowids to order events at the same time
}

// funnelPart is what one worker read: per contact (in the order first seen), its events and whether it had a
// step-1-type event.
type funnelPart struct {
	ids      map[string]int32
	contacts []string
	starts   []bool
	evs      [][]fev
}

// load reads one task's rows into p, below database/sql's row layer outside transactions (see eachValue); a
// contact's string is kept once per part.
func (p *funnelPart) load(app core.App, workspace string, t funnelTask, mask func(string, []string, []any) (uint32, string)) error {
	cols, first := "contact, ts", 2 // first: the column of the first data field
	if t.order {
		cols, first = cols+", rowid", 3
	}
	vals := make([]any, len(t.fields))
	fixed, _ := mask(t.typ, nil, nil) // the steps of every event of the type when no data field matters
	return eachValue(app, "SELECT "+cols+dataCols(t.fields)+" FROM events WHERE workspace = ? AND type = ? AND ts >= ? AND ts < ? AND contact != ''",
		[]any{workspace, t.typ, t.lo, t.hi}, func(row []driver.Value) error {
			contact, _ := row[0].(string)
			ts, _ := row[1].(int64)
			var rowid int64
			if t.order {
				rowid, _ = row[2].(int64)
			}
			i, ok := p.ids[contact]
			if !ok {
				i = int32(len(p.contacts))
				p.ids[contact] = i
				p.contacts = append(p.contacts, contact)
				p.starts = append(p.starts, false)
				p.evs = append(p.evs, nil)
			}
			if t.first {
				p.starts[i] = true
			}
			m, bd := fixed, ""
			if len(t.fields) > 0 {
				for k := range vals {
					vals[k] = row[first+k]
				}
				m, bd = mask(t.typ, t.fields, vals)
			}
			p.evs[i] = append(p.evs[i], fev{rowid, ia.FunnelEvent{TS: ts, Steps: m, Breakdown: bd}})
			return nil
		})
}

// chunks splits a set of contacts into sorted lists of at most 500, for IN lists on the (workspace, contact,
// ts) index.
func chunks(set map[string]bool) [][]string {
	list := make([]string, 0, len(set))
	for c := range set {
		list = append(list, c)
	}
	sort.Strings(list)
	var out [][]string
	for i := 0; i < len(list); i += 500 {
		out = append(out, list[i:min(i+500, len(list))])
	}
	return out
}

func onlyFirst(steps []FunnelStep, t string) bool {
	for k, s := range steps {
		if k > 0 && s.Type == t {
			return false
		}
	}
	return true
}

func appendOnce(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// RetentionQuery is a retention request; From and To bound the cohorts' first events.
type RetentionQuery struct {
	CohortEvent, ReturnEvent string
	Period                   ia.Interval
	Periods                  int
	From, To                 time.Time
	Mode                     ia.RetentionMode
}

// CohortOut is one cohort of the answer.
type CohortOut struct {
	Start  string `json:"start"`
	Size   int    `json:"size"`
	Values []int  `json:"values"`
}

// Retention finds each contact's first cohort event ever and the days of its return events: from the event
// segments, else from the rollup.
func Retention(app core.App, workspace string, q RetentionQuery, loc *time.Location, now time.Time) ([]CohortOut, error) {
	spec := ia.RetentionSpec{Period: q.Period, Periods: q.Periods, FromDay: ia.DayOf(q.From.UnixMilli(), loc),
		ToDay: ia.DayOf(q.To.UnixMilli()-1, loc), Today: ia.DayOf(now.UnixMilli(), loc), Mode: q.Mode}
	if wm, ok := segmentsFresh(app); ok {
		cohorts, err := segmentRetention(app, workspace, q, spec, loc, wm)
		if err != nil {
			return nil, err
		}
		return cohortsOut(cohorts), nil
	}
	first := map[string]ia.Day{}
	err := contactDays(app, workspace, []string{q.CohortEvent}, 0, (spec.ToDay + 1).Start(loc).UnixMilli(), loc, func(c string, d ia.Day) {
		if f, ok := first[c]; !ok || d < f {
			first[c] = d
		}
	})
	if err != nil {
		return nil, err
	}
	for c, d := range first {
		if d < spec.FromDay {
			delete(first, c)
		}
	}
	returns := map[string][]ia.Day{}
	if len(first) > 0 {
		start := ia.PeriodStart(spec.FromDay.Period(q.Period), q.Period).Start(loc).UnixMilli()
		err = contactDays(app, workspace, []string{q.ReturnEvent}, start, (spec.Today + 1).Start(loc).UnixMilli(), loc, func(c string, d ia.Day) {
			if _, ok := first[c]; ok {
				returns[c] = append(returns[c], d)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return cohortsOut(ia.Retention(first, returns, spec)), nil
}

func cohortsOut(cohorts []ia.Cohort) []CohortOut {
	out := []CohortOut{}
	for _, c := range cohorts {
		y, m, d := c.Start.Date()
		out = append(out, CohortOut{Start: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02"), Size: c.Size, Values: c.Values})
	}
	return out
}

// Heatmap counts events of types (none: all) in [from, to) per weekday and local hour: whole 15-minute slots
// come from the slot counts the rollup job keeps, the partial slots at the edges and the events past its
// watermark from the log.
func Heatmap(app core.App, workspace string, types []string, from, to time.Time, loc *time.Location) ([7][24]int64, error) {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	slo, shi := (lo+ia.SlotMillis-1)/ia.SlotMillis, hi/ia.SlotMillis // whole slots: [slo, shi)
	wm, ok := fresh(app)
	if !ok {
		slo, shi = 0, 0 // the slot counts lag a bulk load: read the log
	}
	params := dbx.Params{"ws": workspace, "lo": lo, "hi": hi, "slot": ia.SlotMillis, "slo": slo, "shi": shi,
		"elo": slo * ia.SlotMillis, "ehi": shi * ia.SlotMillis, "wm": wm}
	rollTypes, typeFilter := []string{AllTypes}, ""
	if len(types) > 0 {
		rollTypes = types
		typeFilter = " AND type IN (" + inList("t", types, params) + ")"
	}
	slots := map[int64]int64{}
	var s, n int64
	add := func() error { slots[s] += n; return nil }
	if shi > slo {
		err := each(app, "SELECT slot, n FROM analytics_slots WHERE workspace = {:ws} AND type IN ("+inList("r", rollTypes, params)+") AND slot >= {:slo} AND slot < {:shi}",
			params, []any{&s, &n}, add)
		if err != nil {
			return [7][24]int64{}, err
		}
	} else {
		params["elo"], params["ehi"] = hi, hi // no whole slot: the whole range is one edge
	}
	err := each(app, `SELECT ts / {:slot}, count(*) FROM events WHERE workspace = {:ws}`+typeFilter+` AND ts >= {:lo} AND ts < {:elo} GROUP BY 1
		UNION ALL
		SELECT ts / {:slot}, count(*) FROM events WHERE workspace = {:ws}`+typeFilter+` AND ts >= {:ehi} AND ts < {:hi} GROUP BY 1
		UNION ALL
		SELECT ts / {:slot}, count(*) FROM events NOT INDEXED WHERE rowid > {:wm} AND workspace = {:ws}`+typeFilter+` AND ts >= {:elo} AND ts < {:ehi} GROUP BY 1`,
		params, []any{&s, &n}, add)
	if err != nil {
		return [7][24]int64{}, err
	}
	return ia.Heatmap(slots, loc), nil
}

// AttributionQuery is an attribution request.
type AttributionQuery struct {
	Model     ia.Model
	Window    time.Duration
	From, To  time.Time
	ByChannel bool
}

// touchOf reads a touch from an event: its data.campaign and data.channel, else what its type implies (a QR
// scan, a Manychat flow, a booking's source).
func touchOf(typ string, campaign, channel, source, flow any) (string, string) {
	c, ch := text(campaign), text(channel)
	switch {
	case ch != "":
	case typ == "qr.scanned":
		ch = "qr"
	case strings.HasPrefix(typ, "manychat."):
		ch = "manychat"
		if c == "" {
			c = text(flow)
		}
	case strings.HasPrefix(typ, "booking."):
		ch = text(source)
		if ch == "" {
			ch = "booking"
		}
	}
	return c, ch
}

// Attribution credits purchases in [From, To) to their contacts' first or last touch within the window.
func Attribution(app core.App, workspace string, q AttributionQuery) ([]ia.Credit, error) {
	lo, hi, win := q.From.UnixMilli(), q.To.UnixMilli(), q.Window.Milliseconds()
	var purchases []ia.Purchase
	var touches []ia.Touch
	contacts := map[string]bool{}
	var contact, typ string
	var ts int64
	var value, currency, campaign, channel, source, flow any
	err := each(app, `SELECT contact, ts, json_extract(data, '$.value'), json_extract(data, '$.currency'), json_extract(data, '$.campaign'), json_extract(data, '$.channel')
		FROM events WHERE workspace = {:ws} AND type = {:t} AND ts >= {:lo} AND ts < {:hi} AND contact != ''`,
		dbx.Params{"ws": workspace, "t": PurchaseType, "lo": lo, "hi": hi}, []any{&contact, &ts, &value, &currency, &campaign, &channel}, func() error {
			v, _ := number(value)
			purchases = append(purchases, ia.Purchase{Contact: contact, TS: ts, Value: v, Currency: strings.ToUpper(text(currency))})
			contacts[contact] = true
			return nil
		})
	if err != nil {
		return nil, err
	}
	for _, chunk := range chunks(contacts) {
		p := dbx.Params{"ws": workspace, "lo": lo - win, "hi": hi}
		in := inList("c", chunk, p)
		err := each(app, `SELECT contact, ts, type, json_extract(data, '$.campaign'), json_extract(data, '$.channel'), json_extract(data, '$.source'), json_extract(data, '$.flow')
			FROM events WHERE workspace = {:ws} AND contact IN (`+in+`) AND ts >= {:lo} AND ts < {:hi} ORDER BY contact, ts`,
			p, []any{&contact, &ts, &typ, &campaign, &channel, &source, &flow}, func() error {
				c, ch := touchOf(typ, campaign, channel, source, flow)
				if c != "" || ch != "" {
					touches = append(touches, ia.Touch{Contact: contact, TS: ts, Campaign: c, Channel: ch})
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	spend := map[string]float64{}
	key := "$.campaign"
	if q.ByChannel {
		key = "$.channel"
	}
	var k any
	err = each(app, "SELECT json_extract(data, '"+key+"'), json_extract(data, '$.value') FROM events WHERE workspace = {:ws} AND type = {:t} AND ts >= {:lo} AND ts < {:hi}",
		dbx.Params{"ws": workspace, "t": SpendType, "lo": lo, "hi": hi}, []any{&k, &value}, func() error {
			if v, ok := number(value); ok && text(k) != "" {
				spend[text(k)] += v
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return ia.Attribute(purchases, touches, q.Model, win, q.ByChannel, spend), nil
}
