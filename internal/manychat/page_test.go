package manychat_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	fake "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
)

func TestPageInfoAndLists(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()
	srv.AddTag("vip")
	srv.AddCustomField("plan", "text", "Plan tier")
	srv.AddBotField("open_seats", "number", 4)
	folder := srv.AddFolder("Onboarding", 0)
	srv.AddFlow("content20180221085508_278589", "Welcome", folder)
	srv.AddGrowthTool("Bio link", "ref_url")
	srv.AddOTNTopic("restock", "Back in stock")

	page, err := c.GetPageInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(page.ID) != fake.DefaultPageID || page.Name != "Playgram Demo" || !page.IsPro {
		t.Fatalf("page = %+v", page)
	}

	tags, err := c.GetTags(ctx)
	if err != nil || len(tags) != 1 || tags[0].Name != "vip" || tags[0].ID == 0 {
		t.Fatalf("tags = %+v, %v", tags, err)
	}
	fields, err := c.GetCustomFields(ctx)
	if err != nil || len(fields) != 1 || fields[0].Name != "plan" || fields[0].Type != manychat.FieldText || fields[0].Description != "Plan tier" {
		t.Fatalf("fields = %+v, %v", fields, err)
	}
	bots, err := c.GetBotFields(ctx)
	if err != nil || len(bots) != 1 {
		t.Fatalf("bot fields = %+v, %v", bots, err)
	}
	if n, ok := bots[0].Value.Number(); !ok || n.String() != "4" {
		t.Fatalf("bot field value = %s", bots[0].Value.Raw())
	}
	flows, err := c.GetFlows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := flows.ByNS("content20180221085508_278589"); !ok || f.Name != "Welcome" || int64(f.FolderID) != folder {
		t.Fatalf("flows = %+v", flows)
	}
	if len(flows.Folders) != 1 || flows.Folders[0].Name != "Onboarding" {
		t.Fatalf("folders = %+v", flows.Folders)
	}
	gts, err := c.GetGrowthTools(ctx)
	if err != nil || len(gts) != 1 || gts[0].Type != "ref_url" {
		t.Fatalf("growth tools = %+v, %v", gts, err)
	}
	widgets, err := c.GetWidgets(ctx) //nolint:staticcheck // the deprecated endpoint must still work
	if err != nil || len(widgets) != 1 || widgets[0].Name != "Bio link" {
		t.Fatalf("widgets = %+v, %v", widgets, err)
	}
	topics, err := c.GetOTNTopics(ctx)
	if err != nil || len(topics) != 1 || topics[0].Description != "Back in stock" {
		t.Fatalf("otn topics = %+v, %v", topics, err)
	}
}

