package manychat

import (
	"fmt"
	"strings"
	"time"
)

func (a *Account) pageInfo(_ *request, _ time.Time) result {
	p := a.page
	return success(map[string]any{
		"id": p.ID, "name": p.Name, "category": p.Category, "avatar_link": p.AvatarLink,
		"username": p.Username, "about": p.About, "description": p.Description,
		"is_pro": p.IsPro, "timezone": p.Timezone,
	})
}

func tagJSON(t *tag) map[string]any { return map[string]any{"id": t.id, "name": t.name} }

func (a *Account) getTags(_ *request, _ time.Time) result {
	out := make([]map[string]any, 0, len(a.tags))
	for _, t := range a.tags {
		out = append(out, tagJSON(t))
	}
	return success(out)
}

func (a *Account) createTag(in *request, _ time.Time) result {
	name, ok := in.bodyString("name")
	if !ok {
		return a.invalid("name", "The name field is required.")
	}
	if a.tagByName(name) != nil {
		return a.invalid("name", fmt.Sprintf("Tag %q already exists", name))
	}
	t := &tag{id: a.newID(), name: name}
	a.tags = append(a.tags, t)
	return success(map[string]any{"tag": tagJSON(t)})
}

// deleteTag is page removeTag/removeTagByName: the tag leaves the account
// and every subscriber.
func (a *Account) deleteTag(in *request, _ time.Time) result {
	var t *tag
	if in.has("tag_id") {
		id, bad := in.bodyInt(a, "tag_id")
		if bad != nil {
			return *bad
		}
		if t = a.tagByID(id); t == nil {
			return a.invalid("tag_id", "Tag not found")
		}
	} else {
		name, ok := in.bodyString("tag_name")
		if !ok {
			return a.invalid("tag_name", "The tag_name field is required.")
		}
		if t = a.tagByName(name); t == nil {
			return a.invalid("tag_name", "Tag not found")
		}
	}
	for i, x := range a.tags {
		if x == t {
			a.tags = append(a.tags[:i], a.tags[i+1:]...)
			break
		}
	}
	for _, st := range a.subs {
		st.removeTag(t.id)
	}
	return successEmpty()
}

func fieldJSON(f *field, withValue bool) map[string]any {
	m := map[string]any{"id": f.id, "name": f.name, "type": f.typ, "description": f.description}
	if withValue {
		m["value"] = f.value
	}
	return m
}

func (a *Account) getCustomFields(_ *request, _ time.Time) result {
	out := make([]map[string]any, 0, len(a.fields))
	for _, f := range a.fields {
		out = append(out, fieldJSON(f, false))
	}
	return success(out)
}

var fieldTypes = map[string]bool{"text": true, "number": true, "boolean": true, "date": true, "datetime": true}

func (a *Account) createCustomField(in *request, _ time.Time) result {
	name, ok := in.bodyString("caption")
	if !ok {
		return a.invalid("caption", "The caption field is required.")
	}
	typ, _ := in.body["type"].(string)
	if !fieldTypes[typ] {
		return a.invalid("type", "The type must be one of: text, number, date, datetime, boolean.")
	}
	if findField(a.fields, name) != nil {
		return a.invalid("caption", fmt.Sprintf("Custom field %q already exists", name))
	}
	desc, _ := in.body["description"].(string)
	f := &field{id: a.newID(), name: name, typ: typ, description: desc}
	a.fields = append(a.fields, f)
	return success(map[string]any{"field": fieldJSON(f, false)})
}

func (a *Account) getBotFields(_ *request, _ time.Time) result {
	out := make([]map[string]any, 0, len(a.botFields))
	for _, f := range a.botFields {
		out = append(out, fieldJSON(f, true))
	}
	return success(out)
}

func (a *Account) createBotField(in *request, _ time.Time) result {
	name, ok := in.bodyString("name")
	if !ok {
		return a.invalid("name", "The name field is required.")
	}
	typ, _ := in.body["type"].(string)
	if !fieldTypes[typ] {
		return a.invalid("type", "The type must be one of: text, number, date, datetime, boolean.")
	}
	if findField(a.botFields, name) != nil {
		return a.invalid("name", fmt.Sprintf("Bot field %q already exists", name))
	}
	f := &field{id: a.newID(), name: name, typ: typ}
	f.description, _ = in.body["description"].(string)
	if v, given := in.body["value"]; given && v != nil {
		norm, problem := checkValue(typ, v)
		if problem != "" {
			return a.invalid("value", problem)
		}
		f.value = norm
	}
	a.botFields = append(a.botFields, f)
	return success(map[string]any{"field": fieldJSON(f, true)})
}

