package gobench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/exports"
	"github.com/playgram/playgram/internal/export"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// seedContacts inserts n realistic contacts into ws with one multi-row INSERT per 500 rows.
func seedContacts(b *testing.B, app core.App, ws string, n int) {
	b.Helper()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	err := app.RunInTransaction(func(tx core.App) error {
		for i := 0; i < n; {
			var q strings.Builder
			q.WriteString("INSERT INTO contacts (id, workspace, subscriber_id, ig_username, name, first_name, last_name, email, phone, timezone, tags, custom_fields, local_tags, engagement_score, last_interaction_at, source, created, updated) VALUES ")
			params := dbx.Params{}
			for j := 0; j < 500 && i < n; j, i = j+1, i+1 {
				if j > 0 {
					q.WriteByte(',')
				}
				at := start.Add(time.Duration(i) * time.Minute).Format("2006-01-02 15:04:05.000Z")
				vals := []any{security.PseudorandomString(15), ws, fmt.Sprint(1_000_000_000 + i), fmt.Sprintf("user_%d", i),
					fmt.Sprintf("Customer Número %d", i), "Customer", fmt.Sprintf("Número %d", i), fmt.Sprintf("customer%d@example.com", i),
					fmt.Sprintf("+1555%07d", i), "Europe/Lisbon", `["vip","newsletter"]`, `{"plan":"pro","city":"Lisbon"}`, `[]`,
					float64(i%100) / 3, at, "manychat", at, at}
				q.WriteByte('(')
				for k, v := range vals {
					name := "p" + strconv.Itoa(j) + "_" + strconv.Itoa(k)
					params[name] = v
					if k > 0 {
						q.WriteByte(',')
					}
					q.WriteString("{:" + name + "}")
				}
				q.WriteByte(')')
			}
			if _, err := tx.DB().NewQuery(q.String()).Bind(params).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// peakHeap samples the heap in use every few milliseconds while fn runs.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

func benchExport(b *testing.B, rows int, format string, fields []string) {
	app := testutil.NewWorldApp(b)
	defer app.Cleanup()
	w := testutil.TheWorld(b)
	seedContacts(b, app, w.Acme, rows)
	q, err := exports.Validate(app, w.Acme, exports.Request{Dataset: "contacts", Format: format, Fields: fields, Purpose: "benchmark"})
	if err != nil {
		b.Fatal(err)
	}
	var peak uint64
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.CreateTemp(b.TempDir(), "export")
		if err != nil {
			b.Fatal(err)
		}
		p := peakHeap(func() {
			res, err := exports.Write(context.Background(), app, q, format, f, export.Report{Title: "Contacts export", Generated: time.Now()})
			if err != nil || res.Rows != rows {
				b.Fatalf("%d rows, %v", res.Rows, err)
			}
			size = res.Size
		})
		f.Close()
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(size)/(1<<20), "file-MB")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkExportContactsCSV100k(b *testing.B)  { benchExport(b, 100_000, export.CSV, nil) }
func BenchmarkExportContactsCSV300k(b *testing.B)  { benchExport(b, 300_000, export.CSV, nil) }
func BenchmarkExportContactsXLSX100k(b *testing.B) { benchExport(b, 100_000, export.XLSX, nil) }
func BenchmarkExportContactsJSONL100k(b *testing.B) {
	benchExport(b, 100_000, export.JSONL, nil)
}
func BenchmarkExportContactsPDF10k(b *testing.B) {
	benchExport(b, 10_000, export.PDF, []string{"name", "email", "phone", "ig_username", "engagement_score", "created"})
}

// The 1,000,000-row runs show the heap stays flat: compare peak-heap-MB with the 100k runs.
func BenchmarkExportContactsCSV1M(b *testing.B)  { benchExport(b, 1_000_000, export.CSV, nil) }
func BenchmarkExportContactsXLSX1M(b *testing.B) { benchExport(b, 1_000_000, export.XLSX, nil) }
