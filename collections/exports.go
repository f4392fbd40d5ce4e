package collections

// Collections of the exports and compliance domain.
const (
	Exports         = "exports"
	ExportSchedules = "export_schedules"
	Consents        = "consents"
	LegalHolds      = "legal_holds"
	Retention       = "retention_policies"
)

// Export statuses.
const (
	ExportQueued  = "queued"
	ExportRunning = "running"
	ExportDone    = "done"
	ExportFailed  = "failed"
)

// Consent kinds.
const (
	ConsentMarketing      = "marketing"
	ConsentDataProcessing = "data_processing"
)
