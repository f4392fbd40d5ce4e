package gobench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/pocketbase/tests"
)

// BenchmarkQRScanConsuming scans one unlimited code over and over: each scan reads the code, bumps its use
// count and writes a scan row and a qr.scanned event in one transaction.
func BenchmarkQRScanConsuming(b *testing.B) {
	app, h, key, body := newScanBench(b)
	defer app.Cleanup()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := testutil.Do(h, "POST", "/api/v1/qr/scan", body, key); r.Status != 200 || !strings.Contains(r.Body, `"valid":true`) {
				b.Fatalf("%d %s", r.Status, r.Body)
			}
		}
	})
}

// BenchmarkQRImageCached serves one code's PNG from its public link; after the first render the bytes come
// from memory.
func BenchmarkQRImageCached(b *testing.B) {
	app := testutil.NewWorldApp(b)
	defer app.Cleanup()
	w := testutil.TheWorld(b)
	h := testutil.Handler(b, app)
	res := testutil.Do(h, "POST", "/api/v1/qr", `{"tool":"acme-qr"}`, testutil.Bearer(w.ManychatKey))
	var qr struct {
		ImageURL string `json:"image_url"`
	}
	_ = json.Unmarshal([]byte(res.Body), &qr)
	u, _ := url.Parse(qr.ImageURL)
	path := u.RequestURI()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != 200 {
				b.Fatalf("%d", rec.Code)
			}
		}
	})
}

// BenchmarkQRScanConsumingC50 is the loopback scenario's shape in process: 50 clients scanning one unlimited
// code in a closed loop, reporting req/s and the p50/p99 latency each client sees.
func BenchmarkQRScanConsumingC50(b *testing.B) {
	app, h, key, body := newScanBench(b)
	defer app.Cleanup()
	runAt(b, 50, func(int64) (int, string) {
		r := testutil.Do(h, "POST", "/api/v1/qr/scan", body, key)
		return r.Status, r.Body
	}, 200)
}

// newScanBench makes one unlimited code and returns the app, its handler, a Manychat key and a scan body.
func newScanBench(b *testing.B) (*tests.TestApp, http.Handler, map[string]string, string) {
	app := testutil.NewWorldApp(b)
	w := testutil.TheWorld(b)
	h := testutil.Handler(b, app)
	key := testutil.Bearer(w.ManychatKey)
	res := testutil.Do(h, "POST", "/api/v1/qr", `{"tool":"acme-qr","max_uses":0}`, key)
	var qr struct{ Code string }
	_ = json.Unmarshal([]byte(res.Body), &qr)
	return app, h, key, `{"code":"` + qr.Code + `","device_id":"bench"}`
}
