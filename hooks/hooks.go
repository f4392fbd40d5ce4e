// Package hooks binds Playgram's record lifecycle hooks, one file per domain. Model hooks (OnRecordCreate,
// OnRecordUpdate, ...) are used for rules that must hold on every save path, and they write their audit rows,
// versions and events in the same transaction as the change.
package hooks

import (
	"encoding/json"
	"reflect"

	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Register binds every domain's hooks. main.go and the tests call it.
func Register(app core.App, svc *platform.Services) {
	registerActors(app)
	registerAppendOnly(app)
	registerWorkspaces(app, svc)
	registerUsers(app, svc)
	registerTools(app, svc)
	registerAPIKeys(app, svc)
	registerBooking(app, svc)
	registerWebhooks(app, svc)
	registerCRM(app, svc)
}

// registerActors attaches the caller to every record saved or deleted through the collection API, before any
// other hook runs, so model hooks can name them.
func registerActors(app core.App) {
	attach := func(e *core.RecordRequestEvent) error {
		platform.WithActor(e.Record, platform.ActorFromRequest(e.RequestEvent))
		return e.Next()
	}
	app.OnRecordCreateRequest().Bind(&hook.Handler[*core.RecordRequestEvent]{Id: "playgram.actor", Priority: -100, Func: attach})
	app.OnRecordUpdateRequest().Bind(&hook.Handler[*core.RecordRequestEvent]{Id: "playgram.actor", Priority: -100, Func: attach})
	app.OnRecordDeleteRequest().Bind(&hook.Handler[*core.RecordRequestEvent]{Id: "playgram.actor", Priority: -100, Func: attach})
}

// inTx runs the rest of the save (validation and the write) and then after, in one transaction, so what after
// writes (audit rows, versions, events, jobs) commits or rolls back with the record itself.
func inTx(e *core.RecordEvent, after func(tx core.App) error) error {
	return platform.WriteTx(e.App, func(tx core.App) error {
		orig := e.App
		e.App = tx
		defer func() { e.App = orig }()
		if err := e.Next(); err != nil {
			return err
		}
		if after == nil {
			return nil
		}
		return after(tx)
	})
}

// changes lists the fields whose value differs from the stored one, as {field: {before, after}}; hidden fields
// are reported as changed without their values.
func changes(r *core.Record, fields ...string) (before, after map[string]any) {
	before, after = map[string]any{}, map[string]any{}
	orig := r.Original()
	for _, name := range fields {
		f := r.Collection().Fields.GetByName(name)
		if f == nil {
			continue
		}
		old, cur := orig.Get(name), r.Get(name)
		if equalJSON(old, cur) {
			continue
		}
		if f.GetHidden() {
			before[name], after[name] = "(hidden)", "(changed)"
			continue
		}
		before[name], after[name] = old, cur
	}
	return before, after
}
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}
