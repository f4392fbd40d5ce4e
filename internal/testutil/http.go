package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Handler builds the app's full router once (PocketBase's routes and Playgram's), for tests that make several
// requests against one app, or many at once.
func Handler(t testing.TB, app core.App) http.Handler {
	t.Helper()
	r, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	var mux http.Handler
	se := &core.ServeEvent{App: app, Router: r}
	err = app.OnServe().Trigger(se, func(e *core.ServeEvent) error {
		m, err := e.Router.BuildMux()
		mux = m
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mux
}

// Response is a finished test request.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends one request to h; it is safe to call from many goroutines.
func Do(h http.Handler, method, url, body string, headers map[string]string) Response {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	// Result's header is the one the client received: a header set after the body was written is not in it.
	return Response{Status: rec.Code, Header: rec.Result().Header, Body: rec.Body.String()}
}
