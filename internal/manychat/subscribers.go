package manychat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxFinderResults is how many subscribers findByName/findByCustomField
// return at most; Manychat offers no paging beyond it.
const MaxFinderResults = 100

var (
	epSubscriberInfo      = get("/fb/subscriber/getInfo", FamilyDefault)
	epFindByName          = get("/fb/subscriber/findByName", FamilyDefault)
	epFindByCustomField   = get("/fb/subscriber/findByCustomField", FamilyDefault)
	epFindBySystemField   = get("/fb/subscriber/findBySystemField", FamilySystemLookup)
	epGetInfoByUserRef    = get("/fb/subscriber/getInfoByUserRef", FamilyDefault)
	epAddTag              = post("/fb/subscriber/addTag", FamilyDefault)
	epAddTagByName        = post("/fb/subscriber/addTagByName", FamilyDefault)
	epSubRemoveTag        = post("/fb/subscriber/removeTag", FamilyDefault)
	epSubRemoveTagByName  = post("/fb/subscriber/removeTagByName", FamilyDefault)
	epSetCustomField      = post("/fb/subscriber/setCustomField", FamilyDefault)
	epSetCustomFieldByNm  = post("/fb/subscriber/setCustomFieldByName", FamilyDefault)
	epSetCustomFields     = post("/fb/subscriber/setCustomFields", FamilyDefault)
	epCreateSubscriber    = postOnce("/fb/subscriber/createSubscriber", FamilyDefault)
	epUpdateSubscriber    = post("/fb/subscriber/updateSubscriber", FamilyDefault)
	epVerifySignedRequest = post("/fb/subscriber/verifyBySignedRequest", FamilyDefault)
)

