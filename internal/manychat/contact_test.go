package manychat_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	fake "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
)

func TestParseContactFromRenderedBodies(t *testing.T) {
	srv, _, _ := setup(t)
	planID := srv.AddCustomField("plan", "text", "")
	dayID := srv.AddCustomField("customDate", "date", "")
	withFields := srv.AddSubscriber(fake.Subscriber{
		FirstName: "M3rcey", IGUsername: "m3rcey", IGID: 1416655297162108, LastInputText: "100,000",
		Tags: []string{"lead"}, Fields: map[string]any{"plan": "pro", "customDate": "2018-05-31"},
	})
	bare := srv.AddSubscriber(fake.Subscriber{FirstName: "Bare"})

	t.Run("wrapped full contact data with custom fields as an object", func(t *testing.T) {
		body, err := srv.RenderBody(`{"event":"booked","contact":`+fake.FullContactDataPill+`}`, withFields)
		if err != nil {
			t.Fatal(err)
		}
		c, err := manychat.ParseContact(body)
		if err != nil {
			t.Fatal(err)
		}
		if int64(c.ID) != withFields || c.Key != "user:"+strconv.FormatInt(withFields, 10) || c.Status != "active" {
			t.Fatalf("identity: %+v", c.Subscriber)
		}
		if c.IGUsername != "m3rcey" || c.IGID != 1416655297162108 || c.LastInputText != "100,000" || !c.HasTag("lead") {
			t.Fatalf("profile: %+v", c.Subscriber)
		}
		if f, _ := c.Field("customDate"); f.Value.String() != "2018-05-31" {
			t.Fatalf("customDate = %s", f.Value.Raw())
		}
		if string(c.Extra["event"]) != `"booked"` || len(c.Unresolved) != 0 {
			t.Fatalf("extra %v unresolved %v", c.Extra, c.Unresolved)
		}
	})

	t.Run("empty custom fields arrive as []", func(t *testing.T) {
		body, _ := srv.RenderBody(fake.FullContactDataPill, bare)
		if !strings.Contains(string(body), `"custom_fields":[]`) {
			t.Fatalf("fake did not render PHP's empty map: %s", body)
		}
		c, err := manychat.ParseContact(body)
		if err != nil || int64(c.ID) != bare || len(c.CustomFields) != 0 {
			t.Fatalf("%+v, %v", c, err)
		}
	})

	t.Run("unset custom field pills stay as {{cuf_N}}", func(t *testing.T) {
		tpl := `{"id":"{{user_id}}","first_name":"{{first_name}}","email":"{{email}}",` +
			`"custom_fields":{"plan":"{{cuf_` + strconv.FormatInt(planID, 10) + `}}","customDate":"{{cuf_` + strconv.FormatInt(dayID, 10) + `}}"},` +
			`"secret":"{{contact_id_typed_by_hand}}"}`
		body, _ := srv.RenderBody(tpl, bare)
		if !strings.Contains(string(body), "{{cuf_") {
			t.Fatalf("fake replaced an empty field: %s", body)
		}
		c, err := manychat.ParseContact(body)
		if err != nil {
			t.Fatal(err)
		}
		if c.FirstName != "Bare" || c.Email != "" {
			t.Fatalf("profile: %+v", c.Subscriber)
		}
		if f, ok := c.Field("plan"); !ok || !f.Value.IsNull() {
			t.Fatalf("plan should be present and empty: %+v", f)
		}
		want := "custom_fields.customDate,custom_fields.plan,secret"
		if got := strings.Join(c.Unresolved, ","); got != want {
			t.Fatalf("unresolved = %s, want %s", got, want)
		}
	})
}

func TestParseContact(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		wantID    manychat.ID
		wantField string // FieldError.Field when an error is expected
		wantCode  string
		check     func(t *testing.T, c *manychat.Contact)
	}{
		{
			name:   "live Instagram sample",
			body:   `{"id":"713072115","key":"user:713072115","ig_username":"m3rcey","ig_id":1416655297162108,"last_input_text":"100,000","first_name":"M3rcey","email":null,"phone":null,"custom_fields":[]}`,
			wantID: 713072115,
		},
		{
			name:   "numeric id above 2^53",
			body:   `{"id":9007199254740993,"first_name":"Big"}`,
			wantID: 9007199254740993,
		},
		{
			name:   "bare number pill left unreplaced",
			body:   `{"id":"42","custom_fields":{"age":{{cuf_5}},"vip":true},"score": {{cuf_6}} }`,
			wantID: 42,
			check: func(t *testing.T, c *manychat.Contact) {
				if got := strings.Join(c.Unresolved, ","); got != "custom_fields.age,score" {
					t.Fatalf("unresolved = %s", got)
				}
				if f, _ := c.Field("vip"); f.Value.String() != "true" {
					t.Fatalf("vip = %s", f.Value.Raw())
				}
			},
		},
		{
			name:   "braces inside strings are text",
			body:   `{"id":"7","last_input_text":"use {{ and }} freely","first_name":"{{first_name}} jr"}`,
			wantID: 7,
			check: func(t *testing.T, c *manychat.Contact) {
				if c.LastInputText != "use {{ and }} freely" || c.FirstName != "{{first_name}} jr" || len(c.Unresolved) != 0 {
					t.Fatalf("%+v %v", c.Subscriber, c.Unresolved)
				}
			},
		},
		{name: "id placeholder", body: `{"id":"{{user_id}}"}`, wantField: "id", wantCode: "unresolved_placeholder"},
		{name: "hand-typed pill text", body: `{"contact":{"id":"Contact Id"}}`, wantField: "contact.id", wantCode: "invalid"},
		{name: "missing id", body: `{"first_name":"Ada"}`, wantField: "id", wantCode: "required"},
		{name: "contact pill not replaced", body: `{"contact":"{{full_contact_data}}"}`, wantField: "contact", wantCode: "unresolved_placeholder"},
		{name: "contact not an object", body: `{"contact":[1]}`, wantField: "contact", wantCode: "invalid"},
		{name: "not JSON", body: `{"id":`, wantField: "body", wantCode: "invalid_json"},
		{name: "not an object", body: `[{"id":1}]`, wantField: "body", wantCode: "invalid_json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := manychat.ParseContact([]byte(tc.body))
			if tc.wantField != "" {
				var fe *manychat.FieldError
				if !errors.As(err, &fe) || fe.Field != tc.wantField || fe.Code != tc.wantCode {
					t.Fatalf("got %v, want %s/%s", err, tc.wantField, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != tc.wantID {
				t.Fatalf("id = %d, want %d", c.ID, tc.wantID)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
