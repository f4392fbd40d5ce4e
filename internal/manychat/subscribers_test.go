package manychat_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	fake "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
)

func TestGetSubscriberDecodesLivePayload(t *testing.T) {
	srv, c, _ := setup(t)
	srv.AddCustomField("plan", "text", "")
	srv.AddCustomField("visits", "number", "")
	srv.AddCustomField("birthday", "date", "")
	const bigID = int64(1)<<62 + 7 // far beyond float64's exact range
	const bigIG = int64(1)<<53 + 3
	id := srv.AddSubscriber(fake.Subscriber{
		ID: bigID, FirstName: "Ada", LastName: "Lovelace", IGUsername: "ada.l", IGID: bigIG,
		Email: "ada@example.com", OptinEmail: true, LastInteraction: epoch.Add(-time.Hour),
		Tags: []string{"vip"}, Fields: map[string]any{"plan": "pro", "visits": 12},
		UserRefs: []string{"-1543835812530302162"},
	})

	s, err := c.GetSubscriber(context.Background(), manychat.ID(id))
	if err != nil {
		t.Fatal(err)
	}
	if int64(s.ID) != bigID || int64(s.IGID) != bigIG || int64(s.PageID) != fake.DefaultPageID {
		t.Fatalf("ids: id=%d ig=%d page=%d", s.ID, s.IGID, s.PageID)
	}
	if s.Name != "Ada Lovelace" || s.IGUsername != "ada.l" || s.Email != "ada@example.com" || !s.OptinEmail {
		t.Fatalf("profile: %+v", s)
	}
	if s.Phone != "" || s.Gender != "" || s.WhatsAppPhone != "" { // nulls on the wire
		t.Fatalf("nulls should decode as empty: %+v", s)
	}
	if !s.LastInteraction.Equal(epoch.Add(-time.Hour)) {
		t.Fatalf("last_interaction = %v", s.LastInteraction)
	}
	if !s.HasTag("VIP") || len(s.UserRefs) != 1 || s.UserRefs[0].UserRef != "-1543835812530302162" {
		t.Fatalf("tags/user_refs: %+v %+v", s.Tags, s.UserRefs)
	}
	if f, ok := s.Field("Plan"); !ok || f.Value.String() != "pro" || f.Type != manychat.FieldText {
		t.Fatalf("plan = %+v", f)
	}
	if f, _ := s.Field("visits"); f.Value.String() != "12" {
		t.Fatalf("visits = %s", f.Value.Raw())
	}
	if f, ok := s.Field("birthday"); !ok || !f.Value.IsNull() {
		t.Fatalf("unset field should be present and null: %+v", f)
	}

	// the id went back on the wire as an exact integer
	q := srv.Calls()[0].Query
	if q != "subscriber_id="+strconv.FormatInt(bigID, 10) {
		t.Fatalf("query = %s", q)
	}

	_, err = c.GetSubscriber(context.Background(), 42)
	if e := apiError(t, err); e.HTTPStatus != 400 || !strings.Contains(e.Message, "does not exist") {
		t.Fatalf("unknown subscriber: %v", err)
	}
}

