package platform

import (
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
)

// Event is one thing that happened in a workspace. The events collection is append-only and is the single
// source that webhooks fan out from, analytics aggregate and dashboards subscribe to.
type Event struct {
	Workspace         string
	Type              string // "qr.scanned", "booking.created", ...
	SubjectCollection string
	SubjectID         string
	Contact           string
	Actor             string
	Data              any
	At                time.Time // zero: now
}

// Emit records ev with app. Call it with the transaction that makes the change, so that the event exists
// exactly when the change does.
func Emit(app core.App, ev Event) (*core.Record, error) {
	coll, err := app.FindCachedCollectionByNameOrId(collections.Events)
	if err != nil {
		return nil, err
	}
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	r := core.NewRecord(coll)
	r.Set("workspace", ev.Workspace)
	r.Set("type", ev.Type)
	r.Set("subject_collection", ev.SubjectCollection)
	r.Set("subject_id", ev.SubjectID)
	r.Set("contact", ev.Contact)
	r.Set("actor", ev.Actor)
	if ev.Data != nil {
		r.Set("data", ev.Data)
	}
	r.Set("ts", at.UnixMilli())
	if err := app.Save(r); err != nil {
		return nil, err
	}
	return r, nil
}
