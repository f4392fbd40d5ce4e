package analytics_test

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/playgram/playgram/analytics"
	"github.com/playgram/playgram/collections"
	ia "github.com/playgram/playgram/internal/analytics"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
)

func TestMain(m *testing.M) { os.Exit(testutil.Run(m)) }

// answers computes the questions the rollup serves, so they can be compared before and after it runs.
func answers(t *testing.T, app core.App, ws string, end time.Time) map[string]any {
	t.Helper()
	loc := analytics.Location(app, ws)
	out := map[string]any{}
	for _, iv := range []ia.Interval{ia.Daily, ia.Weekly, ia.Monthly} {
		bs, err := ia.Buckets(end.AddDate(0, 0, -75).Add(5*time.Hour), end, iv, loc)
		if err != nil {
			t.Fatal(err)
		}
		for name, def := range map[string]analytics.MetricDef{
			"active":   analytics.KPIs["active_contacts"],
			"engaged":  analytics.KPIs["engagement_rate"],
			"scanners": {Types: []string{"qr.scanned"}, Agg: ia.AggUnique},
			"scans":    analytics.KPIs["scans"],
			"events":   {Agg: ia.AggCount},
		} {
			s, err := analytics.Series(app, ws, def, bs, loc)
			if err != nil {
				t.Fatal(err)
			}
			vals := []float64{}
			for _, v := range s {
				if v == nil {
					vals = append(vals, -1)
				} else {
					vals = append(vals, *v)
				}
			}
			out[name+"/"+string(iv)] = vals
		}
	}
	for name, types := range map[string][]string{"all": nil, "scans": {"qr.scanned", "booking.created"}} {
		h, err := analytics.Heatmap(app, ws, types, end.AddDate(0, 0, -40).Add(7*time.Minute), end.Add(-3*time.Minute), loc)
		if err != nil {
			t.Fatal(err)
		}
		out["heatmap/"+name] = h
	}
	r, err := analytics.Retention(app, ws, analytics.RetentionQuery{CohortEvent: "contact.created", ReturnEvent: "qr.scanned", Period: ia.Weekly, Periods: 6,
		From: end.AddDate(0, 0, -60), To: end, Mode: ia.On}, loc, end)
	if err != nil {
		t.Fatal(err)
	}
	out["retention"] = r
	return out
}

