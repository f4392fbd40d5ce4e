package manychat_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/playgram/playgram/internal/manychat"
)

// TestEnvelopeVariants feeds the client answers seen in the wild or allowed
// by the contract, byte for byte.
func TestEnvelopeVariants(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		body        string
		wantErr     bool
		wantStatus  int
		wantMessage string
		wantCode    int
		wantDetails []manychat.Detail
		wantTags    int
	}{
		{name: "success", status: 200, body: `{"status":"success","data":[{"id":1,"name":"a"}]}`, wantTags: 1},
		{name: "logical error on 200", status: 200, body: `{"status":"error","message":"Permission denied"}`,
			wantErr: true, wantStatus: 200, wantMessage: "Permission denied"},
		{name: "documented details array", status: 400,
			body:    `{"status":"error","message":"Validation error","details":{"messages":[{"message":"name is required"},{"message":"type is invalid"}]}}`,
			wantErr: true, wantStatus: 400, wantMessage: "Validation error",
			wantDetails: []manychat.Detail{{Message: "name is required"}, {Message: "type is invalid"}}},
		{name: "keyed details without status", status: 400,
			body:    `{"details":{"messages":{"wa_id":{"message":["This WhatsApp ID already exists: 972"]},"email":{"message":"bad email"}}}}`,
			wantErr: true, wantStatus: 400, wantMessage: "bad email",
			wantDetails: []manychat.Detail{{Field: "email", Message: "bad email"}, {Field: "wa_id", Message: "This WhatsApp ID already exists: 972"}}},
		{name: "code as a string", status: 400, body: `{"status":"error","message":"Outside window","code":"3011"}`,
			wantErr: true, wantStatus: 400, wantMessage: "Outside window", wantCode: 3011},
		{name: "details of an unknown shape", status: 400, body: `{"status":"error","message":"x","details":"oops"}`,
			wantErr: true, wantStatus: 400, wantMessage: "x"},
		{name: "HTML on 200", status: 200, body: `<html>maintenance</html>`,
			wantErr: true, wantStatus: 200, wantMessage: "response is not a JSON object"},
		{name: "success without status", status: 200, body: `{"data":[]}`,
			wantErr: true, wantStatus: 200, wantMessage: "response has no status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, _ := manychat.New(srv.URL, "1:x", manychat.WithRetry(1, 0, 0))
			tags, err := c.GetTags(context.Background())
			if !tc.wantErr {
				if err != nil || len(tags) != tc.wantTags {
					t.Fatalf("tags %v, err %v", tags, err)
				}
				return
			}
			e := apiError(t, err)
			if e.HTTPStatus != tc.wantStatus || e.Message != tc.wantMessage || e.Code != tc.wantCode {
				t.Fatalf("%+v", e)
			}
			if len(e.Details) != len(tc.wantDetails) {
				t.Fatalf("details %+v, want %+v", e.Details, tc.wantDetails)
			}
			for i := range e.Details {
				if e.Details[i] != tc.wantDetails[i] {
					t.Fatalf("details %+v, want %+v", e.Details, tc.wantDetails)
				}
			}
		})
	}
}

// findBySystemField's data has been seen as an object, [], a one-element
// array and null.
func TestFindBySystemFieldShapes(t *testing.T) {
	for _, tc := range []struct {
		data   string
		wantID manychat.ID
	}{
		{`{"id":"713072115","email":"a@b.c"}`, 713072115},
		{`[{"id":"713072115","email":"a@b.c"}]`, 713072115},
		{`[]`, 0},
		{`null`, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("email") != "a@b.c" {
				t.Errorf("query %s", r.URL.RawQuery)
			}
			w.Write([]byte(`{"status":"success","data":` + tc.data + `}`))
		}))
		c, _ := manychat.New(srv.URL, "1:x")
		s, err := c.FindSubscriberByEmail(context.Background(), "a@b.c")
		srv.Close()
		if tc.wantID == 0 {
			if !manychat.IsNotFound(err) || s != nil {
				t.Errorf("%s: %v %v", tc.data, s, err)
			}
			continue
		}
		if err != nil || s.ID != tc.wantID {
			t.Errorf("%s: %+v %v", tc.data, s, err)
		}
	}
}
