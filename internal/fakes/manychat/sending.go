package manychat

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Documented Dynamic Block maxima.
const (
	maxMessages     = 10
	maxQuickReplies = 11
	maxActions      = 5
)

// contentType is what content.type must say for a contact's channel
// ("" = omitted, Messenger).
func contentType(ch Channel) string {
	switch ch {
	case ChannelInstagram, ChannelWhatsApp, ChannelTelegram:
		return string(ch)
	}
	return ""
}

// checkContent applies the contract's sendContent rules to data.
func (a *Account) checkContent(data map[string]any, ch Channel) *result {
	bad := func(param, msg string) *result { r := a.invalid(param, msg); return &r }
	if v, _ := data["version"].(string); v != "v2" {
		return bad("data.version", "Only version v2 is supported")
	}
	content, ok := data["content"].(map[string]any)
	if !ok {
		return bad("data.content", "The content field is required.")
	}
	got, _ := content["type"].(string)
	if want := contentType(ch); got != want {
		if want == "" {
			return bad("data.content.type", fmt.Sprintf("content.type %q does not match a Messenger subscriber (omit it)", got))
		}
		return bad("data.content.type", fmt.Sprintf("content.type must be %q for this subscriber", want))
	}
	messages, ok := content["messages"].([]any)
	if !ok {
		return bad("data.content.messages", "The messages field is required.")
	}
	for _, c := range []struct {
		key string
		max int
	}{{"messages", maxMessages}, {"quick_replies", maxQuickReplies}, {"actions", maxActions}} {
		if list, _ := content[c.key].([]any); len(list) > c.max {
			return bad("data.content."+c.key, fmt.Sprintf("No more than %d %s allowed", c.max, c.key))
		}
	}
	if path := findNodeButton(messages, content["quick_replies"]); path != "" {
		return bad(path, "Node buttons are not supported in sendContent")
	}
	return nil
}

// findNodeButton returns the path of the first "node" button, if any.
func findNodeButton(messages []any, quickReplies any) string {
	isNode := func(b any) bool { m, _ := b.(map[string]any); return m != nil && m["type"] == "node" }
	for i, m := range messages {
		msg, _ := m.(map[string]any)
		buttons, _ := msg["buttons"].([]any)
		for j, b := range buttons {
			if isNode(b) {
				return fmt.Sprintf("data.content.messages.%d.buttons.%d", i, j)
			}
		}
		elements, _ := msg["elements"].([]any)
		for k, e := range elements {
			el, _ := e.(map[string]any)
			eb, _ := el["buttons"].([]any)
			for j, b := range eb {
				if isNode(b) {
					return fmt.Sprintf("data.content.messages.%d.elements.%d.buttons.%d", i, k, j)
				}
			}
		}
	}
	qr, _ := quickReplies.([]any)
	for j, b := range qr {
		if isNode(b) {
			return fmt.Sprintf("data.content.quick_replies.%d", j)
		}
	}
	return ""
}

func (a *Account) sendContent(in *request, now time.Time) result {
	st, bad := a.subscriberFrom(in)
	if bad != nil {
		return *bad
	}
	data, ok := in.body["data"].(map[string]any)
	if !ok {
		return a.invalid("data", "The data field is required.")
	}
	if st.Channel == ChannelSMS || st.Channel == ChannelEmail {
		return withCode("Subscriber can't receive messages on this channel", 3040)
	}
	if bad := a.checkContent(data, st.Channel); bad != nil {
		return *bad
	}
	tagName, _ := in.bodyString("message_tag")
	topic, _ := in.bodyString("otn_topic_name")
	switch {
	case topic != "":
		if !a.hasTopic(topic) {
			return a.invalid("otn_topic_name", "OTN topic not found")
		}
		if st.otnTokens[topic] == 0 {
			return withCode("Subscriber has no one-time notification token for this topic", 3021)
		}
		st.otnTokens[topic]--
	case tagName == "" && now.Sub(st.LastInteraction) > 24*time.Hour:
		return withCode("Subscriber is outside the 24-hour window; a message_tag is required", 3011)
	}
	content, _ := data["content"].(map[string]any)
	actions, _ := content["actions"].([]any)
	a.applyActions(st, actions)
	raw, _ := json.Marshal(data)
	a.s.sentContent = append(a.s.sentContent, SentContent{Token: a.token, SubscriberID: st.ID, Data: raw,
		MessageTag: tagName, OTNTopicName: topic, At: now})
	return successEmpty()
}

func (a *Account) hasTopic(name string) bool {
	for _, t := range a.otnTopics {
		if t.name == name {
			return true
		}
	}
	return false
}

// applyActions runs a reply's tag and field actions on the subscriber, as
// Manychat does on delivery. Actions naming unknown tags or fields, or with
// values of the wrong type, are skipped.
func (a *Account) applyActions(st *subscriber, actions []any) {
	for _, x := range actions {
		act, _ := x.(map[string]any)
		kind, _ := act["action"].(string)
		switch kind {
		case "add_tag", "remove_tag":
			name, _ := act["tag_name"].(string)
			if t := a.tagByName(name); t != nil {
				if kind == "add_tag" {
					st.addTag(t.id)
				} else {
					st.removeTag(t.id)
				}
			}
		case "set_field_value", "unset_field_value":
			name, _ := act["field_name"].(string)
			f := findField(a.fields, name)
			if f == nil {
				continue
			}
			if kind == "unset_field_value" {
				delete(st.values, f.id)
				continue
			}
			if v, problem := checkValue(f.typ, act["value"]); problem == "" {
				a.setValue(st, f, v)
			}
		}
	}
}

func (a *Account) sendFlow(in *request, now time.Time) result {
	st, bad := a.subscriberFrom(in)
	if bad != nil {
		return *bad
	}
	ns, ok := in.bodyString("flow_ns")
	if !ok {
		return a.invalid("flow_ns", "The flow_ns field is required.")
	}
	found := false
	for _, f := range a.flows {
		found = found || f.ns == ns
	}
	if !found {
		return logical("Flow not found")
	}
	if a.s.rateLimits {
		if ok, _ := a.flowQuota.AllowAt(strconv.FormatInt(st.ID, 10), now); !ok {
			return result{status: a.s.rlStatus, body: errBody("Limit of 100 flows per subscriber per hour reached")}
		}
	}
	a.s.sentFlows = append(a.s.sentFlows, SentFlow{Token: a.token, SubscriberID: st.ID, FlowNS: ns, At: now})
	return successEmpty()
}

// sendContentByUserRef delivers without running the reply's actions.
func (a *Account) sendContentByUserRef(in *request, now time.Time) result {
	ref, ok := in.bodyString("user_ref")
	if !ok {
		return a.invalid("user_ref", "The user_ref field is required.")
	}
	if _, known := a.userRefs[ref]; !known {
		return withCode("User ref is not registered", 2011)
	}
	data, ok := in.body["data"].(map[string]any)
	if !ok {
		return a.invalid("data", "The data field is required.")
	}
	if bad := a.checkContent(data, ChannelMessenger); bad != nil {
		return *bad
	}
	raw, _ := json.Marshal(data)
	a.s.sentContent = append(a.s.sentContent, SentContent{Token: a.token, UserRef: ref, Data: raw, At: now})
	return successEmpty()
}
