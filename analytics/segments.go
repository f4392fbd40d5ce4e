package analytics

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Event segments (analytics_segments) hold, per workspace, event type and UTC day, that day's events with a
// contact as one compact blob (ia.AppendSegment: contact number, time and rowid per event). Funnels and
// retention decode them instead of reading one index row per event, which in the pure-Go SQLite costs about
// a microsecond a row. Contacts are numbered densely per workspace (analytics_contacts), so readers index
// arrays by contact instead of hashing contact ids; only the few events past the watermark need their
// contacts' numbers looked up.
//
// The rollup job keeps them with its own watermark, seg_watermark: it finds the (workspace, type, day) keys of
// the events past it, rebuilds each such segment whole from the covering index, and moves the watermark only
// when all are rebuilt. So at every commit, every segment holds every event of its key with a rowid up to the
// watermark (and maybe later ones), and every such event's contact has a number below the workspace's next
// number. Readers read the watermark W first, keep the segments' events with rowid <= W, and read the events
// past W from the log (the tail); a segment rebuilt after W was read only has more events past W, which they
// drop. Segments are in UTC days, so a workspace's zone change does not touch them. Erasing a contact takes
// its events out of the segments and its number out of analytics_contacts in the erasing transaction
// (ForgetContact).

// dayMillis is the length of a UTC day in milliseconds.
const dayMillis = 86_400_000

// utcDay is the UTC day (days since 1970-01-01) of a unix millisecond time.
func utcDay(ts int64) int64 {
	d := ts / dayMillis
	if ts%dayMillis < 0 {
		d--
	}
	return d
}

// segmentsOn lets tests compare the segment readers with the row path.
var segmentsOn = true

// One rebuild transaction stops after segTxEvents events or segTxTime, so the job holds the single writer for
// well under half a second at a time, commit included, even on a loaded machine (one day's events of one type
// are always rebuilt together; at 10M events in a workspace the largest day of a type has ~10,000).
const (
	segTxEvents = 60_000
	segTxTime   = 150 * time.Millisecond
)

func segWatermark(app core.App) int64 {
	n, _ := strconv.ParseInt(state(app, "seg_watermark"), 10, 64)
	return n
}

// nextNumber is the number the workspace's next new contact gets in segments.
func nextNumber(app core.App, workspace string) uint32 {
	n, _ := strconv.ParseUint(state(app, "seg_contacts:"+workspace), 10, 32)
	return uint32(n)
}

// segmentsFresh reports whether readers can use the segments plus a scan of the events past their watermark,
// with the watermark: not when a bulk load the job has not reached lies past it (they read rows instead).
func segmentsFresh(app core.App) (int64, bool) {
	if !segmentsOn {
		return 0, false
	}
	return nearTop(app, segWatermark(app))
}

type segKey struct {
	ws, typ string
	day     int64
}

// SegmentRun is what one BuildSegments did.
type SegmentRun struct {
	Segments     int           // segments rebuilt
	Events       int           // events in them
	Transactions int           // write transactions
	Longest      time.Duration // the longest of them, commit included
}

// BuildSegments brings the event segments up to the newest event: it finds the keys of the events past
// seg_watermark (one scan of that tail), rebuilds each of those segments once, in write transactions of
// bounded size, and then moves the watermark. RunRollup calls it.
func BuildSegments(ctx context.Context, app core.App) (SegmentRun, error) {
	return buildSegments(ctx, app, true)
}

