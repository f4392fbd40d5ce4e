// Command playgram is the Playgram server and CLI: PocketBase plus Playgram's hooks, routes, jobs and commands.
package main

import (
	"log"
	_ "time/tzdata" // IANA zones built in, so time zone rules work on machines without /usr/share/zoneinfo

	"github.com/playgram/playgram/boot"
	"github.com/playgram/playgram/commands"
	"github.com/playgram/playgram/internal/stmtcache"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/plugins/migratecmd"
)

func main() {
	// Every connection keeps its prepared statements (internal/stmtcache); otherwise PocketBase's defaults.
	app := pocketbase.NewWithConfig(pocketbase.Config{DBConnect: stmtcache.Connect})
	cfg, err := platform.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	svc, err := boot.Register(app, cfg)
	if err != nil {
		log.Fatal(err)
	}
	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{Dir: "pb_migrations", TemplateLang: migratecmd.TemplateLangGo})
	commands.Register(app, app.RootCmd, svc)
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
