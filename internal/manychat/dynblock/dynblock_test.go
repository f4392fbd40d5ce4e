package dynblock_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/playgram/playgram/internal/manychat/dynblock"
)

// The contract's Instagram example, built with the builder, must encode to
// the same JSON.
func TestBuilderMatchesContractExample(t *testing.T) {
	const ns = "content20180221085508_278589"
	r := dynblock.New(dynblock.Instagram).
		Text("Thanks Ada! Your order #1042 has shipped.",
			dynblock.URLButton("Track parcel", "https://example.com/t/1042", dynblock.AddTag("clicked_tracking")),
			dynblock.FlowButton("Talk to us", ns)).
		Cards("square", dynblock.Element{Title: "Matching case", Subtitle: "20% off this week",
			ImageURL: "https://example.com/case.png", ActionURL: "https://example.com/case",
			Buttons: []dynblock.Button{dynblock.URLButton("View", "https://example.com/case")}}).
		Action(dynblock.SetField("last_order_id", 1042),
			dynblock.SetField("shipped_at", time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("", 2*3600))),
			dynblock.RemoveTag("awaiting_shipment")).
		QuickReply(dynblock.FlowButton("Main menu", ns))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version": "v2",
 "content": {
   "type": "instagram",
   "messages": [
     {"type": "text", "text": "Thanks Ada! Your order #1042 has shipped.", "buttons": [
       {"type": "url", "caption": "Track parcel", "url": "https://example.com/t/1042",
        "actions": [{"action": "add_tag", "tag_name": "clicked_tracking"}]},
       {"type": "flow", "caption": "Talk to us", "target": "content20180221085508_278589"}]},
     {"type": "cards", "image_aspect_ratio": "square", "elements": [
       {"title": "Matching case", "subtitle": "20% off this week", "image_url": "https://example.com/case.png",
        "action_url": "https://example.com/case",
        "buttons": [{"type": "url", "caption": "View", "url": "https://example.com/case"}]}]}],
   "actions": [
     {"action": "set_field_value", "field_name": "last_order_id", "value": 1042},
     {"action": "set_field_value", "field_name": "shipped_at", "value": "2024-05-01T10:00:00.000Z"},
     {"action": "remove_tag", "tag_name": "awaiting_shipment"}],
   "quick_replies": [{"type": "flow", "caption": "Main menu", "target": "content20180221085508_278589"}]}}`
	var a, b any
	json.Unmarshal(got, &a)
	json.Unmarshal([]byte(want), &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("got  %s", got)
	}
	parsed, err := dynblock.Parse(got)
	if err != nil {
		t.Fatalf("own output does not parse: %v", err)
	}
	again, _ := parsed.JSON()
	if string(again) != string(got) {
		t.Fatalf("round trip changed the body:\n%s\n%s", got, again)
	}
}

func TestActionsKeepFalsyValues(t *testing.T) {
	out, _ := json.Marshal(dynblock.New(dynblock.Instagram).Action(
		dynblock.SetField("n", 0), dynblock.SetField("b", false), dynblock.SetField("s", ""), dynblock.UnsetField("u")))
	want := `{"version":"v2","content":{"type":"instagram","messages":[],"actions":[` +
		`{"action":"set_field_value","field_name":"n","value":0},{"action":"set_field_value","field_name":"b","value":false},` +
		`{"action":"set_field_value","field_name":"s","value":""},{"action":"unset_field_value","field_name":"u"}]}}`
	if string(out) != want {
		t.Fatalf("got %s", out)
	}
}

func fieldsOf(err error) []string {
	var errs dynblock.Errors
	if !errors.As(err, &errs) {
		return nil
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	ig := func() *dynblock.Response { return dynblock.New(dynblock.Instagram) }
	texts := func(r *dynblock.Response, n int) *dynblock.Response {
		for i := 0; i < n; i++ {
			r.Message(dynblock.Message{Type: dynblock.TypeText, Text: "hi"})
		}
		return r
	}
	qr := dynblock.FlowButton("Menu", "ns")
	cases := []struct {
		name   string
		r      *dynblock.Response
		fields []string // nil: valid
	}{
		{"ten messages", texts(ig(), 10), nil},
		{"eleven messages", texts(ig(), 11), []string{"content.messages"}},
		{"empty", ig(), []string{"content.messages"}},
		{"actions only", ig().Action(dynblock.AddTag("x")), nil},
		{"six actions", texts(ig(), 1).Action(repeat(dynblock.AddTag("x"), 6)...), []string{"content.actions"}},
		{"twelve quick replies", texts(ig(), 1).QuickReply(repeat(qr, 12)...), []string{"content.quick_replies"}},
		{"eleven quick replies", texts(ig(), 1).QuickReply(repeat(qr, 11)...), nil},
		{"quick replies on WhatsApp", texts(dynblock.New(dynblock.WhatsApp), 1).QuickReply(qr), []string{"content.quick_replies"}},
		{"video on Instagram", ig().Message(dynblock.Message{Type: dynblock.TypeVideo, URL: "https://x.io/v.mp4"}), []string{"content.messages[0].type"}},
		{"video on Messenger", dynblock.New(dynblock.Messenger).Message(dynblock.Message{Type: dynblock.TypeVideo, URL: "https://x.io/v.mp4"}), nil},
		{"cards on WhatsApp", dynblock.New(dynblock.WhatsApp).Cards("", dynblock.Element{Title: "t"}), []string{"content.messages[0].type"}},
		{"unknown channel", dynblock.New("sms").Text("hi"), []string{"content.type"}},
		{"wrong version", &dynblock.Response{Version: "v1", Content: dynblock.Content{Type: dynblock.Instagram, Messages: []dynblock.Message{{Type: dynblock.TypeText, Text: "x"}}}}, []string{"version"}},
		{"four buttons", ig().Text("Pick", repeat(dynblock.URLButton("Go", "https://x.io"), 4)...), []string{"content.messages[0].buttons"}},
		{"caption over 20", ig().Text("Pick", dynblock.URLButton("This caption is too long", "https://x.io")), []string{"content.messages[0].buttons[0].caption"}},
		{"empty caption", ig().Text("Pick", dynblock.FlowButton(" ", "ns")), []string{"content.messages[0].buttons[0].caption"}},
		{"flow without target", ig().Text("Pick", dynblock.FlowButton("Go", "")), []string{"content.messages[0].buttons[0].target"}},
		{"relative url", ig().Text("Pick", dynblock.URLButton("Go", "/book")), []string{"content.messages[0].buttons[0].url"}},
		{"webview on Instagram", ig().Text("Pick", dynblock.Button{Type: dynblock.ButtonURL, Caption: "Go", URL: "https://x.io", WebviewSize: "full"}), []string{"content.messages[0].buttons[0].webview_size"}},
		{"webview on Messenger", dynblock.New(dynblock.Messenger).Text("Pick", dynblock.Button{Type: dynblock.ButtonURL, Caption: "Go", URL: "https://x.io", WebviewSize: "tall"}), []string{"content.messages[0].buttons[0].webview_size"}},
		{"callback on Instagram", ig().Text("Pick", dynblock.CallbackButton("More", "https://x.io/cb", map[string]any{"page": 2})), []string{"content.messages[0].buttons[0].type"}},
		{"callback on Messenger", dynblock.New(dynblock.Messenger).Text("Pick", dynblock.CallbackButton("More", "https://x.io/cb", map[string]any{"page": 2})), nil},
		{"callback over http", dynblock.New(dynblock.Messenger).Text("Pick", dynblock.CallbackButton("More", "http://x.io/cb", nil)), []string{"content.messages[0].buttons[0].url"}},
		{"call button needs a phone", dynblock.New(dynblock.Messenger).Text("Pick", dynblock.CallButton("Call", "")), []string{"content.messages[0].buttons[0].phone"}},
		{"node quick reply on Instagram", texts(ig(), 1).QuickReply(dynblock.NodeButton("Next", "n2")), nil},
		{"url quick reply on Instagram", texts(ig(), 1).QuickReply(dynblock.URLButton("Go", "https://x.io")), []string{"content.quick_replies[0].type"}},
		{"actions on a call button", dynblock.New(dynblock.Messenger).Text("x", dynblock.Button{Type: dynblock.ButtonCall, Caption: "c", Phone: "+1", Actions: []dynblock.Action{dynblock.AddTag("t")}}), []string{"content.messages[0].buttons[0].actions"}},
		{"set field without value", ig().Action(dynblock.SetField("x", nil)), []string{"content.actions[0].value"}},
		{"set field with a struct", ig().Action(dynblock.SetField("x", struct{}{})), []string{"content.actions[0].value"}},
		{"tag action without a name", ig().Action(dynblock.AddTag("")), []string{"content.actions[0].tag_name"}},
		{"unknown action", ig().Action(dynblock.Action{Kind: "send_email"}), []string{"content.actions[0].action"}},
		{"image without url", ig().Image(""), []string{"content.messages[0].url"}},
		{"card problems", ig().Cards("round", dynblock.Element{Subtitle: strings.Repeat("s", 81), ImageURL: "x"}),
			[]string{"content.messages[0].image_aspect_ratio", "content.messages[0].elements[0].title", "content.messages[0].elements[0].subtitle", "content.messages[0].elements[0].image_url"}},
		{"eleven cards", ig().Cards("", repeat(dynblock.Element{Title: "t"}, 11)...), []string{"content.messages[0].elements"}},
		{"text over 1000 bytes", ig().Message(dynblock.Message{Type: dynblock.TypeText, Text: strings.Repeat("é", 501)}), []string{"content.messages[0].text"}},
		{"text with buttons over 640", ig().Message(dynblock.Message{Type: dynblock.TypeText, Text: strings.Repeat("a", 641), Buttons: []dynblock.Button{dynblock.FlowButton("Go", "ns")}}), []string{"content.messages[0].text"}},
		{"callback timeout and scheme", withCallback(ig().Text("x"), "http://x.io/next", dynblock.MaxCallbackTimeout+1),
			[]string{"content.external_message_callback.url", "content.external_message_callback.timeout"}},
		{"callback ok", withCallback(ig().Text("x"), "https://x.io/next", 600), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			if got := fieldsOf(err); !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
}

func withCallback(r *dynblock.Response, url string, timeout int) *dynblock.Response {
	r.Content.ExternalMessageCallback = &dynblock.MessageCallback{URL: url, Method: "post", Timeout: timeout,
		Payload: map[string]string{"id": "{{user_id}}", "last_input_text": "{{last_input_text}}"}}
	return r
}

func TestValidateForSendRejectsNodeButtons(t *testing.T) {
	r := dynblock.New(dynblock.Instagram).Text("Pick", dynblock.NodeButton("Next", "step 2")).QuickReply(dynblock.NodeButton("Back", "step 1"))
	if err := r.Validate(); err != nil {
		t.Fatalf("node buttons are fine in a Dynamic Block reply: %v", err)
	}
	got := fieldsOf(r.ValidateForSend())
	want := []string{"content.messages[0].buttons[0].type", "content.quick_replies[0].type"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

func TestErrorMessagesNameTheProblem(t *testing.T) {
	err := dynblock.New(dynblock.Instagram).Message(dynblock.Message{Type: dynblock.TypeText, Text: strings.Repeat("é", 600)}).Validate()
	if err == nil || !strings.Contains(err.Error(), "content.messages[0].text: 600 characters (1200 bytes) over the limit of 1000 bytes") {
		t.Fatalf("%v", err)
	}
	var fe *dynblock.FieldError
	if !errors.As(err, &fe) || fe.Code != "too_long" {
		t.Fatalf("errors.As should find the FieldError: %v", err)
	}
}

func TestParse(t *testing.T) {
	if _, err := dynblock.Parse([]byte(`{"version":"v2","content":{"type":"instagram","messages":[{"type":"text","text":"hi"}],"quick_reply":[]}}`)); err == nil ||
		!strings.Contains(err.Error(), "quick_reply") {
		t.Fatalf("a typo must be reported: %v", err)
	}
	if _, err := dynblock.Parse([]byte(`{"version":"v2","content":{"type":"instagram","messages":[{"type":"audio","url":"https://x.io/a.mp3"}]}}`)); fieldsOf(err) == nil {
		t.Fatalf("an invalid body must fail validation: %v", err)
	}
	r, err := dynblock.Parse([]byte(`{"version":"v2","content":{"type":"instagram","messages":[],"actions":[{"action":"set_field_value","field_name":"n","value":12345678901234567890}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := r.Content.Actions[0].Value.(json.Number); !ok || v.String() != "12345678901234567890" {
		t.Fatalf("value = %#v", r.Content.Actions[0].Value)
	}
}

func TestTextBuilderSplitsLongText(t *testing.T) {
	para := strings.Repeat("Our studio opens at nine. ", 30) // 780 bytes
	text := para + "\n\n" + para + "\n\n" + para
	r := dynblock.New(dynblock.Instagram).Text(text, dynblock.URLButton("Book", "https://x.io/book"))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	msgs := r.Content.Messages
	if len(msgs) < 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	var words []string
	for i, m := range msgs {
		if len(m.Text) > 1000 {
			t.Fatalf("message %d has %d bytes", i, len(m.Text))
		}
		if (len(m.Buttons) > 0) != (i == len(msgs)-1) {
			t.Fatalf("buttons belong on the last message only (message %d)", i)
		}
		words = append(words, strings.Fields(m.Text)...)
	}
	if strings.Join(words, " ") != strings.Join(strings.Fields(text), " ") {
		t.Fatal("splitting lost or changed words")
	}
	if last := msgs[len(msgs)-1].Text; utf8.RuneCountInString(last) > 640 {
		t.Fatalf("last message with buttons has %d characters", utf8.RuneCountInString(last))
	}
	if got := dynblock.New(dynblock.Instagram).Text("  ").Content.Messages; len(got) != 0 {
		t.Fatalf("blank text appended %v", got)
	}
}

func TestSplitText(t *testing.T) {
	family := "👨\u200d👩\u200d👧" // one cluster, 18 bytes
	cases := []struct {
		name     string
		text     string
		maxBytes int
		maxRunes int
		want     []string
	}{
		{"fits", "hello", 10, 0, []string{"hello"}},
		{"empty", "   ", 10, 0, nil},
		{"paragraph first", "aaaa bbbb.\n\ncc dd ee ff", 20, 0, []string{"aaaa bbbb.", "cc dd ee ff"}},
		{"sentence before word", "One two. Three four five", 18, 0, []string{"One two.", "Three four five"}},
		{"word boundary", "alpha beta gamma delta", 0, 11, []string{"alpha beta", "gamma delta"}},
		{"cut exactly at a space", "abcde fghij", 5, 0, []string{"abcde", "fghij"}},
		{"hard cut in a long word", "abcdefghij", 4, 0, []string{"abcd", "efgh", "ij"}},
		{"multibyte counted in bytes", "ééééé", 4, 0, []string{"éé", "éé", "é"}},
		{"multibyte counted in runes", "ééééé", 0, 4, []string{"éééé", "é"}},
		{"emoji cluster kept whole", "ab" + family + family, 19, 0, []string{"ab", family, family}},
		{"combining mark kept with its letter", "abe\u0301cd", 0, 3, []string{"ab", "e\u0301c", "d"}},
		{"oversized single cluster", family, 5, 0, []string{family}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := dynblock.SplitText(tc.text, tc.maxBytes, tc.maxRunes)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for _, c := range got {
				if !utf8.ValidString(c) {
					t.Fatalf("invalid UTF-8 chunk %q", c)
				}
			}
		})
	}
}

func FuzzSplitText(f *testing.F) {
	f.Add("Our studio opens at nine.\n\nBook now!", 12, 0)
	f.Add("ééé 👍🏽 x", 5, 3)
	f.Fuzz(func(t *testing.T, text string, maxBytes, maxRunes int) {
		if !utf8.ValidString(text) || maxBytes < 0 || maxRunes < 0 || maxBytes > 4096 || maxRunes > 4096 {
			return
		}
		if maxBytes > 0 && maxBytes < 40 {
			maxBytes = 40 // room for the longest cluster the splitter must keep whole
		}
		if maxRunes > 0 && maxRunes < 10 {
			maxRunes = 10
		}
		chunks := dynblock.SplitText(text, maxBytes, maxRunes)
		var rebuilt []string
		for _, c := range chunks {
			if c == "" || c != strings.TrimSpace(c) {
				t.Fatalf("chunk %q is empty or untrimmed", c)
			}
			if maxBytes > 0 && len(c) > maxBytes || maxRunes > 0 && utf8.RuneCountInString(c) > maxRunes {
				t.Fatalf("chunk %q over the limits %d/%d", c, maxBytes, maxRunes)
			}
			rebuilt = append(rebuilt, strings.Fields(c)...)
		}
		if strings.Join(rebuilt, "") != strings.Join(strings.Fields(text), "") {
			t.Fatalf("content changed: %q -> %q", text, chunks)
		}
	})
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}
