// Package commands adds Playgram's CLI commands to PocketBase's cobra root: seed, apikey and fake-manychat.
package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/exports"
	fakemc "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/seed"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// Register adds the commands to root.
func Register(app core.App, root *cobra.Command, svc *platform.Services) {
	root.AddCommand(seedCommand(app, svc), apikeyCommand(app, svc), fakeManychatCommand(), exportCommand(app))
}

// ready applies pending migrations, so commands work on a data dir that was never served.
func ready(app core.App) error {
	return app.RunAllMigrations()
}

func seedCommand(app core.App, svc *platform.Services) *cobra.Command {
	var fakeURL, fakeToken string
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Create the demo workspace, its owner and one tool of each type (idempotent)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ready(app); err != nil {
				return err
			}
			creds, err := seed.Demo(app)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if banner := creds.Banner(svc.PublicURL()); banner != "" {
				fmt.Fprint(out, banner)
			} else {
				fmt.Fprintln(out, "Demo data is already there; nothing to do.")
			}
			if fakeURL != "" {
				return connectFakeManychat(cmd, app, svc, fakeURL, fakeToken)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&fakeURL, "fake-manychat", "", "URL of a running `playgram fake-manychat`: store its token in the demo workspace and import its contacts")
	cmd.Flags().StringVar(&fakeToken, "fake-manychat-token", fakemc.DefaultToken, "the fake's token")
	return cmd
}

func apikeyCommand(app core.App, svc *platform.Services) *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Create and list API keys"}

	var workspace, scopes, tool, name, expires string
	var allowIPs []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print its secret (shown once)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ready(app); err != nil {
				return err
			}
			ws, err := findWorkspace(app, workspace)
			if err != nil {
				return err
			}
			p := platform.NewKeyParams{Name: name, Scopes: splitList(scopes), Tool: tool, AllowIPs: allowIPs}
			if p.Name == "" {
				p.Name = "CLI key " + time.Now().UTC().Format("2006-01-02 15:04")
			}
			if expires != "" {
				d, err := time.ParseDuration(expires)
				if err != nil || d <= 0 {
					return fmt.Errorf("--expires must be a positive duration such as 720h, got %q", expires)
				}
				p.ExpiresAt = time.Now().Add(d)
			}
			if problems := p.Validate(app, ws.Id); len(problems) > 0 {
				var msgs []string
				for field, msg := range problems {
					msgs = append(msgs, "--"+strings.ReplaceAll(field, "_", "-")+": "+msg)
				}
				return errors.New(strings.Join(msgs, "; "))
			}
			secret, rec, err := platform.CreateKey(app, ws.Id, p, platform.SystemActor("cli"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created key %s (%s) for workspace %s with scopes %s.\nSecret (shown once, store it now):\n%s\n",
				rec.Id, rec.GetString("prefix"), ws.GetString("slug"), strings.Join(p.Scopes, ","), secret)
			return nil
		},
	}
	create.Flags().StringVar(&workspace, "workspace", "", "workspace slug or id (required)")
	create.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes: manychat,verification,social,webhooks,events,admin (required)")
	create.Flags().StringVar(&tool, "tool", "", "bind the key to one tool id")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	create.Flags().StringVar(&expires, "expires", "", "expire after this duration, e.g. 720h")
	create.Flags().StringSliceVar(&allowIPs, "allow-ip", nil, "allowed client CIDR (repeatable)")
	_ = create.MarkFlagRequired("workspace")
	_ = create.MarkFlagRequired("scopes")

	var listWorkspace string
	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys (prefix, scopes, state, last use); secrets are never shown",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ready(app); err != nil {
				return err
			}
			filter := dbx.NewExp("1=1")
			if listWorkspace != "" {
				ws, err := findWorkspace(app, listWorkspace)
				if err != nil {
					return err
				}
				filter = dbx.HashExp{"workspace": ws.Id}
			}
			var keys []*core.Record
			if err := app.RecordQuery(collections.APIKeys).AndWhere(filter).OrderBy("created ASC").All(&keys); err != nil {
				return err
			}
			return writeKeyTable(cmd.OutOrStdout(), keys)
		},
	}
	list.Flags().StringVar(&listWorkspace, "workspace", "", "only this workspace (slug or id)")

	cmd.AddCommand(create, list)
	return cmd
}

func writeKeyTable(out io.Writer, keys []*core.Record) error {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tWORKSPACE\tSCOPES\tSTATE\tLAST USED")
	now := time.Now()
	for _, k := range keys {
		state := "active"
		switch exp := k.GetDateTime("expires_at"); {
		case k.GetBool("revoked"):
			state = "revoked"
		case !exp.IsZero() && !now.Before(exp.Time()):
			state = "expired"
		}
		last := "never"
		if d := k.GetDateTime("last_used_at"); !d.IsZero() {
			last = d.Time().UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", k.Id, k.GetString("prefix"), k.GetString("name"), k.GetString("workspace"),
			strings.Join(k.GetStringSlice("scopes"), ","), state, last)
	}
	return tw.Flush()
}

func findWorkspace(app core.App, ref string) (*core.Record, error) {
	ws, err := app.FindFirstRecordByFilter(collections.Workspaces, "slug = {:ref} || id = {:ref}", dbx.Params{"ref": ref})
	if err != nil {
		return nil, fmt.Errorf("no workspace with slug or id %q", ref)
	}
	return ws, nil
}

func exportCommand(app core.App) *cobra.Command {
	var workspace, out, fields string
	var r exports.Request
	cmd := &cobra.Command{
		Use:     "export",
		Short:   "Export a dataset of a workspace to a file (csv, json, jsonl, xlsx, pdf); audited like API exports",
		Example: "  playgram export --workspace acme --dataset contacts --format xlsx --out contacts.xlsx --purpose \"accountant, contract\"",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ready(app); err != nil {
				return err
			}
			ws, err := findWorkspace(app, workspace)
			if err != nil {
				return err
			}
			if out == "" {
				return errors.New("--out is required")
			}
			r.Fields = splitList(fields)
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			actor := platform.SystemActor("cli")
			actor.Workspace = ws.Id
			if u, err := user.Current(); err == nil {
				actor.Label = "cli:" + u.Username
			}
			res, err := exports.ExportTo(cmd.Context(), app, ws.Id, r, f, actor)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(out)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d rows written to %s (%d bytes, sha256 %s)\n", res.Rows, out, res.Size, res.SHA256)
			return nil
		},
	}
	cmd.Flags().StringVar(&workspace, "workspace", "", "workspace slug or id (required)")
	cmd.Flags().StringVar(&r.Dataset, "dataset", "", "dataset: "+strings.Join(exports.DatasetNames(), ", "))
	cmd.Flags().StringVar(&r.Format, "format", "csv", "csv, json, jsonl, xlsx or pdf")
	cmd.Flags().StringVar(&r.Filter, "filter", "", "PocketBase filter over the dataset's fields, e.g. \"created >= '2026-01-01'\"")
	cmd.Flags().StringVar(&fields, "fields", "", "comma-separated fields (default: the dataset's standard columns)")
	cmd.Flags().StringVar(&r.Consent, "consent", "", "contacts only: marketing or data_processing, to export consented contacts only")
	cmd.Flags().StringVar(&r.Purpose, "purpose", "", "purpose or legal basis (required, audited)")
	cmd.Flags().StringVar(&out, "out", "", "output file (required)")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
