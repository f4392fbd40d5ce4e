package manychat_test

import (
	"encoding/json"
	"testing"

	"github.com/playgram/playgram/internal/manychat"
)

func TestIDRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want manychat.ID
		bad  bool
	}{
		{`9223372036854775807`, 9223372036854775807, false},
		{`"9007199254740993"`, 9007199254740993, false},
		{`null`, 0, false},
		{`""`, 0, false},
		{`"Contact Id"`, 0, true},
		{`1.5`, 0, true},
		{`-3`, 0, true},
	} {
		var id manychat.ID
		err := json.Unmarshal([]byte(tc.in), &id)
		if (err != nil) != tc.bad || id != tc.want {
			t.Errorf("%s: id=%d err=%v", tc.in, id, err)
			continue
		}
		if tc.bad {
			continue
		}
		out, _ := json.Marshal(id)
		if tc.want != 0 && string(out) != tc.want.String() {
			t.Errorf("%s re-encoded as %s", tc.in, out)
		}
	}
}

func TestValueAccessors(t *testing.T) {
	var v struct{ A, B, C, D, E manychat.Value }
	if err := json.Unmarshal([]byte(`{"A":"pro","B":12345678901234567890,"C":true,"D":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if s, ok := v.A.Text(); !ok || s != "pro" {
		t.Errorf("text: %q", s)
	}
	if n, ok := v.B.Number(); !ok || n.String() != "12345678901234567890" {
		t.Errorf("big number lost precision: %s", n)
	}
	if b, ok := v.C.Bool(); !ok || !b {
		t.Errorf("bool")
	}
	if !v.D.IsNull() || !v.E.IsNull() || v.D.String() != "" {
		t.Errorf("null/absent")
	}
	if _, ok := v.A.Number(); ok {
		t.Errorf("a string is not a number")
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"A":"pro","B":12345678901234567890,"C":true,"D":null,"E":null}` {
		t.Errorf("re-encoded %s", out)
	}
}

func TestSubscriberToleratesOddTypes(t *testing.T) {
	var s manychat.Subscriber
	raw := `{"id":713072115,"page_id":"100","first_name":null,"last_name":5,"optin_email":"1","ig_id":"77",` +
		`"subscribed":"not a date","last_interaction":"2018-07-02T00:00:00+02:00","tags":["vip"],"custom_fields":null}`
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != 713072115 || s.PageID != 100 || s.LastName != "5" || !s.OptinEmail || s.IGID != 77 ||
		!s.Subscribed.IsZero() || s.LastInteraction.IsZero() || !s.HasTag("vip") {
		t.Fatalf("%+v", s)
	}
}
