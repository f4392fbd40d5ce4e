package routes

import (
	"github.com/playgram/playgram/docs"
	pbpublic "github.com/playgram/playgram/pb_public"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// contentSecurityPolicy keeps our pages from loading anything from another origin.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"

func registerStatic(r *router.Router[*core.RequestEvent]) {
	withCSP := func(e *core.RequestEvent) error {
		e.Response.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		return e.Next()
	}
	r.GET("/docs/{path...}", apis.Static(docs.Files, false)).BindFunc(withCSP)
	r.GET("/{path...}", apis.Static(pbpublic.Files, true)).BindFunc(withCSP)
}
