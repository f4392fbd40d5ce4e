package routes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/aichat"
	"github.com/playgram/playgram/collections"
	fakeai "github.com/playgram/playgram/internal/fakes/openai"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func TestAIBooksThroughTheBookingCode(t *testing.T) {
	env := newAIEnv(t, map[string]any{"functions": []any{"check_availability", "create_booking"}})
	helpers, _ := env.app.FindCollectionByNameOrId(collections.Helpers)
	h := core.NewRecord(helpers)
	h.Set("workspace", env.acme.Id)
	h.Set("name", "Mia")
	h.Set("email", "mia@acme.test")
	h.Set("timezone", "Europe/Berlin")
	h.Set("active", true)
	h.Set("tools", []string{env.w.AcmeBookingTool})
	if err := env.app.Save(h); err != nil {
		t.Fatal(err)
	}
	avail, _ := env.app.FindCollectionByNameOrId(collections.Availability)
	for wd := 1; wd <= 7; wd++ {
		r := core.NewRecord(avail)
		r.Set("workspace", env.acme.Id)
		r.Set("helper", h.Id)
		r.Set("weekday", wd)
		r.Set("start", "09:00")
		r.Set("end", "17:00")
		if err := env.app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := time.Now().In(berlin).AddDate(0, 0, 2)
	date := day.Format("2006-01-02")
	start := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, berlin).Format(time.RFC3339)
	env.fake.Script(
		fakeai.Reply{ToolCalls: []fakeai.ToolCall{{Name: "check_availability", Arguments: fmt.Sprintf(`{"date":%q}`, date)}}},
		fakeai.Reply{ToolCalls: []fakeai.ToolCall{{Name: "create_booking", Arguments: fmt.Sprintf(`{"start":%q,"name":"Ana Lima"}`, start)}}},
		fakeai.Reply{Content: "Booked you for 10:00!"},
	)
	if got := env.ask("701", "Can I come in the day after tomorrow at 10?"); got[0] != "Booked you for 10:00!" {
		t.Fatalf("reply %v", got)
	}
	m := env.messages("role = 'assistant'", nil)[0]
	var calls []aichat.CallRecord
	if err := m.UnmarshalJSONField("function_calls", &calls); err != nil || len(calls) != 2 {
		t.Fatalf("calls %v %v", calls, err)
	}
	raw := fmt.Sprint(calls[0].Result)
	if calls[0].Error != "" || !strings.Contains(raw, start) {
		t.Fatalf("availability %v / %s", raw, calls[0].Error)
	}
	if calls[1].Error != "" {
		t.Fatalf("booking refused: %s", calls[1].Error)
	}
	bookings, _ := env.app.FindRecordsByFilter(collections.Bookings, "tool = {:t}", "", 0, 0, dbx.Params{"t": env.w.AcmeBookingTool})
	if len(bookings) != 1 || bookings[0].GetString("source") != "ai_chat" || bookings[0].GetString("contact") != m.GetString("contact") {
		t.Fatalf("bookings %v", bookings)
	}
	// The same slot for another customer: the booking rules refuse it and the model hears the alternatives.
	env.fake.Script(
		fakeai.Reply{ToolCalls: []fakeai.ToolCall{{Name: "create_booking", Arguments: fmt.Sprintf(`{"start":%q,"name":"Bo"}`, start)}}},
		fakeai.Reply{Content: "That time is gone, how about later?"},
	)
	env.ask("702", "Book me at 10 too")
	m = env.messages("role = 'assistant' && contact != {:c}", dbx.Params{"c": m.GetString("contact")})[0]
	calls = nil
	_ = m.UnmarshalJSONField("function_calls", &calls)
	if len(calls) != 1 || !strings.Contains(calls[0].Error, "Nearest free times") {
		t.Fatalf("taken slot %v", calls)
	}
}
