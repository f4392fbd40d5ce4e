// Package routes binds Playgram's HTTP routes under /api/v1, one file per domain. Handlers parse and
// authorise, call domain code, and shape the response; decisions live in internal/ and platform/.
package routes

import (
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/verify"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Register binds the middlewares and routes when the server starts. main.go and the tests call it.
func Register(app core.App, svc *platform.Services, hub *verify.Hub) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.Bind(requestID())
		v1 := se.Router.Group("/api/v1")
		v1.Bind(apis.BodyLimit(maxBody))
		registerPlatform(v1, svc)
		registerQR(v1, svc)
		registerVerification(v1, svc, hub)
		registerBooking(v1, svc)
		registerWebhooks(v1, svc)
		registerCRM(v1, svc)
		registerSocial(v1, svc)
		registerAnalytics(v1, svc)
		registerAIChat(app, v1, svc)
		registerExports(v1, svc)
		registerStatic(se.Router)
		return se.Next()
	})
}
