package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"github.com/playgram/playgram/platform"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/webhook"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/types"
)

type eventRow struct {
	RowID     int64  `db:"rowid"`
	ID        string `db:"id"`
	Workspace string `db:"workspace"`
	Type      string `db:"type"`
	TS        int64  `db:"ts"`
}

const insertDeliveriesSQL = `INSERT INTO ` + collections.WebhookDeliveries + ` (id, workspace, endpoint, event, event_type, event_ts,
		status, attempts, attempt_base, next_at, lease_owner, lease_until, last_code, last_error, last_attempt_at, created, updated) VALUES `

// Dispatch fans out one batch of events (at most Options.DispatchBatch) past the cursor: for each event and
// each endpoint of its workspace whose event types and filter select it, a delivery row; then the cursor moves
// past the batch. All of it is one transaction, so a crash at any point either keeps all of it or none (and
// the batch is done again). It returns how many events it read.
func (e *Engine) Dispatch(ctx context.Context) (int, error) {
	n, _, err := e.dispatch(false)
	return n, err
}

// dispatch is Dispatch; with claim set (the running engine), deliveries to an endpoint that has capacity and
// no backlog are created already claimed by this engine and returned, to be sent at once: no second
// transaction between an event and its first attempt.
func (e *Engine) dispatch(claim bool) (int, []*task, error) {
	var read int
	due := map[string]bool{}
	now := time.Now()
	nowMs := now.UnixMilli()
	var tasks []*task
	reserved := map[*endpoint]int{}
	err := platform.WriteTx(e.app, func(tx core.App) error {
		tasks, reserved = nil, map[*endpoint]int{} // a retried function starts over
		db := tx.NonconcurrentDB()
		var pos int64
		var anchor string
		if err := db.NewQuery("SELECT position, anchor FROM "+collections.WebhookState+" WHERE name = 'events'").Row(&pos, &anchor); err != nil {
			return err
		}
		// The cursor names the last event it passed as well as its rowid: should rowids ever be renumbered
		// (a VACUUM of a table without an INTEGER PRIMARY KEY may do that), the event's new rowid is used.
		if anchor != "" {
			var rid int64
			err := db.NewQuery("SELECT rowid FROM " + collections.Events + " WHERE id = {:id}").Bind(dbx.Params{"id": anchor}).Row(&rid)
			if err == nil && rid != pos {
				e.app.Logger().Warn("webhooks: the events cursor moved with its anchor event", "from", pos, "to", rid)
				pos = rid
			}
		}
		var rows []eventRow
		err := db.NewQuery("SELECT rowid, id, workspace, type, ts FROM " + collections.Events + " WHERE rowid > {:pos} ORDER BY rowid LIMIT {:n}").
			Bind(dbx.Params{"pos": pos, "n": e.opts.DispatchBatch}).All(&rows)
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := e.cache.refresh(tx, true); err != nil {
			return err
		}
		lo, hi := pos, rows[len(rows)-1].RowID
		byWS := map[string][]eventRow{}
		var order []string
		for _, r := range rows {
			if _, ok := byWS[r.Workspace]; !ok {
				order = append(order, r.Workspace)
			}
			byWS[r.Workspace] = append(byWS[r.Workspace], r)
		}
		var inserts [][]any
		stamp := types.NowDateTime().String()
		for _, ws := range order {
			eps, err := e.cache.workspace(tx, e.box(), ws)
			if err != nil {
				return err
			}
			for _, ep := range eps {
				var matched []eventRow
				for _, ev := range byWS[ws] {
					if webhook.MatchEventType(ep.Patterns, ev.Type) {
						matched = append(matched, ev)
					}
				}
				if len(matched) == 0 {
					continue
				}
				status, note := "pending", ""
				if !ep.Enabled {
					status, note = "skipped", "the endpoint was disabled when the event happened"
				}
				var keep map[int64]bool
				if ep.Filter != "" {
					keep, err = filterMatches(tx, ep.Filter, ws, lo, hi)
					if err != nil {
						// Never stall the log on one endpoint: its events are kept as skipped, replayable.
						status, note, keep = "skipped", truncate("the filter failed: "+err.Error(), 1000), nil
					}
				}
				if keep != nil {
					kept := matched[:0]
					for _, ev := range matched {
						if keep[ev.RowID] {
							kept = append(kept, ev)
						}
					}
					matched = kept
				}
				claimable := 0
				if claim && status == "pending" && len(matched) > 0 && !e.hasBacklog(ep.ID, nowMs) {
					claimable, _ = e.reserve(ep, now, len(matched))
					reserved[ep] = claimable
				}
				for i, ev := range matched {
					id := seqID(now)
					if i < claimable {
						inserts = append(inserts, []any{id, ws, ep.ID, ev.ID, ev.Type, ev.TS, "sending",
							0, 0, nowMs, e.owner, now.Add(e.opts.Lease).UnixMilli(), 0, note, 0, stamp, stamp})
						tasks = append(tasks, &task{ID: id, Workspace: ws, Endpoint: ep.ID, Event: ev.ID, EventType: ev.Type, EventTS: ev.TS, ep: ep})
						continue
					}
					inserts = append(inserts, []any{id, ws, ep.ID, ev.ID, ev.Type, ev.TS, status,
						0, 0, nowMs, "", 0, 0, note, 0, stamp, stamp})
					if status == "pending" {
						due[ep.ID] = true
					}
				}
			}
		}
		// (endpoint, event) is unique: should a batch ever be fanned out twice, the second copy is dropped.
		if err := execRows(db, insertDeliveriesSQL, " ON CONFLICT DO NOTHING", nil, inserts); err != nil {
			return err
		}
		if e.fault != nil {
			if err := e.fault("dispatch"); err != nil {
				return err
			}
		}
		last := rows[len(rows)-1]
		_, err = db.NewQuery("UPDATE " + collections.WebhookState + " SET position = {:p}, anchor = {:a}, updated = {:u} WHERE name = 'events'").
			Bind(dbx.Params{"p": last.RowID, "a": last.ID, "u": stamp}).Execute()
		read = len(rows)
		return err
	})
	if err == nil && len(tasks) > 0 {
		if err = e.loadEventData(e.app, tasks); err != nil {
			e.releaseTasks(tasks)
			for _, t := range tasks {
				due[t.Endpoint] = true
			}
			tasks = nil
			err = nil
		}
	}
	if err != nil || len(tasks) == 0 {
		e.mu.Lock()
		for ep, n := range reserved {
			e.unreserveLocked(ep, n)
		}
		e.mu.Unlock()
	}
	if err != nil {
		return 0, nil, err
	}
	for id := range due {
		e.markDue(id, nowMs)
	}
	if len(due) > 0 {
		e.WakeDeliver()
	}
	return read, tasks, nil
}

// hasBacklog reports whether the endpoint may have older deliveries due (they go first).
func (e *Engine) hasBacklog(endpoint string, nowMs int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.states[endpoint]
	return ok && st.due != 0 && st.due <= nowMs
}

// Backlog is how many events are recorded past the fan-out cursor.
func (e *Engine) Backlog() (int64, error) {
	var pos int64
	if err := e.app.DB().NewQuery("SELECT position FROM " + collections.WebhookState + " WHERE name = 'events'").Row(&pos); err != nil {
		return 0, err
	}
	var n int64
	err := e.app.DB().NewQuery("SELECT COUNT(*) FROM " + collections.Events + " WHERE rowid > {:p}").Bind(dbx.Params{"p": pos}).Row(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// seqID makes a record id (15 characters of [a-z0-9], like PocketBase's) that starts with the time in base 36,
// so the log tables' primary keys grow at their end instead of at random places as they get large.
func seqID(at time.Time) string {
	ts := strconv.FormatInt(at.UnixMilli(), 36)
	if len(ts) < 9 {
		ts = strings.Repeat("0", 9-len(ts)) + ts
	}
	return ts + security.RandomStringWithAlphabet(15-len(ts), idAlphabet)
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
