// Package gobench holds in-process benchmarks of Playgram's hot routes (the full router, no network), next to
// PocketBase's own routes as the baseline. Loopback load tests are in bench/run.sh.
package gobench

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/playgram/playgram/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.Run(m)) }

func benchRoute(b *testing.B, method, url string, headers map[string]string, want int) {
	app := testutil.NewWorldApp(b)
	defer app.Cleanup()
	h := testutil.Handler(b, app)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(method, url, nil)
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				b.Fatalf("%s %s: %d %s", method, url, rec.Code, rec.Body)
			}
		}
	})
}

func BenchmarkHealth(b *testing.B) {
	benchRoute(b, http.MethodGet, "/api/health", nil, 200)
}

func BenchmarkPingWithAPIKey(b *testing.B) {
	w := testutil.TheWorld(b)
	benchRoute(b, http.MethodGet, "/api/v1/ping", testutil.Bearer(w.ManychatKey), 200)
}
