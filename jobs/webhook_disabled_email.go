package jobs

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/mail"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// KindWebhookDisabledEmail tells a workspace's owners and admins that one of its webhook endpoints was disabled
// (it answered 410 Gone, or failed without a success for too long).
const KindWebhookDisabledEmail = "mail.webhook_disabled"

func registerWebhookDisabledEmail(r *Runner) {
	r.Handle(KindWebhookDisabledEmail, func(ctx context.Context, app core.App, job *Job) error {
		var p struct {
			Endpoint string `json:"endpoint"`
			URL      string `json:"url"`
			Reason   string `json:"reason"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		admins, err := app.FindAllRecords(collections.Users,
			dbx.HashExp{"workspace": job.Workspace},
			dbx.In("role", collections.RoleOwner, collections.RoleAdmin))
		if err != nil {
			return err
		}
		if len(admins) == 0 {
			return Permanent(errors.New("the workspace has no owner or admin to notify"))
		}
		to := make([]mail.Address, 0, len(admins))
		for _, u := range admins {
			to = append(to, mail.Address{Name: u.GetString("name"), Address: u.Email()})
		}
		body := fmt.Sprintf(`<p>Playgram stopped sending webhooks to <b>%s</b> (endpoint %s).</p>
<p>%s</p>
<p>Events that happen while it is disabled are kept as <i>skipped</i> deliveries. Fix the receiver, enable the
endpoint again, then replay what it missed with <code>POST /api/v1/webhooks/endpoints/%s/replay</code>
and <code>{"since": "…", "status": "skipped"}</code> (and <code>"dead"</code>).</p>`,
			html.EscapeString(p.URL), html.EscapeString(p.Endpoint), html.EscapeString(p.Reason), html.EscapeString(p.Endpoint))
		return app.NewMailClient().Send(&mailer.Message{
			From:    mail.Address{Name: app.Settings().Meta.SenderName, Address: app.Settings().Meta.SenderAddress},
			To:      to,
			Subject: "Webhook endpoint disabled: " + p.URL,
			HTML:    body,
		})
	})
}