// The rollup is an optimisation: every answer must be the same computed from the log alone, from the rollup,
// from the rollup plus events it has not seen yet, and after a zone change (rebuild).
func TestRollupAnswersMatchTheLog(t *testing.T) {
	end := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // covers the end of summer time in Berlin
	app, w := generatedApp(t, analytics.GenerateOptions{Events: 4000, Days: 90, End: end, Seed: 9})
	if _, err := analytics.Generate(app, w.Globex, analytics.GenerateOptions{Events: 500, Days: 90, End: end, Seed: 10}); err != nil {
		t.Fatal(err)
	}
	fromLog := answers(t, app, w.Acme, end)
	if _, err := analytics.RunRollup(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	if got := answers(t, app, w.Acme, end); !reflect.DeepEqual(got, fromLog) {
		t.Fatalf("rollup answers differ from the log's:\n%v\n%v", got, fromLog)
	}
	// New events (some backfilled into rolled-up days) are read from the log until the next run.
	for i := 0; i < 50; i++ {
		at := end.Add(-time.Duration(i*37) * time.Hour)
		if _, err := platform.Emit(app, platform.Event{Workspace: w.Acme, Type: "qr.scanned", Contact: "late" + string(rune('a'+i%7)), At: at}); err != nil {
			t.Fatal(err)
		}
	}
	withTail := answers(t, app, w.Acme, end)
	if reflect.DeepEqual(withTail, fromLog) {
		t.Fatal("new events changed nothing")
	}
	if n, err := analytics.RunRollup(context.Background(), app); err != nil || n != 50 {
		t.Fatalf("second run folded %d events: %v", n, err)
	}
	if got := answers(t, app, w.Acme, end); !reflect.DeepEqual(got, withTail) {
		t.Fatalf("after folding the tail:\n%v\n%v", got, withTail)
	}
	// A zone change: answers move to New York days at once (from the log), and the rebuild agrees.
	ws, _ := app.FindRecordById(collections.Workspaces, w.Acme)
	ws.Set("timezone", "America/New_York")
	if err := app.Save(ws); err != nil {
		t.Fatal(err)
	}
	newYork := answers(t, app, w.Acme, end)
	if reflect.DeepEqual(newYork, withTail) {
		t.Fatal("the zone change changed nothing")
	}
	if _, err := analytics.RunRollup(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	if got := answers(t, app, w.Acme, end); !reflect.DeepEqual(got, newYork) {
		t.Fatalf("after the rebuild:\n%v\n%v", got, newYork)
	}
}

// Funnel's loader (per-type index reads, step-1 contacts first, whole streams for strict) must give what
// walking every contact's complete, naively loaded history gives.
func TestFunnelLoaderMatchesNaiveWalk(t *testing.T) {
	end := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	app, w := generatedApp(t, analytics.GenerateOptions{Events: 3000, Days: 30, End: end, Seed: 4})
	steps := []analytics.FunnelStep{{Type: "qr.scanned"}, {Type: "manychat.message"}, {Type: "qr.scanned"}, {Type: analytics.PurchaseType}}
	for _, order := range []ia.Order{ia.Sequential, ia.Strict, ia.Any} {
		q := analytics.FunnelQuery{Steps: steps, From: end.AddDate(0, 0, -20), To: end.AddDate(0, 0, -5), Window: 3 * 24 * time.Hour, Order: order}
		got, err := analytics.Funnel(app, w.Acme, q)
		if err != nil {
			t.Fatal(err)
		}
		want := naiveFunnel(t, app, w.Acme, q)
		for k := range want {
			if got.Steps[k].StepResult.Count != want[k].Count || !reflect.DeepEqual(got.Steps[k].MedianSeconds, want[k].MedianSeconds) {
				t.Fatalf("%s step %d: loader %+v, naive %+v", order, k+1, got.Steps[k].StepResult, want[k])
			}
		}
		// Inside a transaction the loader reads through it on one worker: same answer.
		err = app.RunInTransaction(func(tx core.App) error {
			inTx, err := analytics.Funnel(tx, w.Acme, q)
			if err == nil && !reflect.DeepEqual(inTx, got) {
				t.Errorf("%s: in a transaction %+v, outside %+v", order, inTx.Steps, got.Steps)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Steps[0].Count == 0 || (order == ia.Sequential && got.Steps[2].Count == 0) {
			t.Fatalf("%s: the generated data should reach past step 1: %+v", order, got.Steps)
		}
	}
}

// generatedApp is a World app with events generated into Acme, cleaned up when the test ends.
func generatedApp(t *testing.T, o analytics.GenerateOptions) (core.App, testutil.World) {
	t.Helper()
	app := testutil.NewWorldApp(t)
	t.Cleanup(app.Cleanup)
	w := testutil.TheWorld(t)
	if _, err := analytics.Generate(app, w.Acme, o); err != nil {
		t.Fatal(err)
	}
	return app, w
}

// naiveFunnel answers a funnel whose steps have no filters by walking every contact's complete history, loaded
// in one query.
func naiveFunnel(t *testing.T, app core.App, ws string, q analytics.FunnelQuery) []ia.StepResult {
	t.Helper()
	var all []struct {
		Contact string `db:"contact"`
		Type    string `db:"type"`
		TS      int64  `db:"ts"`
	}
	if err := app.DB().NewQuery("SELECT contact, type, ts FROM events WHERE workspace = {:ws} AND contact != '' ORDER BY contact, ts, rowid").
		Bind(map[string]any{"ws": ws}).All(&all); err != nil {
		t.Fatal(err)
	}
	spec := ia.FunnelSpec{Steps: len(q.Steps), From: q.From.UnixMilli(), To: q.To.UnixMilli(), Window: q.Window.Milliseconds(), Order: q.Order}
	tally := ia.NewTally(len(q.Steps))
	for i := 0; i < len(all); {
		j := i
		var evs []ia.FunnelEvent
		for ; j < len(all) && all[j].Contact == all[i].Contact; j++ {
			var m uint32
			for k, s := range q.Steps {
				if s.Type == all[j].Type {
					m |= 1 << k
				}
			}
			evs = append(evs, ia.FunnelEvent{TS: all[j].TS, Steps: m})
		}
		tally.Add(ia.WalkContact(evs, spec))
		i = j
	}
	return tally.Results()
}
