package gobench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// bookingFixture is a workspace with one booking tool and helpers working every day.
type bookingFixture struct {
	app     *tests.TestApp
	h       http.Handler
	key     map[string]string
	tool    string
	helpers []string
	day0    time.Time
}

func newBookingFixture(b *testing.B, helpers int, start, end string, cfg map[string]any) *bookingFixture {
	b.Helper()
	app := testutil.NewWorldApp(b)
	w := testutil.TheWorld(b)
	ws, err := app.FindRecordById(collections.Workspaces, w.Acme)
	if err != nil {
		b.Fatal(err)
	}
	f := &bookingFixture{app: app, h: testutil.Handler(b, app), key: testutil.Bearer(w.ManychatKey)}
	f.tool = testutil.Tool(b, app, ws, "booking", "Bench", cfg).Id
	now := time.Now().UTC()
	f.day0 = time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	err = app.RunInTransaction(func(tx core.App) error {
		hc, _ := tx.FindCollectionByNameOrId(collections.Helpers)
		ac, _ := tx.FindCollectionByNameOrId(collections.Availability)
		for i := range helpers {
			h := core.NewRecord(hc)
			h.Set("workspace", w.Acme)
			h.Set("name", fmt.Sprintf("Helper %02d", i))
			h.Set("timezone", "UTC")
			h.Set("active", true)
			h.Set("tools", []string{f.tool})
			if err := tx.Save(h); err != nil {
				return err
			}
			f.helpers = append(f.helpers, h.Id)
			for wd := 1; wd <= 7; wd++ {
				r := core.NewRecord(ac)
				r.Set("workspace", w.Acme)
				r.Set("helper", h.Id)
				r.Set("weekday", wd)
				r.Set("start", start)
				r.Set("end", end)
				if err := tx.Save(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// seed inserts confirmed bookings directly (the route's conflict checks are what is measured, not the setup).
func (f *bookingFixture) seed(b *testing.B, helper string, starts []time.Time, dur time.Duration) {
	b.Helper()
	err := f.app.RunInTransaction(func(tx core.App) error {
		coll, _ := tx.FindCollectionByNameOrId(collections.Bookings)
		for _, s := range starts {
			r := core.NewRecord(coll)
			r.Set("workspace", testutil.TheWorld(b).Acme)
			r.Set("tool", f.tool)
			r.Set("helper", helper)
			r.Set("start", s)
			r.Set("end", s.Add(dur))
			r.Set("status", collections.BookingConfirmed)
			r.Set("seats", 1)
			r.Set("name", "Seeded")
			r.Set("slot_key", jobs.SlotKey(helper, s, 0))
			if err := tx.Save(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// cpuPerOp reports the process's CPU time per operation next to ns/op: on a shared, loaded machine wall time
// includes waiting for a core, CPU time does not.
func cpuPerOp(b *testing.B) func() {
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	return func() {
		var after syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		used := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
		b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

// do sends one request with the Manychat key.
func (f *bookingFixture) do(method, url, body string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range f.key {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// measureSlots checks that url lists want slots, then times it.
func (f *bookingFixture) measureSlots(b *testing.B, url string, want int) {
	if rec := f.do(http.MethodGet, url, ""); rec.Code != 200 || strings.Count(rec.Body.String(), `"seats_left"`) != want {
		b.Fatalf("%s: %d, %d slots, want %d", url, rec.Code, strings.Count(rec.Body.String(), `"seats_left"`), want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for b.Loop() {
		if rec := f.do(http.MethodGet, url, ""); rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkBookingSlotsMonth500Bookings: a month of slots for one helper (08:00-20:00 daily, 30-minute
// slots) with 500 bookings in that month, through GET /api/v1/bookings/slots. Budget: 5 ms.
func BenchmarkBookingSlotsMonth500Bookings(b *testing.B) {
	f := newBookingFixture(b, 1, "08:00", "20:00", map[string]any{"min_notice_minutes": 0, "max_advance_days": 90})
	defer f.app.Cleanup()
	var starts []time.Time
	for i := range 500 {
		starts = append(starts, f.day0.AddDate(0, 0, i/17).Add(8*time.Hour+time.Duration(i%17)*30*time.Minute))
	}
	f.seed(b, f.helpers[0], starts, 30*time.Minute)
	f.measureSlots(b, "/api/v1/bookings/slots?tool="+f.tool+"&helper="+f.helpers[0]+"&from="+f.day0.Format("2006-01-02")+"&to="+f.day0.AddDate(0, 0, 29).Format("2006-01-02"), 30*24-500)
}

// BenchmarkBookingSlots20Helpers90Days: helper=any over 90 days for 20 helpers (09:00-17:00 daily, 10
// bookings each), through the route. Budget: 50 ms.
func BenchmarkBookingSlots20Helpers90Days(b *testing.B) {
	f := newBookingFixture(b, 20, "09:00", "17:00", map[string]any{"min_notice_minutes": 0, "max_advance_days": 120})
	defer f.app.Cleanup()
	for i, h := range f.helpers {
		var starts []time.Time
		for k := range 10 {
			starts = append(starts, f.day0.AddDate(0, 0, (i+k*7)%90).Add(9*time.Hour+time.Duration(k%16)*30*time.Minute))
		}
		f.seed(b, h, starts, 30*time.Minute)
	}
	f.measureSlots(b, "/api/v1/bookings/slots?tool="+f.tool+"&helper=any&from="+f.day0.Format("2006-01-02")+"&to="+f.day0.AddDate(0, 0, 89).Format("2006-01-02"), 90*16)
}

// BenchmarkBookingCreate: POST /api/v1/bookings from parallel clients, each for a free slot, with the whole
// transaction (availability check, seat key, contact, event, notice and reminder jobs).
func BenchmarkBookingCreate(b *testing.B) {
	f := newBookingFixture(b, 20, "00:00", "24:00", map[string]any{"min_notice_minutes": 0, "max_advance_days": 730})
	defer f.app.Cleanup()
	var next atomic.Int64
	var failed atomic.Value
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	report := cpuPerOp(b)
	b.SetParallelism(25) // 50 clients on 2 cores, like bench/run.sh
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			slot := i / int64(len(f.helpers))
			at := f.day0.AddDate(0, 0, int(slot/48)).Add(time.Duration(slot%48) * 30 * time.Minute)
			body := fmt.Sprintf(`{"tool":%q,"helper":%q,"start":%q,"subscriber_id":"%d","name":"Bench","email":"b%d@example.com"}`,
				f.tool, f.helpers[i%int64(len(f.helpers))], at.Format(time.RFC3339), 100000+i, i)
			rec := f.do(http.MethodPost, "/api/v1/bookings", body)
			if rec.Code != 201 {
				failed.Store(fmt.Sprintf("%d %s", rec.Code, rec.Body))
			}
		}
	})
	b.StopTimer()
	report()
	if msg := failed.Load(); msg != nil {
		b.Fatalf("a create failed: %v", msg)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "bookings/s")
}

// BenchmarkBookingConflict: parallel clients all asking for one taken slot; each gets a 409 with the three
// nearest free times.
func BenchmarkBookingConflict(b *testing.B) {
	f := newBookingFixture(b, 1, "09:00", "17:00", map[string]any{"min_notice_minutes": 0})
	defer f.app.Cleanup()
	at := f.day0.AddDate(0, 0, 2).Add(10 * time.Hour)
	f.seed(b, f.helpers[0], []time.Time{at}, 30*time.Minute)
	body := fmt.Sprintf(`{"tool":%q,"helper":%q,"start":%q,"subscriber_id":"1","name":"Bench"}`, f.tool, f.helpers[0], at.Format(time.RFC3339))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	b.SetParallelism(25)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := f.do(http.MethodPost, "/api/v1/bookings", body)
			if rec.Code != 409 {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkBookingClassRush is bench/run.sh's booking scenario in process: 50 clients booking one class of
// 1000 seats; the first 1000 get a seat, the rest a 409 with alternatives.
func BenchmarkBookingClassRush(b *testing.B) {
	f := newBookingFixture(b, 1, "00:00", "24:00", map[string]any{"seats": 1000, "duration_minutes": 60, "slot_interval_minutes": 60, "min_notice_minutes": 0, "max_advance_days": 30})
	defer f.app.Cleanup()
	at := f.day0.AddDate(0, 0, 1).Add(10 * time.Hour)
	var next, created, conflicts atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	report := cpuPerOp(b)
	b.SetParallelism(25)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			body := fmt.Sprintf(`{"tool":%q,"helper":%q,"start":%q,"subscriber_id":"%d","name":"Bench"}`, f.tool, f.helpers[0], at.Format(time.RFC3339), i)
			rec := f.do(http.MethodPost, "/api/v1/bookings", body)
			switch rec.Code {
			case 201:
				created.Add(1)
			case 409:
				conflicts.Add(1)
			default:
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.StopTimer()
	report()
	b.ReportMetric(float64(created.Load()), "created")
	b.ReportMetric(float64(conflicts.Load()), "conflicts")
}