func TestFinders(t *testing.T) {
	srv, c, clock := setup(t)
	ctx := context.Background()
	code := srv.AddCustomField("playgram_id", "text", "")
	srv.AddCustomField("birthday", "date", "")
	for i := 0; i < 105; i++ {
		srv.AddSubscriber(fake.Subscriber{FirstName: "Sam", LastName: "Lee"})
	}
	older := srv.AddSubscriber(fake.Subscriber{FirstName: "Old", Fields: map[string]any{"playgram_id": "pg_1"}})
	clock.Advance(time.Minute)
	newer := srv.AddSubscriber(fake.Subscriber{FirstName: "New", Fields: map[string]any{"playgram_id": "pg_1"}})
	phoneSub := srv.AddSubscriber(fake.Subscriber{FirstName: "Pat", Phone: "+15400000000", Channel: fake.ChannelSMS})

	byName, err := c.FindSubscribersByName(ctx, "sam lee")
	if err != nil || len(byName) != manychat.MaxFinderResults {
		t.Fatalf("findByName: %d results, %v", len(byName), err)
	}
	byField, err := c.FindSubscribersByCustomField(ctx, manychat.ID(code), "pg_1")
	if err != nil || len(byField) != 2 || int64(byField[0].ID) != newer || int64(byField[1].ID) != older {
		t.Fatalf("findByCustomField order: %+v, %v", byField, err)
	}
	dateID, _ := srv.CustomFieldID("birthday")
	if _, err := c.FindSubscribersByCustomField(ctx, manychat.ID(dateID), "2000-01-01"); apiError(t, err).HTTPStatus != 400 {
		t.Fatalf("date fields are not searchable: %v", err)
	}

	s, err := c.FindSubscriberByPhone(ctx, "+15400000000")
	if err != nil || int64(s.ID) != phoneSub {
		t.Fatalf("by phone: %+v, %v", s, err)
	}
	if _, err := c.FindSubscriberByEmail(ctx, "nobody@example.com"); !errors.Is(err, manychat.ErrNotFound) || !manychat.IsNotFound(err) {
		t.Fatalf("miss: %v", err)
	}
}

func TestUserRefLookup(t *testing.T) {
	srv, c, _ := setup(t)
	id := srv.AddSubscriber(fake.Subscriber{FirstName: "Ref", Channel: fake.ChannelMessenger, UserRefs: []string{"ref-1"}})
	srv.AddUnlinkedUserRef("ref-2")
	ctx := context.Background()

	s, err := c.GetSubscriberByUserRef(ctx, "ref-1")
	if err != nil || int64(s.ID) != id {
		t.Fatalf("linked: %+v, %v", s, err)
	}
	for ref, code := range map[string]int{"ref-2": manychat.CodeUserRefNotLinked, "ref-404": manychat.CodeUserRefNotRegistered} {
		_, err := c.GetSubscriberByUserRef(ctx, ref)
		if !manychat.HasCode(err, code) || !manychat.IsNotFound(err) {
			t.Errorf("%s: %v, want code %d", ref, err, code)
		}
	}
}