func buildSegments(ctx context.Context, app core.App, advance bool) (SegmentRun, error) {
	var run SegmentRun
	wm := segWatermark(app)
	var top int64
	if err := app.DB().NewQuery("SELECT coalesce(max(rowid), 0) FROM events").Row(&top); err != nil {
		return run, err
	}
	if top <= wm {
		return run, nil
	}
	// The rows up to top do not change (the log is append-only; an erasure fixes the segments it touches
	// itself), so the keys are read outside the writer.
	touched := map[segKey]struct{}{}
	var last segKey
	err := eachValue(app, "SELECT workspace, type, ts FROM events NOT INDEXED WHERE rowid > ? AND rowid <= ?", []any{wm, top}, func(row []driver.Value) error {
		ws, _ := row[0].(string)
		typ, _ := row[1].(string)
		ts, _ := row[2].(int64)
		if k := (segKey{ws, typ, utcDay(ts)}); k != last {
			touched[k] = struct{}{}
			last = k
		}
		return nil
	})
	if err != nil {
		return run, err
	}
	keys := sortedKeys(touched, func(a, b segKey) int {
		return cmp.Or(strings.Compare(a.ws, b.ws), strings.Compare(a.typ, b.typ), cmp.Compare(a.day, b.day))
	})
	var b segBuilder
	for run.Segments < len(keys) {
		if ctx.Err() != nil {
			return run, nil // the watermark stays; the next run rebuilds these keys again
		}
		var start time.Time
		err := platform.WriteTx(app, func(tx core.App) error {
			start = time.Now()
			events := 0
			for run.Segments < len(keys) && (events == 0 || events < segTxEvents && time.Since(start) < segTxTime) {
				n, err := b.rebuild(tx, keys[run.Segments])
				if err != nil {
					return err
				}
				events += n + 1
				run.Events += n
				run.Segments++
			}
			return nil
		})
		run.Transactions++
		run.Longest = max(run.Longest, time.Since(start))
		if err != nil {
			return run, err
		}
	}
	if !advance {
		return run, nil
	}
	return run, platform.WriteTx(app, func(tx core.App) error { return setState(tx, "seg_watermark", strconv.FormatInt(top, 10)) })
}

// segBuilder rebuilds segments, reusing its buffers and the contact numbers it has seen in this run (a number
// never changes; an erased contact's number is dropped, but its id never appears in new events).
type segBuilder struct {
	ws      string
	numbers map[string]uint32 // of ws
	rows    []segRow
	evs     []ia.SegmentEvent
	data    []byte
}

type segRow struct {
	contact   string
	ts, rowid int64
}

// rebuild rewrites the segment of k from the events (through tx, so it sees every committed write) and
// returns its number of events. A key without events loses its row.
func (b *segBuilder) rebuild(tx core.App, k segKey) (int, error) {
	b.rows = b.rows[:0]
	var upto int64
	err := eachValue(tx, "SELECT contact, ts, rowid FROM events WHERE workspace = ? AND type = ? AND ts >= ? AND ts < ? AND contact != ''",
		[]any{k.ws, k.typ, k.day * dayMillis, (k.day + 1) * dayMillis}, func(row []driver.Value) error {
			c, _ := row[0].(string)
			ts, _ := row[1].(int64)
			rowid, _ := row[2].(int64)
			upto = max(upto, rowid)
			b.rows = append(b.rows, segRow{c, ts, rowid})
			return nil
		})
	if err != nil {
		return 0, err
	}
	params := dbx.Params{"ws": k.ws, "t": k.typ, "d": k.day}
	if len(b.rows) == 0 {
		_, err := tx.DB().NewQuery("DELETE FROM analytics_segments WHERE workspace = {:ws} AND type = {:t} AND day = {:d}").Bind(params).Execute()
		return 0, err
	}
	if k.ws != b.ws || b.numbers == nil {
		b.ws, b.numbers = k.ws, map[string]uint32{}
	}
	var missing []string
	for _, r := range b.rows {
		if _, ok := b.numbers[r.contact]; !ok {
			b.numbers[r.contact] = 0 // placeholder, so each is asked for once
			missing = append(missing, r.contact)
		}
	}
	if err := b.number(tx, missing); err != nil {
		return 0, err
	}
	b.evs = b.evs[:0]
	for _, r := range b.rows {
		b.evs = append(b.evs, ia.SegmentEvent{Contact: b.numbers[r.contact], TS: r.ts, RowID: r.rowid})
	}
	b.data = ia.AppendSegment(b.data[:0], b.evs)
	params["upto"], params["n"], params["data"] = upto, len(b.evs), b.data
	_, err = tx.DB().NewQuery(`INSERT INTO analytics_segments (workspace, type, day, upto, n, data) VALUES ({:ws}, {:t}, {:d}, {:upto}, {:n}, {:data})
		ON CONFLICT (workspace, type, day) DO UPDATE SET upto = excluded.upto, n = excluded.n, data = excluded.data`).Bind(params).Execute()
	return len(b.evs), err
}

