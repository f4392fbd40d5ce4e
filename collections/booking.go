package collections

// Booking collections: helpers whose time is booked, their weekly availability and date exceptions, the
// bookings themselves and the waitlist.
const (
	Helpers                = "helpers"
	Availability           = "availability"
	AvailabilityExceptions = "availability_exceptions"
	Bookings               = "bookings"
	Waitlist               = "waitlist"
)

// Booking statuses. pending and confirmed hold their slot; cancelled and rejected free it.
const (
	BookingPending   = "pending"
	BookingConfirmed = "confirmed"
	BookingCancelled = "cancelled"
	BookingRejected  = "rejected"
)

// BookingStatuses lists every booking status.
var BookingStatuses = []string{BookingPending, BookingConfirmed, BookingCancelled, BookingRejected}

// Waitlist entry statuses: waiting for a slot; offered a held slot; booked it; the hold expired; withdrawn.
const (
	WaitlistWaiting   = "waiting"
	WaitlistOffered   = "offered"
	WaitlistBooked    = "booked"
	WaitlistExpired   = "expired"
	WaitlistCancelled = "cancelled"
)

// WaitlistStatuses lists every waitlist status.
var WaitlistStatuses = []string{WaitlistWaiting, WaitlistOffered, WaitlistBooked, WaitlistExpired, WaitlistCancelled}
