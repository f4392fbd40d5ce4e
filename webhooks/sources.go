package webhooks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// Record actions an admin can turn into events, named <collection>.<action>.
var RecordActions = []string{"created", "updated", "deleted"}

// notSources are collections whose changes never become record events: logs, secrets and the webhook machinery
// itself (a delivery that emits an event that is delivered would never end).
var notSources = []string{
	collections.Events, collections.AuditLog, collections.Jobs, collections.APIKeys, collections.APIKeyUsage,
	collections.IdempotencyKeys, collections.Workspaces, collections.ToolVersions,
	collections.WebhookEndpoints, collections.WebhookDeliveries, collections.WebhookAttempts, collections.WebhookRecordSources,
	collections.WebhookState, collections.PlaygroundBins, collections.PlaygroundRequests,
}

var eventSegment = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Sources caches webhook_record_sources: which workspaces want which record changes of which collection.
// Hooks invalidate it whenever a source changes.
type Sources struct {
	mu     sync.RWMutex
	loaded bool
	want   map[string]map[string][]string // collection → workspace → actions
}

// Invalidate drops the cache; the next lookup reads the table again.
func (s *Sources) Invalidate() {
	s.mu.Lock()
	s.loaded = false
	s.want = nil
	s.mu.Unlock()
}

// Wants reports whether the workspace asked for action events of the collection. It is called on every record
// save, so the common answer (no) costs a map lookup.
func (s *Sources) Wants(app core.App, collection, workspace, action string) bool {
	if workspace == "" || slices.Contains(notSources, collection) {
		return false
	}
	s.mu.RLock()
	loaded, actions := s.loaded, s.want[collection][workspace]
	s.mu.RUnlock()
	if !loaded {
		if err := s.load(app); err != nil {
			app.Logger().Error("webhooks: loading record sources failed", "error", err)
			return false
		}
		s.mu.RLock()
		actions = s.want[collection][workspace]
		s.mu.RUnlock()
	}
	return slices.Contains(actions, action)
}

func (s *Sources) load(app core.App) error {
	var rows []struct {
		Workspace  string `db:"workspace"`
		Collection string `db:"collection"`
		Actions    string `db:"actions"`
	}
	if err := app.DB().Select("workspace", "collection", "actions").From(collections.WebhookRecordSources).All(&rows); err != nil {
		return err
	}
	want := map[string]map[string][]string{}
	for _, r := range rows {
		actions, _ := stringList(r.Actions)
		if want[r.Collection] == nil {
			want[r.Collection] = map[string][]string{}
		}
		want[r.Collection][r.Workspace] = actions
	}
	s.mu.Lock()
	s.want, s.loaded = want, true
	s.mu.Unlock()
	return nil
}

// ValidateSource checks a webhook_record_sources record: the collection must exist, belong to workspaces
// (a workspace relation), not be one of Playgram's logs or webhook collections, and have a name that can
// start an event type.
func ValidateSource(app core.App, r *core.Record) error {
	name := r.GetString("collection")
	if name == "" {
		return nil // the required rule reports it
	}
	problem := ""
	coll, err := app.FindCachedCollectionByNameOrId(name)
	switch {
	case err != nil:
		problem = fmt.Sprintf("there is no collection %q", name)
	case slices.Contains(notSources, coll.Name) || coll.IsView() || strings.HasPrefix(coll.Name, "_"):
		problem = fmt.Sprintf("changes of %s cannot be sent as webhooks", coll.Name)
	case !eventSegment.MatchString(coll.Name):
		problem = fmt.Sprintf("%q cannot start an event type: use lower-case letters, digits and _", coll.Name)
	default:
		ws := coll.Fields.GetByName("workspace")
		rel, ok := ws.(*core.RelationField)
		wsColl, _ := app.FindCachedCollectionByNameOrId(collections.Workspaces)
		if !ok || wsColl == nil || rel.CollectionId != wsColl.Id {
			problem = fmt.Sprintf("%s has no workspace relation, so its records belong to no workspace", coll.Name)
		}
	}
	if problem != "" {
		return validation.Errors{"collection": validation.NewError("validation_invalid_collection", problem)}
	}
	if coll.Name != name {
		r.Set("collection", coll.Name) // an id was given: store the name, which the events carry
	}
	return nil
}

// RecordEvent describes a record change as a domain event "<collection>.<action>". Its data is
// {"collection", "record": the record's non-hidden fields, "changed": the fields an update changed}.
func RecordEvent(r *core.Record, action string, changed []string) platform.Event {
	data := map[string]any{"collection": r.Collection().Name, "record": publicFields(r)}
	if action == "updated" {
		visible := []string{}
		for _, name := range changed {
			if f := r.Collection().Fields.GetByName(name); f != nil && !f.GetHidden() && f.Type() != core.FieldTypePassword {
				visible = append(visible, name)
			}
		}
		data["changed"] = visible
	}
	contact := ""
	if f, ok := r.Collection().Fields.GetByName("contact").(*core.RelationField); ok && f.MaxSelect <= 1 {
		contact = r.GetString("contact")
	}
	return platform.Event{
		Workspace:         r.GetString("workspace"),
		Type:              r.Collection().Name + "." + action,
		SubjectCollection: r.Collection().Name,
		SubjectID:         r.Id,
		Contact:           contact,
		Actor:             platform.ActorOf(r).String(),
		Data:              data,
	}
}

func publicFields(r *core.Record) map[string]any {
	out := map[string]any{}
	for _, f := range r.Collection().Fields {
		if f.GetHidden() || f.Type() == core.FieldTypePassword || f.GetName() == core.FieldNameTokenKey {
			continue
		}
		if f.GetName() == core.FieldNameEmail && r.Collection().IsAuth() && !r.GetBool(core.FieldNameEmailVisibility) {
			continue
		}
		out[f.GetName()] = r.Get(f.GetName())
	}
	return out
}
