package routes_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/manychat/dynblock"
	"github.com/playgram/playgram/internal/testutil"
)

func parseBlock(t *testing.T, res testutil.Response) *dynblock.Response {
	t.Helper()
	if res.Status != 200 {
		t.Fatalf("dynamic block: %d %s", res.Status, res.Body)
	}
	block, err := dynblock.Parse([]byte(res.Body))
	if err != nil {
		t.Fatalf("not a valid Dynamic Block v2: %v\n%s", err, res.Body)
	}
	return block
}

func TestManychatSlotButtonsBookThroughAFollowUpRequest(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "Europe/Berlin", tool)
	bw.hours(anna, "09:00", "17:00")
	d := time.Now().AddDate(0, 0, 6).Format("2006-01-02")

	if res := bw.do("GET", "/api/v1/bookings/slots?format=manychat&tool="+tool, "", bw.key()); res.Status != 400 || !strings.Contains(res.Body, `"subscriber_id":{`) {
		t.Fatalf("manychat format without a subscriber: %d %s", res.Status, res.Body)
	}
	res := bw.do("GET", "/api/v1/bookings/slots?format=manychat&tool=cuts&helper="+anna+"&from="+d+"&subscriber_id=4242&name=Ada", "", bw.key())
	block := parseBlock(t, res)
	if block.Version != "v2" || block.Content.Type != dynblock.Instagram || len(block.Content.Messages) < 2 || !strings.Contains(block.Content.Messages[0].Text, "Cuts with Anna") {
		t.Fatalf("block: %s", res.Body)
	}
	var buttons []dynblock.Button
	for _, m := range block.Content.Messages[1:] {
		if len(m.Buttons) == 0 || len(m.Buttons) > 3 {
			t.Fatalf("message %q has %d buttons", m.Text, len(m.Buttons))
		}
		buttons = append(buttons, m.Buttons...)
	}
	if len(buttons) != 9 || buttons[0].Type != dynblock.ButtonURL || buttons[0].Caption != "09:00" || !strings.HasPrefix(buttons[0].URL, "http://playgram.test/api/v1/booking-offers/") {
		t.Fatalf("buttons: %+v", buttons)
	}

	// The button opens a page whose one button books the slot for subscriber 4242.
	path := strings.TrimPrefix(buttons[1].URL, "http://playgram.test")
	if page := bw.do("GET", path, "", nil); page.Status != 200 || !strings.Contains(page.Body, "Cuts with Anna") || !strings.Contains(page.Body, "09:30") || !strings.Contains(page.Body, `method="post"`) {
		t.Fatalf("offer page: %d %s", page.Status, page.Body)
	}
	booked := testutil.Do(bw.h, "POST", path, "", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
	if booked.Status != 200 || !strings.Contains(booked.Body, "Booked") || !strings.Contains(booked.Body, "/manage?token=") {
		t.Fatalf("booking from the page: %d %s", booked.Status, booked.Body)
	}
	rec, err := bw.app.FindFirstRecordByFilter(collections.Bookings, "source = 'manychat'", nil)
	if err != nil {
		t.Fatal(err)
	}
	contact, _ := bw.app.FindRecordById(collections.Contacts, rec.GetString("contact"))
	if contact.GetString("subscriber_id") != "4242" || rec.GetString("name") != "Ada" || rec.GetString("tz") != "Europe/Berlin" {
		t.Fatalf("booked %v for %v", rec, contact)
	}
	taken := testutil.Do(bw.h, "POST", path, "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if taken.Status != 200 || !strings.Contains(taken.Body, "Booked") {
		t.Fatalf("a second tap by the same subscriber shows the same booking: %d %s", taken.Status, taken.Body)
	}
	if n := bw.count(collections.Bookings, "id != ''", nil); n != 1 {
		t.Fatalf("%d bookings after two taps", n)
	}
}

func TestManychatCreateAnswersWithMessages(t *testing.T) {
	bw := newBookingWorld(t)
	tool := bw.tool("Cuts", nil)
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "17:00")
	start := day(6).Add(10 * time.Hour).Format(time.RFC3339)
	body := `{"tool":"` + tool + `","start":"` + start + `","subscriber_id":"71","name":"Ada"}`

	block := parseBlock(t, bw.do("POST", "/api/v1/bookings?format=manychat", body, bw.key()))
	m := block.Content.Messages[0]
	if block.Content.Type != dynblock.Instagram || !strings.HasPrefix(m.Text, "Booked! Cuts with Anna") || len(m.Buttons) != 1 || m.Buttons[0].Caption != "Manage booking" || !strings.Contains(m.Buttons[0].URL, "/manage?token=") {
		t.Fatalf("confirmation: %+v", block)
	}
	// Taken: still a 200 Manychat can show, with the nearest times as buttons for this subscriber.
	block = parseBlock(t, bw.do("POST", "/api/v1/bookings?format=manychat", strings.Replace(body, `"71"`, `"72"`, 1), bw.key()))
	m = block.Content.Messages[0]
	if !strings.Contains(m.Text, "The nearest free times") || len(m.Buttons) != 3 || m.Buttons[0].Type != dynblock.ButtonURL {
		t.Fatalf("alternatives: %+v", block)
	}
	res := bw.do("POST", strings.TrimPrefix(m.Buttons[0].URL, "http://playgram.test"), "", nil)
	if res.Status != 201 {
		t.Fatalf("booking an alternative: %d %s", res.Status, res.Body)
	}
	var b map[string]any
	_ = json.Unmarshal([]byte(res.Body), &b)
	contact, _ := bw.app.FindRecordById(collections.Contacts, str(b, "contact"))
	if contact == nil || contact.GetString("subscriber_id") != "72" {
		t.Fatalf("the alternative was booked for %v", contact)
	}
}

func TestManychatMessengerUsesCallbackButtons(t *testing.T) {
	cfg := testutil.Config()
	cfg.PublicURL = "https://shop.example.com"
	app := testutil.NewAppWith(t, cfg)
	ws := testutil.Workspace(t, app, "Messenger Shop")
	key, _ := testutil.APIKey(t, app, ws, "manychat")
	tool := testutil.Tool(t, app, ws, "booking", "Cuts", nil).Id
	bw := &bookingWorld{t: t, app: app, h: testutil.Handler(t, app), ws: ws}
	bw.w.Acme = ws.Id
	anna := bw.helper("Anna", "UTC", tool)
	bw.hours(anna, "09:00", "10:00")
	d := day(5).Format("2006-01-02")

	res := testutil.Do(bw.h, "GET", "/api/v1/bookings/slots?format=manychat&channel=messenger&tool="+tool+"&from="+d+"&to="+d+"&subscriber_id=9", "", testutil.Bearer(key))
	block := parseBlock(t, res)
	if block.Content.Type != dynblock.Messenger || strings.Contains(res.Body, `"type":"instagram"`) {
		t.Fatalf("messenger block: %s", res.Body)
	}
	btn := block.Content.Messages[1].Buttons[0]
	if btn.Type != dynblock.ButtonCallback || btn.Method != "post" || !strings.HasPrefix(btn.URL, "https://shop.example.com/api/v1/booking-offers/") {
		t.Fatalf("button: %+v", btn)
	}
	u, _ := url.Parse(btn.URL)
	// Manychat calls the URL back when the button is tapped and shows the block it gets.
	block = parseBlock(t, testutil.Do(bw.h, "POST", u.RequestURI(), `{}`, nil))
	if block.Content.Type != dynblock.Messenger || !strings.HasPrefix(block.Content.Messages[0].Text, "Booked! Cuts with Anna") {
		t.Fatalf("callback answer: %+v", block)
	}
}