// fieldRef resolves one {field_id | field_name, field_value} item against
// defs. at prefixes parameter names in errors ("fields.3.").
func (a *Account) fieldRef(defs []*field, item map[string]any, at string, exactlyOne bool) (*field, any, *result) {
	_, hasID := item["field_id"]
	_, hasName := item["field_name"]
	if exactlyOne && hasID == hasName {
		r := a.invalid(at+"field_id", "Use field_id OR field_name to specify the field.")
		return nil, nil, &r
	}
	var f *field
	if hasID {
		id, bad := (&request{body: item}).bodyInt(a, "field_id")
		if bad != nil {
			r := a.invalid(at+"field_id", "The field_id must be an integer.")
			return nil, nil, &r
		}
		f = fieldByID(defs, id)
	} else {
		name, ok := item["field_name"].(string)
		if !ok || strings.TrimSpace(name) == "" {
			r := a.invalid(at+"field_name", "The field_name field is required.")
			return nil, nil, &r
		}
		f = findField(defs, name) // case-insensitive, as Manychat documents
	}
	if f == nil {
		r := a.invalid(at+"field_id", "Field not found")
		return nil, nil, &r
	}
	v, ok := item["field_value"]
	if !ok || v == nil {
		r := a.invalid(at+"field_value", "The field_value field is required.")
		return nil, nil, &r
	}
	norm, problem := checkValue(f.typ, v)
	if problem != "" {
		r := a.invalid(at+"field_value", fmt.Sprintf("Wrong value for field %q: %s", f.name, problem))
		return nil, nil, &r
	}
	return f, norm, nil
}

func (a *Account) setBotField(in *request, _ time.Time) result {
	f, v, bad := a.fieldRef(a.botFields, in.body, "", false)
	if bad != nil {
		return *bad
	}
	f.value = v
	return successEmpty()
}

// fieldItems reads "fields" for the batch setters: 1 to 20 objects.
func (a *Account) fieldItems(in *request) ([]map[string]any, *result) {
	raw, ok := in.body["fields"].([]any)
	if !ok || len(raw) == 0 {
		r := a.invalid("fields", "The fields field is required.")
		return nil, &r
	}
	if len(raw) > 20 {
		r := a.invalid("fields", "The number of fields is limited to 20 for one request.")
		return nil, &r
	}
	items := make([]map[string]any, len(raw))
	for i, it := range raw {
		m, ok := it.(map[string]any)
		if !ok {
			r := a.invalid(fmt.Sprintf("fields.%d", i), "Each field must be an object.")
			return nil, &r
		}
		items[i] = m
	}
	return items, nil
}

func (a *Account) setBotFields(in *request, _ time.Time) result {
	items, bad := a.fieldItems(in)
	if bad != nil {
		return *bad
	}
	type upd struct {
		f *field
		v any
	}
	var ups []upd
	for i, it := range items {
		f, v, bad := a.fieldRef(a.botFields, it, fmt.Sprintf("fields.%d.", i), true)
		if bad != nil {
			return *bad
		}
		ups = append(ups, upd{f, v})
	}
	for _, u := range ups {
		u.f.value = u.v
	}
	return successEmpty()
}

func (a *Account) getFlows(_ *request, _ time.Time) result {
	flows := make([]map[string]any, 0, len(a.flows))
	for _, f := range a.flows {
		flows = append(flows, map[string]any{"ns": f.ns, "name": f.name, "folder_id": f.folderID})
	}
	folders := make([]map[string]any, 0, len(a.folders))
	for _, f := range a.folders {
		folders = append(folders, map[string]any{"id": f.id, "name": f.name, "parent_id": f.parentID})
	}
	return success(map[string]any{"flows": flows, "folders": folders})
}

func (a *Account) getGrowthTools(_ *request, _ time.Time) result {
	out := make([]map[string]any, 0, len(a.growthTools))
	for _, g := range a.growthTools {
		out = append(out, map[string]any{"id": g.id, "name": g.name, "type": g.kind})
	}
	return success(out)
}

func (a *Account) getOTNTopics(_ *request, _ time.Time) result {
	out := make([]map[string]any, 0, len(a.otnTopics))
	for _, t := range a.otnTopics {
		out = append(out, map[string]any{"id": t.id, "name": t.name, "description": t.description})
	}
	return success(out)
}
