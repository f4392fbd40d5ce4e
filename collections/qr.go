package collections

// QR code collections.
const (
	QRCodes   = "qr_codes"
	QRScans   = "qr_scans"
	QRBatches = "qr_batches"
)

// QR code statuses as stored; a scan answers one of these or "valid" / "not_found".
const (
	QRActive    = "active"
	QRExhausted = "exhausted"
	QRExpired   = "expired"
	QRRevoked   = "revoked"
)
