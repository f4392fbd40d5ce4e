package analytics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/playgram/playgram/analytics"
	"github.com/playgram/playgram/exports"
	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// segmentFunnels are funnels of every order over the generated data; "filtered" reads its filtered type from
// the rows and the others from segments, "breakdown" reads the step-1 type's rows.
func segmentFunnels(end time.Time) map[string]analytics.FunnelQuery {
	out := map[string]analytics.FunnelQuery{}
	for _, order := range []ia.Order{ia.Sequential, ia.Strict, ia.Any} {
		out["A/"+string(order)] = analytics.FunnelQuery{Steps: []analytics.FunnelStep{{Type: "qr.scanned"}, {Type: "manychat.message"}, {Type: "qr.scanned"},
			{Type: analytics.PurchaseType}}, From: end.AddDate(0, 0, -20), To: end.AddDate(0, 0, -5), Window: 3 * 24 * time.Hour, Order: order}
		out["B/"+string(order)] = analytics.FunnelQuery{Steps: []analytics.FunnelStep{{Type: "qr.scanned"}, {Type: "booking.created"}, {Type: analytics.PurchaseType}},
			From: end.AddDate(0, 0, -30), To: end, Window: 7 * 24 * time.Hour, Order: order}
	}
	// Counting an event twice (from a segment and from the tail) makes one scan reach step 2 here.
	out["twice/any"] = analytics.FunnelQuery{Steps: []analytics.FunnelStep{{Type: "qr.scanned"}, {Type: "qr.scanned"}},
		From: end.AddDate(0, 0, -30), To: end, Window: time.Hour, Order: ia.Any}
	out["filtered"] = analytics.FunnelQuery{Steps: []analytics.FunnelStep{{Type: "qr.scanned"},
		{Type: "booking.created", Filter: &analytics.Filter{Field: "source", Op: "eq", Value: "instagram"}}, {Type: analytics.PurchaseType}},
		From: end.AddDate(0, 0, -30), To: end, Window: 7 * 24 * time.Hour, Order: ia.Sequential}
	out["breakdown"] = analytics.FunnelQuery{Steps: []analytics.FunnelStep{{Type: "qr.scanned"}, {Type: analytics.PurchaseType}},
		From: end.AddDate(0, 0, -30), To: end, Window: 7 * 24 * time.Hour, Order: ia.Sequential, Breakdown: "campaign"}
	return out
}