// GetSubscriber is subscriber getInfo: the full contact with tags and
// custom field values. It is how Playgram refreshes its CRM copy, since
// Manychat has no "list all subscribers".
func (c *Client) GetSubscriber(ctx context.Context, id ID) (*Subscriber, error) {
	if err := requireID("subscriber_id", id); err != nil {
		return nil, err
	}
	var s Subscriber
	if err := c.call(ctx, epSubscriberInfo, url.Values{"subscriber_id": {id.String()}}, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// FindSubscribersByName matches the full name ("Ada Lovelace") and returns
// at most 100 subscribers.
func (c *Client) FindSubscribersByName(ctx context.Context, name string) ([]Subscriber, error) {
	if err := requireText("name", name); err != nil {
		return nil, err
	}
	return list[Subscriber](ctx, c, epFindByName, url.Values{"name": {name}})
}

// FindSubscribersByCustomField returns at most 100 subscribers whose field
// equals value, most recently updated first. Manychat supports only text and
// number fields here.
func (c *Client) FindSubscribersByCustomField(ctx context.Context, fieldID ID, value string) ([]Subscriber, error) {
	if err := requireID("field_id", fieldID); err != nil {
		return nil, err
	}
	q := url.Values{"field_id": {fieldID.String()}, "field_value": {value}}
	return list[Subscriber](ctx, c, epFindByCustomField, q)
}

// FindSubscriberByEmail is findBySystemField?email=. A miss is ErrNotFound.
func (c *Client) FindSubscriberByEmail(ctx context.Context, email string) (*Subscriber, error) {
	if err := requireText("email", email); err != nil {
		return nil, err
	}
	return c.findBySystemField(ctx, url.Values{"email": {email}})
}

// FindSubscriberByPhone is findBySystemField?phone= with an E.164 number
// ("+15400000000"). Contacts created from whatsapp_phone only are not found
// this way. A miss is ErrNotFound.
func (c *Client) FindSubscriberByPhone(ctx context.Context, phone string) (*Subscriber, error) {
	if err := requireText("phone", phone); err != nil {
		return nil, err
	}
	return c.findBySystemField(ctx, url.Values{"phone": {phone}})
}

// findBySystemField accepts the answer as an object, null, [] or a
// one-element array, all of which have been seen.
func (c *Client) findBySystemField(ctx context.Context, q url.Values) (*Subscriber, error) {
	var raw json.RawMessage
	err := c.call(ctx, epFindBySystemField, q, nil, &raw)
	if err != nil {
		if errors.Is(err, errNoData) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] == '[' {
		var found []Subscriber
		if err := json.Unmarshal(raw, &found); err != nil {
			return nil, fmt.Errorf("manychat: %s: decode data: %w", epFindBySystemField.path, err)
		}
		if len(found) == 0 {
			return nil, ErrNotFound
		}
		return &found[0], nil
	}
	var s Subscriber
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("manychat: %s: decode data: %w", epFindBySystemField.path, err)
	}
	if s.ID == 0 {
		return nil, ErrNotFound
	}
	return &s, nil
}

// GetSubscriberByUserRef resolves a Messenger checkbox user_ref. Unknown or
// unlinked refs fail with codes 2011/2012, which IsNotFound matches.
func (c *Client) GetSubscriberByUserRef(ctx context.Context, userRef string) (*Subscriber, error) {
	if err := requireText("user_ref", userRef); err != nil {
		return nil, err
	}
	var s Subscriber
	if err := c.call(ctx, epGetInfoByUserRef, url.Values{"user_ref": {userRef}}, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

type tagByID struct {
	SubscriberID ID `json:"subscriber_id"`
	TagID        ID `json:"tag_id"`
}

type tagByName struct {
	SubscriberID ID     `json:"subscriber_id"`
	TagName      string `json:"tag_name"`
}

func (c *Client) tagCall(ctx context.Context, ep endpoint, sub, tag ID) error {
	if err := requireID("subscriber_id", sub); err != nil {
		return err
	}
	if err := requireID("tag_id", tag); err != nil {
		return err
	}
	return c.call(ctx, ep, nil, tagByID{SubscriberID: sub, TagID: tag}, nil)
}

func (c *Client) tagNameCall(ctx context.Context, ep endpoint, sub ID, name string) error {
	if err := requireID("subscriber_id", sub); err != nil {
		return err
	}
	if err := requireText("tag_name", name); err != nil {
		return err
	}
	return c.call(ctx, ep, nil, tagByName{SubscriberID: sub, TagName: name}, nil)
}

// AddTag tags one subscriber by tag id.
func (c *Client) AddTag(ctx context.Context, subscriberID, tagID ID) error {
	return c.tagCall(ctx, epAddTag, subscriberID, tagID)
}

// AddTagByName tags one subscriber by tag name; the tag must exist.
func (c *Client) AddTagByName(ctx context.Context, subscriberID ID, tagName string) error {
	return c.tagNameCall(ctx, epAddTagByName, subscriberID, tagName)
}

// RemoveTag untags one subscriber (the tag stays in the account).
func (c *Client) RemoveTag(ctx context.Context, subscriberID, tagID ID) error {
	return c.tagCall(ctx, epSubRemoveTag, subscriberID, tagID)
}

// RemoveTagByName untags one subscriber by tag name.
func (c *Client) RemoveTagByName(ctx context.Context, subscriberID ID, tagName string) error {
	return c.tagNameCall(ctx, epSubRemoveTagByName, subscriberID, tagName)
}

// SetCustomField sets one custom field of a subscriber by field id. The
// field must exist; the value must suit its type.
func (c *Client) SetCustomField(ctx context.Context, subscriberID, fieldID ID, value any) error {
	if err := requireID("subscriber_id", subscriberID); err != nil {
		return err
	}
	if err := requireID("field_id", fieldID); err != nil {
		return err
	}
	raw, err := encodeFieldValue("field_value", value)
	if err != nil {
		return err
	}
	return c.call(ctx, epSetCustomField, nil, fieldByID{SubscriberID: subscriberID, FieldID: fieldID, FieldValue: raw}, nil)
}

// SetCustomFieldByName sets one custom field by name (Manychat matches the
// name case-insensitively).
func (c *Client) SetCustomFieldByName(ctx context.Context, subscriberID ID, fieldName string, value any) error {
	if err := requireID("subscriber_id", subscriberID); err != nil {
		return err
	}
	if err := requireText("field_name", fieldName); err != nil {
		return err
	}
	raw, err := encodeFieldValue("field_value", value)
	if err != nil {
		return err
	}
	return c.call(ctx, epSetCustomFieldByNm, nil, fieldByName{SubscriberID: subscriberID, FieldName: fieldName, FieldValue: raw}, nil)
}

// SetCustomFields sets up to 20 custom fields of one subscriber at once.
func (c *Client) SetCustomFields(ctx context.Context, subscriberID ID, ups []FieldUpdate) error {
	if err := requireID("subscriber_id", subscriberID); err != nil {
		return err
	}
	fields, err := encodeFieldUpdates(ups)
	if err != nil {
		return err
	}
	return c.call(ctx, epSetCustomFields, nil, map[string]any{"subscriber_id": subscriberID, "fields": fields}, nil)
}

// NewSubscriber is createSubscriber's input. Manychat can only create SMS,
// WhatsApp and email contacts this way; Instagram and Messenger contacts
// appear when the person writes to the account.
type NewSubscriber struct {
	FirstName     string
	LastName      string
	Phone         string // E.164; needs HasOptInSMS set explicitly (true or false)
	WhatsAppPhone string
	Email         string
	Gender        string
	HasOptInSMS   bool
	HasOptInEmail bool
	ConsentPhrase string // required when HasOptInSMS is true
}

// Validate applies Manychat's documented createSubscriber rules so the
// caller gets a field-named error instead of an opaque 400.
func (n NewSubscriber) Validate() error {
	if strings.TrimSpace(n.Phone) == "" && strings.TrimSpace(n.WhatsAppPhone) == "" && strings.TrimSpace(n.Email) == "" {
		return &FieldError{Field: "phone", Code: "required", Message: "one of phone, whatsapp_phone or email is required"}
	}
	if n.HasOptInSMS && strings.TrimSpace(n.Phone) == "" {
		return &FieldError{Field: "has_opt_in_sms", Code: "invalid", Message: "SMS opt-in needs a phone"}
	}
	if n.HasOptInEmail && strings.TrimSpace(n.Email) == "" {
		return &FieldError{Field: "has_opt_in_email", Code: "invalid", Message: "email opt-in needs an email"}
	}
	if n.HasOptInSMS && strings.TrimSpace(n.ConsentPhrase) == "" {
		return &FieldError{Field: "consent_phrase", Code: "required", Message: "required when has_opt_in_sms is true"}
	}
	return nil
}

// MarshalJSON sends has_opt_in_sms/has_opt_in_email exactly when phone/email
// are given, as Manychat requires them there.
func (n NewSubscriber) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	putString(m, "first_name", n.FirstName)
	putString(m, "last_name", n.LastName)
	putString(m, "phone", n.Phone)
	putString(m, "whatsapp_phone", n.WhatsAppPhone)
	putString(m, "email", n.Email)
	putString(m, "gender", n.Gender)
	putString(m, "consent_phrase", n.ConsentPhrase)
	if n.Phone != "" {
		m["has_opt_in_sms"] = n.HasOptInSMS
	}
	if n.Email != "" {
		m["has_opt_in_email"] = n.HasOptInEmail
	}
	return json.Marshal(m)
}

func putString(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// CreateSubscriber creates an SMS/WhatsApp/email contact. Not retried on
// 5xx, which could create it twice.
func (c *Client) CreateSubscriber(ctx context.Context, n NewSubscriber) (*Subscriber, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	var s Subscriber
	if err := c.call(ctx, epCreateSubscriber, nil, n, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// SubscriberUpdate is updateSubscriber's input; nil fields are left as they
// are. WhatsApp numbers cannot be changed through the API.
type SubscriberUpdate struct {
	SubscriberID  ID      `json:"subscriber_id"`
	FirstName     *string `json:"first_name,omitempty"`
	LastName      *string `json:"last_name,omitempty"`
	Phone         *string `json:"phone,omitempty"`
	Email         *string `json:"email,omitempty"`
	Gender        *string `json:"gender,omitempty"`
	HasOptInSMS   *bool   `json:"has_opt_in_sms,omitempty"`
	HasOptInEmail *bool   `json:"has_opt_in_email,omitempty"`
	ConsentPhrase *string `json:"consent_phrase,omitempty"`
}

// UpdateSubscriber changes a contact's system fields and returns it.
func (c *Client) UpdateSubscriber(ctx context.Context, u SubscriberUpdate) (*Subscriber, error) {
	if err := requireID("subscriber_id", u.SubscriberID); err != nil {
		return nil, err
	}
	if u.HasOptInSMS != nil && *u.HasOptInSMS && (u.ConsentPhrase == nil || strings.TrimSpace(*u.ConsentPhrase) == "") {
		return nil, &FieldError{Field: "consent_phrase", Code: "required", Message: "required when has_opt_in_sms is true"}
	}
	var s Subscriber
	if err := c.call(ctx, epUpdateSubscriber, nil, u, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// VerifyBySignedRequest verifies a Messenger webview's signed_request for a
// subscriber.
func (c *Client) VerifyBySignedRequest(ctx context.Context, subscriberID ID, signedRequest string) error {
	if err := requireID("subscriber_id", subscriberID); err != nil {
		return err
	}
	if err := requireText("signed_request", signedRequest); err != nil {
		return err
	}
	body := map[string]any{"subscriber_id": subscriberID, "signed_request": signedRequest}
	return c.call(ctx, epVerifySignedRequest, nil, body, nil)
}
