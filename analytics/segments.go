package analytics

import (
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Event segments (analytics_segments) hold, per workspace, event type and UTC day, that day's events with a
// contact as one compact blob (ia.AppendSegment: a contact table, then contact, time and rowid per event).
// Funnels and retention decode them instead of reading one index row per event, which in the pure-Go SQLite
// costs about a microsecond a row.
//
// The rollup job keeps them with its own watermark, seg_watermark: it finds the (workspace, type, day) keys of
// the events past it, rebuilds each such segment whole from the covering index, and moves the watermark only
// when all are rebuilt. So at every commit, every segment holds at least every event of its key with a rowid
// up to the watermark (and maybe later ones). Readers read the watermark W first, keep the segments' events
// with rowid <= W, and read the events past W from the log (the tail); a segment that was rebuilt after W was
// read only has more events past W, which they drop. Segments are in UTC days, so a workspace's zone change
// does not touch them. Erasing a contact rebuilds the segments holding its events without it, in the erasing
// transaction (ForgetContact).

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
// well under half a second at a time (one day's events of one type are always rebuilt together).
const (
	segTxEvents = 100_000
	segTxTime   = 250 * time.Millisecond
)

func segWatermark(app core.App) int64 {
	n, _ := strconv.ParseInt(state(app, "seg_watermark"), 10, 64)
	return n
}

// segmentsFresh reports whether readers can use the segments plus a scan of the events past their watermark,
// with the watermark: not when a bulk load the job has not reached lies past it (they read rows instead).
func segmentsFresh(app core.App) (int64, bool) {
	if !segmentsOn {
		return 0, false
	}
	wm := segWatermark(app)
	var top int64
	_ = app.DB().NewQuery("SELECT coalesce(max(rowid), 0) FROM events").Row(&top)
	return wm, top-wm <= maxTail
}

type segKey struct {
	ws, typ string
	day     int64
}

// BuildSegments brings the event segments up to the newest event: it finds the keys of the events past
// seg_watermark (one scan of that tail), rebuilds each of those segments once, in write transactions of
// bounded size, and then moves the watermark. It returns the number of segments rebuilt. RunRollup calls it.
func BuildSegments(ctx context.Context, app core.App) (int, error) {
	return buildSegments(ctx, app, true)
}

func buildSegments(ctx context.Context, app core.App, advance bool) (int, error) {
	wm := segWatermark(app)
	var top int64
	if err := app.DB().NewQuery("SELECT coalesce(max(rowid), 0) FROM events").Row(&top); err != nil {
		return 0, err
	}
	if top <= wm {
		return 0, nil
	}
	// The rows up to top do not change (the log is append-only; an erasure rebuilds its own segments), so the
	// keys are read outside the writer.
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
		return 0, err
	}
	keys := make([]segKey, 0, len(touched))
	for k := range touched {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b segKey) int {
		return cmp.Or(strings.Compare(a.ws, b.ws), strings.Compare(a.typ, b.typ), cmp.Compare(a.day, b.day))
	})
	var b segBuilder
	done := 0
	for done < len(keys) {
		if ctx.Err() != nil {
			return done, nil // the watermark stays; the next run rebuilds these keys again
		}
		err := platform.WriteTx(app, func(tx core.App) error {
			start, events := time.Now(), 0
			for done < len(keys) && (events == 0 || events < segTxEvents && time.Since(start) < segTxTime) {
				n, err := b.rebuild(tx, keys[done], "")
				if err != nil {
					return err
				}
				events += n + 1
				done++
			}
			return nil
		})
		if err != nil {
			return done, err
		}
	}
	if !advance {
		return done, nil
	}
	return done, platform.WriteTx(app, func(tx core.App) error { return setState(tx, "seg_watermark", strconv.FormatInt(top, 10)) })
}

// segBuilder rebuilds segments, reusing its buffers.
type segBuilder struct {
	evs  []ia.SegmentEvent
	data []byte
}

// rebuild rewrites the segment of k from the events (through tx, so it sees every committed write), leaving
// out the events of contact except when given (a contact being erased), and returns its number of events.
// A key without events loses its row.
func (b *segBuilder) rebuild(tx core.App, k segKey, except string) (int, error) {
	q := "SELECT contact, ts, rowid FROM events WHERE workspace = ? AND type = ? AND ts >= ? AND ts < ? AND contact != ''"
	args := []any{k.ws, k.typ, k.day * dayMillis, (k.day + 1) * dayMillis}
	if except != "" {
		q += " AND contact != ?"
		args = append(args, except)
	}
	b.evs = b.evs[:0]
	var upto int64
	err := eachValue(tx, q, args, func(row []driver.Value) error {
		c, _ := row[0].(string)
		ts, _ := row[1].(int64)
		rowid, _ := row[2].(int64)
		upto = max(upto, rowid)
		b.evs = append(b.evs, ia.SegmentEvent{Contact: c, TS: ts, RowID: rowid})
		return nil
	})
	if err != nil {
		return 0, err
	}
	params := dbx.Params{"ws": k.ws, "t": k.typ, "d": k.day}
	if len(b.evs) == 0 {
		_, err := tx.DB().NewQuery("DELETE FROM analytics_segments WHERE workspace = {:ws} AND type = {:t} AND day = {:d}").Bind(params).Execute()
		return 0, err
	}
	var n int
	b.data, n = ia.AppendSegment(b.data[:0], b.evs)
	params["upto"], params["n"], params["data"] = upto, n, b.data
	_, err = tx.DB().NewQuery(`INSERT INTO analytics_segments (workspace, type, day, upto, n, data) VALUES ({:ws}, {:t}, {:d}, {:upto}, {:n}, {:data})
		ON CONFLICT (workspace, type, day) DO UPDATE SET upto = excluded.upto, n = excluded.n, data = excluded.data`).Bind(params).Execute()
	return n, err
}

