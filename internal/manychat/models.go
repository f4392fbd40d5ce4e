package manychat

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// Page is the Manychat account behind the token (page getInfo). Page, Tag,
// CustomField, Flow and the other definitions decode with encoding/json's
// defaults, which already read null as the zero value; the lenient types are
// kept for contacts, where live payloads also change scalar types.
type Page struct {
	ID          ID     `json:"id"`
	Name        string `json:"name"`
	Category    string `json:"category"`
	AvatarLink  string `json:"avatar_link"`
	Username    string `json:"username"`
	About       string `json:"about"`
	Description string `json:"description"`
	IsPro       bool   `json:"is_pro"`
	Timezone    string `json:"timezone"`
}

// Tag is an account tag.
type Tag struct {
	ID   ID     `json:"id"`
	Name string `json:"name"`
}

// CustomField is a custom field definition (no value; values live on
// subscribers).
type CustomField struct {
	ID          ID        `json:"id"`
	Name        string    `json:"name"`
	Type        FieldType `json:"type"`
	Description string    `json:"description"`
}

// BotField is an account-wide field with its current value.
type BotField struct {
	ID          ID        `json:"id"`
	Name        string    `json:"name"`
	Type        FieldType `json:"type"`
	Description string    `json:"description"`
	Value       Value     `json:"value"`
}

// Flow is an automation; NS is what SendFlow takes.
type Flow struct {
	NS       string `json:"ns"`
	Name     string `json:"name"`
	FolderID ID     `json:"folder_id"`
}

// Folder groups flows; ParentID 0 is the root.
type Folder struct {
	ID       ID     `json:"id"`
	Name     string `json:"name"`
	ParentID ID     `json:"parent_id"`
}

// Flows is getFlows' answer.
type Flows struct {
	Flows   []Flow   `json:"flows"`
	Folders []Folder `json:"folders"`
}

// ByNS returns the flow with that namespace.
func (f *Flows) ByNS(ns string) (Flow, bool) {
	for _, fl := range f.Flows {
		if fl.NS == ns {
			return fl, true
		}
	}
	return Flow{}, false
}

