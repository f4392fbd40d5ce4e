package commands_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/commands"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/pocketbase/dbx"
	"github.com/spf13/cobra"
	"github.com/xuri/excelize/v2"
)

func TestExportCommandWritesFileAndAudits(t *testing.T) {
	app, svc := testutil.NewApp(t)
	root := func() *cobra.Command {
		r := &cobra.Command{Use: "playgram", SilenceUsage: true}
		commands.Register(app, r, svc)
		return r
	}
	if _, err := run(t, root, "seed"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "contacts.xlsx")
	if _, err := run(t, root, "export", "--workspace", "demo", "--dataset", "contacts", "--format", "xlsx", "--out", out); err == nil ||
		!strings.Contains(err.Error(), "purpose") {
		t.Fatalf("purpose is required: %v", err)
	}
	msg, err := run(t, root, "export", "--workspace", "demo", "--dataset", "contacts", "--format", "xlsx", "--out", out,
		"--fields", "name,email,created", "--purpose", "backup before migration")
	if err != nil || !strings.Contains(msg, "rows written to") {
		t.Fatalf("export: %v %s", err, msg)
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Export", "B1"); v != "email" {
		t.Fatalf("header: %q", v)
	}
	n, _ := app.CountRecords(collections.Contacts, dbx.HashExp{})
	rows, _ := f.GetRows("Export")
	if len(rows) != int(n)+1 {
		t.Fatalf("rows %d, contacts %d", len(rows), n)
	}
	audit, err := app.FindFirstRecordByFilter(collections.AuditLog, "action = 'export.created'")
	if err != nil || !strings.Contains(audit.GetString("after"), `"purpose":"backup before migration"`) || !strings.HasPrefix(audit.GetString("actor_label"), "cli") {
		t.Fatalf("audit: %v %v", audit, err)
	}
}
