package manychat

import (
	"context"
	"errors"
	"strconv"

	"github.com/playgram/playgram/internal/manychat/dynblock"
)

var (
	epSendContent          = postOnce("/fb/sending/sendContent", FamilySendContent)
	epSendFlow             = postOnce("/fb/sending/sendFlow", FamilySendFlow)
	epSendContentByUserRef = postOnce("/fb/sending/sendContentByUserRef", FamilySendContent)
)

// SendOptions are sendContent's optional fields.
type SendOptions struct {
	// MessageTag is a Meta message tag (e.g. "ACCOUNT_UPDATE") allowing a
	// send outside the 24 h window; without it such sends fail with 3011.
	MessageTag string
	// OTNTopicName spends a one-time-notification token of that topic.
	OTNTopicName string
}

// SendContent sends a Dynamic Block v2 reply to one subscriber. Manychat
// returns no message id, so a retry could deliver twice: only 429 (not
// processed) is retried; on any other failure the caller must decide.
// The content is validated first (ValidateForSend), with field paths under
// "data.".
func (c *Client) SendContent(ctx context.Context, subscriberID ID, content *dynblock.Response, opts SendOptions) error {
	if err := requireID("subscriber_id", subscriberID); err != nil {
		return err
	}
	if err := validateContent(content); err != nil {
		return err
	}
	body := struct {
		SubscriberID ID                 `json:"subscriber_id"`
		Data         *dynblock.Response `json:"data"`
		MessageTag   string             `json:"message_tag,omitempty"`
		OTNTopicName string             `json:"otn_topic_name,omitempty"`
	}{subscriberID, content, opts.MessageTag, opts.OTNTopicName}
	return c.call(ctx, epSendContent, nil, body, nil)
}

// SendContentByUserRef sends a reply to a Messenger checkbox user_ref.
// Manychat does not run the reply's actions on this path.
func (c *Client) SendContentByUserRef(ctx context.Context, userRef string, content *dynblock.Response) error {
	if err := requireText("user_ref", userRef); err != nil {
		return err
	}
	if err := validateContent(content); err != nil {
		return err
	}
	body := struct {
		UserRef string             `json:"user_ref"`
		Data    *dynblock.Response `json:"data"`
	}{userRef, content}
	return c.call(ctx, epSendContentByUserRef, nil, body, nil)
}

func validateContent(content *dynblock.Response) error {
	if content == nil {
		return &FieldError{Field: "data", Code: "required", Message: "content is required"}
	}
	err := content.ValidateForSend()
	var errs dynblock.Errors
	if errors.As(err, &errs) {
		out := make(dynblock.Errors, len(errs))
		for i, e := range errs {
			out[i] = &FieldError{Field: "data." + e.Field, Code: e.Code, Message: e.Message}
		}
		return out
	}
	return err
}

// SendFlow starts a flow (by ns, from GetFlows) for a subscriber. Besides
// the 20 qps limit, Manychat allows 100 sendFlow per subscriber per hour;
// the client keeps count and returns *QuotaError instead of calling when a
// subscriber is over it. Like SendContent it is only retried on 429.
func (c *Client) SendFlow(ctx context.Context, subscriberID ID, flowNS string) error {
	if err := requireID("subscriber_id", subscriberID); err != nil {
		return err
	}
	if err := requireText("flow_ns", flowNS); err != nil {
		return err
	}
	key := strconv.FormatInt(int64(subscriberID), 10)
	if ok, wait := c.flowQuota.AllowAt(key, c.clock.Now()); !ok {
		return &QuotaError{SubscriberID: subscriberID, Limit: SendFlowPerSubscriberPerHour, RetryAfter: wait}
	}
	body := struct {
		SubscriberID ID     `json:"subscriber_id"`
		FlowNS       string `json:"flow_ns"`
	}{subscriberID, flowNS}
	return c.call(ctx, epSendFlow, nil, body, nil)
}
