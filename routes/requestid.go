package routes

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// RequestIDHeader names the header that ties a response to logs and support requests.
const RequestIDHeader = "X-Request-Id"

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

// requestID echoes a well-formed incoming X-Request-Id, or makes one, on every response of the server.
func requestID() *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id:       "playgram.requestId",
		Priority: -2000, // before PocketBase's own middlewares, so error responses carry it too
		Func: func(e *core.RequestEvent) error {
			id := e.Request.Header.Get(RequestIDHeader)
			if !validRequestID.MatchString(id) {
				var b [10]byte
				_, _ = rand.Read(b[:])
				id = hex.EncodeToString(b[:])
			}
			e.Response.Header().Set(RequestIDHeader, id)
			e.Set("requestId", id)
			return e.Next()
		},
	}
}