// segmentAnswers are the answers of segmentFunnels (those without filters or breakdown also checked against a
// naive walk of every contact's history), one of them inside a transaction, two retention tables, and the series, heatmaps and
// retention of answers.
func segmentAnswers(t *testing.T, app core.App, ws string, end time.Time) map[string]any {
	t.Helper()
	out := answers(t, app, ws, end)
	for name, q := range segmentFunnels(end) {
		res, err := analytics.Funnel(app, ws, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out["funnel/"+name] = res
		if name != "filtered" && name != "breakdown" {
			var got []ia.StepResult
			for _, s := range res.Steps {
				got = append(got, s.StepResult)
			}
			if want := naiveFunnel(t, app, ws, q); !reflect.DeepEqual(got, want) {
				t.Fatalf("funnel %s: %+v, a naive walk gives %+v", name, got, want)
			}
		}
	}
	err := app.RunInTransaction(func(tx core.App) error {
		res, err := analytics.Funnel(tx, ws, segmentFunnels(end)["B/strict"])
		out["funnel/B/strict in a transaction"] = res
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	loc := analytics.Location(app, ws)
	for name, q := range map[string]analytics.RetentionQuery{
		"daily":  {CohortEvent: "qr.scanned", ReturnEvent: analytics.PurchaseType, Period: ia.Daily, Periods: 10, From: end.AddDate(0, 0, -25), To: end, Mode: ia.OnOrAfter},
		"weekly": {CohortEvent: "manychat.message", ReturnEvent: "booking.created", Period: ia.Weekly, Periods: 4, From: end.AddDate(0, 0, -28), To: end, Mode: ia.On},
	} {
		r, err := analytics.Retention(app, ws, q, loc, end)
		if err != nil {
			t.Fatal(err)
		}
		out["retention/"+name] = r
	}
	return out
}

// sameAnswers fails with the questions whose answers differ.
func sameAnswers(t *testing.T, stage string, got, want map[string]any) {
	t.Helper()
	var diff []string
	for k := range want {
		if !reflect.DeepEqual(got[k], want[k]) {
			diff = append(diff, fmt.Sprintf("%s:\n  got  %+v\n  want %+v", k, got[k], want[k]))
		}
	}
	if len(diff) > 0 || len(got) != len(want) {
		sort.Strings(diff)
		t.Fatalf("%s: %d answers differ from the row path's:\n%s", stage, len(diff), strings.Join(diff, "\n"))
	}
}

// rowAnswers are the answers computed without segments.
func rowAnswers(t *testing.T, app core.App, ws string, end time.Time) map[string]any {
	t.Helper()
	defer analytics.UseSegments(false)()
	return segmentAnswers(t, app, ws, end)
}

func emit(t *testing.T, app core.App, ws, typ, contact string, at time.Time, data map[string]any) {
	t.Helper()
	if _, err := platform.Emit(app, platform.Event{Workspace: ws, Type: typ, Contact: contact, At: at, Data: data}); err != nil {
		t.Fatal(err)
	}
}

// Funnels and retention read from segments must answer as they do from the rows: before the job has run
// (everything is the tail), from segments alone, from segments plus new events (some backfilled into days
// that have segments), and with segments rebuilt past their watermark by a job run that has not finished.
func TestSegmentsAnswerLikeTheRows(t *testing.T) {
	end := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	app, w := generatedApp(t, analytics.GenerateOptions{Events: 3000, Days: 30, End: end, Seed: 4})
	if _, err := analytics.Generate(app, w.Globex, analytics.GenerateOptions{Events: 400, Days: 30, End: end, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	// Awkward events: without a contact, several at the same millisecond, on UTC midnights and just before.
	for i := range 12 {
		day := end.AddDate(0, 0, -2*i-1)
		at := day.Add(time.Duration(i*97) * time.Minute)
		emit(t, app, w.Acme, "qr.scanned", "", at, nil)
		emit(t, app, w.Acme, "booking.created", "", at.Add(time.Minute), map[string]any{"source": "instagram"})
		tie := fmt.Sprintf("tie%02d", i)
		emit(t, app, w.Acme, "qr.scanned", tie, at, map[string]any{"campaign": "ties"})
		emit(t, app, w.Acme, analytics.PurchaseType, tie, at, nil)
		emit(t, app, w.Acme, "booking.created", tie, at, map[string]any{"source": "instagram"})
		emit(t, app, w.Acme, "qr.scanned", tie, at, nil)
		emit(t, app, w.Acme, "manychat.message", tie, at, nil)
		emit(t, app, w.Acme, analytics.PurchaseType, tie, at.Add(time.Millisecond), nil)
		mid := fmt.Sprintf("mid%02d", i)
		emit(t, app, w.Acme, "qr.scanned", mid, day.Add(-time.Millisecond), nil)
		emit(t, app, w.Acme, "booking.created", mid, day, map[string]any{"source": "qr"})
		emit(t, app, w.Acme, analytics.PurchaseType, mid, day.Add(24*time.Hour-time.Millisecond), nil)
	}

	rows := rowAnswers(t, app, w.Acme, end)
	if !analytics.SegmentsFresh(app) {
		t.Fatal("a small log should be read through segments and their tail")
	}
	sameAnswers(t, "before the job (all tail)", segmentAnswers(t, app, w.Acme, end), rows)

	if _, err := analytics.RunRollup(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	var segs, wm, top int64
	_ = app.DB().NewQuery("SELECT count(*) FROM analytics_segments").Row(&segs)
	_ = app.DB().NewQuery("SELECT CAST(value AS INTEGER) FROM analytics_state WHERE key = 'seg_watermark'").Row(&wm)
	_ = app.DB().NewQuery("SELECT max(rowid) FROM events").Row(&top)
	if segs < 30 || wm != top {
		t.Fatalf("the job built %d segments up to %d of %d events", segs, wm, top)
	}
	sameAnswers(t, "from segments", segmentAnswers(t, app, w.Acme, end), rows)

	// New events, most of them backfilled into days that have segments, for known and new contacts.
	var known []string
	if err := app.DB().NewQuery("SELECT DISTINCT contact FROM events WHERE workspace = {:ws} AND type = 'qr.scanned' AND contact != '' LIMIT 40").
		Bind(dbx.Params{"ws": w.Acme}).Column(&known); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 120 {
		c := known[rng.IntN(len(known))]
		if i%5 == 0 {
			c = fmt.Sprintf("new%02d", i%7)
		}
		at := end.Add(-time.Duration(rng.Int64N(int64(29 * 24 * time.Hour))))
		typ := []string{"qr.scanned", "booking.created", analytics.PurchaseType, "manychat.message", "contact.created"}[i%5]
		emit(t, app, w.Acme, typ, c, at, map[string]any{"source": []string{"instagram", "qr"}[i%2], "campaign": "late"})
	}
	withTail := rowAnswers(t, app, w.Acme, end)
	if reflect.DeepEqual(withTail, rows) {
		t.Fatal("the new events changed no answer")
	}
	sameAnswers(t, "from segments plus the tail", segmentAnswers(t, app, w.Acme, end), withTail)

	// A job run that rebuilt segments but has not moved the watermark yet: the segments hold events past it,
	// which readers also read from the tail; each must count once.
	if n, err := analytics.RebuildSegmentsAhead(app); err != nil || n == 0 {
		t.Fatalf("rebuilt %d segments: %v", n, err)
	}
	var ahead int
	_ = app.DB().NewQuery("SELECT count(*) FROM analytics_segments WHERE upto > {:wm}").Bind(dbx.Params{"wm": wm}).Row(&ahead)
	if ahead == 0 {
		t.Fatal("no segment holds events past the watermark")
	}
	sameAnswers(t, "segments rebuilt past their watermark", segmentAnswers(t, app, w.Acme, end), withTail)

	if _, err := analytics.RunRollup(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "after the next run", segmentAnswers(t, app, w.Acme, end), withTail)

	// The answers above came from the segments: a damaged one is an error, not a silent fallback.
	if _, err := app.DB().NewQuery("UPDATE analytics_segments SET data = x'0102' WHERE workspace = {:ws} AND type = 'booking.created'").
		Bind(dbx.Params{"ws": w.Acme}).Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := analytics.Funnel(app, w.Acme, segmentFunnels(end)["B/sequential"]); err == nil || !strings.Contains(err.Error(), "segment") {
		t.Fatalf("a funnel over damaged segments: %v", err)
	}
}

// Erasing a contact must take it out of segments and the rollup in the erasing transaction: answers read from
// them equal the answers read from the anonymised rows.
func TestErasedContactLeavesSegmentsAndRollup(t *testing.T) {
	end := time.Now().UTC().Truncate(24 * time.Hour)
	app, w := generatedApp(t, analytics.GenerateOptions{Events: 1500, Days: 30, End: end, Seed: 6})
	c, err := platform.ResolveContact(app, w.Acme, platform.ContactRef{SubscriberID: "5550001111"}, map[string]any{"name": "Erin Erasable"})
	if err != nil {
		t.Fatal(err)
	}
	for d := 3; d < 27; d += 4 { // complete funnels and returns on several days
		at := end.AddDate(0, 0, -d).Add(9 * time.Hour)
		emit(t, app, w.Acme, "qr.scanned", c.Id, at, nil)
		emit(t, app, w.Acme, "manychat.message", c.Id, at.Add(time.Hour), nil)
		emit(t, app, w.Acme, "booking.created", c.Id, at.Add(2*time.Hour), map[string]any{"source": "instagram"})
		emit(t, app, w.Acme, analytics.PurchaseType, c.Id, at.Add(3*time.Hour), nil)
	}
	if _, err := analytics.RunRollup(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	before := segmentAnswers(t, app, w.Acme, end)
	var number int64
	if err := app.DB().NewQuery("SELECT id FROM analytics_contacts WHERE workspace = {:ws} AND contact = {:c}").
		Bind(dbx.Params{"ws": w.Acme, "c": c.Id}).Row(&number); err != nil {
		t.Fatalf("the job did not number the contact: %v", err)
	}
	inSegments := func() int {
		var blobs [][]byte
		if err := app.DB().NewQuery("SELECT data FROM analytics_segments WHERE workspace = {:ws}").Bind(dbx.Params{"ws": w.Acme}).Column(&blobs); err != nil {
			t.Fatal(err)
		}
		n := 0
		var d ia.SegmentDecoder
		for _, b := range blobs {
			for err := d.Reset(b); err == nil && d.Next(); {
				if c, _, _ := d.Event(); int64(c) == number {
					n++
				}
			}
		}
		return n
	}
	var events int
	_ = app.DB().NewQuery("SELECT count(*) FROM events WHERE contact = {:c}").Bind(dbx.Params{"c": c.Id}).Row(&events)
	if n := inSegments(); n != events || n < 24 {
		t.Fatalf("the segments hold %d events of the contact, the log %d", n, events)
	}
	if _, err := exports.Erase(app, w.Acme, c.Id, platform.SystemActor("test"), time.Now()); err != nil {
		t.Fatal(err)
	}
	after := segmentAnswers(t, app, w.Acme, end)
	if reflect.DeepEqual(after, before) {
		t.Fatal("erasing a contact with complete funnels changed no answer")
	}
	sameAnswers(t, "after the erasure", after, rowAnswers(t, app, w.Acme, end))
	var daily, periods, numbered int
	_ = app.DB().NewQuery("SELECT count(*) FROM analytics_daily WHERE contact = {:c}").Bind(dbx.Params{"c": c.Id}).Row(&daily)
	_ = app.DB().NewQuery("SELECT count(*) FROM analytics_periods WHERE contact = {:c}").Bind(dbx.Params{"c": c.Id}).Row(&periods)
	_ = app.DB().NewQuery("SELECT count(*) FROM analytics_contacts WHERE contact = {:c}").Bind(dbx.Params{"c": c.Id}).Row(&numbered)
	if daily != 0 || periods != 0 || numbered != 0 {
		t.Fatalf("the analytics tables keep the erased contact: %d daily, %d period, %d number rows", daily, periods, numbered)
	}
	if n := inSegments(); n != 0 {
		t.Fatalf("the segments keep %d events of the erased contact", n)
	}
	// The job finds nothing new to fold, and the answers stay.
	if _, err := analytics.RunRollup(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "after the next run", segmentAnswers(t, app, w.Acme, end), after)
}
