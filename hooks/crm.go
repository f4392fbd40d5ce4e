package hooks

import (
	"errors"
	"slices"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/internal/autoreply"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// registerCRM keeps contacts' search rows and events in step with every save path, checks auto-reply rules at
// save time and drops the cached rules of a workspace after a rule or template change.
func registerCRM(app core.App, svc *platform.Services) {
	app.OnRecordValidate(collections.Contacts).BindFunc(func(e *core.RecordEvent) error {
		errs := validation.Errors{}
		for _, f := range []string{"tags", "local_tags"} {
			if !crm.ValidTagList([]byte(e.Record.GetString(f))) {
				errs[f] = validation.NewError("validation_invalid_tags", "must be a list of tag names (1 to 200 characters)")
			}
		}
		if raw := e.Record.GetString("custom_fields"); raw != "" && raw != "null" {
			var m map[string]any
			if err := e.Record.UnmarshalJSONField("custom_fields", &m); err != nil {
				errs["custom_fields"] = validation.NewError("validation_invalid_fields", "must be an object of field name → value")
			}
		}
		if len(errs) > 0 {
			return errs
		}
		return e.Next()
	})

	app.OnRecordCreate(collections.Contacts).BindFunc(func(e *core.RecordEvent) error {
		actor := platform.ActorOf(e.Record)
		return inTx(e, func(tx core.App) error {
			if err := crm.IndexContact(tx, e.Record, true, true, true); err != nil {
				return err
			}
			_, err := platform.Emit(tx, platform.Event{Workspace: e.Record.GetString("workspace"), Type: "contact.created",
				SubjectCollection: collections.Contacts, SubjectID: e.Record.Id, Contact: e.Record.Id, Actor: actor.String(),
				Data: map[string]any{"contact": crm.ContactJSON(e.Record)}})
			return err
		})
	})

	app.OnRecordUpdate(collections.Contacts).BindFunc(func(e *core.RecordEvent) error {
		before, after := changes(e.Record, crm.TrackedFields...)
		if len(after) == 0 {
			return e.Next()
		}
		changed := func(fields ...string) bool {
			return slices.ContainsFunc(fields, func(f string) bool { _, ok := after[f]; return ok })
		}
		text := changed("name", "first_name", "last_name", "ig_username", "email", "phone")
		attrs := changed("tags", "local_tags", "custom_fields")
		oldTags := map[string][]string{"manychat": crm.StringList(e.Record.Original(), "tags"), "local": crm.StringList(e.Record.Original(), "local_tags")}
		newTags := map[string][]string{"manychat": crm.StringList(e.Record, "tags"), "local": crm.StringList(e.Record, "local_tags")}
		actor := platform.ActorOf(e.Record)
		return inTx(e, func(tx core.App) error {
			if err := crm.IndexContact(tx, e.Record, false, text, attrs); err != nil {
				return err
			}
			ws, id := e.Record.GetString("workspace"), e.Record.Id
			emit := func(typ string, data any) error {
				_, err := platform.Emit(tx, platform.Event{Workspace: ws, Type: typ, SubjectCollection: collections.Contacts,
					SubjectID: id, Contact: id, Actor: actor.String(), Data: data})
				return err
			}
			chg := map[string]any{}
			for f, v := range after {
				chg[f] = map[string]any{"before": before[f], "after": v}
			}
			if err := emit("contact.updated", map[string]any{"changes": chg}); err != nil {
				return err
			}
			for _, source := range []string{"manychat", "local"} {
				for _, t := range newTags[source] {
					if !slices.Contains(oldTags[source], t) {
						if err := emit("contact.tag_added", map[string]any{"tag": t, "source": source}); err != nil {
							return err
						}
					}
				}
				for _, t := range oldTags[source] {
					if !slices.Contains(newTags[source], t) {
						if err := emit("contact.tag_removed", map[string]any{"tag": t, "source": source}); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
	})

	app.OnRecordDelete(collections.Contacts).BindFunc(func(e *core.RecordEvent) error {
		id := e.Record.Id
		return inTx(e, func(tx core.App) error { return crm.UnindexContact(tx, id) })
	})

	app.OnRecordValidate(collections.AutoReplyRules).BindFunc(func(e *core.RecordEvent) error {
		rule, err := crm.RuleFromRecord(e.Record)
		if err == nil {
			_, err = autoreply.Compile(rule)
		}
		var fe *autoreply.FieldError
		if errors.As(err, &fe) {
			return validation.Errors{fe.Field: validation.NewError("validation_invalid_"+fe.Field, fe.Message)}
		}
		if err != nil {
			return err
		}
		for _, a := range rule.Actions {
			if a.Template == "" {
				continue
			}
			_, err := e.App.FindFirstRecordByFilter(collections.MessageTemplates, "workspace = {:ws} && (id = {:t} || name = {:t})",
				dbx.Params{"ws": e.Record.GetString("workspace"), "t": a.Template})
			if err != nil {
				return validation.Errors{"actions": validation.NewError("validation_unknown_template", "no message template "+a.Template+" in this workspace")}
			}
		}
		return e.Next()
	})

	invalidate := func(e *core.RecordEvent) error {
		crm.InvalidateRules(e.App, e.Record.GetString("workspace"))
		return e.Next()
	}
	for _, c := range []string{collections.AutoReplyRules, collections.MessageTemplates} {
		app.OnRecordAfterCreateSuccess(c).BindFunc(invalidate)
		app.OnRecordAfterUpdateSuccess(c).BindFunc(invalidate)
		app.OnRecordAfterDeleteSuccess(c).BindFunc(invalidate)
	}
}