// GrowthTool is an entry point (widget, ref URL, keyword…) of the account.
type GrowthTool struct {
	ID   ID     `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// OTNTopic is a one-time-notification topic.
type OTNTopic struct {
	ID          ID     `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// UserRef links a Messenger checkbox-plugin user_ref to a subscriber.
type UserRef struct {
	UserRef string    `json:"user_ref"`
	OptedIn time.Time `json:"opted_in"`
}

// SubscriberField is a custom field value on a subscriber. In Full Contact
// Data only Name and Value are known.
type SubscriberField struct {
	ID          ID        `json:"id,omitempty"`
	Name        string    `json:"name"`
	Type        FieldType `json:"type,omitempty"`
	Description string    `json:"description,omitempty"`
	Value       Value     `json:"value"`
}

// Subscriber is a Manychat contact (subscriber getInfo, findBy*, create and
// update). Every field may be empty: live payloads hold nulls the spec does
// not announce. Times are zero when absent.
type Subscriber struct {
	ID                ID                `json:"id"`
	PageID            ID                `json:"page_id"`
	Key               string            `json:"key,omitempty"`    // "user:<id>" (Full Contact Data)
	Status            string            `json:"status,omitempty"` // "active" (Full Contact Data)
	UserRefs          []UserRef         `json:"user_refs,omitempty"`
	FirstName         string            `json:"first_name"`
	LastName          string            `json:"last_name"`
	Name              string            `json:"name"`
	Gender            string            `json:"gender"`
	ProfilePic        string            `json:"profile_pic"`
	Locale            string            `json:"locale"`
	Language          string            `json:"language"`
	Timezone          string            `json:"timezone"`
	LiveChatURL       string            `json:"live_chat_url"`
	LastInputText     string            `json:"last_input_text"`
	OptinPhone        bool              `json:"optin_phone"`
	Phone             string            `json:"phone"`
	PhoneCountryCode  string            `json:"phone_country_code,omitempty"`
	OptinEmail        bool              `json:"optin_email"`
	Email             string            `json:"email"`
	Subscribed        time.Time         `json:"subscribed"`
	LastInteraction   time.Time         `json:"last_interaction"`
	LastSeen          time.Time         `json:"last_seen"`
	IGLastInteraction time.Time         `json:"ig_last_interaction"`
	IGLastSeen        time.Time         `json:"ig_last_seen"`
	IsFollowupEnabled bool              `json:"is_followup_enabled"`
	IGUsername        string            `json:"ig_username"`
	IGID              ID                `json:"ig_id"`
	WhatsAppPhone     string            `json:"whatsapp_phone"`
	OptinWhatsApp     bool              `json:"optin_whatsapp"`
	WhatsAppBSUID     string            `json:"whatsapp_bsuid,omitempty"`
	WhatsAppUsername  string            `json:"whatsapp_username,omitempty"`
	LastGrowthTool    json.RawMessage   `json:"last_growth_tool,omitempty"` // shape undocumented; kept raw
	CustomFields      []SubscriberField `json:"custom_fields"`
	Tags              []Tag             `json:"tags"`
}

// Field returns the custom field with that name, compared case-insensitively
// as Manychat does for setCustomFieldByName.
func (s *Subscriber) Field(name string) (SubscriberField, bool) {
	for _, f := range s.CustomFields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return SubscriberField{}, false
}

// HasTag reports whether the subscriber carries the tag (case-insensitive).
func (s *Subscriber) HasTag(name string) bool {
	for _, t := range s.Tags {
		if strings.EqualFold(t.Name, name) {
			return true
		}
	}
	return false
}

// wireSubscriber is the forgiving decoding form of Subscriber. custom_fields
// is kept raw because it is an array of definitions+values in the API but an
// object name→value in Full Contact Data.
type wireSubscriber struct {
	ID                ID              `json:"id"`
	PageID            lint            `json:"page_id"`
	Key               lstring         `json:"key"`
	Status            lstring         `json:"status"`
	UserRefs          []wireUserRef   `json:"user_refs"`
	FirstName         lstring         `json:"first_name"`
	LastName          lstring         `json:"last_name"`
	Name              lstring         `json:"name"`
	Gender            lstring         `json:"gender"`
	ProfilePic        lstring         `json:"profile_pic"`
	Locale            lstring         `json:"locale"`
	Language          lstring         `json:"language"`
	Timezone          lstring         `json:"timezone"`
	LiveChatURL       lstring         `json:"live_chat_url"`
	LastInputText     lstring         `json:"last_input_text"`
	OptinPhone        lbool           `json:"optin_phone"`
	Phone             lstring         `json:"phone"`
	PhoneCountryCode  lstring         `json:"phone_country_code"`
	OptinEmail        lbool           `json:"optin_email"`
	Email             lstring         `json:"email"`
	Subscribed        ltime           `json:"subscribed"`
	LastInteraction   ltime           `json:"last_interaction"`
	LastSeen          ltime           `json:"last_seen"`
	IGLastInteraction ltime           `json:"ig_last_interaction"`
	IGLastSeen        ltime           `json:"ig_last_seen"`
	IsFollowupEnabled lbool           `json:"is_followup_enabled"`
	IGUsername        lstring         `json:"ig_username"`
	IGID              lint            `json:"ig_id"`
	WhatsAppPhone     lstring         `json:"whatsapp_phone"`
	OptinWhatsApp     lbool           `json:"optin_whatsapp"`
	WhatsAppBSUID     lstring         `json:"whatsapp_bsuid"`
	WhatsAppUsername  lstring         `json:"whatsapp_username"`
	LastGrowthTool    json.RawMessage `json:"last_growth_tool"`
	CustomFields      json.RawMessage `json:"custom_fields"`
	Tags              json.RawMessage `json:"tags"`
}

type wireUserRef struct {
	UserRef lstring `json:"user_ref"`
	OptedIn ltime   `json:"opted_in"`
}

type wireField struct {
	ID          lint    `json:"id"`
	Name        lstring `json:"name"`
	Type        lstring `json:"type"`
	Description lstring `json:"description"`
	Value       Value   `json:"value"`
}

// UnmarshalJSON decodes both the Page API form and the Full Contact Data
// form of a contact.
func (s *Subscriber) UnmarshalJSON(b []byte) error {
	var w wireSubscriber
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = Subscriber{
		ID: w.ID, PageID: ID(w.PageID), Key: string(w.Key), Status: string(w.Status),
		FirstName: string(w.FirstName), LastName: string(w.LastName), Name: string(w.Name),
		Gender: string(w.Gender), ProfilePic: string(w.ProfilePic), Locale: string(w.Locale),
		Language: string(w.Language), Timezone: string(w.Timezone), LiveChatURL: string(w.LiveChatURL),
		LastInputText: string(w.LastInputText), OptinPhone: bool(w.OptinPhone), Phone: string(w.Phone),
		PhoneCountryCode: string(w.PhoneCountryCode), OptinEmail: bool(w.OptinEmail), Email: string(w.Email),
		Subscribed: time.Time(w.Subscribed), LastInteraction: time.Time(w.LastInteraction),
		LastSeen: time.Time(w.LastSeen), IGLastInteraction: time.Time(w.IGLastInteraction),
		IGLastSeen: time.Time(w.IGLastSeen), IsFollowupEnabled: bool(w.IsFollowupEnabled),
		IGUsername: string(w.IGUsername), IGID: ID(w.IGID), WhatsAppPhone: string(w.WhatsAppPhone),
		OptinWhatsApp: bool(w.OptinWhatsApp), WhatsAppBSUID: string(w.WhatsAppBSUID),
		WhatsAppUsername: string(w.WhatsAppUsername),
	}
	if lg := trimNull(w.LastGrowthTool); lg != nil {
		s.LastGrowthTool = lg
	}
	if s.Name == "" {
		s.Name = strings.TrimSpace(s.FirstName + " " + s.LastName)
	}
	for _, r := range w.UserRefs {
		s.UserRefs = append(s.UserRefs, UserRef{UserRef: string(r.UserRef), OptedIn: time.Time(r.OptedIn)})
	}
	var err error
	if s.CustomFields, err = decodeSubscriberFields(w.CustomFields); err != nil {
		return err
	}
	s.Tags = decodeTags(w.Tags)
	return nil
}

func trimNull(raw json.RawMessage) json.RawMessage {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil
	}
	return json.RawMessage(s)
}

