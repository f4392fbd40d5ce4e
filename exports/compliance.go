package exports

import (
	"fmt"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/dbtime"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// registerHooks validates schedules, retention policies and legal holds, and audits every consent record
// (grant or withdrawal) in the transaction that saves it, on every save path (REST API, routes, CLI).
func registerHooks(app core.App) {
	app.OnRecordValidate(collections.ExportSchedules).BindFunc(func(e *core.RecordEvent) error {
		if err := validateSchedule(e.App, e.Record); err != nil {
			return err
		}
		return e.Next()
	})
	app.OnRecordValidate(collections.Retention, collections.LegalHolds).BindFunc(func(e *core.RecordEvent) error {
		ds := e.Record.GetString("dataset")
		if _, ok := Datasets[ds]; (ds != "" || e.Record.Collection().Name == collections.Retention) && !ok {
			return validation.Errors{"dataset": validation.NewError("validation_invalid_dataset", "Must be one of "+strings.Join(DatasetNames(), ", ")+".")}
		}
		if e.Record.Collection().Name == collections.LegalHolds && ds == "" && e.Record.GetString("contact") == "" {
			return validation.Errors{"contact": validation.NewError("validation_required", "A hold names a contact, a dataset, or a dataset record.")}
		}
		return e.Next()
	})
	app.OnRecordCreateExecute(collections.Consents).BindFunc(func(e *core.RecordEvent) error {
		return platform.WriteTx(e.App, func(tx core.App) error {
			orig := e.App
			e.App = tx
			defer func() { e.App = orig }()
			if err := e.Next(); err != nil {
				return err
			}
			r := e.Record
			return platform.Audit(tx, platform.ActorOf(r), r.GetString("workspace"), "consent.recorded", collections.Consents, r.Id, nil, map[string]any{
				"contact": r.GetString("contact"), "kind": r.GetString("kind"), "granted": r.GetBool("granted"),
				"source": r.GetString("source"), "time": r.GetDateTime("time"), "text_version": r.GetString("text_version"),
			})
		})
	})
}

// heldExp excludes records under a legal hold: a hold on the dataset (all of it, or one record), or on the
// contact the record belongs to. Holds with an `until` in the past no longer apply.
func heldExp(coll *core.Collection, dataset, workspace string, now time.Time) dbx.Expression {
	t := coll.Name
	contactCol := ""
	if dataset == "contacts" {
		contactCol = t + ".id"
	} else if f, ok := coll.Fields.GetByName("contact").(*core.RelationField); ok && !f.IsMultiple() {
		contactCol = t + ".contact"
	}
	cond := "(h.dataset = {:held_ds} AND (h.record = '' OR h.record = [[" + t + ".id]]))"
	if contactCol != "" {
		cond = "(" + cond + " OR (h.contact != '' AND h.contact = [[" + contactCol + "]]))"
	}
	return dbx.NewExp("NOT EXISTS (SELECT 1 FROM "+collections.LegalHolds+" h WHERE h.workspace = {:held_ws} AND (h.until = '' OR h.until > {:held_now}) AND "+cond+")",
		dbx.Params{"held_ds": dataset, "held_ws": workspace, "held_now": dbtime.Format(now)})
}

// retentionBatch records are handled per transaction.
const retentionBatch = 500

// ApplyRetention runs every workspace's retention policies: records of the dataset created before the
// period are deleted (through the model layer, so cascades and hooks run) or anonymised (their personal
// fields blanked), except those under a legal hold. Counts are logged, stored on the policy and audited.
func ApplyRetention(app core.App, now time.Time) (map[string]int, error) {
	policies, err := app.FindAllRecords(collections.Retention)
	if err != nil {
		return nil, err
	}
	total := map[string]int{}
	for _, p := range policies {
		d, ok := Datasets[p.GetString("dataset")]
		if !ok {
			app.Logger().Warn("retention policy names an unknown dataset", "policy", p.Id, "dataset", p.GetString("dataset"))
			continue
		}
		n, err := applyPolicy(app, p, d, now)
		if err != nil {
			return total, fmt.Errorf("retention policy %s (%s): %w", p.Id, d.Name, err)
		}
		total[d.Name] += n
	}
	return total, nil
}

func applyPolicy(app core.App, p *core.Record, d Dataset, now time.Time) (int, error) {
	coll, err := app.FindCachedCollectionByNameOrId(d.Collection)
	if err != nil {
		return 0, err
	}
	ws := p.GetString("workspace")
	cut := now.AddDate(0, 0, -p.GetInt("days"))
	action := p.GetString("action")
	t := coll.Name
	count := 0
	lastID := ""
	for {
		q := app.RecordQuery(coll).AndWhere(dbx.HashExp{t + ".workspace": ws}).
			AndWhere(dbx.NewExp("[["+t+".created]] < {:cut}", dbx.Params{"cut": dbtime.Format(cut)})).
			AndWhere(heldExp(coll, d.Name, ws, now)).
			AndWhere(dbx.NewExp("[["+t+".id]] > {:last}", dbx.Params{"last": lastID})).
			OrderBy(t + ".id ASC").Limit(retentionBatch)
		var recs []*core.Record
		if err := q.All(&recs); err != nil {
			return count, err
		}
		if len(recs) == 0 {
			break
		}
		err := platform.WriteTx(app, func(tx core.App) error {
			for _, r := range recs {
				if action == "delete" {
					if err := tx.Delete(r); err != nil {
						return err
					}
				} else {
					changed := false
					for _, f := range d.Personal {
						if fld := coll.Fields.GetByName(f); fld != nil && !isBlank(r.Get(f)) {
							r.Set(f, nil)
							changed = true
						}
					}
					if !changed {
						continue
					}
					if err := tx.SaveNoValidate(r); err != nil {
						return err
					}
				}
				count++
			}
			return nil
		})
		if err != nil {
			return count, err
		}
		lastID = recs[len(recs)-1].Id
		if len(recs) < retentionBatch {
			break
		}
	}
	app.Logger().Info("retention applied", "workspace", ws, "dataset", d.Name, "action", action, "count", count)
	return count, platform.WriteTx(app, func(tx core.App) error {
		p.Set("last_run_at", now)
		p.Set("last_counts", map[string]any{action: count})
		if err := tx.Save(p); err != nil {
			return err
		}
		return platform.Audit(tx, platform.SystemActor("retention"), ws, "retention.applied", collections.Retention, p.Id, nil,
			map[string]any{"dataset": d.Name, "action": action, "count": count, "before": dbtime.Format(cut)})
	})
}

func isBlank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case int:
		return x == 0
	}
	s := fmt.Sprint(v)
	return s == "" || s == "null" || s == "[]" || s == "{}" || s == "0"
}
