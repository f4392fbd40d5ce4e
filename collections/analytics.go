package collections

// Analytics collections: admin-defined metrics, reports (named lists of widgets) and their email schedules.
// The rollup and the result cache are plain SQL tables of the analytics package (derived data, never exposed).
const (
	Metrics          = "metrics"
	AnalyticsReports = "analytics_reports"
	ReportSchedules  = "report_schedules"
)
