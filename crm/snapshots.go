package crm

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/playgram/playgram/platform"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// ErrNoHistory means the contact has no snapshot on or before the asked date.
var ErrNoHistory = errors.New("no snapshot of this contact on or before that date")

const snapshotChunk = 200

// WorkspaceLocation is the workspace's time zone (UTC when unset or unknown).
func WorkspaceLocation(app core.App, ws string) *time.Location {
	var tz string
	_ = app.DB().NewQuery("SELECT timezone FROM workspaces WHERE id = {:id}").Bind(dbx.Params{"id": ws}).Row(&tz)
	if loc, err := time.LoadLocation(tz); err == nil && tz != "" {
		return loc
	}
	return time.UTC
}

// TakeSnapshots stores, for every contact of workspace changed since its last snapshot, the diff of its
// tracked fields from its previous snapshot, under the workspace-local date of now (one row per contact and
// day: a second run the same day replaces that day's diff). The first snapshot of a contact is its full state.
func TakeSnapshots(ctx context.Context, app core.App, ws string, now time.Time) (int, error) {
	day := now.In(WorkspaceLocation(app, ws)).Format("2006-01-02")
	var ids []string
	err := app.DB().NewQuery(`SELECT c.id FROM contacts c
		LEFT JOIN (SELECT contact, MAX(taken_at) AS last FROM contact_snapshots WHERE workspace = {:ws} GROUP BY contact) s ON s.contact = c.id
		WHERE c.workspace = {:ws} AND (s.last IS NULL OR c.updated >= s.last)`).Bind(dbx.Params{"ws": ws}).Column(&ids)
	if err != nil {
		return 0, err
	}
	stored := 0
	for start := 0; start < len(ids); start += snapshotChunk {
		if ctx.Err() != nil {
			return stored, ctx.Err()
		}
		chunk := ids[start:min(len(ids), start+snapshotChunk)]
		err := platform.WriteTx(app, func(tx core.App) error {
			coll, err := tx.FindCachedCollectionByNameOrId(collections.ContactSnapshots)
			if err != nil {
				return err
			}
			for _, id := range chunk {
				c, err := tx.FindRecordById(collections.Contacts, id)
				if err != nil {
					continue
				}
				snaps, err := tx.FindRecordsByFilter(collections.ContactSnapshots, "contact = {:c}", "day", 0, 0, dbx.Params{"c": id})
				if err != nil {
					return err
				}
				prev := map[string]any{}
				var today *core.Record
				for _, s := range snaps {
					if s.GetString("day") >= day {
						if s.GetString("day") == day {
							today = s
						}
						continue
					}
					prev = diffOf(s).Apply(prev)
				}
				d := DiffStates(prev, State(c))
				if d.Empty() && len(snaps) > 0 {
					if today != nil {
						if err := tx.Delete(today); err != nil {
							return err
						}
					}
					// Nothing changed since the last snapshot: mark it seen so the contact is skipped next time.
					last := snaps[len(snaps)-1]
					if last != today {
						last.Set("taken_at", time.Now().UTC())
						if err := tx.Save(last); err != nil {
							return err
						}
					}
					continue
				}
				if today == nil {
					today = core.NewRecord(coll)
					today.Set("workspace", ws)
					today.Set("contact", id)
					today.Set("day", day)
				}
				today.Set("diff", d)
				today.Set("taken_at", time.Now().UTC())
				if err := tx.Save(today); err != nil {
					return err
				}
				stored++
			}
			return nil
		})
		if err != nil {
			return stored, err
		}
	}
	return stored, nil
}

func diffOf(s *core.Record) Diff {
	var d Diff
	_ = json.Unmarshal([]byte(s.GetString("diff")), &d)
	return d
}

// History rebuilds the contact's tracked fields as they were at the end of day (YYYY-MM-DD, workspace-local);
// asOf is the date of the last snapshot applied.
func History(app core.App, contactID, day string) (state map[string]any, asOf string, err error) {
	snaps, err := app.FindRecordsByFilter(collections.ContactSnapshots, "contact = {:c} && day <= {:d}", "day", 0, 0, dbx.Params{"c": contactID, "d": day})
	if err != nil {
		return nil, "", err
	}
	if len(snaps) == 0 {
		return nil, "", ErrNoHistory
	}
	state = map[string]any{}
	for _, s := range snaps {
		state = diffOf(s).Apply(state)
		asOf = s.GetString("day")
	}
	return state, asOf, nil
}
