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

// Funnel loads the step events of every contact that has a step-1 event (type by type, from the event segments
// plus the events past their watermark, or, for types whose steps filter on data or break down by it, through
// the covering (workspace, type, ts, contact, data) index), sorts each contact's events and walks them; strict
// funnels also load the other types' events, since any event in between breaks a strict funnel. Outside a
// transaction the reads are split by time over one connection per core.
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
	// Types whose steps need no data field (no filter, no breakdown) are read from the event segments up to
	// their watermark, plus one scan of the events past it; the others, and every type while a bulk load lies
	// past the watermark, from the rows.
	wm, segs := segmentsFresh(app)
	var tasks []funnelTask
	tail := funnelTask{tail: map[string]funnelTask{}}
	for n, t := range loadTypes { // loadTypes[0] is step 1's
		hi := to + win
		if q.Order != ia.Strict && onlyFirst(q.Steps, t) {
			hi = to
		}
		seg := segs && len(fieldsOf[t]) == 0
		if seg {
			tail.tail[t] = funnelTask{typ: t, lo: from, hi: hi + 1, first: n == 0}
		}
		// [from, hi] in workers slices of time, so each worker reads a share of every type.
		span := (hi - from + 1 + int64(workers) - 1) / int64(workers)
		for lo := from; lo <= hi; lo += span {
			tasks = append(tasks, funnelTask{typ: t, lo: lo, hi: min(lo+span, hi+1), fields: fieldsOf[t], first: n == 0, order: order, seg: seg, wm: wm})
		}
	}
	if len(tail.tail) > 0 {
		tail.wm = wm
		tasks = append(tasks, tail)
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
	return res, nil
}

// funnelTask is one read of a funnel: the events of one type in [lo, hi) with the data fields its steps need.
// first marks the step-1 type, whose contacts start streams. A seg task reads the type's segments up to the
// watermark wm; the tail task reads the events past wm of every seg type (tail: per type, its whole range).
type funnelTask struct {
	typ    string
	lo, hi int64
	fields []string
	first  bool
	order  bool // read rowids to order events at the same time
	seg    bool
	wm     int64
	tail   map[string]funnelTask
}

// funnelPart is what one worker read: per contact (in the order first seen), its events and whether it had a
// step-1-type event.
type funnelPart struct {
	ids      map[string]int32
	contacts []string
	starts   []bool
	evs      [][]fev
	segs     segmentReader
	local    []int32 // the current segment's contacts' indexes in the part (-1: not looked up yet)
}

// index is the part's index of contact, added if new (the string is copied only then).
func (p *funnelPart) index(contact []byte) int32 {
	if i, ok := p.ids[string(contact)]; ok {
		return i
	}
	return p.add(string(contact))
}

// add adds a contact the part does not have yet.
func (p *funnelPart) add(contact string) int32 {
	i := int32(len(p.contacts))
	p.ids[contact] = i
	p.contacts = append(p.contacts, contact)
	p.starts = append(p.starts, false)
	p.evs = append(p.evs, nil)
	return i
}

// load reads one task's rows into p, below database/sql's row layer outside transactions (see eachValue); a
// contact's string is kept once per part.
func (p *funnelPart) load(app core.App, workspace string, t funnelTask, mask func(string, []string, []any) (uint32, string)) error {
	if t.tail != nil {
		return p.loadTail(app, workspace, t, mask)
	}
	fixed, _ := mask(t.typ, nil, nil) // the steps of every event of the type when no data field matters
	if t.seg {
		return p.segs.read(app, workspace, t.typ, t.lo, t.hi, t.wm, func(contacts [][]byte) {
			p.local = p.local[:0]
			for range contacts {
				p.local = append(p.local, -1)
			}
		}, func(c int, ts, rowid int64) {
			i := p.local[c]
			if i < 0 {
				i = p.index(p.segs.dec.Contacts()[c])
				p.local[c] = i
			}
			if t.first {
				p.starts[i] = true
			}
			p.evs[i] = append(p.evs[i], fev{rowid, ia.FunnelEvent{TS: ts, Steps: fixed}})
		})
	}
	cols, first := "contact, ts", 2 // first: the column of the first data field
	if t.order {
		cols, first = cols+", rowid", 3
	}
	vals := make([]any, len(t.fields))
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
				i = p.add(contact)
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

// loadTail reads the events past the segments' watermark of the types read from segments, in one scan of
// the log's tail.
func (p *funnelPart) loadTail(app core.App, workspace string, t funnelTask, mask func(string, []string, []any) (uint32, string)) error {
	types := make([]string, 0, len(t.tail))
	masks := map[string]uint32{}
	lo, hi := int64(0), int64(0)
	for typ, r := range t.tail {
		if len(types) == 0 {
			lo, hi = r.lo, r.hi
		}
		types = append(types, typ)
		masks[typ], _ = mask(typ, nil, nil)
		lo, hi = min(lo, r.lo), max(hi, r.hi)
	}
	args := []any{t.wm, workspace, lo, hi}
	for _, typ := range types {
		args = append(args, typ)
	}
	return eachValue(app, "SELECT type, contact, ts, rowid FROM events NOT INDEXED WHERE rowid > ? AND workspace = ? AND ts >= ? AND ts < ? AND contact != '' AND type IN (?"+
		strings.Repeat(", ?", len(types)-1)+")", args, func(row []driver.Value) error {
		typ, _ := row[0].(string)
		ts, _ := row[2].(int64)
		r := t.tail[typ]
		if ts < r.lo || ts >= r.hi {
			return nil
		}
		contact, _ := row[1].(string)
		rowid, _ := row[3].(int64)
		i, ok := p.ids[contact]
		if !ok {
			i = p.add(contact)
		}
		if r.first {
			p.starts[i] = true
		}
		p.evs[i] = append(p.evs[i], fev{rowid, ia.FunnelEvent{TS: ts, Steps: masks[typ]}})
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

// Retention finds each contact's first cohort event ever (from the rollup) and the days of its return events.
func Retention(app core.App, workspace string, q RetentionQuery, loc *time.Location, now time.Time) ([]CohortOut, error) {
	spec := ia.RetentionSpec{Period: q.Period, Periods: q.Periods, FromDay: ia.DayOf(q.From.UnixMilli(), loc),
		ToDay: ia.DayOf(q.To.UnixMilli()-1, loc), Today: ia.DayOf(now.UnixMilli(), loc), Mode: q.Mode}
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
	out := []CohortOut{}
	for _, c := range ia.Retention(first, returns, spec) {
		y, m, d := c.Start.Date()
		out = append(out, CohortOut{Start: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02"), Size: c.Size, Values: c.Values})
	}
	return out, nil
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
