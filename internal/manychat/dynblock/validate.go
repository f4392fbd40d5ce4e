package dynblock

import (
	"fmt"
	"net/url"
	"strings"
)

// MaxCallbackTimeout is external_message_callback's documented maximum (one
// day, in seconds).
const MaxCallbackTimeout = 86400

// Validate checks the reply against its channel's limits (LimitsFor) and
// returns every problem as Errors, or nil.
func (r *Response) Validate() error { return r.ValidateWith(r.Limits()) }

// ValidateForSend is Validate plus the rule that sendContent cannot carry
// node buttons (they only work inside a running flow).
func (r *Response) ValidateForSend() error {
	v := validator{l: r.Limits(), noNodes: true}
	v.response(r)
	return v.result()
}

// ValidateWith checks the reply against explicit limits.
func (r *Response) ValidateWith(l Limits) error {
	v := validator{l: l}
	v.response(r)
	return v.result()
}

type validator struct {
	l       Limits
	noNodes bool
	errs    Errors
}

func (v *validator) add(field, code, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) result() error {
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

func (v *validator) response(r *Response) {
	if r.Version != Version {
		v.add("version", "invalid_version", "must be %q, got %q", Version, r.Version)
	}
	c := r.Content
	switch c.Type {
	case Messenger, Instagram, WhatsApp, Telegram:
	default:
		v.add("content.type", "invalid_channel", "%q is not a channel (omit it for Messenger, or instagram, whatsapp, telegram)", string(c.Type))
	}
	if len(c.Messages) == 0 && len(c.Actions) == 0 {
		v.add("content.messages", "required", "a reply needs at least one message or action")
	}
	v.count("content.messages", len(c.Messages), v.l.MaxMessages)
	for i, m := range c.Messages {
		v.message(fmt.Sprintf("content.messages[%d]", i), m)
	}
	v.count("content.actions", len(c.Actions), v.l.MaxActions)
	for i, a := range c.Actions {
		v.action(fmt.Sprintf("content.actions[%d]", i), a)
	}
	if len(c.QuickReplies) > 0 && v.l.MaxQuickReplies == 0 {
		v.add("content.quick_replies", "unsupported", "the %s channel has no quick replies", channelName(c.Type))
	} else {
		v.count("content.quick_replies", len(c.QuickReplies), v.l.MaxQuickReplies)
		for i, b := range c.QuickReplies {
			v.button(fmt.Sprintf("content.quick_replies[%d]", i), b, v.l.QuickReplyTypes)
		}
	}
	if cb := c.ExternalMessageCallback; cb != nil {
		v.httpsURL("content.external_message_callback.url", cb.URL, true)
		if cb.Timeout < 0 || cb.Timeout > MaxCallbackTimeout {
			v.add("content.external_message_callback.timeout", "out_of_range", "must be between 0 and %d seconds", MaxCallbackTimeout)
		}
	}
}

func channelName(ch Channel) string {
	if ch == Messenger {
		return "messenger"
	}
	return string(ch)
}

func (v *validator) count(field string, n, max int) {
	if max > 0 && n > max {
		v.add(field, "too_many", "%d items, at most %d allowed", n, max)
	}
}

func (v *validator) message(at string, m Message) {
	if !v.l.MessageTypes[m.Type] {
		v.add(at+".type", "unsupported", "message type %q is not supported on this channel", string(m.Type))
		return
	}
	switch m.Type {
	case TypeText:
		switch {
		case strings.TrimSpace(m.Text) == "":
			v.add(at+".text", "required", "must not be empty")
		case !v.l.textFits(m.Text, false):
			v.add(at+".text", "too_long", "%s over the limit of %s (use SplitText)", sizeOf(m.Text), v.textLimit(false))
		case len(m.Buttons) > 0 && !v.l.textFits(m.Text, true):
			v.add(at+".text", "too_long", "%s over the limit of %s for a text with buttons", sizeOf(m.Text), v.textLimit(true))
		}
	case TypeImage, TypeVideo, TypeAudio, TypeFile:
		v.httpsURL(at+".url", m.URL, false)
	case TypeCards:
		v.cards(at, m)
	}
	if m.Type == TypeFile || m.Type == TypeCards {
		if len(m.Buttons) > 0 {
			v.add(at+".buttons", "unsupported", "%s messages take no buttons of their own", m.Type)
		}
		return
	}
	v.buttons(at, m.Buttons)
}

func sizeOf(s string) string {
	return fmt.Sprintf("%d characters (%d bytes)", runeCount(s), len(s))
}

func (v *validator) textLimit(withButtons bool) string {
	var parts []string
	if v.l.MaxTextBytes > 0 {
		parts = append(parts, fmt.Sprintf("%d bytes", v.l.MaxTextBytes))
	}
	n := v.l.MaxTextRunes
	if withButtons {
		n = minPositive(n, v.l.MaxButtonTextRunes)
	}
	if n > 0 {
		parts = append(parts, fmt.Sprintf("%d characters", n))
	}
	return strings.Join(parts, " and ")
}

func (v *validator) cards(at string, m Message) {
	switch m.ImageAspectRatio {
	case "", "horizontal", "square":
	default:
		v.add(at+".image_aspect_ratio", "invalid", "must be horizontal or square, got %q", m.ImageAspectRatio)
	}
	if len(m.Elements) == 0 {
		v.add(at+".elements", "required", "a gallery needs at least one card")
	}
	v.count(at+".elements", len(m.Elements), v.l.MaxCardElements)
	for i, e := range m.Elements {
		ea := fmt.Sprintf("%s.elements[%d]", at, i)
		if strings.TrimSpace(e.Title) == "" {
			v.add(ea+".title", "required", "must not be empty")
		}
		v.maxRunes(ea+".title", e.Title, v.l.MaxCardTitleRunes)
		v.maxRunes(ea+".subtitle", e.Subtitle, v.l.MaxCardSubRunes)
		if e.ImageURL != "" {
			v.httpsURL(ea+".image_url", e.ImageURL, false)
		}
		if e.ActionURL != "" {
			v.httpsURL(ea+".action_url", e.ActionURL, false)
		}
		v.buttons(ea, e.Buttons)
	}
}

func (v *validator) maxRunes(field, s string, max int) {
	if max > 0 && runeCount(s) > max {
		v.add(field, "too_long", "%d characters, at most %d allowed", runeCount(s), max)
	}
}

func (v *validator) buttons(at string, bs []Button) {
	v.count(at+".buttons", len(bs), v.l.MaxButtons)
	for i, b := range bs {
		v.button(fmt.Sprintf("%s.buttons[%d]", at, i), b, v.l.ButtonTypes)
	}
}

func (v *validator) button(at string, b Button, allowed map[ButtonType]bool) {
	if !allowed[b.Type] {
		v.add(at+".type", "unsupported", "button type %q is not supported here on this channel", string(b.Type))
		return
	}
	if v.noNodes && b.Type == ButtonNode {
		v.add(at+".type", "unsupported", "node buttons do not work through sendContent; use a flow button")
	}
	if strings.TrimSpace(b.Caption) == "" {
		v.add(at+".caption", "required", "must not be empty")
	}
	v.maxRunes(at+".caption", b.Caption, v.l.MaxCaptionRunes)
	switch b.Type {
	case ButtonURL:
		v.httpsURL(at+".url", b.URL, false)
		switch {
		case b.WebviewSize == "":
		case !v.l.WebviewSize:
			v.add(at+".webview_size", "unsupported", "webview_size is Messenger only")
		case b.WebviewSize != "full" && b.WebviewSize != "medium" && b.WebviewSize != "compact":
			v.add(at+".webview_size", "invalid", "must be full, medium or compact, got %q", b.WebviewSize)
		}
	case ButtonFlow, ButtonNode:
		if strings.TrimSpace(b.Target) == "" {
			v.add(at+".target", "required", "a %s button needs a target", b.Type)
		}
	case ButtonCall:
		if strings.TrimSpace(b.Phone) == "" {
			v.add(at+".phone", "required", "a call button needs a phone number")
		}
	case ButtonCallback:
		v.httpsURL(at+".url", b.URL, true)
		if m := strings.ToLower(b.Method); m != "" && m != "post" && m != "get" {
			v.add(at+".method", "invalid", "must be post or get, got %q", b.Method)
		}
	case ButtonBuy:
		if b.Product == nil || strings.TrimSpace(b.Product.Label) == "" || b.Product.Cost <= 0 {
			v.add(at+".product", "required", "a buy button needs a product label and a positive cost in cents")
		}
	}
	if len(b.Actions) > 0 && b.Type != ButtonURL && b.Type != ButtonFlow && b.Type != ButtonNode {
		v.add(at+".actions", "unsupported", "only url, flow and node buttons run actions")
	}
	v.count(at+".actions", len(b.Actions), v.l.MaxActions)
	for i, a := range b.Actions {
		v.action(fmt.Sprintf("%s.actions[%d]", at, i), a)
	}
}

func (v *validator) action(at string, a Action) {
	switch a.Kind {
	case ActionAddTag, ActionRemoveTag:
		if strings.TrimSpace(a.TagName) == "" {
			v.add(at+".tag_name", "required", "%s needs a tag_name", a.Kind)
		}
	case ActionSetField, ActionUnsetField:
		if strings.TrimSpace(a.FieldName) == "" {
			v.add(at+".field_name", "required", "%s needs a field_name", a.Kind)
		}
		if a.Kind == ActionSetField {
			if _, err := encodeValue(a.Value); err != nil {
				v.add(at+".value", "invalid_value", "%v", err)
			}
		}
	default:
		v.add(at+".action", "unsupported", "%q is not an action (add_tag, remove_tag, set_field_value, unset_field_value)", string(a.Kind))
	}
}

// httpsURL checks an absolute http(s) URL; httpsOnly for callbacks, which
// Manychat only calls over HTTPS.
func (v *validator) httpsURL(field, raw string, httpsOnly bool) {
	if strings.TrimSpace(raw) == "" {
		v.add(field, "required", "must not be empty")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && (httpsOnly || u.Scheme != "http")) {
		want := "an absolute http(s) URL"
		if httpsOnly {
			want = "an absolute https URL"
		}
		v.add(field, "invalid_url", "%q is not %s", raw, want)
	}
}
