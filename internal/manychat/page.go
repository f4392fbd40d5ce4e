package manychat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// MaxFieldsPerRequest is Manychat's cap on setBotFields/setCustomFields items.
const MaxFieldsPerRequest = 20

var (
	epPageInfo          = get("/fb/page/getInfo", FamilyPageRead)
	epGetTags           = get("/fb/page/getTags", FamilyPageRead)
	epCreateTag         = postOnce("/fb/page/createTag", FamilyDefault)
	epRemoveTag         = post("/fb/page/removeTag", FamilyDefault)
	epRemoveTagByName   = post("/fb/page/removeTagByName", FamilyDefault)
	epGetCustomFields   = get("/fb/page/getCustomFields", FamilyPageRead)
	epCreateCustomField = postOnce("/fb/page/createCustomField", FamilyDefault)
	epGetBotFields      = get("/fb/page/getBotFields", FamilyPageRead)
	epCreateBotField    = postOnce("/fb/page/createBotField", FamilyDefault)
	epSetBotField       = post("/fb/page/setBotField", FamilyDefault)
	epSetBotFieldByName = post("/fb/page/setBotFieldByName", FamilyDefault)
	epSetBotFields      = post("/fb/page/setBotFields", FamilyDefault)
	epGetFlows          = get("/fb/page/getFlows", FamilyDefault)
	epGetGrowthTools    = get("/fb/page/getGrowthTools", FamilyPageRead)
	epGetOtnTopics      = get("/fb/page/getOtnTopics", FamilyPageRead)
	epGetWidgets        = get("/fb/page/getWidgets", FamilyPageRead)
)

