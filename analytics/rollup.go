package analytics

import (
	"cmp"
	"context"
	"fmt"
	"github.com/playgram/playgram/platform"
	"slices"
	"strconv"
	"strings"
	"time"

	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// The daily rollup (analytics_daily) holds one row per workspace, event type, local day and contact with the
// number of events. The job folds new events in by rowid (the log is append-only, so rowids only grow);
// readers add the events past the watermark themselves, so answers never wait for the job. A workspace's rows
// are keyed by the zone they were computed in; after a zone change the job rebuilds them and readers fall back
// to the events until it has.

// rollupChunk bounds one fold transaction, so the job holds the single writer for well under a second.
const rollupChunk = 20_000

// AllTypes is the rollup's pseudo type that counts a contact's events of every type on a day, so "active
// contacts" reads one row per contact and day.
const AllTypes = "*"

// analyzeAfter is how many new events make the job refresh the planner's statistics (ANALYZE).
const analyzeAfter = 50_000

func state(app core.App, key string) string {
	var v string
	_ = app.DB().NewQuery("SELECT value FROM analytics_state WHERE key = {:k}").Bind(dbx.Params{"k": key}).Row(&v)
	return v
}

func setState(app core.App, key, value string) error {
	_, err := app.DB().NewQuery("INSERT INTO analytics_state (key, value) VALUES ({:k}, {:v}) ON CONFLICT (key) DO UPDATE SET value = excluded.value").
		Bind(dbx.Params{"k": key, "v": value}).Execute()
	return err
}

func watermark(app core.App) int64 {
	n, _ := strconv.ParseInt(state(app, "watermark"), 10, 64)
	return n
}

// maxTail is how many events may lie past the watermark for readers to use the rollup plus a scan of the
// tail; with more (a bulk load the job has not folded yet) they read the log through its indexes instead.
const maxTail = 50_000

// fresh reports whether the rollup is close enough to the log to be used, with its watermark.
func fresh(app core.App) (int64, bool) { return nearTop(app, watermark(app)) }

// nearTop returns wm and whether at most maxTail events lie past it.
func nearTop(app core.App, wm int64) (int64, bool) {
	var top int64
	_ = app.DB().NewQuery("SELECT coalesce(max(rowid), 0) FROM events").Row(&top)
	return wm, top-wm <= maxTail
}

// rollupZone is the zone a workspace's rollup rows were computed in ("" before any).
func rollupZone(app core.App, workspace string) string { return state(app, "tz:"+workspace) }

type rollupKey struct {
	ws, typ, contact string
	day              ia.Day
}

// RunRollup folds every event past the watermark into the rollup, rebuilding workspaces whose zone changed,
// and then brings the event segments up to date (BuildSegments). It returns how many events it folded.
func RunRollup(ctx context.Context, app core.App) (int, error) {
	total := 0
	// Workspaces whose zone changed are rebuilt from scratch.
	var ws, tz string
	var stale []string
	err := each(app, "SELECT w.id, w.timezone FROM workspaces w JOIN analytics_state s ON s.key = 'tz:' || w.id WHERE s.value != w.timezone",
		nil, []any{&ws, &tz}, func() error { stale = append(stale, ws); return nil })
	if err != nil {
		return 0, err
	}
	for _, w := range stale {
		err := platform.WriteTx(app, func(tx core.App) error {
			for _, table := range []string{"analytics_daily", "analytics_periods"} {
				if _, err := tx.DB().NewQuery("DELETE FROM " + table + " WHERE workspace = {:ws}").Bind(dbx.Params{"ws": w}).Execute(); err != nil {
					return err
				}
			}
			loc := Location(tx, w)
			n, err := fold(tx, "workspace = {:ws} AND rowid <= {:wm}", dbx.Params{"ws": w, "wm": watermark(tx)}, func(string) *time.Location { return loc }, false)
			total += n
			if err != nil {
				return err
			}
			return setState(tx, "tz:"+w, loc.String())
		})
		if err != nil {
			return total, err
		}
	}
	locs := map[string]*time.Location{}
	locOf := func(app core.App) func(string) *time.Location {
		return func(w string) *time.Location {
			if l, ok := locs[w]; ok {
				return l
			}
			l := Location(app, w)
			locs[w] = l
			return l
		}
	}
	for ctx.Err() == nil {
		var n int
		err := platform.WriteTx(app, func(tx core.App) error {
			wm := watermark(tx)
			var last int64
			if err := tx.DB().NewQuery("SELECT coalesce(max(rowid), 0) FROM (SELECT rowid FROM events WHERE rowid > {:wm} ORDER BY rowid LIMIT {:n})").
				Bind(dbx.Params{"wm": wm, "n": rollupChunk}).Row(&last); err != nil {
				return err
			}
			if last == 0 {
				return nil
			}
			var err error
			n, err = fold(tx, "rowid > {:wm} AND rowid <= {:last}", dbx.Params{"wm": wm, "last": last}, locOf(tx), true)
			if err != nil {
				return err
			}
			for w, l := range locs {
				if rollupZone(tx, w) == "" {
					if err := setState(tx, "tz:"+w, l.String()); err != nil {
						return err
					}
				}
			}
			return setState(tx, "watermark", strconv.FormatInt(last, 10))
		})
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total >= analyzeAfter {
		Analyze(app)
	}
	if ctx.Err() == nil {
		run, err := BuildSegments(ctx, app)
		if err != nil {
			return total, fmt.Errorf("building analytics segments: %w", err)
		}
		if run.Segments > 0 {
			app.Logger().Debug("analytics segments rebuilt", "segments", run.Segments, "events", run.Events,
				"transactions", run.Transactions, "longest", run.Longest.String())
		}
	}
	return total, nil
}

type slotKey struct {
	ws, typ string
	slot    int64
}

// fold adds the events matching where to the daily rollup and, with slots, to the slot counts (which do not
// depend on the zone, so a zone rebuild leaves them alone).
func fold(tx core.App, where string, params dbx.Params, locOf func(string) *time.Location, slots bool) (int, error) {
	agg := map[rollupKey]int64{}
	slotAgg := map[slotKey]int64{}
	var ws, typ, contact string
	var ts int64
	n := 0
	err := each(tx, "SELECT workspace, type, ts, contact FROM events WHERE "+where, params, []any{&ws, &typ, &ts, &contact}, func() error {
		n++
		if slots {
			s := ts / ia.SlotMillis
			slotAgg[slotKey{ws, typ, s}]++
			slotAgg[slotKey{ws, AllTypes, s}]++
		}
		if contact != "" {
			day := ia.DayOf(ts, locOf(ws))
			agg[rollupKey{ws, typ, contact, day}]++
			agg[rollupKey{ws, AllTypes, contact, day}]++
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	// Rows are written in key order (sequential B-tree inserts) with multi-row statements.
	daily := sortedKeys(agg, func(a, b rollupKey) int {
		return cmp.Or(strings.Compare(a.ws, b.ws), strings.Compare(a.typ, b.typ), cmp.Compare(a.day, b.day), strings.Compare(a.contact, b.contact))
	})
	rows := make([][]any, 0, len(daily))
	for _, k := range daily {
		rows = append(rows, []any{k.ws, k.typ, int64(k.day), k.contact, agg[k]})
	}
	if err := execRows(tx, "INSERT OR FAIL INTO analytics_daily (workspace, type, day, contact, n) VALUES ", "(?, ?, ?, ?, ?)",
		" ON CONFLICT (workspace, type, day, contact) DO UPDATE SET n = n + excluded.n", rows); err != nil {
		return n, err
	}
	type periodKey struct {
		ws, typ string
		grain   ia.Interval
		period  int
		contact string
	}
	periods := map[periodKey]bool{}
	for _, k := range daily {
		for _, g := range []ia.Interval{ia.Weekly, ia.Monthly} {
			periods[periodKey{k.ws, k.typ, g, k.day.Period(g), k.contact}] = true
		}
	}
	pkeys := sortedKeys(periods, func(a, b periodKey) int {
		return cmp.Or(strings.Compare(a.ws, b.ws), strings.Compare(a.typ, b.typ), strings.Compare(string(a.grain), string(b.grain)),
			cmp.Compare(a.period, b.period), strings.Compare(a.contact, b.contact))
	})
	rows = rows[:0]
	for _, k := range pkeys {
		rows = append(rows, []any{k.ws, k.typ, string(k.grain), k.period, k.contact})
	}
	if err := execRows(tx, "INSERT OR IGNORE INTO analytics_periods (workspace, type, grain, period, contact) VALUES ", "(?, ?, ?, ?, ?)", "", rows); err != nil {
		return n, err
	}
	skeys := sortedKeys(slotAgg, func(a, b slotKey) int {
		return cmp.Or(strings.Compare(a.ws, b.ws), strings.Compare(a.typ, b.typ), cmp.Compare(a.slot, b.slot))
	})
	rows = rows[:0]
	for _, k := range skeys {
		rows = append(rows, []any{k.ws, k.typ, k.slot, slotAgg[k]})
	}
	if err := execRows(tx, "INSERT OR FAIL INTO analytics_slots (workspace, type, slot, n) VALUES ", "(?, ?, ?, ?)",
		" ON CONFLICT (workspace, type, slot) DO UPDATE SET n = n + excluded.n", rows); err != nil {
		return n, err
	}
	return n, nil
}

// sortedKeys are m's keys in the order of compare.
func sortedKeys[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}

// Analyze refreshes SQLite's statistics for the events and rollup tables, so the planner keeps choosing the
// covering indexes after bulk loads. analysis_limit samples each index instead of reading all of it, so the
// single writer is held for a moment even at millions of rows.
func Analyze(app core.App) {
	if _, err := app.NonconcurrentDB().NewQuery("PRAGMA analysis_limit = 2000").Execute(); err != nil {
		app.Logger().Warn("PRAGMA analysis_limit failed", "error", err)
	}
	for _, t := range []string{"events", "analytics_daily", "analytics_periods", "analytics_slots"} {
		if _, err := app.NonconcurrentDB().NewQuery("ANALYZE " + t).Execute(); err != nil {
			app.Logger().Warn("ANALYZE failed", "table", t, "error", err)
		}
	}
}

// contactDays calls fn for every (contact, local day) with an event of types in [lo, hi) (unix ms), from the
// rollup plus the events past its watermark, or from the events alone when the rollup is not in loc's zone.
// A pair may be reported more than once.
func contactDays(app core.App, workspace string, types []string, lo, hi int64, loc *time.Location, fn func(string, ia.Day)) error {
	params := dbx.Params{"ws": workspace, "lo": lo, "hi": hi}
	typeIn := inList("t", types, params)
	var contact string
	var ts int64
	wm, ok := fresh(app)
	if !ok || rollupZone(app, workspace) != loc.String() {
		return each(app, "SELECT contact, ts FROM events WHERE workspace = {:ws} AND type IN ("+typeIn+") AND ts >= {:lo} AND ts < {:hi} AND contact != ''",
			params, []any{&contact, &ts}, func() error { fn(contact, ia.DayOf(ts, loc)); return nil })
	}
	params["wm"] = wm
	// Days of the rollup that lie wholly inside [lo, hi); edge days come from the events.
	dlo, dhi := ia.DayOf(lo, loc), ia.DayOf(hi-1, loc)
	if dlo.Start(loc).UnixMilli() < lo {
		dlo++
	}
	if next := (dhi + 1).Start(loc).UnixMilli(); next > hi {
		dhi--
	}
	params["dlo"], params["dhi"] = int64(dlo), int64(dhi)
	var day int64
	err := each(app, "SELECT contact, day FROM analytics_daily WHERE workspace = {:ws} AND type IN ("+typeIn+") AND day >= {:dlo} AND day <= {:dhi}",
		params, []any{&contact, &day}, func() error { fn(contact, ia.Day(day)); return nil })
	if err != nil {
		return err
	}
	// Events past the watermark, and events of the partial edge days.
	params["elo"], params["ehi"] = dlo.Start(loc).UnixMilli(), (dhi + 1).Start(loc).UnixMilli()
	if dlo > dhi { // no whole day: the range is one edge
		params["elo"], params["ehi"] = hi, hi
	}
	return each(app, `SELECT contact, ts FROM events WHERE workspace = {:ws} AND type IN (`+typeIn+`) AND ts >= {:lo} AND ts < {:elo} AND contact != ''
		UNION ALL
		SELECT contact, ts FROM events WHERE workspace = {:ws} AND type IN (`+typeIn+`) AND ts >= {:ehi} AND ts < {:hi} AND contact != ''
		UNION ALL
		SELECT contact, ts FROM events NOT INDEXED WHERE rowid > {:wm} AND workspace = {:ws} AND type IN (`+typeIn+`) AND ts >= {:elo} AND ts < {:ehi} AND contact != ''`,
		params, []any{&contact, &ts}, func() error { fn(contact, ia.DayOf(ts, loc)); return nil })
}
