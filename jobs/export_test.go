package jobs

// BookingsSQL exposes the schedule's bookings query to the plan test.
var BookingsSQL = bookingsSQL