func TestTagLifecycle(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()
	tag, err := c.CreateTag(ctx, "returning")
	if err != nil {
		t.Fatal(err)
	}
	if tag.Name != "returning" || tag.ID == 0 {
		t.Fatalf("created %+v", tag)
	}
	_, err = c.CreateTag(ctx, "Returning")
	if e := apiError(t, err); e.HTTPStatus != 400 || e.Message == "" {
		t.Fatalf("duplicate tag: %v", err)
	}

	ada := srv.AddSubscriber(fake.Subscriber{FirstName: "Ada", Tags: []string{"returning", "vip"}})
	bob := srv.AddSubscriber(fake.Subscriber{FirstName: "Bob", Tags: []string{"returning"}})
	// page removeTag is account-wide: both contacts lose it.
	if err := c.DeleteTag(ctx, tag.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{ada, bob} {
		st, _ := srv.SubscriberState(id)
		for _, n := range st.TagNames {
			if n == "returning" {
				t.Fatalf("subscriber %d still tagged after page removeTag: %v", id, st.TagNames)
			}
		}
	}
	if err := c.DeleteTagByName(ctx, "vip"); err != nil {
		t.Fatal(err)
	}
	if names := srv.TagNames(); len(names) != 0 {
		t.Fatalf("account tags left: %v", names)
	}
	if err := c.DeleteTagByName(ctx, "vip"); apiError(t, err).HTTPStatus != 400 {
		t.Fatalf("deleting a missing tag: %v", err)
	}
}

func TestCreateFields(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()

	cf, err := c.CreateCustomField(ctx, manychat.NewField{Name: "last_order_id", Type: manychat.FieldNumber, Description: "for Dynamic Blocks"})
	if err != nil {
		t.Fatal(err)
	}
	if cf.Name != "last_order_id" || cf.Type != manychat.FieldNumber || cf.ID == 0 {
		t.Fatalf("custom field %+v", cf)
	}
	// the request uses "caption", the answer "name"
	var body map[string]any
	calls := srv.Calls()
	json.Unmarshal(calls[len(calls)-1].Body, &body)
	if body["caption"] != "last_order_id" {
		t.Fatalf("createCustomField body = %s", calls[len(calls)-1].Body)
	}

	bf, err := c.CreateBotField(ctx, manychat.NewField{Name: "promo_open", Type: manychat.FieldBoolean, Value: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := bf.Value.Bool(); !ok || !b {
		t.Fatalf("bot field %+v", bf)
	}

	var fe *manychat.FieldError
	if _, err := c.CreateCustomField(ctx, manychat.NewField{Name: "x", Type: "json"}); !errors.As(err, &fe) || fe.Field != "type" {
		t.Fatalf("bad type: %v", err)
	}
	if _, err := c.CreateBotField(ctx, manychat.NewField{Name: "", Type: manychat.FieldText}); !errors.As(err, &fe) || fe.Field != "name" {
		t.Fatalf("missing name: %v", err)
	}
}

func TestSetBotFields(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()
	seats := srv.AddBotField("open_seats", "number", 4)
	srv.AddBotField("headline", "text", nil)
	srv.AddBotField("launch", "date", nil)

	if err := c.SetBotField(ctx, manychat.ID(seats), 3); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBotFieldByName(ctx, "HEADLINE", "Spring sale"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBotFields(ctx, []manychat.FieldUpdate{
		{FieldID: manychat.ID(seats), Value: 2.5},
		{FieldName: "launch", Value: "2026-04-01"},
	}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"open_seats": "2.5", "headline": "Spring sale", "launch": "2026-04-01"} {
		v, _ := srv.BotFieldValue(name)
		if got := jsonString(v); got != want {
			t.Errorf("bot field %s = %s, want %s", name, got, want)
		}
	}

	// wrong type is Manychat's 400, naming the field
	err := c.SetBotFieldByName(ctx, "open_seats", "many")
	if e := apiError(t, err); e.HTTPStatus != 400 || len(e.Details) == 0 {
		t.Fatalf("type mismatch: %v", err)
	}

	before := len(srv.Calls())
	tooMany := make([]manychat.FieldUpdate, 21)
	for i := range tooMany {
		tooMany[i] = manychat.FieldUpdate{FieldName: "headline", Value: "x"}
	}
	cases := []struct {
		name  string
		ups   []manychat.FieldUpdate
		field string
	}{
		{"more than 20", tooMany, "fields"},
		{"none", nil, "fields"},
		{"both identifiers", []manychat.FieldUpdate{{FieldID: 1, FieldName: "x", Value: 1}}, "fields[0]"},
		{"no identifier", []manychat.FieldUpdate{{Value: 1}, {}}, "fields[0]"},
		{"nil value", []manychat.FieldUpdate{{FieldName: "headline"}}, "fields[0].field_value"},
		{"struct value", []manychat.FieldUpdate{{FieldName: "headline", Value: struct{}{}}}, "fields[0].field_value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var fe *manychat.FieldError
			if err := c.SetBotFields(ctx, tc.ups); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("got %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	if after := len(srv.Calls()); after != before {
		t.Fatalf("invalid batches reached Manychat: %d calls", after-before)
	}
}

func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