// number sets b.numbers for contacts of b.ws: their numbers from analytics_contacts, or new ones.
func (b *segBuilder) number(tx core.App, contacts []string) error {
	if len(contacts) == 0 {
		return nil
	}
	found, err := lookupNumbers(tx, b.ws, contacts)
	if err != nil {
		return err
	}
	var rows [][]any
	next := nextNumber(tx, b.ws)
	for _, c := range contacts {
		if n, ok := found[c]; ok {
			b.numbers[c] = n
			continue
		}
		if next == 1<<32-1 {
			return errors.New("analytics: a workspace has more contacts than segments can number")
		}
		b.numbers[c] = next
		rows = append(rows, []any{b.ws, c, next})
		next++
	}
	if len(rows) == 0 {
		return nil
	}
	if err := execRows(tx, "INSERT INTO analytics_contacts (workspace, contact, id) VALUES ", "(?, ?, ?)", "", rows); err != nil {
		return err
	}
	return setState(tx, "seg_contacts:"+b.ws, strconv.FormatUint(uint64(next), 10))
}

// lookupNumbers reads the segment numbers of contacts of workspace that have one.
func lookupNumbers(app core.App, workspace string, contacts []string) (map[string]uint32, error) {
	found := make(map[string]uint32, len(contacts))
	for i := 0; i < len(contacts); i += 500 {
		chunk := contacts[i:min(i+500, len(contacts))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, workspace)
		for _, c := range chunk {
			args = append(args, c)
		}
		err := eachValue(app, "SELECT contact, id FROM analytics_contacts WHERE workspace = ? AND contact IN (?"+strings.Repeat(", ?", len(chunk)-1)+")",
			args, func(row []driver.Value) error {
				c, _ := row[0].(string)
				n, _ := row[1].(int64)
				found[c] = uint32(n)
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// ForgetContact takes a contact out of the analytics tables that name contacts, inside the transaction that
// erases it (exports.Erase): its events leave the segments and its number analytics_contacts, and its rollup
// rows (daily, weekly and monthly activity) are deleted. Answers read from them then agree with answers read
// from the anonymised events.
func ForgetContact(tx core.App, workspace, contact string) error {
	if contact == "" {
		return nil
	}
	keys := map[segKey]struct{}{}
	types := []string{AllTypes}
	var typ string
	var ts int64
	params := dbx.Params{"ws": workspace, "c": contact}
	err := each(tx, "SELECT type, ts FROM events WHERE workspace = {:ws} AND contact = {:c}", params, []any{&typ, &ts}, func() error {
		keys[segKey{workspace, typ, utcDay(ts)}] = struct{}{}
		types = appendOnce(types, typ)
		return nil
	})
	if err != nil {
		return err
	}
	if found, err := lookupNumbers(tx, workspace, []string{contact}); err != nil {
		return err
	} else if number, ok := found[contact]; ok {
		for k := range keys {
			if err := dropFromSegment(tx, k, number); err != nil {
				return fmt.Errorf("analytics segment %s/%s/%d: %w", k.ws, k.typ, k.day, err)
			}
		}
		if _, err := tx.DB().NewQuery("DELETE FROM analytics_contacts WHERE workspace = {:ws} AND contact = {:c}").Bind(params).Execute(); err != nil {
			return err
		}
	}
	// The rollup's rows of the contact, found through its (workspace, type, contact, day) index; its period rows
	// are keyed by the periods of those days.
	in := inList("t", types, params)
	type dayRow struct {
		Type string `db:"type"`
		Day  int64  `db:"day"`
	}
	var days []dayRow
	if err := tx.DB().NewQuery("SELECT type, day FROM analytics_daily WHERE workspace = {:ws} AND type IN (" + in + ") AND contact = {:c}").
		Bind(params).All(&days); err != nil {
		return err
	}
	if _, err := tx.DB().NewQuery("DELETE FROM analytics_daily WHERE workspace = {:ws} AND type IN (" + in + ") AND contact = {:c}").Bind(params).Execute(); err != nil {
		return err
	}
	del := tx.DB().NewQuery("DELETE FROM analytics_periods WHERE workspace = {:ws} AND type = {:t} AND grain = {:g} AND period = {:p} AND contact = {:c}").Prepare()
	defer del.Close()
	for _, d := range days {
		for _, g := range []ia.Interval{ia.Weekly, ia.Monthly} {
			if _, err := del.Bind(dbx.Params{"ws": workspace, "t": d.Type, "g": string(g), "p": ia.Day(d.Day).Period(g), "c": contact}).Execute(); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropFromSegment rewrites k's segment without the events of contact number c.
func dropFromSegment(tx core.App, k segKey, c uint32) error {
	params := dbx.Params{"ws": k.ws, "t": k.typ, "d": k.day}
	var data []byte
	err := tx.DB().NewQuery("SELECT data FROM analytics_segments WHERE workspace = {:ws} AND type = {:t} AND day = {:d}").Bind(params).Row(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no segment yet: its events are all past the watermark
	} else if err != nil {
		return err
	}
	var d ia.SegmentDecoder
	var kept []ia.SegmentEvent
	var upto int64
	if err := d.Reset(data); err != nil {
		return err
	}
	for d.Next() {
		if n, ts, rowid := d.Event(); n != c {
			kept = append(kept, ia.SegmentEvent{Contact: n, TS: ts, RowID: rowid})
			upto = max(upto, rowid)
		}
	}
	if err := d.Err(); err != nil {
		return err
	}
	if len(kept) == 0 {
		_, err := tx.DB().NewQuery("DELETE FROM analytics_segments WHERE workspace = {:ws} AND type = {:t} AND day = {:d}").Bind(params).Execute()
		return err
	}
	params["upto"], params["n"], params["data"] = upto, len(kept), ia.AppendSegment(nil, kept)
	_, err = tx.DB().NewQuery("UPDATE analytics_segments SET upto = {:upto}, n = {:n}, data = {:data} WHERE workspace = {:ws} AND type = {:t} AND day = {:d}").
		Bind(params).Execute()
	return err
}

// readSegments calls fn for every event of typ's segments with lo <= ts < hi and rowid <= wm (per day in (ts,
// rowid) order), decoding with d.
func readSegments(app core.App, d *ia.SegmentDecoder, workspace, typ string, lo, hi, wm int64, fn func(c uint32, ts, rowid int64)) error {
	if hi <= lo {
		return nil
	}
	return eachValue(app, "SELECT day, upto, data FROM analytics_segments WHERE workspace = ? AND type = ? AND day >= ? AND day <= ?",
		[]any{workspace, typ, utcDay(lo), utcDay(hi - 1)}, func(row []driver.Value) error {
			upto, _ := row[1].(int64)
			data, _ := row[2].([]byte)
			if err := d.Reset(data); err != nil {
				return fmt.Errorf("analytics segment %s/%s/%v: %w", workspace, typ, row[0], err)
			}
			check := upto > wm // rebuilt after wm was read: drop the events past it (the tail has them)
			for d.Next() {
				c, ts, rowid := d.Event()
				if ts < lo || (check && rowid > wm) {
					continue
				}
				if ts >= hi {
					break
				}
				fn(c, ts, rowid)
			}
			if err := d.Err(); err != nil {
				return fmt.Errorf("analytics segment %s/%s/%v: %w", workspace, typ, row[0], err)
			}
			return nil
		})
}

// tailEvent is an event past the segments' watermark, with its contact's segment number.
type tailEvent struct {
	typ       string
	contact   uint32
	ts, rowid int64
}

// readTail reads the events with a contact past wm of types in [lo, hi), in one scan of the log's tail, and
// numbers their contacts as the segments do: contacts the job has not numbered yet get numbers above every
// number in use, which no segment event up to wm has.
func readTail(app core.App, workspace string, types []string, lo, hi, wm int64) ([]tailEvent, error) {
	args := []any{wm, workspace, lo, hi}
	for _, t := range types {
		args = append(args, t)
	}
	var evs []tailEvent
	var contacts []string
	index := map[string]uint32{}
	err := eachValue(app, "SELECT type, contact, ts, rowid FROM events NOT INDEXED WHERE rowid > ? AND workspace = ? AND ts >= ? AND ts < ? AND contact != '' AND type IN (?"+
		strings.Repeat(", ?", len(types)-1)+")", args, func(row []driver.Value) error {
		typ, _ := row[0].(string)
		c, _ := row[1].(string)
		ts, _ := row[2].(int64)
		rowid, _ := row[3].(int64)
		i, ok := index[c]
		if !ok {
			i = uint32(len(contacts))
			index[c] = i
			contacts = append(contacts, c)
		}
		evs = append(evs, tailEvent{typ, i, ts, rowid}) // contact: an index into contacts for now
		return nil
	})
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	found, err := lookupNumbers(app, workspace, contacts)
	if err != nil {
		return nil, err
	}
	next := nextNumber(app, workspace)
	for _, n := range found {
		next = max(next, n+1)
	}
	numbers := make([]uint32, len(contacts))
	for i, c := range contacts {
		if n, ok := found[c]; ok {
			numbers[i] = n
		} else {
			numbers[i] = next
			next++
		}
	}
	for i := range evs {
		evs[i].contact = numbers[evs[i].contact]
	}
	return evs, nil
}

// segEvent is one step-type event of a funnel read from segments.
type segEvent struct {
	ts, rowid int64
	contact   uint32
	steps     uint32
}

// segPart is what one worker of a segment funnel read.
type segPart struct {
	evs    []segEvent
	starts []bool // by contact number: has a step-1-type event in range
	dec    ia.SegmentDecoder
}

func (p *segPart) start(c uint32) {
	if int(c) >= len(p.starts) {
		p.starts = append(p.starts, make([]bool, int(c)+1-len(p.starts))...)
	}
	p.starts[c] = true
}

// segmentFunnel walks a funnel whose steps need no data field (no filters, no breakdown) over the events of
// tasks read from the segments up to wm and from the tail past it. Each contact's events are grouped by its
// number with a counting sort (no map, no per-contact slices), sorted by (ts, rowid) and walked; reads and
// walks are split over workers.
func segmentFunnel(app core.App, workspace string, tasks []funnelTask, spec ia.FunnelSpec, masks map[string]uint32, wm int64, workers int) (*ia.Tally, error) {
	parts := make([]*segPart, workers)
	errs := make([]error, workers+1)
	next := make(chan funnelTask, len(tasks))
	for _, t := range tasks {
		next <- t
	}
	close(next)
	var tail []tailEvent
	tailTypes := map[string]funnelTask{} // per type, the union of its tasks' ranges
	for _, t := range tasks {
		if r, ok := tailTypes[t.typ]; ok {
			t.lo, t.hi = min(r.lo, t.lo), max(r.hi, t.hi)
		}
		tailTypes[t.typ] = t
	}
	tlo, thi := tasks[0].lo, tasks[0].hi
	for _, r := range tailTypes {
		tlo, thi = min(tlo, r.lo), max(thi, r.hi)
	}
	types := make([]string, 0, len(tailTypes))
	for t := range tailTypes {
		types = append(types, t)
	}
	var wg sync.WaitGroup
	if app.IsTransactional() { // one connection: one read at a time
		tail, errs[workers] = readTail(app, workspace, types, tlo, thi, wm)
	} else {
		wg.Add(1)
		go func() { // the tail: one scan, next to the segment reads
			defer wg.Done()
			tail, errs[workers] = readTail(app, workspace, types, tlo, thi, wm)
		}()
	}
	n := nextNumber(app, workspace)
	for w := range parts {
		parts[w] = &segPart{starts: make([]bool, n)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := parts[w]
			for t := range next {
				m := masks[t.typ]
				var n int // the task's events at most: room for them at once
				if err := app.DB().NewQuery("SELECT coalesce(sum(n), 0) FROM analytics_segments WHERE workspace = {:ws} AND type = {:t} AND day >= {:lo} AND day <= {:hi}").
					Bind(dbx.Params{"ws": workspace, "t": t.typ, "lo": utcDay(t.lo), "hi": utcDay(t.hi - 1)}).Row(&n); err != nil {
					errs[w] = err
					return
				}
				p.evs = slices.Grow(p.evs, n)
				err := readSegments(app, &p.dec, workspace, t.typ, t.lo, t.hi, wm, func(c uint32, ts, rowid int64) {
					if t.first {
						p.start(c)
					}
					p.evs = append(p.evs, segEvent{ts, rowid, c, m})
				})
				if err != nil {
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
	tp := &segPart{}
	for _, e := range tail {
		r := tailTypes[e.typ]
		if e.ts < r.lo || e.ts >= r.hi {
			continue
		}
		if r.first {
			tp.start(e.contact)
		}
		tp.evs = append(tp.evs, segEvent{e.ts, e.rowid, e.contact, masks[e.typ]})
	}
	parts = append(parts, tp)

	// Contacts that entered, and how many events each has.
	size := 0
	for _, p := range parts {
		size = max(size, len(p.starts))
	}
	starts := make([]bool, size)
	for _, p := range parts {
		for c, s := range p.starts {
			starts[c] = starts[c] || s
		}
	}
	offset := make([]int32, size+1)
	for _, p := range parts {
		for _, e := range p.evs {
			if int(e.contact) < size && starts[e.contact] {
				offset[e.contact+1]++
			}
		}
	}
	for c := 1; c <= size; c++ {
		offset[c] += offset[c-1]
	}
	grouped := make([]segEvent, offset[size])
	fill := slices.Clone(offset[:size])
	for _, p := range parts {
		for _, e := range p.evs {
			if int(e.contact) < size && starts[e.contact] {
				grouped[fill[e.contact]] = e
				fill[e.contact]++
			}
		}
		p.evs = nil
	}
	// Walk contiguous ranges of contacts in parallel.
	tallies := make([]*ia.Tally, workers)
	per := (size + workers - 1) / max(workers, 1)
	for w := range tallies {
		tallies[w] = ia.NewTally(spec.Steps)
		lo, hi := min(w*per, size), min((w+1)*per, size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var evs []ia.FunnelEvent
			for c := lo; c < hi; c++ {
				run := grouped[offset[c]:offset[c+1]]
				if len(run) == 0 {
					continue
				}
				slices.SortFunc(run, func(a, b segEvent) int { return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.rowid, b.rowid)) })
				evs = evs[:0]
				for _, e := range run {
					evs = append(evs, ia.FunnelEvent{TS: e.ts, Steps: e.steps})
				}
				if walk := ia.WalkContact(evs, spec); walk.Depth > 0 {
					tallies[w].Add(walk)
				}
			}
		}()
	}
	wg.Wait()
	for _, t := range tallies[1:] {
		tallies[0].Merge(t)
	}
	return tallies[0], nil
}

// noDay marks a contact without a cohort day.
const noDay = ia.Day(1<<31 - 1)

// segmentRetention finds first cohort days and return days from the segments up to wm and the tail past it.
// Contacts are keyed by their numbers: an array of first days indexed by number, maps only for the cohorts.
func segmentRetention(app core.App, workspace string, q RetentionQuery, spec ia.RetentionSpec, loc *time.Location, wm int64) ([]ia.Cohort, error) {
	cohortHi := (spec.ToDay + 1).Start(loc).UnixMilli()
	returnLo := ia.PeriodStart(spec.FromDay.Period(q.Period), q.Period).Start(loc).UnixMilli()
	returnHi := (spec.Today + 1).Start(loc).UnixMilli()
	tail, err := readTail(app, workspace, []string{q.CohortEvent, q.ReturnEvent}, 0, max(cohortHi, returnHi), wm)
	if err != nil {
		return nil, err
	}
	first := make([]ia.Day, nextNumber(app, workspace))
	for i := range first {
		first[i] = noDay
	}
	days := dayCache{loc: loc}
	seen := func(c uint32, ts int64) {
		if int(c) >= len(first) {
			for len(first) <= int(c) {
				first = append(first, noDay)
			}
		}
		if d := days.of(ts); d < first[c] {
			first[c] = d
		}
	}
	var d ia.SegmentDecoder
	if err := readSegments(app, &d, workspace, q.CohortEvent, 0, cohortHi, wm, func(c uint32, ts, _ int64) { seen(c, ts) }); err != nil {
		return nil, err
	}
	for _, e := range tail {
		if e.typ == q.CohortEvent && e.ts < cohortHi {
			seen(e.contact, e.ts)
		}
	}
	cohorts := map[uint32]ia.Day{}
	for c, d := range first {
		if d >= spec.FromDay && d <= spec.ToDay {
			cohorts[uint32(c)] = d
		}
	}
	returns := map[uint32][]ia.Day{}
	if len(cohorts) > 0 {
		back := func(c uint32, ts int64) {
			if int(c) < len(first) && first[c] >= spec.FromDay && first[c] <= spec.ToDay {
				returns[c] = append(returns[c], days.of(ts))
			}
		}
		if err := readSegments(app, &d, workspace, q.ReturnEvent, returnLo, returnHi, wm, func(c uint32, ts, _ int64) { back(c, ts) }); err != nil {
			return nil, err
		}
		for _, e := range tail {
			if e.typ == q.ReturnEvent && e.ts >= returnLo && e.ts < returnHi {
				back(e.contact, e.ts)
			}
		}
	}
	return ia.Retention(cohorts, returns, spec), nil
}

// dayCache maps times to local days, computing a day's bounds once (times of one segment come sorted).
type dayCache struct {
	loc    *time.Location
	day    ia.Day
	lo, hi int64
}

func (c *dayCache) of(ts int64) ia.Day {
	if ts >= c.lo && ts < c.hi {
		return c.day
	}
	d := ia.DayOf(ts, c.loc)
	c.day, c.lo, c.hi = d, d.Start(c.loc).UnixMilli(), (d + 1).Start(c.loc).UnixMilli()
	if ia.DayOf(c.lo, c.loc) != d || ia.DayOf(c.hi-1, c.loc) != d || ts < c.lo || ts >= c.hi {
		c.lo, c.hi = ts, ts+1 // a zone whose midnight is odd: do not guess
	}
	return d
}