// decodeSubscriberFields reads custom_fields as the API's array of field
// objects or Full Contact Data's object name→value (which PHP sends as []
// when empty). The object form is sorted by name so output is stable.
func decodeSubscriberFields(raw json.RawMessage) ([]SubscriberField, error) {
	raw = trimNull(raw)
	if raw == nil {
		return nil, nil
	}
	switch raw[0] {
	case '[':
		var items []wireField
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		out := make([]SubscriberField, 0, len(items))
		for _, it := range items {
			out = append(out, SubscriberField{ID: ID(it.ID), Name: string(it.Name), Type: FieldType(it.Type),
				Description: string(it.Description), Value: it.Value})
		}
		return out, nil
	case '{':
		var m map[string]Value
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		out := make([]SubscriberField, 0, len(m))
		for name, v := range m {
			out = append(out, SubscriberField{Name: name, Value: v})
		}
		sortFields(out)
		return out, nil
	}
	return nil, nil
}

// decodeTags reads tags as [{id,name}] or, leniently, ["name"].
func decodeTags(raw json.RawMessage) []Tag {
	raw = trimNull(raw)
	if raw == nil || raw[0] != '[' {
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]Tag, 0, len(items))
	for _, it := range items {
		var t Tag
		if json.Unmarshal(it, &t) == nil && t.Name != "" {
			out = append(out, t)
			continue
		}
		var name lstring
		if json.Unmarshal(it, &name) == nil && name != "" {
			out = append(out, Tag{Name: string(name)})
		}
	}
	return out
}

func sortFields(fs []SubscriberField) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
}
