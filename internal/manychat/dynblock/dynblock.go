// Package dynblock builds and validates Manychat Dynamic Block v2 bodies:
// the JSON a Playgram route answers to a Dynamic Block request, and the data
// of sendContent. Validation checks the limits Manychat documents (10
// messages, 11 quick replies, 5 actions), its channel matrix (what Instagram,
// WhatsApp and Telegram accept), and the platform limits Meta applies to
// Instagram and Messenger text, buttons and cards, so a reply that Manychat
// or Instagram would drop fails here with the offending field named.
package dynblock

import (
	"encoding/json"
	"fmt"
	"time"
)

// Version is the only Dynamic Block format Playgram speaks.
const Version = "v2"

// Channel is content.type: empty for Messenger, otherwise the channel name.
type Channel string

// Channels.
const (
	Messenger Channel = ""
	Instagram Channel = "instagram"
	WhatsApp  Channel = "whatsapp"
	Telegram  Channel = "telegram"
)

// MessageType is a message's "type".
type MessageType string

// Message types. Manychat's old "list" type is intentionally absent.
const (
	TypeText  MessageType = "text"
	TypeImage MessageType = "image"
	TypeVideo MessageType = "video"
	TypeAudio MessageType = "audio"
	TypeFile  MessageType = "file"
	TypeCards MessageType = "cards"
)

// ButtonType is a button's or quick reply's "type".
type ButtonType string

// Button types.
const (
	ButtonURL      ButtonType = "url"
	ButtonFlow     ButtonType = "flow"
	ButtonNode     ButtonType = "node"
	ButtonCall     ButtonType = "call"
	ButtonBuy      ButtonType = "buy"
	ButtonCallback ButtonType = "dynamic_block_callback"
)

// ActionKind is an action's "action".
type ActionKind string

// Action kinds.
const (
	ActionAddTag     ActionKind = "add_tag"
	ActionRemoveTag  ActionKind = "remove_tag"
	ActionSetField   ActionKind = "set_field_value"
	ActionUnsetField ActionKind = "unset_field_value"
)

// Response is a Dynamic Block v2 body.
type Response struct {
	Version string  `json:"version"`
	Content Content `json:"content"`
}

// Content is the body's content object.
type Content struct {
	Type                    Channel          `json:"type,omitempty"`
	Messages                []Message        `json:"messages"`
	Actions                 []Action         `json:"actions,omitempty"`
	QuickReplies            []Button         `json:"quick_replies,omitempty"`
	ExternalMessageCallback *MessageCallback `json:"external_message_callback,omitempty"`
}

// MarshalJSON writes "messages":[] rather than null for an actions-only
// reply, since messages is a required array.
func (c Content) MarshalJSON() ([]byte, error) {
	type plain Content
	if c.Messages == nil {
		c.Messages = []Message{}
	}
	return json.Marshal(plain(c))
}

// Message is one message of a reply.
type Message struct {
	Type             MessageType `json:"type"`
	Text             string      `json:"text,omitempty"`
	URL              string      `json:"url,omitempty"`
	ImageAspectRatio string      `json:"image_aspect_ratio,omitempty"` // cards: "horizontal" or "square"
	Elements         []Element   `json:"elements,omitempty"`
	Buttons          []Button    `json:"buttons,omitempty"`
}

// Element is one card of a cards gallery.
type Element struct {
	Title     string   `json:"title"`
	Subtitle  string   `json:"subtitle,omitempty"`
	ImageURL  string   `json:"image_url,omitempty"`
	ActionURL string   `json:"action_url,omitempty"`
	Buttons   []Button `json:"buttons,omitempty"`
}

// Button is a message button or a quick reply; which fields matter depends
// on Type.
type Button struct {
	Type          ButtonType        `json:"type"`
	Caption       string            `json:"caption"`
	URL           string            `json:"url,omitempty"`          // url, dynamic_block_callback
	WebviewSize   string            `json:"webview_size,omitempty"` // url, Messenger only
	Target        string            `json:"target,omitempty"`       // flow ns or node name
	Phone         string            `json:"phone,omitempty"`        // call
	Method        string            `json:"method,omitempty"`       // dynamic_block_callback
	Headers       map[string]string `json:"headers,omitempty"`      // dynamic_block_callback
	Payload       any               `json:"payload,omitempty"`      // dynamic_block_callback
	Customer      *BuyCustomer      `json:"customer,omitempty"`     // buy
	Product       *BuyProduct       `json:"product,omitempty"`      // buy
	SuccessTarget string            `json:"success_target,omitempty"`
	Actions       []Action          `json:"actions,omitempty"` // url, flow, node only
}

// BuyCustomer says what a buy button collects.
type BuyCustomer struct {
	ShippingAddress bool `json:"shipping_address"`
	ContactName     bool `json:"contact_name"`
	ContactPhone    bool `json:"contact_phone"`
	ContactEmail    bool `json:"contact_email"`
}

// BuyProduct is what a buy button sells; Cost is in cents.
type BuyProduct struct {
	Label string `json:"label"`
	Cost  int64  `json:"cost"`
}

// MessageCallback is external_message_callback: Manychat posts the
// contact's next text message to URL and sends the v2 reply it gets back.
type MessageCallback struct {
	URL     string            `json:"url"`
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Payload any               `json:"payload,omitempty"`
	Timeout int               `json:"timeout,omitempty"` // seconds, max one day
}

// Action is a tag or field change Manychat applies when the reply is sent
// (content.actions) or a button is clicked (button.actions).
type Action struct {
	Kind      ActionKind
	TagName   string
	FieldName string
	// Value is set_field_value's value: string, bool, a Go number,
	// json.Number or time.Time (written as ISO-8601 UTC with milliseconds,
	// the layout Dynamic Blocks use for datetime fields).
	Value any
}

type wireAction struct {
	Action    ActionKind      `json:"action"`
	TagName   string          `json:"tag_name,omitempty"`
	FieldName string          `json:"field_name,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
}

// DatetimeLayout is how Dynamic Blocks want datetime field values.
const DatetimeLayout = "2006-01-02T15:04:05.000Z"

// MarshalJSON writes "value" only for set_field_value, where false, 0 and ""
// are real values and must not be dropped.
func (a Action) MarshalJSON() ([]byte, error) {
	w := wireAction{Action: a.Kind, TagName: a.TagName, FieldName: a.FieldName}
	if a.Kind == ActionSetField {
		raw, err := encodeValue(a.Value)
		if err != nil {
			return nil, fmt.Errorf("dynblock: action %s %q: %w", a.Kind, a.FieldName, err)
		}
		w.Value = raw
	}
	return json.Marshal(w)
}

// UnmarshalJSON keeps numbers as json.Number so big values survive.
func (a *Action) UnmarshalJSON(b []byte) error {
	var w wireAction
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*a = Action{Kind: w.Action, TagName: w.TagName, FieldName: w.FieldName}
	if len(w.Value) > 0 {
		var v any
		if err := unmarshalNumber(w.Value, &v); err != nil {
			return err
		}
		a.Value = v
	}
	return nil
}

// encodeValue accepts only the scalar types a Manychat field can hold.
func encodeValue(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return nil, fmt.Errorf("a value is required")
	case time.Time:
		return json.Marshal(x.UTC().Format(DatetimeLayout))
	case json.Number:
		if _, err := x.Float64(); err != nil {
			return nil, fmt.Errorf("%q is not a number", string(x))
		}
		return json.RawMessage(x), nil
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return json.Marshal(x)
	default:
		return nil, fmt.Errorf("type %T is not a field value (use string, number, bool or time.Time)", v)
	}
}
