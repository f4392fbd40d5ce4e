package gobench

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/exports"
	"github.com/playgram/playgram/internal/export"
	"github.com/playgram/playgram/internal/testutil"
)

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
