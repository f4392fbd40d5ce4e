package collections

// Instagram identity verification collections.
const (
	Verifications        = "verifications"
	VerificationAttempts = "verification_attempts"
)
