package routes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/playgram/playgram/internal/dbtime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// bookingWorld is the World fixtures plus helpers to set up booking tools, helpers and availability.
type bookingWorld struct {
	t   testing.TB
	app *tests.TestApp
	h   http.Handler
	w   testutil.World
	ws  *core.Record
}

func newBookingWorld(t testing.TB) *bookingWorld {
	t.Helper()
	app := testutil.NewWorldApp(t)
	t.Cleanup(app.Cleanup)
	w := testutil.TheWorld(t)
	ws, err := app.FindRecordById(collections.Workspaces, w.Acme)
	if err != nil {
		t.Fatal(err)
	}
	return &bookingWorld{t: t, app: app, h: testutil.Handler(t, app), w: w, ws: ws}
}

func (bw *bookingWorld) tool(name string, cfg map[string]any) string {
	bw.t.Helper()
	return testutil.Tool(bw.t, bw.app, bw.ws, "booking", name, cfg).Id
}

func (bw *bookingWorld) helperIn(ws, name, tz string, tools ...string) string {
	bw.t.Helper()
	coll, _ := bw.app.FindCollectionByNameOrId(collections.Helpers)
	r := core.NewRecord(coll)
	r.Set("workspace", ws)
	r.Set("name", name)
	r.Set("email", strings.ToLower(name)+"@acme.test")
	r.Set("timezone", tz)
	r.Set("active", true)
	r.Set("tools", tools)
	if err := bw.app.Save(r); err != nil {
		bw.t.Fatal(err)
	}
	return r.Id
}

func (bw *bookingWorld) helper(name, tz string, tools ...string) string {
	bw.t.Helper()
	return bw.helperIn(bw.w.Acme, name, tz, tools...)
}

// hours gives a helper the same hours on every weekday.
func (bw *bookingWorld) hours(helper, start, end string, breaks ...map[string]string) {
	bw.t.Helper()
	coll, _ := bw.app.FindCollectionByNameOrId(collections.Availability)
	for wd := 1; wd <= 7; wd++ {
		r := core.NewRecord(coll)
		r.Set("workspace", bw.w.Acme)
		r.Set("helper", helper)
		r.Set("weekday", wd)
		r.Set("start", start)
		r.Set("end", end)
		if len(breaks) > 0 {
			r.Set("breaks", breaks)
		}
		if err := bw.app.Save(r); err != nil {
			bw.t.Fatal(err)
		}
	}
}

// annaWorks makes a booking tool "Cuts" with cfg and a helper Anna (UTC) serving it from start to end every day.
func (bw *bookingWorld) annaWorks(cfg map[string]any, start, end string) (tool, anna string) {
	bw.t.Helper()
	tool = bw.tool("Cuts", cfg)
	anna = bw.helper("Anna", "UTC", tool)
	bw.hours(anna, start, end)
	return tool, anna
}

// joinWaitlist puts Manychat subscriber sub ("W"+sub) on the waitlist of tool on date; extra adds JSON keys.
func (bw *bookingWorld) joinWaitlist(tool, date, sub, extra string) map[string]any {
	bw.t.Helper()
	res := bw.do("POST", "/api/v1/bookings/waitlist", `{"tool":"`+tool+`","date":"`+date+`","subscriber_id":"`+sub+`","name":"W`+sub+`"`+extra+`}`, bw.key())
	if res.Status != 201 && res.Status != 200 {
		bw.t.Fatalf("join %s: %d %s", sub, res.Status, res.Body)
	}
	return obj(bw.t, res.Body)
}

func (bw *bookingWorld) do(method, url, body string, headers map[string]string) testutil.Response {
	return testutil.Do(bw.h, method, url, body, headers)
}

func (bw *bookingWorld) key() map[string]string { return testutil.Bearer(bw.w.ManychatKey) }

// book posts a booking with the Manychat key for a subscriber.
func (bw *bookingWorld) book(tool, helper string, start time.Time, subscriber string, extra ...string) testutil.Response {
	body := fmt.Sprintf(`{"tool":%q,"helper":%q,"start":%q,"subscriber_id":%q,"name":"Customer %s"%s}`,
		tool, helper, start.UTC().Format(time.RFC3339), subscriber, subscriber, strings.Join(extra, ""))
	return bw.do("POST", "/api/v1/bookings", body, bw.key())
}

func (bw *bookingWorld) booking(id string) *core.Record {
	bw.t.Helper()
	r, err := bw.app.FindRecordById(collections.Bookings, id)
	if err != nil {
		bw.t.Fatal(err)
	}
	return r
}

func (bw *bookingWorld) count(coll, filter string, params dbx.Params) int {
	bw.t.Helper()
	recs, err := bw.app.FindRecordsByFilter(coll, filter, "", 0, 0, params)
	if err != nil {
		bw.t.Fatal(err)
	}
	return len(recs)
}

// runJobs runs every due job, as the background workers would.
func (bw *bookingWorld) runJobs() {
	bw.t.Helper()
	if _, err := jobs.RunnerOf(bw.app).RunDue(context.Background()); err != nil {
		bw.t.Fatal(err)
	}
}

// makeDue moves queued jobs of a kind to now, as if their time had come.
func (bw *bookingWorld) makeDue(kind string) {
	bw.t.Helper()
	if _, err := bw.app.NonconcurrentDB().NewQuery("UPDATE jobs SET run_at = {:now} WHERE kind = {:k} AND status = 'queued'").
		Bind(dbx.Params{"now": dbtime.Format(time.Now().Add(-time.Second)), "k": kind}).Execute(); err != nil {
		bw.t.Fatal(err)
	}
}

func obj(t testing.TB, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object: %s", body)
	}
	return m
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

// slotsOf lists the slots of a /bookings/slots answer.
func slotsOf(t testing.TB, res testutil.Response) []map[string]any {
	t.Helper()
	if res.Status != 200 {
		t.Fatalf("slots: %d %s", res.Status, res.Body)
	}
	var out struct {
		Slots []map[string]any `json:"slots"`
	}
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Slots
}

// day returns the UTC midnight n days from today.
func day(n int) time.Time {
	now := time.Now().UTC()
	return time.Date(now.Year(), now.Month(), now.Day()+n, 0, 0, 0, 0, time.UTC)
}

func manageToken(t testing.TB, manageURL string) string {
	t.Helper()
	_, token, ok := strings.Cut(manageURL, "token=")
	if !ok {
		t.Fatalf("no token in %q", manageURL)
	}
	return token
}
