package jobs

import (
	"context"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/mails"
)

// KindInviteEmail emails a newly added member a link to set their password.
const KindInviteEmail = "mail.invite"

func registerInviteEmail(r *Runner) {
	r.Handle(KindInviteEmail, func(ctx context.Context, app core.App, job *Job) error {
		var p struct {
			User string `json:"user"`
		}
		if err := job.Decode(&p); err != nil {
			return err
		}
		user, err := app.FindRecordById(collections.Users, p.User)
		if err != nil {
			return Permanent(err) // the member was removed before the mail went out
		}
		return mails.SendRecordPasswordReset(app, user)
	})
}
