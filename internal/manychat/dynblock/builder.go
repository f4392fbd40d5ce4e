package dynblock

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// New starts an empty reply for a channel. The builder methods append to it
// and return it, so a route can write
//
//	dynblock.New(dynblock.Instagram).Text(msg, dynblock.URLButton("Open", u)).Action(dynblock.AddTag("booked"))
//
// and call Validate before answering.
func New(ch Channel) *Response {
	return &Response{Version: Version, Content: Content{Type: ch, Messages: []Message{}}}
}

// Limits returns the limits of the reply's channel.
func (r *Response) Limits() Limits { return LimitsFor(r.Content.Type) }

// Text appends a text message, split into several messages when it is over
// the channel's text limit (see SplitText). Buttons go on the last part,
// which is split again if needed to fit the shorter limit of a text with
// buttons. Empty text appends nothing.
func (r *Response) Text(text string, buttons ...Button) *Response {
	l := r.Limits()
	parts := SplitText(text, l.MaxTextBytes, l.MaxTextRunes)
	if len(parts) == 0 {
		return r
	}
	if len(buttons) > 0 {
		last := parts[len(parts)-1]
		parts = append(parts[:len(parts)-1], SplitText(last, l.MaxTextBytes, minPositive(l.MaxTextRunes, l.MaxButtonTextRunes))...)
	}
	for i, p := range parts {
		m := Message{Type: TypeText, Text: p}
		if i == len(parts)-1 {
			m.Buttons = buttons
		}
		r.Content.Messages = append(r.Content.Messages, m)
	}
	return r
}

func minPositive(a, b int) int {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// Image appends an image message (JPG, PNG or GIF URL).
func (r *Response) Image(url string, buttons ...Button) *Response {
	return r.Message(Message{Type: TypeImage, URL: url, Buttons: buttons})
}

// Cards appends a gallery; aspect is "horizontal" or "square" ("" leaves
// Manychat's default).
func (r *Response) Cards(aspect string, elements ...Element) *Response {
	return r.Message(Message{Type: TypeCards, ImageAspectRatio: aspect, Elements: elements})
}

// Message appends any message as is.
func (r *Response) Message(m Message) *Response {
	r.Content.Messages = append(r.Content.Messages, m)
	return r
}

// QuickReply appends quick replies (node or flow buttons on Instagram).
func (r *Response) QuickReply(buttons ...Button) *Response {
	r.Content.QuickReplies = append(r.Content.QuickReplies, buttons...)
	return r
}

// Action appends actions Manychat runs when the reply is delivered.
func (r *Response) Action(actions ...Action) *Response {
	r.Content.Actions = append(r.Content.Actions, actions...)
	return r
}

// URLButton opens a web page; actions run on click.
func URLButton(caption, url string, actions ...Action) Button {
	return Button{Type: ButtonURL, Caption: caption, URL: url, Actions: actions}
}

// FlowButton starts a flow by its ns (from getFlows).
func FlowButton(caption, flowNS string, actions ...Action) Button {
	return Button{Type: ButtonFlow, Caption: caption, Target: flowNS, Actions: actions}
}

// NodeButton jumps to a node of the current flow. It works in a Dynamic
// Block reply but not through sendContent.
func NodeButton(caption, node string, actions ...Action) Button {
	return Button{Type: ButtonNode, Caption: caption, Target: node, Actions: actions}
}

// CallbackButton calls url again with payload when clicked and sends the v2
// reply it gets back (Messenger only, HTTPS only).
func CallbackButton(caption, url string, payload any) Button {
	return Button{Type: ButtonCallback, Caption: caption, URL: url, Method: "post", Payload: payload}
}

// CallButton dials a phone number (Messenger only).
func CallButton(caption, phone string) Button {
	return Button{Type: ButtonCall, Caption: caption, Phone: phone}
}

// AddTag tags the contact; the tag must exist in the account.
func AddTag(name string) Action { return Action{Kind: ActionAddTag, TagName: name} }

// RemoveTag untags the contact.
func RemoveTag(name string) Action { return Action{Kind: ActionRemoveTag, TagName: name} }

// SetField sets a custom field; value must suit the field's type (see
// Action.Value).
func SetField(name string, value any) Action {
	return Action{Kind: ActionSetField, FieldName: name, Value: value}
}

// UnsetField clears a custom field.
func UnsetField(name string) Action { return Action{Kind: ActionUnsetField, FieldName: name} }

// JSON encodes the reply; it fails only on values Validate also rejects.
func (r *Response) JSON() ([]byte, error) { return json.Marshal(r) }

// Parse decodes and validates a v2 body, e.g. a message template a user
// saved, keeping numbers exact. Unknown fields are rejected so a typo
// ("quick_reply") is reported instead of silently ignored.
func Parse(data []byte) (*Response, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var r Response
	if err := dec.Decode(&r); err != nil {
		return nil, &FieldError{Field: "body", Code: "invalid_json", Message: fmt.Sprintf("not a Dynamic Block v2 body: %v", err)}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}
