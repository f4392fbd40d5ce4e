package jobs

// RegisterKinds binds the handler of every job kind of the platform; domain kinds register in their own files.
func RegisterKinds(r *Runner) {
	registerInviteEmail(r)
	registerWebhookDisabledEmail(r)
}