// ForgetContact takes a contact out of the analytics tables that name contacts, inside the transaction that
// erases it (exports.Erase) and before its events lose their contact: the segments holding its events are
// rebuilt without them, and its rollup rows (daily, weekly and monthly activity) are deleted. Answers read
// from them then agree with answers read from the anonymised events.
func ForgetContact(tx core.App, workspace, contact string) error {
	if contact == "" {
		return nil
	}
	keys := map[segKey]struct{}{}
	types := []string{AllTypes}
	var typ string
	var ts int64
	err := each(tx, "SELECT type, ts FROM events WHERE workspace = {:ws} AND contact = {:c}", dbx.Params{"ws": workspace, "c": contact},
		[]any{&typ, &ts}, func() error {
			keys[segKey{workspace, typ, utcDay(ts)}] = struct{}{}
			types = appendOnce(types, typ)
			return nil
		})
	if err != nil {
		return err
	}
	var b segBuilder
	for k := range keys {
		if _, err := b.rebuild(tx, k, contact); err != nil {
			return fmt.Errorf("rebuilding an analytics segment: %w", err)
		}
	}
	// The rollup's rows of the contact, found through its (workspace, type, contact, day) index; its period rows
	// are keyed by the periods of those days.
	params := dbx.Params{"ws": workspace, "c": contact}
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

// segmentReader decodes segments for a reader, reusing its buffers.
type segmentReader struct {
	dec ia.SegmentDecoder
}

// read calls fn for every event of typ's segments with lo <= ts < hi and rowid <= wm, in (ts, rowid) order per
// day, with the event's index in the segment's contact table (dec.Contacts()); start is called before each
// segment's events.
func (r *segmentReader) read(app core.App, workspace, typ string, lo, hi, wm int64, start func(contacts [][]byte), fn func(c int, ts, rowid int64)) error {
	if hi <= lo {
		return nil
	}
	return eachValue(app, "SELECT day, upto, data FROM analytics_segments WHERE workspace = ? AND type = ? AND day >= ? AND day <= ?",
		[]any{workspace, typ, utcDay(lo), utcDay(hi - 1)}, func(row []driver.Value) error {
			upto, _ := row[1].(int64)
			data, _ := row[2].([]byte)
			if err := r.dec.Reset(data); err != nil {
				return fmt.Errorf("analytics segment %s/%s/%v: %w", workspace, typ, row[0], err)
			}
			start(r.dec.Contacts())
			check := upto > wm // rebuilt after wm was read: drop the events past it (the tail has them)
			for r.dec.Next() {
				c, ts, rowid := r.dec.Event()
				if ts < lo || (check && rowid > wm) {
					continue
				}
				if ts >= hi {
					break
				}
				fn(c, ts, rowid)
			}
			if err := r.dec.Err(); err != nil {
				return fmt.Errorf("analytics segment %s/%s/%v: %w", workspace, typ, row[0], err)
			}
			return nil
		})
}

// dayCache maps sorted times to local days, computing a day's bounds once.
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

// segmentContactDays is contactDays from the segments up to wm and the events past it.
func segmentContactDays(app core.App, workspace string, types []string, lo, hi int64, loc *time.Location, wm int64, fn func(string, ia.Day)) error {
	var r segmentReader
	days := dayCache{loc: loc}
	var names []string // the current segment's contacts as strings, made when first needed
	start := func(contacts [][]byte) {
		names = names[:0]
		for range contacts {
			names = append(names, "")
		}
	}
	for _, typ := range types {
		err := r.read(app, workspace, typ, lo, hi, wm, start, func(c int, ts, _ int64) {
			if names[c] == "" {
				names[c] = string(r.dec.Contacts()[c])
			}
			fn(names[c], days.of(ts))
		})
		if err != nil {
			return err
		}
	}
	params := dbx.Params{"ws": workspace, "lo": lo, "hi": hi, "wm": wm}
	var contact string
	var ts int64
	return each(app, "SELECT contact, ts FROM events NOT INDEXED WHERE rowid > {:wm} AND workspace = {:ws} AND type IN ("+inList("t", types, params)+
		") AND ts >= {:lo} AND ts < {:hi} AND contact != ''", params, []any{&contact, &ts}, func() error { fn(contact, days.of(ts)); return nil })
}