// GetPageInfo returns the account behind the token; it is also the cheapest
// way to check that a token works.
func (c *Client) GetPageInfo(ctx context.Context) (*Page, error) {
	var p Page
	if err := c.call(ctx, epPageInfo, nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// GetTags lists the account's tags.
func (c *Client) GetTags(ctx context.Context) ([]Tag, error) {
	return list[Tag](ctx, c, epGetTags, nil)
}

// CreateTag creates an account tag. Not retried on 5xx: a retry could meet
// the tag it already created.
func (c *Client) CreateTag(ctx context.Context, name string) (*Tag, error) {
	if err := requireText("name", name); err != nil {
		return nil, err
	}
	var out struct {
		Tag *Tag `json:"tag"`
	}
	if err := c.call(ctx, epCreateTag, nil, map[string]string{"name": name}, &out); err != nil {
		return nil, err
	}
	if out.Tag == nil {
		return nil, fmt.Errorf("manychat: %s: success without data.tag", epCreateTag.path)
	}
	return out.Tag, nil
}

// DeleteTag is page removeTag: it deletes the tag from the account AND from
// every subscriber, irreversibly. To untag one contact use RemoveTag.
func (c *Client) DeleteTag(ctx context.Context, tagID ID) error {
	if err := requireID("tag_id", tagID); err != nil {
		return err
	}
	return c.call(ctx, epRemoveTag, nil, map[string]ID{"tag_id": tagID}, nil)
}

// DeleteTagByName is page removeTagByName, with DeleteTag's account-wide,
// irreversible effect.
func (c *Client) DeleteTagByName(ctx context.Context, name string) error {
	if err := requireText("tag_name", name); err != nil {
		return err
	}
	return c.call(ctx, epRemoveTagByName, nil, map[string]string{"tag_name": name}, nil)
}

// GetCustomFields lists custom field definitions (no values).
func (c *Client) GetCustomFields(ctx context.Context) ([]CustomField, error) {
	return list[CustomField](ctx, c, epGetCustomFields, nil)
}

// NewField describes a custom or bot field to create.
type NewField struct {
	Name        string
	Type        FieldType
	Description string
	// Value is the initial value of a bot field (ignored for custom fields);
	// nil leaves it unset.
	Value any
}

func (f NewField) validate() error {
	if err := requireText("name", f.Name); err != nil {
		return err
	}
	if !f.Type.Valid() {
		return &FieldError{Field: "type", Code: "invalid_type",
			Message: fmt.Sprintf("%q is not a field type (text, number, boolean, date, datetime)", string(f.Type))}
	}
	return nil
}

// CreateCustomField creates a custom field definition. Manychat takes the
// name as "caption" and returns it as "name".
func (c *Client) CreateCustomField(ctx context.Context, f NewField) (*CustomField, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	body := map[string]string{"caption": f.Name, "type": string(f.Type), "description": f.Description}
	var out struct {
		Field *CustomField `json:"field"`
	}
	if err := c.call(ctx, epCreateCustomField, nil, body, &out); err != nil {
		return nil, err
	}
	if out.Field == nil {
		return nil, fmt.Errorf("manychat: %s: success without data.field", epCreateCustomField.path)
	}
	return out.Field, nil
}

// GetBotFields lists bot fields with their account-wide values.
func (c *Client) GetBotFields(ctx context.Context) ([]BotField, error) {
	return list[BotField](ctx, c, epGetBotFields, nil)
}

// CreateBotField creates a bot field, optionally with an initial value.
func (c *Client) CreateBotField(ctx context.Context, f NewField) (*BotField, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	body := map[string]json.RawMessage{}
	for k, v := range map[string]string{"name": f.Name, "type": string(f.Type), "description": f.Description} {
		body[k], _ = json.Marshal(v)
	}
	if f.Value != nil {
		raw, err := encodeFieldValue("value", f.Value)
		if err != nil {
			return nil, err
		}
		body["value"] = raw
	}
	var out struct {
		Field *BotField `json:"field"`
	}
	if err := c.call(ctx, epCreateBotField, nil, body, &out); err != nil {
		return nil, err
	}
	if out.Field == nil {
		return nil, fmt.Errorf("manychat: %s: success without data.field", epCreateBotField.path)
	}
	return out.Field, nil
}

// SetBotField sets a bot field's value by id. The value must suit the
// field's type: string (text, "YYYY-MM-DD" date), number, bool, or time.Time
// for datetime.
func (c *Client) SetBotField(ctx context.Context, fieldID ID, value any) error {
	if err := requireID("field_id", fieldID); err != nil {
		return err
	}
	raw, err := encodeFieldValue("field_value", value)
	if err != nil {
		return err
	}
	return c.call(ctx, epSetBotField, nil, fieldByID{FieldID: fieldID, FieldValue: raw}, nil)
}

// SetBotFieldByName sets a bot field's value by name.
func (c *Client) SetBotFieldByName(ctx context.Context, name string, value any) error {
	if err := requireText("field_name", name); err != nil {
		return err
	}
	raw, err := encodeFieldValue("field_value", value)
	if err != nil {
		return err
	}
	return c.call(ctx, epSetBotFieldByName, nil, fieldByName{FieldName: name, FieldValue: raw}, nil)
}

// FieldUpdate is one item of SetBotFields/SetCustomFields: exactly one of
// FieldID and FieldName, and a value suiting the field's type.
type FieldUpdate struct {
	FieldID   ID
	FieldName string
	Value     any
}

type wireFieldUpdate struct {
	FieldID    ID              `json:"field_id,omitempty"`
	FieldName  string          `json:"field_name,omitempty"`
	FieldValue json.RawMessage `json:"field_value"`
}

type fieldByID struct {
	SubscriberID ID              `json:"subscriber_id,omitempty"`
	FieldID      ID              `json:"field_id"`
	FieldValue   json.RawMessage `json:"field_value"`
}

type fieldByName struct {
	SubscriberID ID              `json:"subscriber_id,omitempty"`
	FieldName    string          `json:"field_name"`
	FieldValue   json.RawMessage `json:"field_value"`
}

// encodeFieldUpdates checks Manychat's rules for batch updates before
// sending: 1 to 20 items, one identifier each, a usable value.
func encodeFieldUpdates(ups []FieldUpdate) ([]wireFieldUpdate, error) {
	if len(ups) == 0 {
		return nil, &FieldError{Field: "fields", Code: "required", Message: "at least one field is required"}
	}
	if len(ups) > MaxFieldsPerRequest {
		return nil, &FieldError{Field: "fields", Code: "too_many",
			Message: fmt.Sprintf("%d fields given, Manychat accepts at most %d per request", len(ups), MaxFieldsPerRequest)}
	}
	out := make([]wireFieldUpdate, len(ups))
	for i, u := range ups {
		at := fmt.Sprintf("fields[%d]", i)
		hasName := strings.TrimSpace(u.FieldName) != ""
		if (u.FieldID > 0) == hasName {
			return nil, &FieldError{Field: at, Code: "invalid_identifier", Message: "give exactly one of field_id and field_name"}
		}
		raw, err := encodeFieldValue(at+".field_value", u.Value)
		if err != nil {
			return nil, err
		}
		out[i] = wireFieldUpdate{FieldID: u.FieldID, FieldName: u.FieldName, FieldValue: raw}
	}
	return out, nil
}

// SetBotFields sets up to 20 bot fields in one request.
func (c *Client) SetBotFields(ctx context.Context, ups []FieldUpdate) error {
	fields, err := encodeFieldUpdates(ups)
	if err != nil {
		return err
	}
	return c.call(ctx, epSetBotFields, nil, map[string]any{"fields": fields}, nil)
}

// GetFlows lists flows and folders. Its limit is only 10 qps, so callers
// should cache the answer rather than look flows up per message.
func (c *Client) GetFlows(ctx context.Context) (*Flows, error) {
	var out Flows
	if err := c.call(ctx, epGetFlows, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetGrowthTools lists the account's growth tools.
func (c *Client) GetGrowthTools(ctx context.Context) ([]GrowthTool, error) {
	return list[GrowthTool](ctx, c, epGetGrowthTools, nil)
}

// GetOTNTopics lists one-time-notification topics (for SendOptions.OTNTopicName).
func (c *Client) GetOTNTopics(ctx context.Context) ([]OTNTopic, error) {
	return list[OTNTopic](ctx, c, epGetOtnTopics, nil)
}

// GetWidgets is the deprecated predecessor of GetGrowthTools, kept because
// older accounts' automations still reference widgets by these ids.
//
// Deprecated: Manychat says to use GetGrowthTools.
func (c *Client) GetWidgets(ctx context.Context) ([]GrowthTool, error) {
	return list[GrowthTool](ctx, c, epGetWidgets, nil)
}

func requireText(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return &FieldError{Field: field, Code: "required", Message: "must not be empty"}
	}
	return nil
}

func requireID(field string, id ID) error {
	if id <= 0 {
		return &FieldError{Field: field, Code: "required", Message: "must be a positive Manychat id"}
	}
	return nil
}