func TestSubscriberTagsAndFields(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()
	vip := srv.AddTag("vip")
	srv.AddTag("booked")
	plan := srv.AddCustomField("Plan", "text", "")
	srv.AddCustomField("visits", "number", "")
	srv.AddCustomField("next_visit", "datetime", "")
	srv.AddCustomField("consented", "boolean", "")
	id := srv.AddSubscriber(fake.Subscriber{FirstName: "Ada"})
	sid := manychat.ID(id)

	steps := []struct {
		name string
		do   func() error
	}{
		{"addTag", func() error { return c.AddTag(ctx, sid, manychat.ID(vip)) }},
		{"addTagByName", func() error { return c.AddTagByName(ctx, sid, "booked") }},
		{"removeTag", func() error { return c.RemoveTag(ctx, sid, manychat.ID(vip)) }},
		{"setCustomField", func() error { return c.SetCustomField(ctx, sid, manychat.ID(plan), "pro") }},
		{"setCustomFieldByName is case-insensitive", func() error { return c.SetCustomFieldByName(ctx, sid, "VISITS", 3) }},
		{"setCustomFields", func() error {
			return c.SetCustomFields(ctx, sid, []manychat.FieldUpdate{
				{FieldName: "next_visit", Value: time.Date(2026, 5, 1, 6, 30, 24, 0, time.FixedZone("", 3*3600))},
				{FieldName: "consented", Value: true},
			})
		}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	state, _ := srv.SubscriberState(id)
	if strings.Join(state.TagNames, ",") != "booked" {
		t.Fatalf("tags = %v", state.TagNames)
	}
	want := map[string]string{"Plan": "pro", "visits": "3", "next_visit": "2026-05-01T06:30:24+03:00", "consented": "true"}
	for k, v := range want {
		if got := jsonString(state.Values[k]); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}

	if err := c.RemoveTagByName(ctx, sid, "booked"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTagByName(ctx, sid, "missing"); apiError(t, err).HTTPStatus != 400 {
		t.Fatalf("tags must exist: %v", err)
	}
	err := c.SetCustomFieldByName(ctx, sid, "visits", "three")
	if e := apiError(t, err); e.HTTPStatus != 400 || !strings.Contains(e.Error(), "visits") {
		t.Fatalf("wrong type should name the field: %v", err)
	}
	var fe *manychat.FieldError
	if err := c.AddTag(ctx, 0, manychat.ID(vip)); !errors.As(err, &fe) || fe.Field != "subscriber_id" {
		t.Fatalf("zero subscriber id: %v", err)
	}
}

func TestCreateAndUpdateSubscriber(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()

	s, err := c.CreateSubscriber(ctx, manychat.NewSubscriber{FirstName: "Wa", WhatsAppPhone: "+972501234567"})
	if err != nil {
		t.Fatal(err)
	}
	if s.WhatsAppPhone != "+972501234567" || s.Phone != "" || s.ID == 0 {
		t.Fatalf("created %+v", s)
	}
	// a WhatsApp-only contact has no phone, so the phone finder misses it
	if _, err := c.FindSubscriberByPhone(ctx, "+972501234567"); !manychat.IsNotFound(err) {
		t.Fatalf("phone lookup of a WhatsApp contact: %v", err)
	}
	// the duplicate arrives with details keyed by field
	_, err = c.CreateSubscriber(ctx, manychat.NewSubscriber{WhatsAppPhone: "+972501234567"})
	e := apiError(t, err)
	if len(e.Details) != 1 || e.Details[0].Field != "wa_id" || !strings.Contains(e.Details[0].Message, "already exists: 972501234567") {
		t.Fatalf("duplicate: %+v", e)
	}

	sms, err := c.CreateSubscriber(ctx, manychat.NewSubscriber{Phone: "+15400000001", HasOptInSMS: true, ConsentPhrase: "Yes, text me", Email: "s@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	calls := srv.Calls()
	decodeJSON(t, calls[len(calls)-1].Body, &body)
	if body["has_opt_in_sms"] != true || body["has_opt_in_email"] != false {
		t.Fatalf("opt-in flags must be sent with phone/email: %v", body)
	}

	rules := []struct {
		n     manychat.NewSubscriber
		field string
	}{
		{manychat.NewSubscriber{FirstName: "x"}, "phone"},
		{manychat.NewSubscriber{Email: "a@b.c", HasOptInSMS: true}, "has_opt_in_sms"},
		{manychat.NewSubscriber{Phone: "+1", HasOptInSMS: true}, "consent_phrase"},
		{manychat.NewSubscriber{Phone: "+1", HasOptInEmail: true}, "has_opt_in_email"},
	}
	for _, r := range rules {
		var fe *manychat.FieldError
		if _, err := c.CreateSubscriber(ctx, r.n); !errors.As(err, &fe) || fe.Field != r.field {
			t.Errorf("%+v: %v, want field %s", r.n, err, r.field)
		}
	}

	name := "Sasha"
	up, err := c.UpdateSubscriber(ctx, manychat.SubscriberUpdate{SubscriberID: sms.ID, FirstName: &name})
	if err != nil || up.FirstName != "Sasha" || up.Phone != "+15400000001" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	if err := c.VerifyBySignedRequest(ctx, sms.ID, "c2ln.eyJ1c2VyX2lkIjoxfQ"); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyBySignedRequest(ctx, sms.ID, "garbage"); apiError(t, err).HTTPStatus != 400 {
		t.Fatalf("bad signed request: %v", err)
	}
}
